package fieldtest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
)

// echoServer answers every connection with what it reads.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for c, err := ln.Accept(); err == nil; c, err = ln.Accept() {
			go func(c net.Conn) { _, _ = io.Copy(c, c); c.Close() }(c)
		}
	}()
	return ln.Addr().String()
}

func newTestLink(t *testing.T) (*Link, string) {
	t.Helper()
	l := NewLink(1)
	t.Cleanup(l.Close)
	target := echoServer(t)
	addr, err := l.Forward(func() string { return target })
	if err != nil {
		t.Fatal(err)
	}
	return l, addr
}

func roundTrip(t *testing.T, c net.Conn, n int) {
	t.Helper()
	out := make([]byte, n)
	if _, err := rand.Read(out); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = c.Write(out) }()
	in := make([]byte, n)
	if err := c.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, in); err != nil {
		t.Fatalf("read back: %v", err)
	}
	if !bytes.Equal(in, out) {
		t.Fatal("the link changed the bytes")
	}
}

// TestLinkCarriesAndCounts: the bytes cross the link intact, in order,
// under the satellite profile, and are counted each way.
func TestLinkCarriesAndCounts(t *testing.T) {
	l, addr := newTestLink(t)
	l.SetProfile(Profile{Delay: 5 * time.Millisecond, Loss: 0.2, RTO: 10 * time.Millisecond, Rate: 4_000_000})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, 50_000)
	var got Counts
	testkit.CheckFor(t, 10*time.Second, "50000 bytes counted each way over 1 connection", func() error {
		if got = l.Counts(); got.Up != 50_000 || got.Down != 50_000 || got.Connections != 1 {
			return fmt.Errorf("counts %+v", got)
		}
		return nil
	})
	if got.Segments < 2*50_000/segmentBytes {
		t.Fatalf("%d segments for 100000 bytes: more than %d bytes a piece", got.Segments, segmentBytes)
	}
	if w, m := got.Wire(), got.WireMax(); w <= got.Up+got.Down || m <= w {
		t.Fatalf("wire estimates %d and %d for %d bytes of payload", w, m, got.Up+got.Down)
	}
	l.ResetCounts()
	if got := l.Counts(); got != (Counts{}) {
		t.Fatalf("after ResetCounts: %+v", got)
	}
}

// TestLinkArrival: what crosses waits for what was queued before it at
// the link's rate, then the delay; a lost piece waits one RTO more.
func TestLinkArrival(t *testing.T) {
	l := NewLink(1)
	l.SetProfile(Profile{Delay: 300 * time.Millisecond, Rate: 128_000})
	first := l.arrival(0, 1600, time.Time{})
	second := l.arrival(0, 1600, time.Time{})
	if got, want := second.Sub(first), 100*time.Millisecond; got != want {
		t.Fatalf("1600 bytes queued behind 1600 others arrive %s later, want %s at 128 kbit/s", got, want)
	}
	if down := l.arrival(1, 1600, time.Time{}); !down.Before(second) {
		t.Fatal("the other direction waited for this one's queue")
	}
	if got := l.arrival(0, 1, second.Add(time.Hour)); !got.Equal(second.Add(time.Hour)) {
		t.Fatalf("a piece overtook the one ahead of it on its connection: %s", got)
	}
	lossy := NewLink(1)
	lossy.SetProfile(Profile{Delay: 300 * time.Millisecond, Loss: 1})
	before := time.Now()
	if got, want := lossy.arrival(0, 1, time.Time{}).Sub(before), 300*time.Millisecond+800*time.Millisecond; got < want {
		t.Fatalf("a lost piece arrives after %s, want at least the delay and an RTO (%s)", got, want)
	}
}

// TestLinkCutAndRestore: a cut resets every connection and refuses new
// ones; after Restore connections cross again.
func TestLinkCutAndRestore(t *testing.T) {
	l, addr := newTestLink(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roundTrip(t, c, 100)
	l.Cut()
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var ne net.Error
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a connection across a cut link read %v, want it reset", err)
	}
	refused := func() error {
		d, err := net.Dial("tcp", addr)
		if err != nil {
			return nil
		}
		defer d.Close()
		_ = d.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := d.Write([]byte("x")); err == nil {
			if _, err := d.Read(make([]byte, 1)); err == nil {
				return errors.New("a new connection crossed the cut link")
			}
		}
		return nil
	}
	if err := refused(); err != nil {
		t.Fatal(err)
	}
	l.Restore()
	testkit.CheckFor(t, 10*time.Second, "a connection across the restored link", func() error {
		d, err := net.Dial("tcp", addr)
		if err != nil {
			return err
		}
		defer d.Close()
		roundTrip(t, d, 100)
		return nil
	})
}
