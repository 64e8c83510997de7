// Package testkit is the shared test support: one poller (CheckFor) for
// conditions reached by other goroutines, one wait for a goroutine's result
// (Returned, Ready), one goroutine-leak check (NoLeak), and a small file
// system to fill for the disk-full tests (Tmpfs, Fill). Only tests import
// it.
package testkit

import (
	"errors"
	"runtime"
	"strings"
	"sync"
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
	if err := Poll(total, cond, opts...); err != nil {
		t.Fatalf("%s: not reached within %v: %v", what, total, err)
	}
}

// Poll is CheckFor for a test that must clean up before it fails: it
// returns cond's last error once total has passed, nil as soon as cond
// holds.
func Poll(total time.Duration, cond func() error, opts ...Option) error {
	p := poll{interval: 10 * time.Millisecond}
	for _, o := range opts {
		o(&p)
	}
	deadline := time.Now().Add(total)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
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

// Counted narrows the goroutines Goroutines and NoLeak count.
type Counted func(stack string) bool

// Matching counts only the goroutines whose stack contains s, e.g.
// "outbox.(*Publisher).": the check then ignores goroutines of code the
// test is not about.
func Matching(s string) Counted { return func(stack string) bool { return strings.Contains(stack, s) } }

// Goroutines returns the number of goroutines now: the baseline for NoLeak,
// taken before the code under test starts any. The os/signal dispatcher,
// started once per process by the first signal.Notify, is never counted.
func Goroutines(only ...Counted) int {
	n, _ := count(only)
	return n
}

func count(only []Counted) (int, string) {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	all := string(buf)
	n := 0
	for _, g := range strings.Split(all, "\n\n") {
		if strings.Contains(g, "os/signal.loop") {
			continue
		}
		ok := true
		for _, c := range only {
			ok = ok && c(g)
		}
		if ok {
			n++
		}
	}
	return n, all
}

// NoLeak waits until at most baseline goroutines (of those only selects)
// remain, and fails the test with every goroutine's stack once total has
// passed.
func NoLeak(t testing.TB, baseline int, total time.Duration, only ...Counted) {
	t.Helper()
	deadline := time.Now().Add(total)
	for {
		n, stacks := count(only)
		if n <= baseline {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutine leak: %d running, baseline %d, after %v\n%s", n, baseline, total, stacks)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Returned waits up to total for the result a goroutine sends on done once
// what (for example "Run") has returned, and fails the test if the result
// is an error or does not come.
func Returned(t testing.TB, done <-chan error, total time.Duration, what string) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(total):
		t.Fatalf("%s did not return within %v", what, total)
	}
}

// Ready waits up to total for ready to close, and fails the test if what
// returns on done first (its result is then the failure) or time runs out.
func Ready(t testing.TB, ready <-chan struct{}, done <-chan error, total time.Duration, what string) {
	t.Helper()
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("%s returned before it was ready: %v", what, err)
	case <-time.After(total):
		t.Fatalf("%s not ready within %v", what, total)
	}
}

// Buffer collects text written concurrently (a logger on several
// goroutines, a command writing while the test reads it).
type Buffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
