package mqtt

import (
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/testkit"
)

// TestReconnectDelay: with the default cap the wait doubles from 1 s to
// 8 s and never exceeds 10 s whatever the jitter draws.
func TestReconnectDelay(t *testing.T) {
	const lo, mid, hi = 0, 0.5, 0.999999
	for _, tc := range []struct {
		n    int
		want time.Duration // the unjittered wait
	}{{0, time.Second}, {1, 2 * time.Second}, {2, 4 * time.Second}, {3, 8 * time.Second}, {4, 8 * time.Second}, {60, 8 * time.Second}} {
		if got := reconnectDelay(tc.n, DefaultMaxReconnectInterval, mid); got != tc.want {
			t.Errorf("attempt %d: wait %v, want %v", tc.n, got, tc.want)
		}
		if got, want := reconnectDelay(tc.n, DefaultMaxReconnectInterval, lo), tc.want*8/10; got != want {
			t.Errorf("attempt %d, lowest draw: wait %v, want %v", tc.n, got, want)
		}
		if got := reconnectDelay(tc.n, DefaultMaxReconnectInterval, hi); got <= tc.want || got > tc.want*12/10 || got > 10*time.Second {
			t.Errorf("attempt %d, highest draw: wait %v, want in (%v, %v] and at most 10 s", tc.n, got, tc.want, tc.want*12/10)
		}
	}
	// A cap below the base (tests) is the wait from the first attempt.
	if got := reconnectDelay(0, 200*time.Millisecond, mid); got != 200*time.Millisecond {
		t.Errorf("cap 200ms: first wait %v", got)
	}
}

// TestBackoffRestarts: the loss of a connection that lasted starts again
// from the base; the loss of one the broker dropped at once goes on
// growing.
func TestBackoffRestarts(t *testing.T) {
	const mid = 0.5
	var b backoff
	now := clocktest.DefaultStart
	for _, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if got := b.next(now, DefaultMaxReconnectInterval, mid); got != want {
			t.Fatalf("boot back-off: %v, want %v", got, want)
		}
	}
	b.connected(now)
	if got := b.next(now.Add(time.Second), DefaultMaxReconnectInterval, mid); got != 8*time.Second {
		t.Errorf("after a 1 s connection: %v, want 8s (still growing)", got)
	}
	b.connected(now)
	if got := b.next(now.Add(stableConnection), DefaultMaxReconnectInterval, mid); got != time.Second {
		t.Errorf("after a connection of %v: %v, want 1s", stableConnection, got)
	}
}

// TestReconnectAfterOutage: with the default back-off, a client whose
// broker is down for 40 s (on the injected clock) reconnects within 10 s
// of the broker's return, and the waits at the cap differ (jitter).
func TestReconnectAfterOutage(t *testing.T) {
	b := startMochi(t, nil)
	clk := clocktest.New()
	o := testOptions(b.URL(), "outage")
	o.MaxReconnectInterval = 0 // the default
	o.Clock = clk
	c := startClient(t, o)
	testkit.CheckFor(t, 5*time.Second, "connected", testkit.True(c.Connected))

	const tick = 50 * time.Millisecond
	// waitOut advances the clock through the pending wait, in ticks,
	// and returns its length.
	waitOut := func() time.Duration {
		var d time.Duration
		for clk.Waiters() > 0 {
			clk.Advance(tick)
			d += tick
		}
		return d
	}
	b.Stop(t)
	var waits []time.Duration
	var down time.Duration
	for down < 40*time.Second {
		clk.WaitTimer(t) // the attempt failed: the client waits again
		w := waitOut()
		waits = append(waits, w)
		down += w
	}
	clk.WaitTimer(t)
	b.Start(t)
	var lag time.Duration
	for !c.Connected() {
		testkit.CheckFor(t, 5*time.Second, "a wait or the connection", testkit.True(func() bool { return clk.Waiters() > 0 || c.Connected() }))
		lag += waitOut()
	}
	t.Logf("waits while the broker was down: %v; reconnected %v after it returned", waits, lag)
	limit := DefaultMaxReconnectInterval*12/10 + tick
	if lag > limit || limit > 10*time.Second+tick {
		t.Errorf("reconnected %v after the broker returned, want at most %v (and 10 s)", lag, limit)
	}
	distinct := map[time.Duration]bool{}
	for i, w := range waits {
		if w > limit {
			t.Errorf("wait %d: %v, above %v", i, w, limit)
		}
		if i >= 4 {
			distinct[w] = true
		}
	}
	if len(waits) < 6 || len(distinct) < 2 {
		t.Errorf("waits %v: want at least two at the cap, not all equal (jitter)", waits)
	}
}

// TestReconnectAfterOutageRealTime is TestReconnectAfterOutage on the
// system clock, so that it measures whatever back-off the client uses
// (paho's own back-off, without the injected clock, tried 1, 3, 7, 15 and
// 31 s after the loss: after an 18 s outage it reconnected 13 s after the
// broker returned). It takes about 25 s.
func TestReconnectAfterOutageRealTime(t *testing.T) {
	if testing.Short() {
		t.Skip("keeps the broker down for 18 s")
	}
	b := startMochi(t, nil)
	o := testOptions(b.URL(), "outage-rt")
	o.MaxReconnectInterval = 0 // the default
	c := startClient(t, o)
	testkit.CheckFor(t, 5*time.Second, "connected", testkit.True(c.Connected))
	b.Stop(t)
	testkit.CheckFor(t, 5*time.Second, "disconnected", testkit.True(func() bool { return !c.Connected() }))
	time.Sleep(18 * time.Second) // the outage
	b.Start(t)
	back := time.Now()
	limit := DefaultMaxReconnectInterval*12/10 + time.Second
	testkit.CheckFor(t, limit, "reconnected within the capped back-off", testkit.True(c.Connected))
	t.Logf("reconnected %v after the broker returned", time.Since(back).Round(time.Millisecond))
}
