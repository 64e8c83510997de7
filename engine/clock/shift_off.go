//go:build !faultclock

package clock

import "time"

// shift is the identity outside fault-injection builds.
func shift(t time.Time) time.Time { return t }
