// Package outboxtest provides a fake outbox.Clock for tests: time moves
// only when the test calls Advance, so back-off, ack timeouts and scan
// intervals are tested without sleeping (STYLE 14). Only tests import it.
package outboxtest

import (
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/sync/outbox"
)

// DefaultStart is where a clock from NewFakeClock starts.
var DefaultStart = time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)

// FakeClock is an outbox.Clock that moves only when Advance is called.
// A timer fires when Advance reaches its deadline; a timer for d <= 0
// fires at once.
type FakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer  // pending: not fired, not stopped
	created int           // timers made by NewTimer
	waited  int           // of those, the ones WaitTimer returned for
	changed chan struct{} // closed and replaced by each NewTimer
}

var _ outbox.Clock = (*FakeClock)(nil)

// NewFakeClock returns a clock at DefaultStart.
func NewFakeClock() *FakeClock { return NewFakeClockAt(DefaultStart) }

// NewFakeClockAt returns a clock at start.
func NewFakeClockAt(start time.Time) *FakeClock {
	return &FakeClock{now: start, changed: make(chan struct{})}
}

// Now implements outbox.Clock.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer implements outbox.Clock.
func (c *FakeClock) NewTimer(d time.Duration) outbox.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.created++
	close(c.changed)
	c.changed = make(chan struct{})
	t := &fakeTimer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.fired = true
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock and fires the timers that are due.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.timers[:0]
	for _, t := range c.timers {
		if !t.at.After(c.now) {
			t.fired = true
			t.ch <- c.now
			continue
		}
		keep = append(keep, t)
	}
	c.timers = keep
}

// Timers returns the number of pending timers: not yet fired or stopped.
func (c *FakeClock) Timers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitTimer waits until the code under test has created a timer that an
// earlier WaitTimer did not already wait for (each NewTimer satisfies one
// WaitTimer), and fails the test after 10 s.
func (c *FakeClock) WaitTimer(t testing.TB) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		if c.waited < c.created {
			c.waited++
			c.mu.Unlock()
			return
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatal("no timer created within 10s")
		}
	}
}

type fakeTimer struct {
	c       *FakeClock
	at      time.Time
	ch      chan time.Time
	fired   bool
	stopped bool
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	active := !t.fired && !t.stopped
	t.stopped = true
	for i, x := range t.c.timers {
		if x == t {
			t.c.timers = append(t.c.timers[:i], t.c.timers[i+1:]...)
			break
		}
	}
	return active
}
