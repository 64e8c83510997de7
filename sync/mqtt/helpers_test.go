package mqtt

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"

	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/transport"
	"github.com/watchpost/watchpost/sync/transport/transporttest"
)

const testQueueLen = 32

// broker is a broker under test on a fixed loopback address.
type broker interface {
	URL() string
	Restart(t *testing.T)
	Stop(t *testing.T)
	Start(t *testing.T)
}

// mochiBroker is an in-process mochi-mqtt broker (no persistence: a
// restart forgets sessions and retained messages).
type mochiBroker struct {
	addr string
	tls  *tls.Config
	srv  *mochi.Server
}

func startMochi(t *testing.T, tlsCfg *tls.Config) *mochiBroker {
	t.Helper()
	b := &mochiBroker{addr: "127.0.0.1:0", tls: tlsCfg}
	b.Start(t)
	t.Cleanup(func() { b.Stop(t) })
	return b
}

func (b *mochiBroker) Start(t *testing.T) {
	t.Helper()
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(brokertest.AllowAll), nil); err != nil {
		t.Fatal(err)
	}
	l := listeners.NewTCP(listeners.Config{ID: "t", Address: b.addr, TLSConfig: b.tls})
	var err error
	// The port of a just-closed listener is free again at once
	// (SO_REUSEADDR); retry briefly all the same.
	testkit.CheckFor(t, 5*time.Second, "listen on "+b.addr, testkit.True(func() bool {
		err = srv.AddListener(l)
		return err == nil
	}))
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	b.addr = l.Address()
	b.srv = srv
}

func (b *mochiBroker) Stop(*testing.T) {
	if b.srv != nil {
		_ = b.srv.Close()
		b.srv = nil
	}
}

func (b *mochiBroker) Restart(t *testing.T) { b.Stop(t); b.Start(t) }

func (b *mochiBroker) URL() string {
	if b.tls != nil {
		return "tls://" + b.addr
	}
	return "tcp://" + b.addr
}

// kill ends the broker side of a client's session abruptly.
func (b *mochiBroker) kill(t *testing.T, clientID string) {
	cl, ok := b.srv.Clients.Get(clientID)
	if !ok {
		t.Fatalf("broker has no client %q", clientID)
	}
	cl.Stop(fmt.Errorf("killed by test"))
}

// mosquittoBroker adapts brokertest's Mosquitto to broker.
type mosquittoBroker struct{ m *brokertest.Mosquitto }

func startMosquitto(t *testing.T) *mosquittoBroker {
	t.Helper()
	return &mosquittoBroker{brokertest.StartMosquitto(t, "persistence false")}
}

func (b *mosquittoBroker) Start(t *testing.T)   { b.m.Start(t) }
func (b *mosquittoBroker) Stop(*testing.T)      { b.m.Stop() }
func (b *mosquittoBroker) Restart(t *testing.T) { b.m.Restart(t) }
func (b *mosquittoBroker) URL() string          { return b.m.URL() }

var clientSeq atomic.Int64

// testOptions are fast timeouts for loopback tests.
func testOptions(url, name string) Options {
	return Options{
		Brokers:              []string{url},
		ClientID:             fmt.Sprintf("watchpost-post-%s-%d", name, clientSeq.Add(1)),
		KeepAlive:            5 * time.Second,
		PingTimeout:          2 * time.Second,
		ConnectTimeout:       2 * time.Second,
		WriteTimeout:         2 * time.Second,
		ConnectRetryInterval: 100 * time.Millisecond,
		MaxReconnectInterval: 200 * time.Millisecond,
		QueueLen:             testQueueLen,
	}
}

func startClient(t *testing.T, o Options) *Client {
	t.Helper()
	c, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = c.Close(ctx)
	})
	return c
}

func harness(b broker) transporttest.Harness {
	return transporttest.Harness{
		New: func(t *testing.T, name string) transport.Transport {
			return startClient(t, testOptions(b.URL(), name))
		},
		Restart: b.Restart,
		Down: func(t *testing.T) func() {
			b.Stop(t)
			return func() { b.Start(t) }
		},
		Cut:      func(_ *testing.T, tr transport.Transport) { tr.(*Client).cut() },
		QueueLen: testQueueLen,
	}
}
