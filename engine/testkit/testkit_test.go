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

func TestCheckForFailsAfterTotal(t *testing.T) {
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		CheckFor(r, 20*time.Millisecond, "never", func() error { return errors.New("still no") })
	}()
	if r.failed == "" {
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
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		NoLeak(r, base, 20*time.Millisecond, only)
	}()
	if r.failed == "" {
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
