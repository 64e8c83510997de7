// Package testkit is the shared test support: one poller (CheckFor) for
// conditions reached by other goroutines, and one goroutine-leak check
// (NoLeak). Only tests import it.
package testkit

import (
	"errors"
	"runtime"
	"testing"
	"time"
)

// Option changes how CheckFor polls.
type Option func(*poll)

type poll struct {
	interval time.Duration
	each     func()
}

// Every sets the pause between polls (10 ms by default).
func Every(d time.Duration) Option { return func(p *poll) { p.interval = d } }

// Each runs fn after every failed poll, before the pause: for example
// advancing a fake clock so the code under test moves on.
func Each(fn func()) Option { return func(p *poll) { p.each = fn } }

// CheckFor polls cond until it returns nil, and fails the test naming what
// and cond's last error once total real time has passed.
func CheckFor(t testing.TB, total time.Duration, what string, cond func() error, opts ...Option) {
	t.Helper()
	p := poll{interval: 10 * time.Millisecond}
	for _, o := range opts {
		o(&p)
	}
	deadline := time.Now().Add(total)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %v: %v", what, total, err)
		}
		if p.each != nil {
			p.each()
		}
		time.Sleep(p.interval)
	}
}

// errNotYet is the error True reports while its condition is false.
var errNotYet = errors.New("condition still false")

// True adapts a boolean condition to CheckFor.
func True(cond func() bool) func() error {
	return func() error {
		if cond() {
			return nil
		}
		return errNotYet
	}
}

// Goroutines returns the number of goroutines now: the baseline for NoLeak,
// taken before the code under test starts any.
func Goroutines() int { return runtime.NumGoroutine() }

// NoLeak waits until at most baseline goroutines remain, and fails the test
// with every goroutine's stack once total has passed.
func NoLeak(t testing.TB, baseline int, total time.Duration) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		n := runtime.NumGoroutine()
		if n <= baseline {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutine leak: %d running, baseline %d, after %v\n%s", n, baseline, total, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
