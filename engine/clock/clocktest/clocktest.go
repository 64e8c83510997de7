// Package clocktest is the one fake clock.Clock for tests: time moves only
// when the test calls Advance, and the test can wait for the code under
// test to start waiting (WaitTimer, Waiters) instead of sleeping.
package clocktest

import (
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/clock"
)

// DefaultStart is where a clock from New starts.
var DefaultStart = time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)

// Clock is a clock.Clock that moves only when Advance is called. A timer
// fires when Advance reaches its deadline; a timer for d <= 0 fires at once.
type Clock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*fakeTimer  // pending: not fired, not stopped
	created int           // timers made by NewTimer
	waited  int           // of those, the ones WaitTimer returned for
	changed chan struct{} // closed and replaced by each NewTimer and Stop
}

var _ clock.Clock = (*Clock)(nil)

// New returns a clock at DefaultStart.
func New() *Clock { return NewAt(DefaultStart) }

// NewAt returns a clock at start.
func NewAt(start time.Time) *Clock {
	return &Clock{now: start, changed: make(chan struct{})}
}

// Now implements clock.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer implements clock.Clock.
func (c *Clock) NewTimer(d time.Duration) clock.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.created++
	c.signal()
	t := &fakeTimer{c: c, at: c.now.Add(d), ch: make(chan time.Time, 1)}
	if d <= 0 {
		t.fired = true
		t.ch <- c.now
		return t
	}
	c.timers = append(c.timers, t)
	return t
}

// signal wakes every WaitTimer and WaitWaiters; c.mu is held.
func (c *Clock) signal() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Advance moves the clock and fires the timers that are due.
func (c *Clock) Advance(d time.Duration) {
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
	c.signal()
}

// Set moves the clock to t, backwards too (a clock reset), and fires the
// timers that are due.
func (c *Clock) Set(t time.Time) {
	c.Advance(t.Sub(c.Now()))
}

// Waiters returns the number of pending timers: made, not yet fired or
// stopped. It is the observable sign that the code under test is waiting.
func (c *Clock) Waiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.timers)
}

// WaitTimer waits until the code under test has created a timer that an
// earlier WaitTimer did not already wait for (each NewTimer satisfies one
// WaitTimer), and fails the test after 10 s.
func (c *Clock) WaitTimer(t testing.TB) {
	t.Helper()
	c.wait(t, "a new timer", func() bool {
		if c.waited < c.created {
			c.waited++
			return true
		}
		return false
	})
}

// WaitWaiters waits until exactly n timers are pending, and fails the test
// after 10 s.
func (c *Clock) WaitWaiters(t testing.TB, n int) {
	t.Helper()
	c.wait(t, "pending timers", func() bool { return len(c.timers) == n })
}

// wait calls cond with c.mu held each time the timers change, until it
// reports true.
func (c *Clock) wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		c.mu.Lock()
		if cond() {
			c.mu.Unlock()
			return
		}
		ch, pending := c.changed, len(c.timers)
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("clocktest: no %s within 10s (%d pending)", what, pending)
		}
	}
}

type fakeTimer struct {
	c       *Clock
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
			t.c.signal()
			break
		}
	}
	return active
}
