package clocktest

import (
	"testing"
	"time"
)

func TestTimersFireWhenDue(t *testing.T) {
	c := New()
	a, b := c.NewTimer(time.Second), c.NewTimer(time.Minute)
	if n := c.Waiters(); n != 2 {
		t.Fatalf("%d waiters, want 2", n)
	}
	c.Advance(time.Second - time.Nanosecond)
	if n := c.Waiters(); n != 2 {
		t.Fatalf("a timer fired early: %d waiters", n)
	}
	c.Advance(time.Nanosecond)
	select {
	case at := <-a.C():
		if !at.Equal(DefaultStart.Add(time.Second)) {
			t.Fatalf("fired at %s", at)
		}
	default:
		t.Fatal("due timer did not fire")
	}
	if n := c.Waiters(); n != 1 {
		t.Fatalf("%d waiters after one fired, want 1", n)
	}
	if !b.Stop() || b.Stop() {
		t.Fatal("Stop of a pending timer must report true once")
	}
	if a.Stop() {
		t.Fatal("Stop of a fired timer reported true")
	}
	c.WaitWaiters(t, 0)
}

func TestZeroTimerFiresAtOnce(t *testing.T) {
	c := New()
	select {
	case <-c.NewTimer(0).C():
	default:
		t.Fatal("a timer for 0 did not fire at once")
	}
	if n := c.Waiters(); n != 0 {
		t.Fatalf("%d waiters, want 0", n)
	}
}

func TestWaitTimer(t *testing.T) {
	c := New()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-c.NewTimer(time.Hour).C()
	}()
	c.WaitTimer(t)
	c.Advance(time.Hour)
	<-done
	c.Set(DefaultStart)
	if got := c.Now(); !got.Equal(DefaultStart) {
		t.Fatalf("Set: now %s", got)
	}
}
