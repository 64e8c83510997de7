package mqtt

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/transport"
	"github.com/watchpost/watchpost/sync/transport/transporttest"
)

func TestContractMochi(t *testing.T) {
	transporttest.Run(t, harness(startMochi(t, nil)))
}

func TestContractMosquitto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a mosquitto process")
	}
	transporttest.Run(t, harness(startMosquitto(t)))
}

// presenceTest checks the birth and will records: "online" after
// connect, the will "offline" when the link dies, "online" again after
// the reconnect, and "offline" published by Close.
func presenceTest(t *testing.T, b broker, kill func(c *Client)) {
	topic := transporttest.Topic(t) + "/presence"
	hq := startClient(t, testOptions(b.URL(), "hq"))
	var in transporttest.Inbox
	if err := hq.Subscribe(topic, in.Handle); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, "hq connected", testkit.True(hq.Connected))

	o := testOptions(b.URL(), "p1")
	o.Presence = &Presence{Topic: topic, Online: []byte("online"), Offline: []byte("offline")}
	if testing.Verbose() {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	post := startClient(t, o)
	last := func() string {
		m := in.Messages()
		if len(m) == 0 {
			return ""
		}
		return string(m[len(m)-1].Payload)
	}
	testkit.CheckFor(t, 5*time.Second, "online", testkit.True(func() bool { return last() == "online" }))
	n := in.Len()
	kill(post)
	testkit.CheckFor(t, 5*time.Second, "will after the link died", testkit.True(func() bool {
		for _, m := range in.Messages()[n:] {
			if string(m.Payload) == "offline" {
				return true
			}
		}
		return false
	}))
	defer func() {
		if t.Failed() {
			for _, m := range in.Messages() {
				t.Logf("presence: %q retained=%v", m.Payload, m.Retained)
			}
		}
	}()
	// The reconnect publishes "online" again. Its order relative to the
	// will is up to the broker (mochi may publish the old connection's
	// will after the new connection's birth), so presence consumers must
	// order records by a sequence in the payload, not by arrival.
	testkit.CheckFor(t, 5*time.Second, "online again after reconnect", testkit.True(func() bool {
		for _, m := range in.Messages()[n:] {
			if string(m.Payload) == "online" {
				return post.Connected()
			}
		}
		return false
	}))

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := post.Close(ctx); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, "offline published by Close", testkit.True(func() bool { return last() == "offline" }))

	// The retained record is "offline" for a late subscriber.
	var late transporttest.Inbox
	obs := startClient(t, testOptions(b.URL(), "late"))
	if err := obs.Subscribe(topic, late.Handle); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, "retained offline", testkit.True(func() bool { return late.Has(topic, []byte("offline")) }))
}

func TestWillMochiClientSideCut(t *testing.T) {
	presenceTest(t, startMochi(t, nil), func(c *Client) { c.cut() })
}

func TestWillMochiBrokerSideKill(t *testing.T) {
	b := startMochi(t, nil)
	presenceTest(t, b, func(c *Client) { b.kill(t, c.opts.ClientID) })
}

func TestWillMosquitto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a mosquitto process")
	}
	presenceTest(t, startMosquitto(t), func(c *Client) { c.cut() })
}

// TestPublishBlackHole: a broker that accepts the connection and then
// never acknowledges anything must not hang Publish (paho's token.Wait
// can hang forever).
func TestPublishBlackHole(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer l.Close()
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				buf := make([]byte, 1024)
				if _, err := conn.Read(buf); err != nil { // CONNECT
					return
				}
				// CONNACK, session not present, accepted.
				if _, err := conn.Write([]byte{0x20, 0x02, 0x00, 0x00}); err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, conn) // swallow everything
			}()
		}
	}()
	c := startClient(t, testOptions("tcp://"+l.Addr().String(), "bh"))
	testkit.CheckFor(t, 5*time.Second, "connected to the black hole", testkit.True(c.Connected))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.Publish(ctx, protocol.HitsTopic("bh"), []byte("hit"), false)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Publish = %v, want DeadlineExceeded", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Publish took %v with a 300 ms deadline", el)
	}
	closeCtx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := c.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
}

// TestBootOffline: a post that starts with no broker keeps trying and
// connects when the broker appears (ConnectRetry: AutoReconnect alone
// needs a first successful connect);
// OnState reports the failures and the connect.
func TestBootOffline(t *testing.T) {
	b := &mochiBroker{addr: "127.0.0.1:" + strconv.Itoa(brokertest.FreePort(t))}
	var mu sync.Mutex
	var states []State
	o := testOptions(b.URL(), "boot")
	o.OnState = func(s State) { mu.Lock(); states = append(states, s); mu.Unlock() }
	c := startClient(t, o)
	var in transporttest.Inbox
	topic := transporttest.Topic(t)
	if err := c.Subscribe(topic, in.Handle); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, "failed attempts reported", testkit.True(func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(states) >= 2
	}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.Publish(ctx, topic, []byte("x"), false); !errors.Is(err, transport.ErrNotConnected) {
		t.Errorf("Publish while offline = %v, want ErrNotConnected", err)
	}
	b.Start(t)
	defer b.Stop(t)
	testkit.CheckFor(t, 5*time.Second, "connected after the broker appeared", testkit.True(c.Connected))
	if err := c.Publish(context.Background(), topic, []byte("x"), false); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, "own message", testkit.True(func() bool { return in.Has(topic, []byte("x")) }))
	mu.Lock()
	defer mu.Unlock()
	if s := states[0]; s.Connected || s.Err == nil {
		t.Errorf("first state = %+v, want a failure with its reason", s)
	}
	if s := states[len(states)-1]; !s.Connected {
		t.Errorf("last state = %+v, want connected", s)
	}
}
