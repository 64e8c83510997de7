//go:build faultclock

package clock

import (
	"os"
	"strings"
	"sync"
	"time"
)

var faultClock = struct {
	sync.Mutex
	file   string
	read   time.Time
	offset time.Duration
}{file: os.Getenv(FaultClockEnv)}

// faultClockRefresh bounds how often the offset file is read.
const faultClockRefresh = 50 * time.Millisecond

func shift(t time.Time) time.Time {
	if faultClock.file == "" {
		return t
	}
	faultClock.Lock()
	if t.Sub(faultClock.read) >= faultClockRefresh || t.Before(faultClock.read) {
		faultClock.read = t
		faultClock.offset = 0
		if b, err := os.ReadFile(faultClock.file); err == nil {
			if d, err := time.ParseDuration(strings.TrimSpace(string(b))); err == nil {
				faultClock.offset = d
			}
		}
	}
	off := faultClock.offset
	faultClock.Unlock()
	return t.Round(0).Add(off)
}
