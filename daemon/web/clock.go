package web

import "time"

// Clock is the time source of sessions, lockouts and the pages' dates.
// Tests inject a fake one and advance it instead of waiting.
type Clock interface {
	Now() time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// SystemClock is the real clock.
var SystemClock Clock = systemClock{}
