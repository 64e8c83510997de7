package outbox_test

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	"github.com/watchpost/watchpost/sync/brokertest"

	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/mqtt"
	"github.com/watchpost/watchpost/sync/mqtt/mqtttest"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
)

// startMosquitto runs Mosquitto without persistence and returns its URL.
// set_tcp_nodelay matters: with Mosquitto's default (Nagle on) every
// broker-to-client packet of a small-message request/response flow waits
// for the peer's delayed ACK (~40 ms), and the drain measured 1,050 hits/s
// instead of 8,400 (window 32).
func startMosquitto(t testing.TB) string {
	t.Helper()
	return brokertest.StartMosquitto(t, "persistence false", "set_tcp_nodelay true").URL()
}

func mqttClient(t testing.TB, url, id string) *mqtt.Client {
	t.Helper()
	c := mqtttest.New(t, mqtttest.Options(url, id), nil)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestMosquittoDrain drains 10,000 hits through a real Mosquitto to an HQ
// simulator subscribed over MQTT, and reports the rate.
func TestMosquittoDrain(t *testing.T) {
	url := startMosquitto(t)
	n := 10000
	if testing.Short() {
		n = 1000
	}
	hqConn := mqttClient(t, url, "watchpost-hq-test")
	hq := newHQ(t, hqConn, testPost)
	post := mqttClient(t, url, "watchpost-post-"+testPost)
	testkit.CheckFor(t, 10*time.Second, "both clients connected", testkit.True(func() bool { return hqConn.Connected() && post.Connected() }), testkit.Every(time.Millisecond))

	s := openStore(t, t.TempDir())
	ob := openOutbox(t, s, outbox.Options{})
	ids := putBatch(t, s, ob, n)
	start := time.Now()
	// A short ack timeout: an ack lost on a loaded test machine (HQ's
	// publish timing out) costs seconds, not the default two minutes.
	r := startPublisher(t, ob, post, outbox.PublisherOptions{AckTimeout: 5 * time.Second})
	testkit.CheckFor(t, 60*time.Second, "outbox drained", func() error {
		if ob.Depth().Records == 0 {
			return nil
		}
		u, rc, _ := hq.stats()
		return fmt.Errorf("depth %+v, publisher %+v, HQ %d unique of %d receipts, HQ ack errors %d, post drops %d, HQ drops %d",
			ob.Depth(), r.p.Stats(), u, rc, hq.ackErrCount(), post.Dropped(), hqConn.Dropped())
	}, testkit.Every(5*time.Millisecond))
	el := time.Since(start)
	r.stop(t)
	unique, received, dups := hq.stats()
	if unique != n {
		t.Fatalf("HQ holds %d distinct hits, want %d", unique, n)
	}
	for _, id := range ids {
		if hq.count(id) == 0 {
			t.Fatalf("hit %s lost", id)
		}
	}
	t.Logf("Mosquitto: %d hits drained in %v: %.0f hits/s (%d receipts, %d duplicates, publisher %+v)",
		n, el.Round(time.Millisecond), float64(n)/el.Seconds(), received, dups, r.p.Stats())
}

// TestMosquittoACLRefusal: a Mosquitto whose ACL refuses the post's hits
// topic PUBACKs the publish and drops it (MQTT 3.1.1 has no refusal):
// the record stays, HQ gets nothing, and UnackedSince says since when
// the broker has taken records that HQ never answered.
func TestMosquittoACLRefusal(t *testing.T) {
	acl := filepath.Join(t.TempDir(), "acl")
	// HQ may read every post's hits and write acks; no one may write hits.
	if err := os.WriteFile(acl, []byte("topic read "+protocol.PostsHitsFilter+"\ntopic readwrite "+protocol.PostsAcksFilter+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// As root, Mosquitto would switch to user mosquitto, who cannot read acl.
	url := brokertest.StartMosquitto(t, "persistence false", "acl_file "+acl, "user "+me.Username).URL()
	hqConn := mqttClient(t, url, "watchpost-hq-test")
	hq := newHQ(t, hqConn, testPost)
	post := mqttClient(t, url, "watchpost-post-"+testPost)
	testkit.CheckFor(t, 10*time.Second, "both clients connected", testkit.True(func() bool { return hqConn.Connected() && post.Connected() }), testkit.Every(time.Millisecond))
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{})
	before := time.Now()
	put(t, ob, protocol.RecordHit, string(hitPayload(1)))
	r := startPublisher(t, ob, post, outbox.PublisherOptions{})
	testkit.CheckFor(t, 10*time.Second, "PUBACKed", testkit.True(func() bool { return r.p.Stats().Published == 1 }), testkit.Every(time.Millisecond))
	st := r.p.Stats()
	if st.UnackedSince.Before(before) || st.Acked != 0 || !post.Connected() {
		t.Fatalf("stats %+v (connected %v): want UnackedSince after %v, nothing acked, the link up", st, post.Connected(), before)
	}
	if unique, _, _ := hq.stats(); unique != 0 {
		t.Fatalf("HQ received %d records through a refusing ACL", unique)
	}
	mustDepth(t, ob, 1)
}
