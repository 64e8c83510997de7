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

// Now implements Clock. In a binary built with the faultclock tag (the
// soak's fault injection), it is off by the offset the soak sets.
func (System) Now() time.Time { return shift(time.Now()) }

// NewTimer implements Clock.
func (System) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (t sysTimer) C() <-chan time.Time { return t.t.C }
func (t sysTimer) Stop() bool          { return t.t.Stop() }

// FaultClockEnv names the file whose content (a Go duration such as
// "1h" or "-1h"; empty or absent is 0) shifts System's Now in a binary
// built with the faultclock tag, so that a test can jump a running
// process's wall clock the way a bad RTC or a late NTP step does.
// Timers are not shifted (they run on durations, as the kernel's
// monotonic clock does), and the shifted time carries no monotonic
// reading, so that durations computed from two readings across a jump
// include the jump, as they do for wall-clock times stored and compared.
// Release builds have no such tag and ignore the variable.
const FaultClockEnv = "WATCHPOST_FAULT_CLOCK_FILE"

// OrSystem returns c, or System when c is nil: the default of every
// Clock option.
func OrSystem(c Clock) Clock {
	if c == nil {
		return System{}
	}
	return c
}
