package testkit

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestCheckForRunsEachUntilTrue(t *testing.T) {
	var n atomic.Int32
	CheckFor(t, 5*time.Second, "three rounds", True(func() bool { return n.Load() >= 3 }),
		Each(func() { n.Add(1) }), Every(time.Millisecond))
	if got := n.Load(); got != 3 {
		t.Fatalf("Each ran %d times, want 3", got)
	}
}

// recorder is a testing.TB that records Fatalf instead of stopping.
type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
	panic(r)
}

// failure runs fn with a recorder in place of t and returns the format of
// the failure fn reported ("" for none).
func failure(t *testing.T, fn func(testing.TB)) string {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		fn(r)
	}()
	return r.failed
}

func TestCheckForFailsAfterTotal(t *testing.T) {
	if failure(t, func(r testing.TB) {
		CheckFor(r, 20*time.Millisecond, "never", func() error { return errors.New("still no") })
	}) == "" {
		t.Fatal("CheckFor did not fail on a condition that never holds")
	}
}

func TestNoLeak(t *testing.T) {
	// Counted by name: the whole process's count also moves with the
	// testing package's own goroutines, which come and go on their own.
	// Each test parks its own function and waits for it to end, so that a
	// count never sees another test's (or another -count run's) goroutine.
	only := Matching("parkedForLeak")
	base := Goroutines(only)
	stop := make(chan struct{})
	go parkedForLeak(stop)
	// A goroutine that has not run yet may not show its function.
	CheckFor(t, 5*time.Second, "the goroutine to start", True(func() bool { return Goroutines(only) == base+1 }))
	if failure(t, func(r testing.TB) { NoLeak(r, base, 20*time.Millisecond, only) }) == "" {
		t.Fatal("NoLeak did not see the running goroutine")
	}
	close(stop)
	NoLeak(t, base, 5*time.Second, only)
}

func TestNoLeakMatching(t *testing.T) {
	stop := make(chan struct{})
	go parkedForTest(stop)
	CheckFor(t, 5*time.Second, "the goroutine to start", True(func() bool { return Goroutines(Matching("parkedForTest")) == 1 }))
	NoLeak(t, 0, time.Second, Matching("no such function"))
	close(stop)
	NoLeak(t, 0, 5*time.Second, Matching("parkedForTest"))
}

func parkedForTest(stop chan struct{}) { <-stop }

func parkedForLeak(stop chan struct{}) { <-stop }

func TestReturned(t *testing.T) {
	done := make(chan error, 1)
	done <- nil
	Returned(t, done, 5*time.Second, "Run")
	done <- errors.New("broken")
	if got := failure(t, func(r testing.TB) { Returned(r, done, 5*time.Second, "Run") }); got != "%s: %v" {
		t.Fatalf("Returned on an error reported %q", got)
	}
	if got := failure(t, func(r testing.TB) { Returned(r, done, 20*time.Millisecond, "Run") }); got != "%s did not return within %v" {
		t.Fatalf("Returned on nothing reported %q", got)
	}
}

func TestReady(t *testing.T) {
	ready, done := make(chan struct{}), make(chan error, 1)
	if got := failure(t, func(r testing.TB) { Ready(r, ready, done, 20*time.Millisecond, "Run") }); got != "%s not ready within %v" {
		t.Fatalf("Ready on nothing reported %q", got)
	}
	done <- errors.New("bind failed")
	if got := failure(t, func(r testing.TB) { Ready(r, ready, done, 5*time.Second, "Run") }); got != "%s returned before it was ready: %v" {
		t.Fatalf("Ready on an early return reported %q", got)
	}
	close(ready)
	Ready(t, ready, done, 5*time.Second, "Run")
}
