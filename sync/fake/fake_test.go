package fake

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/transport"
	"github.com/watchpost/watchpost/sync/transport/transporttest"
)

const testQueueLen = 16

func TestContract(t *testing.T) {
	b := NewBroker()
	var n atomic.Int64
	transporttest.Run(t, transporttest.Harness{
		New: func(t *testing.T, name string) transport.Transport {
			c, err := b.Connect(Options{ClientID: fmt.Sprintf("%s-%d", name, n.Add(1)), QueueLen: testQueueLen})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = c.Close(context.Background()) })
			return c
		},
		Restart: func(*testing.T) { b.Restart() },
		Down: func(*testing.T) func() {
			b.Down()
			return b.Up
		},
		Cut:      func(_ *testing.T, tr transport.Transport) { b.Cut(tr.(*Client).opts.ClientID) },
		QueueLen: testQueueLen,
	})
}

func TestWillOnCutNotOnClose(t *testing.T) {
	b := NewBroker()
	presence := protocol.PresenceTopic("p1")
	obs, err := b.Connect(Options{ClientID: "hq"})
	if err != nil {
		t.Fatal(err)
	}
	defer obs.Close(context.Background())
	var in transporttest.Inbox
	if err := obs.Subscribe(presence, in.Handle); err != nil {
		t.Fatal(err)
	}
	post, err := b.Connect(Options{ClientID: "watchpost-post-p1", Will: &transport.Message{Topic: presence, Payload: []byte("offline")}})
	if err != nil {
		t.Fatal(err)
	}
	b.Cut("watchpost-post-p1")
	testkit.CheckFor(t, time.Second, "will", testkit.True(func() bool { return in.Has(presence, []byte("offline")) }))
	if p, ok := b.Retained(presence); !ok || string(p) != "offline" {
		t.Errorf("retained presence = %q, %v; want the will, retained", p, ok)
	}
	if !post.Connected() {
		t.Error("client did not reconnect after the cut")
	}
	if err := post.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := in.Len(); got != 1 {
		t.Errorf("%d presence messages after a clean Close, want 1 (the will is for abnormal disconnects)", got)
	}
}
