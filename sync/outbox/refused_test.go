package outbox_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/fake"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
)

// A broker that PUBACKs and drops (its ACL refuses the post's topics)
// shows as UnackedSince: set at the first PUBACK HQ does not answer, kept
// however long nothing comes back, cleared by HQ's ack.
func TestUnackedSince(t *testing.T) {
	b := fake.NewBroker()
	hqConn := connect(t, b, "hq")
	hq := newHQ(t, hqConn, testPost)
	hq.setWithhold(func(string, int) bool { return true })
	clk := clocktest.New()
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{Clock: clk})
	r := startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{AckTimeout: time.Hour})
	if since := r.p.Stats().UnackedSince; !since.IsZero() {
		t.Fatalf("UnackedSince %v with nothing sent", since)
	}
	sentAt := clk.Now()
	rec := put(t, ob, protocol.RecordHit, string(hitPayload(1)))
	testkit.CheckFor(t, waitLong, "PUBACKed", testkit.True(func() bool { return r.p.Stats().Published == 1 }), testkit.Every(time.Millisecond))
	clk.Advance(10 * time.Minute)
	put(t, ob, protocol.RecordHit, string(hitPayload(2)))
	testkit.CheckFor(t, waitLong, "second PUBACK", testkit.True(func() bool { return r.p.Stats().Published == 2 }), testkit.Every(time.Millisecond))
	if since := r.p.Stats().UnackedSince; !since.Equal(sentAt.UTC()) {
		t.Fatalf("UnackedSince %v, want the first unanswered PUBACK at %v", since, sentAt)
	}
	good, _ := protocol.EncodeAck([]string{rec.ID})
	if err := hqConn.Publish(context.Background(), protocol.AcksTopic(testPost), good, false); err != nil {
		t.Fatal(err)
	}
	// HQ answers: the record still in flight waits from the ack on.
	testkit.CheckFor(t, waitLong, "acked", testkit.True(func() bool { return r.p.Stats().UnackedSince.Equal(clk.Now().UTC()) }), testkit.Every(time.Millisecond))
}

// Before the link has ever been up (a post starting), "not connected"
// is no warning; once it has been up, losing it is.
func TestNoWarningBeforeFirstConnect(t *testing.T) {
	b := fake.NewBroker()
	newHQ(t, connect(t, b, "hq"), testPost)
	clk := clocktest.New()
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{Clock: clk})
	var log testkit.Buffer
	b.Down()
	r := startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{BackoffMin: time.Second, BackoffMax: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	put(t, ob, protocol.RecordHit, string(hitPayload(1)))
	testkit.CheckFor(t, waitLong, "a failed publish", testkit.True(func() bool { return r.p.Stats().PublishErrors >= 1 }), testkit.Every(time.Millisecond))
	if strings.Contains(log.String(), "publish failed") {
		t.Fatalf("warned before the first connection:\n%s", log.String())
	}
	b.Up()
	testkit.CheckFor(t, waitLong, "drained", testkit.True(func() bool { return ob.Depth().Records == 0 }), testkit.Each(func() { clk.Advance(time.Second) }), testkit.Every(time.Millisecond))
	b.Down()
	put(t, ob, protocol.RecordHit, string(hitPayload(2)))
	testkit.CheckFor(t, waitLong, "warning after the link was lost", testkit.True(func() bool { return strings.Contains(log.String(), "publish failed") }),
		testkit.Each(func() { clk.Advance(time.Second) }), testkit.Every(time.Millisecond))
}
