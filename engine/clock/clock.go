// Package clock is the one injectable time source: every component that
// reads the time or waits takes a Clock, so tests drive time with a fake
// (engine/clock/clocktest) instead of sleeping.
package clock

import "time"

// Clock reads the time and makes one-shot timers.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once, d from now.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer of a Clock.
type Timer interface {
	// C fires once when the timer expires.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it did.
	Stop() bool
}

// System is the real clock.
type System struct{}

// Now implements Clock.
func (System) Now() time.Time { return time.Now() }

// NewTimer implements Clock.
func (System) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (t sysTimer) C() <-chan time.Time { return t.t.C }
func (t sysTimer) Stop() bool          { return t.t.Stop() }

// OrSystem returns c, or System when c is nil: the default of every
// Clock option.
func OrSystem(c Clock) Clock {
	if c == nil {
		return System{}
	}
	return c
}
