package mqtt

import (
	"context"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/transport"
)

// TestRetainedAfterRestartWithQueuedMessages: a post process that starts
// again on its persistent session, while the broker holds QoS 1 messages
// queued for it, gets the retained messages of its filters (HQ's
// encryption key statement) at its subscribe.
func TestRetainedAfterRestartWithQueuedMessages(t *testing.T) {
	b := startMochi(t, nil)
	o := testOptions(b.URL(), "resub")
	const queued, retained = "t/queued", "t/retained"
	first, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Subscribe(queued, func(transport.Message) {}); err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 5*time.Second, "first run connected", testkit.True(first.Connected))
	if err := first.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	hq := startClient(t, testOptions(b.URL(), "hq"))
	testkit.CheckFor(t, 5*time.Second, "HQ connected", testkit.True(hq.Connected))
	if err := hq.Publish(context.Background(), retained, []byte("statement"), true); err != nil {
		t.Fatal(err)
	}
	// While the post is down, HQ sends to it: the broker queues these in
	// its session with packet ids 1, 2, 3.
	for range 3 {
		if err := hq.Publish(context.Background(), queued, []byte("ack"), false); err != nil {
			t.Fatal(err)
		}
	}

	second, err := New(o) // the restarted process: same client id, fresh packet ids
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 1)
	if err := second.Subscribe(queued, func(transport.Message) {}); err != nil {
		t.Fatal(err)
	}
	if err := second.Subscribe(retained, func(transport.Message) {
		select {
		case got <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = second.Close(context.Background()) })
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatalf("the retained message did not come at the restarted post's subscribe (connected: %v)", second.Connected())
	}
	testkit.CheckFor(t, 5*time.Second, "the restarted post connected", testkit.True(second.Connected))
}
