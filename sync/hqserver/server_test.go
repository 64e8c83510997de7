package hqserver

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/fake"
	"github.com/watchpost/watchpost/sync/mqtt/mqtttest"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/transport"
)

const testPost = "post-1"

// TestDrain: a post's real outbox publisher drains records put while its
// client was disconnected; HQ stores each exactly once and the outbox
// ends empty.
func TestDrain(t *testing.T) {
	forEachBroker(t, func(t *testing.T, url string) {
		h := startHQ(t, url, Config{})

		postStore := openStore(t, t.TempDir())
		ob, err := outbox.Open(context.Background(), postStore, outbox.Options{})
		if err != nil {
			t.Fatal(err)
		}
		postCli := newClient(t, url, "watchpost-post-"+testPost, nil)
		pub, err := outbox.NewPublisher(ob, postCli, outbox.PublisherOptions{
			Post: testPost, BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond, AckTimeout: 10 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		pubDone := make(chan error, 1)
		go func() { pubDone <- pub.Run(ctx) }()
		defer func() {
			cancel()
			if err := <-pubDone; err != nil {
				t.Errorf("publisher: %v", err)
			}
		}()

		// Offline first: every record is put while the post is
		// disconnected.
		n := 500
		ids := map[string]bool{}
		for i := range n {
			r, err := ob.Put(ctx, outbox.Record{Kind: protocol.RecordHit, Payload: hitPayload(testPost, i)})
			if err != nil {
				t.Fatal(err)
			}
			ids[r.ID] = true
		}
		disp := fmt.Sprintf(`{"post":%q,"hit_id":"x","decision":"confirmed","officer":"o-1","decided_at":"2026-07-01T10:01:00Z"}`, testPost)
		status := fmt.Sprintf(`{"post":%q,"software":"watchpost 1.2.3","boot":3,"clock":"2026-07-01T10:02:00Z","lists":[],"outbox":{"records":7}}`, testPost)
		for _, rec := range []outbox.Record{{Kind: protocol.RecordDisposition, Payload: []byte(disp)}, {Kind: protocol.RecordStatus, Payload: []byte(status)}} {
			r, err := ob.Put(ctx, rec)
			if err != nil {
				t.Fatal(err)
			}
			ids[r.ID] = true
		}
		// The publisher has tried and failed: nothing reached HQ.
		testkit.CheckFor(t, 10*time.Second, "a failed publish while offline", testkit.True(func() bool { return pub.Stats().PublishErrors > 0 }))
		if st := pub.Stats(); st.Published != 0 {
			t.Fatalf("published %d records while disconnected", st.Published)
		}
		if c := h.srv.Counts(); c.Received != 0 {
			t.Fatalf("HQ received %d records from a disconnected post", c.Received)
		}

		start := time.Now()
		mqtttest.Start(t, postCli)
		testkit.CheckFor(t, 60*time.Second, "outbox drained", func() error {
			if d := ob.Depth(); d.Records != 0 {
				return fmt.Errorf("%d records left; HQ %+v; publisher %+v", d.Records, h.srv.Counts(), pub.Stats())
			}
			return nil
		})
		el := time.Since(start)
		t.Logf("drained %d records in %s (%.0f records/s); HQ %+v", len(ids), el.Round(time.Millisecond), float64(len(ids))/el.Seconds(), h.srv.Counts())

		c := h.srv.Counts()
		if c.Stored != uint64(len(ids)) || c.Invalid != 0 || c.Malformed != 0 {
			t.Fatalf("counts %+v, want %d stored, none invalid or malformed", c, len(ids))
		}
		recs, err := h.srv.Hits(ctx, HitFilter{Limit: MaxHitsLimit})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, r := range recs {
			seen[r.ID]++
			if r.Post != testPost || !ids[r.ID] {
				t.Fatalf("unexpected record %+v", r)
			}
		}
		if len(seen) != len(ids) || len(recs) != len(ids) {
			t.Fatalf("HQ holds %d records (%d unique), want %d", len(recs), len(seen), len(ids))
		}
		for i := 1; i < len(recs); i++ {
			if recs[i].ReceivedAt.After(recs[i-1].ReceivedAt) {
				t.Fatalf("records not newest first at %d", i)
			}
		}
		hits, err := h.srv.Hits(ctx, HitFilter{Kind: "hit", List: "un", Post: testPost, Limit: 10})
		if err != nil || len(hits) != 10 || hits[0].Kind != "hit" || !slices.Equal(hits[0].Lists, []string{"un"}) {
			t.Fatalf("filtered hits: %d, %v", len(hits), err)
		}
		if d, _ := h.srv.Hits(ctx, HitFilter{Kind: "disposition"}); len(d) != 1 {
			t.Fatalf("%d dispositions, want 1", len(d))
		}
		if none, _ := h.srv.Hits(ctx, HitFilter{List: "ofac"}); len(none) != 0 {
			t.Fatalf("%d records for list ofac", len(none))
		}
		// The status record updated the post's status.
		posts, err := h.srv.Posts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(posts) != 1 || posts[0].Software != "watchpost 1.2.3" || posts[0].Outbox.Records != 7 || posts[0].LastSeen.IsZero() {
			t.Fatalf("posts %+v", posts)
		}
	})
}

// ackSink records the acks HQ sends to a post.
type ackSink struct {
	mu   sync.Mutex
	acks [][]string
}

func (a *ackSink) handle(m transport.Message) {
	ids, err := protocol.DecodeAck(m.Payload)
	if err != nil {
		panic(err)
	}
	a.mu.Lock()
	a.acks = append(a.acks, ids)
	a.mu.Unlock()
}

func (a *ackSink) all() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var ids []string
	for _, x := range a.acks {
		ids = append(ids, x...)
	}
	return ids
}

func (a *ackSink) count(id string) int {
	n := 0
	for _, x := range a.all() {
		if x == id {
			n++
		}
	}
	return n
}

func message(t testing.TB, id string, k protocol.RecordKind, payload string) []byte {
	t.Helper()
	b, err := protocol.EncodeRecord(protocol.Record{ID: id, Kind: k, Payload: []byte(payload), CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDuplicatesAndMalformed: a resent id is stored once and acked again;
// malformed messages are counted and never acked; a record whose payload
// fails validation is stored flagged invalid and acked.
func TestDuplicatesAndMalformed(t *testing.T) {
	forEachBroker(t, func(t *testing.T, url string) {
		h := startHQ(t, url, Config{})
		sink := &ackSink{}
		post := newClient(t, url, "watchpost-post-"+testPost, map[string]transport.Handler{protocol.AcksTopic(testPost): sink.handle})
		mqtttest.Start(t, post)
		ctx := context.Background()
		publish := func(topic string, b []byte) {
			t.Helper()
			if err := post.Publish(ctx, topic, b, false); err != nil {
				t.Fatal(err)
			}
		}
		hits := protocol.HitsTopic(testPost)
		acked := func(id string, n int) func() error {
			return func() error {
				if got := sink.count(id); got != n {
					return fmt.Errorf("%s acked %d times, want %d (acks %v)", id, got, n, sink.all())
				}
				return nil
			}
		}

		publish(hits, message(t, "R1", protocol.RecordHit, string(hitPayload(testPost, 1))))
		testkit.CheckFor(t, 10*time.Second, "first ack", acked("R1", 1))
		publish(hits, message(t, "R1", protocol.RecordHit, string(hitPayload(testPost, 1))))
		testkit.CheckFor(t, 10*time.Second, "duplicate acked again", acked("R1", 2))

		publish(hits, []byte("not json"))
		publish(hits, []byte(`{"id":"R2","kind":"gossip","created_at":"2026-07-01T10:00:00Z","payload":{}}`))
		publish(hits, []byte(`{"id":"bad id!","kind":"hit","created_at":"2026-07-01T10:00:00Z","payload":{}}`))
		publish(hits, []byte(`{"id":"R3","kind":"hit","created_at":"2026-07-01T10:00:00Z"}`))
		publish(protocol.HitsTopic("Bad_Post"), message(t, "R4", protocol.RecordHit, string(hitPayload("Bad_Post", 4))))
		// Well-formed records with invalid payloads: stored and acked.
		publish(hits, message(t, "R5", protocol.RecordHit, `{"foo":1}`))
		publish(hits, message(t, "R6", protocol.RecordHit, string(hitPayload("post-2", 6))))
		publish(hits, message(t, "R7", protocol.RecordDisposition, `{"decision":"maybe"}`))
		publish(hits, message(t, "R8", protocol.RecordHit, string(hitPayload(testPost, 8))))
		testkit.CheckFor(t, 10*time.Second, "R8 acked", acked("R8", 1))
		for _, id := range []string{"R5", "R6", "R7"} {
			testkit.CheckFor(t, 10*time.Second, id+" acked", acked(id, 1))
		}
		for _, id := range []string{"R2", "R3", "R4"} {
			if n := sink.count(id); n != 0 {
				t.Fatalf("malformed %s acked %d times", id, n)
			}
		}
		c := h.srv.Counts()
		if c.Stored != 5 || c.Duplicates != 1 || c.Malformed != 5 || c.Invalid != 3 {
			t.Fatalf("counts %+v; want 5 stored (3 invalid), 1 duplicate, 5 malformed", c)
		}
		recs, err := h.srv.Hits(ctx, HitFilter{})
		if err != nil {
			t.Fatal(err)
		}
		invalid := map[string]string{}
		for _, r := range recs {
			invalid[r.ID] = r.Invalid
		}
		if len(recs) != 5 || invalid["R1"] != "" || invalid["R8"] != "" || !strings.Contains(invalid["R6"], `names post "post-2"`) ||
			!strings.Contains(invalid["R7"], "decision") || !strings.Contains(invalid["R5"], "no post") {
			t.Fatalf("stored %d records, invalid reasons %q", len(recs), invalid)
		}
	})
}

// TestStatusAndPresence: ordering rules of status and presence, last
// seen, clock offset and the lists' lag against HQ's published version.
func TestStatusAndPresence(t *testing.T) {
	forEachBroker(t, func(t *testing.T, url string) {
		clk := clocktest.New()
		h := startHQ(t, url, Config{Clock: clk})
		publishList(t, h.store, h.cli, "un", 5)
		post := newClient(t, url, "watchpost-post-"+testPost, nil)
		mqtttest.Start(t, post)
		ctx := context.Background()
		publish := func(topic, payload string) {
			t.Helper()
			if err := post.Publish(ctx, topic, []byte(payload), true); err != nil {
				t.Fatal(err)
			}
		}
		row := func() Post {
			t.Helper()
			posts, err := h.srv.Posts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range posts {
				if p.Post == testPost {
					return p
				}
			}
			return Post{}
		}
		counts := func(what string, want func(Counts) bool) {
			t.Helper()
			testkit.CheckFor(t, 10*time.Second, what, func() error {
				if c := h.srv.Counts(); !want(c) {
					return fmt.Errorf("counts %+v", c)
				}
				return nil
			})
		}

		pres := protocol.PresenceTopic(testPost)
		publish(pres, `{"post":"post-1","state":"online","boot":2}`)
		counts("presence", func(c Counts) bool { return c.Presences == 1 })
		// The old boot's will, delivered late, does not mark the post
		// offline.
		publish(pres, `{"post":"post-1","state":"offline","boot":1}`)
		counts("stale presence", func(c Counts) bool { return c.StalePresences == 1 })
		if p := row(); !p.Online || p.Boot != 2 || p.LastSeen.IsZero() {
			t.Fatalf("after the old will: %+v", p)
		}
		publish(pres, `{"post":"post-1","state":"offline","boot":2}`)
		counts("offline", func(c Counts) bool { return c.Presences == 2 })
		if p := row(); p.Online || p.Presence != "offline" {
			t.Fatalf("after the current boot's will: %+v", p)
		}
		publish(pres, `{"post":"post-9","state":"online","boot":1}`)
		publish(pres, `{"post":"post-1","state":"asleep","boot":3}`)
		counts("malformed presence", func(c Counts) bool { return c.Malformed == 2 })

		st := protocol.StatusTopic(testPost)
		now := clk.Now()
		status := func(boot int, clock time.Time, version int, stale string) string {
			return fmt.Sprintf(`{"post":"post-1","software":"wp %d","boot":%d,"clock":%q,"lists":[{"list":"un","epoch":1,"version":%d,"entries":5,"stale":%q},{"list":"local","epoch":1,"version":4,"entries":1}],"outbox":{"records":3}}`,
				boot, boot, clock.Format(time.RFC3339Nano), version, stale)
		}
		publish(st, status(2, now.Add(5*time.Minute), 0, ""))
		counts("status", func(c Counts) bool { return c.Statuses == 1 })
		p := row()
		if p.ClockOffset != 5*time.Minute || p.Software != "wp 2" || p.Outbox.Records != 3 {
			t.Fatalf("after the first status: %+v", p)
		}
		if len(p.Lists) != 2 || p.Lists[1].List != "un" || p.Lists[1].Lag != 1 || p.Lists[1].Published != 1 || p.Lists[0].List != "local" ||
			!slices.Equal(p.Stale, []string{"un"}) {
			t.Fatalf("lists %+v stale %v", p.Lists, p.Stale)
		}
		// An older status of the same boot is ignored.
		publish(st, status(2, now.Add(time.Minute), 1, ""))
		counts("stale status", func(c Counts) bool { return c.StaleStatuses == 1 })
		if p := row(); p.Lists[1].Held != 0 {
			t.Fatalf("older status applied: %+v", p.Lists)
		}
		// A newer one is applied: the post caught up.
		publish(st, status(2, now.Add(6*time.Minute), 1, ""))
		counts("newer status", func(c Counts) bool { return c.Statuses == 2 })
		if p := row(); p.Lists[1].Lag != 0 || len(p.Stale) != 0 {
			t.Fatalf("after catching up: %+v", p)
		}
		// A clock far in the future is replaced by any later status, even
		// with an earlier clock; a new boot wins whatever its clock.
		publish(st, status(2, now.Add(24*time.Hour), 1, ""))
		counts("future status", func(c Counts) bool { return c.Statuses == 3 })
		publish(st, status(2, now.Add(7*time.Minute), 1, "head expired"))
		counts("corrected clock", func(c Counts) bool { return c.Statuses == 4 })
		if p := row(); p.ClockOffset != 7*time.Minute || !slices.Equal(p.Stale, []string{"un"}) {
			t.Fatalf("after the clock correction: %+v", p)
		}
		publish(st, status(3, now.Add(-time.Hour), 1, ""))
		counts("new boot", func(c Counts) bool { return c.Statuses == 5 })
		if p := row(); p.Software != "wp 3" {
			t.Fatalf("new boot not applied: %+v", p)
		}
		// A post that reports a conflict between two of HQ's signed
		// heads shows it, and counts the list as not current.
		publish(st, strings.Replace(status(3, now.Add(-time.Hour+time.Minute), 1, ""), `"entries":5,`, `"entries":5,"conflict":"HQ signed two different heads",`, 1))
		counts("conflict", func(c Counts) bool { return c.Statuses == 6 })
		if p := row(); p.Lists[1].Conflict != "HQ signed two different heads" || !slices.Equal(p.Stale, []string{"un"}) {
			t.Fatalf("conflict not shown: %+v", p)
		}

		// The state survives a restart of HQ's server (same store).
		h.stop()
		again, err := New(Config{Store: h.store})
		if err != nil {
			t.Fatal(err)
		}
		ps, err := again.Posts(ctx)
		if err != nil || len(ps) != 1 || ps[0].Software != "wp 3" || ps[0].Presence != "offline" {
			t.Fatalf("after restart: %+v, %v", ps, err)
		}
	})
}

// TestHeadTimer: heads are re-signed at start and every HeadInterval of
// the injected clock; a failure is retried HeadRetry later.
func TestHeadTimer(t *testing.T) {
	broker := fake.NewBroker()
	cli, err := broker.Connect(fake.Options{ClientID: "watchpost-hq-serve"})
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, t.TempDir())
	pub := publishList(t, st, cli, "un", 3)
	clk := clocktest.New()
	srv, err := New(Config{Store: st, Transport: cli, Publisher: pub, Clock: clk, HeadInterval: 6 * time.Hour, HeadRetry: time.Minute,
		PurgeInterval: 365 * 24 * time.Hour}) // the purge timer stays pending: Waiters counts the head timer
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() { cancel(); <-done }()

	head := func() *protocol.Head {
		b, ok := broker.Retained(protocol.HeadTopic("un"))
		if !ok {
			t.Fatal("no retained head")
		}
		env, err := protocol.DecodeEnvelope(b)
		if err != nil {
			t.Fatal(err)
		}
		h, err := protocol.DecodeHead(env.Payload)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	// runs waits for n runs, then for the next timer to be armed (and the
	// purge timer's: two in all).
	runs := func(n uint64) {
		t.Helper()
		testkit.CheckFor(t, 10*time.Second, fmt.Sprintf("%d head runs", n), func() error {
			if c := srv.Counts(); c.HeadRuns != n || clk.Waiters() < 2 {
				return fmt.Errorf("counts %+v, %d timers", c, clk.Waiters())
			}
			return nil
		})
	}
	runs(1)
	first := head().IssuedAt
	clk.Advance(6*time.Hour - time.Second)
	// Advance fires every due timer before it returns: both still pending
	// means the head timer is not due yet.
	if n := clk.Waiters(); n != 2 {
		t.Fatalf("%d timers pending a second before the head interval, want 2 (head, purge)", n)
	}
	clk.Advance(time.Second)
	runs(2)
	if second := head().IssuedAt; !second.After(first) {
		t.Fatalf("head issued at %s, then %s", first, second)
	}
	broker.Down()
	clk.Advance(6 * time.Hour)
	testkit.CheckFor(t, 10*time.Second, "failed run", func() error {
		if c := srv.Counts(); c.HeadErrors != 1 || clk.Waiters() < 2 {
			return fmt.Errorf("counts %+v", c)
		}
		return nil
	})
	broker.Up()
	testkit.CheckFor(t, 10*time.Second, "reconnected", func() error {
		if !cli.Connected() {
			return fmt.Errorf("not connected")
		}
		return nil
	})
	clk.Advance(time.Minute)
	runs(4)
	if c := srv.Counts(); c.HeadErrors != 1 {
		t.Fatalf("retry failed: %+v", c)
	}
}

// TestRunStops: Run returns promptly when its context ends and leaves no
// goroutine of the server behind, with acks pending and a head timer
// armed.
func TestRunStops(t *testing.T) {
	url := brokertest.StartMochi(t)
	st := openStore(t, t.TempDir())
	cli := newClient(t, url, "watchpost-hq-pub", nil)
	mqtttest.Start(t, cli)
	pub := publishList(t, st, cli, "un", 2)
	h := startHQ(t, url, Config{Store: st, Publisher: pub, HeadInterval: time.Hour})
	post := newClient(t, url, "watchpost-post-"+testPost, nil)
	mqtttest.Start(t, post)
	for i := range 20 {
		if err := post.Publish(context.Background(), protocol.HitsTopic(testPost), message(t, fmt.Sprintf("S%d", i), protocol.RecordHit, string(hitPayload(testPost, i))), false); err != nil {
			t.Fatal(err)
		}
	}
	testkit.CheckFor(t, 10*time.Second, "stored", func() error {
		if c := h.srv.Counts(); c.Stored != 20 || c.HeadRuns != 1 {
			return fmt.Errorf("counts %+v", c)
		}
		return nil
	})
	start := time.Now()
	h.stop()
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Run took %s to stop", el)
	}
	testkit.NoLeak(t, 0, time.Second, testkit.Matching("hqserver.(*Server)."))
	// A second Run is refused.
	if err := h.srv.Run(context.Background()); err == nil {
		t.Fatal("second Run accepted")
	}
}

func TestRecordJSON(t *testing.T) {
	// The stored row keeps the payload as the post sent it.
	it := incoming{post: testPost, rec: protocol.Record{ID: "A", Kind: protocol.RecordHit, Payload: hitPayload(testPost, 1)}, received: time.Now()}
	r, _, _ := buildRecord(it)
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Record
	if err := json.Unmarshal(b, &back); err != nil || string(back.Payload) != string(it.rec.Payload) || back.Invalid != "" {
		t.Fatalf("round trip: %+v, %v", back, err)
	}
}
