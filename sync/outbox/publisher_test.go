package outbox_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/fake"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/outbox/outboxtest"
	"github.com/watchpost/watchpost/sync/protocol"
)

const waitLong = 20 * time.Second

func TestDeliverExactlyOnceInHQView(t *testing.T) {
	b := fake.NewBroker()
	hq := newHQ(t, connect(t, b, "hq"), testPost)
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{})
	var ids []string
	for i := range 100 {
		ids = append(ids, put(t, ob, protocol.RecordHit, string(hitPayload(i))).ID)
	}
	r := startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{})
	// Records put while the publisher runs, from several goroutines.
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				k := []protocol.RecordKind{protocol.RecordHit, protocol.RecordDisposition, protocol.RecordTelemetry, protocol.RecordHit}[i%4]
				rec, err := ob.Put(context.Background(), outbox.Record{Kind: k, Payload: hitPayload(g*1000 + i)})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				ids = append(ids, rec.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	testkit.CheckFor(t, waitLong, "outbox drained", testkit.True(func() bool { return ob.Depth().Records == 0 }), testkit.Every(time.Millisecond))
	unique, received, dups := hq.stats()
	if unique != len(ids) {
		t.Fatalf("HQ stored %d distinct records, want %d", unique, len(ids))
	}
	for _, id := range ids {
		if hq.count(id) == 0 {
			t.Fatalf("record %s never reached HQ", id)
		}
	}
	st := r.p.Stats()
	t.Logf("%d records, %d receipts at HQ (%d duplicates), stats %+v", len(ids), received, dups, st)
	if st.Acked != uint64(len(ids)) {
		t.Errorf("acked %d, want %d", st.Acked, len(ids))
	}
	r.stop(t)
}

func TestPriorityAndFIFOOrder(t *testing.T) {
	b := fake.NewBroker()
	hq := newHQ(t, connect(t, b, "hq"), testPost)
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{})
	var want []string
	var low []string
	for i := range 5 {
		low = append(low, put(t, ob, protocol.RecordTelemetry, fmt.Sprintf(`{"t":%d}`, i)).ID)
		want = append(want, put(t, ob, protocol.RecordHit, string(hitPayload(i))).ID)
	}
	want = append(want, low...)
	startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{Window: 1})
	testkit.CheckFor(t, waitLong, "drained", testkit.True(func() bool { return ob.Depth().Records == 0 }), testkit.Every(time.Millisecond))
	if got := hq.ordered(); !slices.Equal(got, want) {
		t.Errorf("HQ order\n got %v\nwant %v (hits first, FIFO within a priority)", got, want)
	}
}

func TestPubackWithoutAckStaysAndIsResent(t *testing.T) {
	b := fake.NewBroker()
	hq := newHQ(t, connect(t, b, "hq"), testPost)
	// HQ takes the message (the broker PUBACKs) but its ack never comes.
	hq.setWithhold(func(_ string, receipt int) bool { return receipt == 1 })
	clk := clocktest.New()
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{Clock: clk})
	rec := put(t, ob, protocol.RecordHit, string(hitPayload(1)))
	r := startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{AckTimeout: time.Minute})
	testkit.CheckFor(t, waitLong, "PUBACKed publish received by HQ", testkit.True(func() bool { return r.p.Stats().Published == 1 && hq.count(rec.ID) == 1 }), testkit.Every(time.Millisecond))
	// Without the ack the record stays, however long the PUBACK is old,
	// until the ack timeout.
	clk.Advance(59 * time.Second)
	if hq.count(rec.ID) != 1 || ob.Depth().Records != 1 {
		t.Fatalf("before the ack timeout: HQ count %d, depth %+v", hq.count(rec.ID), ob.Depth())
	}
	testkit.CheckFor(t, waitLong, "resend after the ack timeout", testkit.True(func() bool { return ob.Depth().Records == 0 }), testkit.Each(func() { clk.Advance(time.Second) }), testkit.Every(time.Millisecond))
	if n := hq.count(rec.ID); n != 2 {
		t.Errorf("HQ received the record %d times, want 2 (sent, no ack, resent)", n)
	}
	if unique, _, _ := hq.stats(); unique != 1 {
		t.Errorf("HQ's deduplicated view has %d records, want 1", unique)
	}
	if st := r.p.Stats(); st.Resent != 1 || st.Acked != 1 {
		t.Errorf("stats %+v, want 1 resent, 1 acked", st)
	}
}

func TestUnknownAndBadAcksAreHarmless(t *testing.T) {
	b := fake.NewBroker()
	hqConn := connect(t, b, "hq")
	hq := newHQ(t, hqConn, testPost)
	hq.setWithhold(func(string, int) bool { return true })
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{})
	rec := put(t, ob, protocol.RecordHit, string(hitPayload(1)))
	r := startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{})
	testkit.CheckFor(t, waitLong, "published", testkit.True(func() bool { return hq.count(rec.ID) == 1 }), testkit.Every(time.Millisecond))
	ctx := context.Background()
	unknown, _ := protocol.EncodeAck([]string{outbox.NewID(time.Now()), "not-ours"})
	for _, p := range [][]byte{unknown, []byte(`garbage`), []byte(`{"ids":["bad id"]}`)} {
		if err := hqConn.Publish(ctx, protocol.AcksTopic(testPost), p, false); err != nil {
			t.Fatal(err)
		}
	}
	testkit.CheckFor(t, waitLong, "acks processed", testkit.True(func() bool {
		st := r.p.Stats()
		return st.AckedUnknown == 2 && st.BadAcks == 2
	}), testkit.Every(time.Millisecond))
	mustDepth(t, ob, 1)
	// The real ack still works.
	good, _ := protocol.EncodeAck([]string{rec.ID})
	if err := hqConn.Publish(ctx, protocol.AcksTopic(testPost), good, false); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, waitLong, "acked", testkit.True(func() bool { return ob.Depth().Records == 0 }), testkit.Every(time.Millisecond))
	// An ack for a record acked already is harmless too.
	if err := hqConn.Publish(ctx, protocol.AcksTopic(testPost), good, false); err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, waitLong, "duplicate ack", testkit.True(func() bool { return r.p.Stats().AckedUnknown == 3 }), testkit.Every(time.Millisecond))
}

func TestDeliveredAfterLinkReturns(t *testing.T) {
	b := fake.NewBroker()
	hq := newHQ(t, connect(t, b, "hq"), testPost)
	clk := clocktest.New()
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{Clock: clk})
	b.Down()
	r := startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{BackoffMin: time.Second, BackoffMax: 8 * time.Second})
	var ids []string
	for i := range 50 {
		ids = append(ids, put(t, ob, protocol.RecordHit, string(hitPayload(i))).ID)
	}
	testkit.CheckFor(t, waitLong, "failed publishes", testkit.True(func() bool { return r.p.Stats().PublishErrors >= 3 }), testkit.Each(func() { clk.Advance(500 * time.Millisecond) }), testkit.Every(time.Millisecond))
	if unique, _, _ := hq.stats(); unique != 0 {
		t.Fatal("HQ received records while the broker was down")
	}
	mustDepth(t, ob, 50)
	b.Up()
	testkit.CheckFor(t, waitLong, "drained after the link returned", testkit.True(func() bool { return ob.Depth().Records == 0 }), testkit.Each(func() { clk.Advance(500 * time.Millisecond) }), testkit.Every(time.Millisecond))
	for _, id := range ids {
		if hq.count(id) == 0 {
			t.Fatalf("record %s lost", id)
		}
	}
	if unique, _, _ := hq.stats(); unique != 50 {
		t.Errorf("HQ holds %d records, want 50", unique)
	}
}

func TestRestartResendsUnackedAndLosesNone(t *testing.T) {
	dir := t.TempDir()
	b := fake.NewBroker()
	hq := newHQ(t, connect(t, b, "hq"), testPost)
	hq.setWithhold(func(string, int) bool { return true }) // HQ down after the broker
	s, err := badgerstore.Open(dir, badgerstore.Options{MemTableSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ob := openOutbox(t, s, outbox.Options{})
	var ids []string
	for i := range 200 {
		ids = append(ids, put(t, ob, protocol.RecordHit, string(hitPayload(i))).ID)
	}
	post := connect(t, b, "post-1")
	r := startPublisher(t, ob, post, outbox.PublisherOptions{})
	testkit.CheckFor(t, waitLong, "a window published", testkit.True(func() bool { return r.p.Stats().Published == outbox.DefaultWindow }), testkit.Every(time.Millisecond))
	r.stop(t)
	_ = post.Close(context.Background())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// The post restarts; HQ acks again.
	hq.setWithhold(nil)
	s = openStore(t, dir)
	ob = openOutbox(t, s, outbox.Options{})
	mustDepth(t, ob, 200)
	startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{})
	testkit.CheckFor(t, waitLong, "drained after restart", testkit.True(func() bool { return ob.Depth().Records == 0 }), testkit.Every(time.Millisecond))
	unique, received, dups := hq.stats()
	if unique != 200 {
		t.Fatalf("HQ holds %d records, want 200", unique)
	}
	for _, id := range ids {
		if hq.count(id) == 0 {
			t.Fatalf("record %s lost across the restart", id)
		}
	}
	if dups != outbox.DefaultWindow {
		t.Errorf("%d receipts, %d duplicates; want the %d unacked before the restart sent twice", received, dups, outbox.DefaultWindow)
	}
}

func TestLateCommitIsNotSkipped(t *testing.T) {
	b := fake.NewBroker()
	hq := newHQ(t, connect(t, b, "hq"), testPost)
	s := openStore(t, t.TempDir())
	ob := openOutbox(t, s, outbox.Options{})
	startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{})

	// Transaction A takes a sequence number, then waits.
	inTx, release := make(chan struct{}), make(chan struct{})
	var lateID string
	errc := make(chan error, 1)
	go func() {
		errc <- s.Records("screenings").Update(context.Background(), func(tx *badgerstore.RecordsTxn) error {
			r, err := ob.PutTx(tx, outbox.Record{Kind: protocol.RecordHit, Payload: hitPayload(1)})
			lateID = r.ID
			close(inTx)
			<-release
			return err
		})
	}()
	<-inTx
	// B takes the next number, commits and is delivered.
	early := put(t, ob, protocol.RecordHit, string(hitPayload(2)))
	testkit.CheckFor(t, waitLong, "the later record delivered", testkit.True(func() bool { return hq.count(early.ID) == 1 }), testkit.Every(time.Millisecond))
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, waitLong, "the earlier-numbered record delivered", testkit.True(func() bool { return hq.count(lateID) == 1 }), testkit.Every(time.Millisecond))
	testkit.CheckFor(t, waitLong, "drained", testkit.True(func() bool { return ob.Depth().Records == 0 }), testkit.Every(time.Millisecond))
}

func TestMaxRate(t *testing.T) {
	b := fake.NewBroker()
	hq := newHQ(t, connect(t, b, "hq"), testPost)
	clk := clocktest.New()
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{Clock: clk})
	for i := range 5 {
		put(t, ob, protocol.RecordHit, string(hitPayload(i)))
	}
	r := startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{MaxRate: 10})
	testkit.CheckFor(t, waitLong, "first publish", testkit.True(func() bool {
		st := r.p.Stats()
		if st.Published > 1 || st.PublishErrors > 0 {
			t.Fatalf("stats %+v", st)
		}
		select {
		case err := <-r.errc:
			t.Fatalf("Run returned %v", err)
		default:
		}
		return st.Published == 1
	}), testkit.Every(time.Millisecond))
	// The clock does not move: once the first record is acked and the
	// publisher waits on its timer, nothing else may have gone.
	testkit.CheckFor(t, waitLong, "first ack, then a wait on the clock", testkit.True(func() bool {
		return r.p.Stats().Acked == 1 && clk.Waiters() == 1
	}), testkit.Every(time.Millisecond))
	if n := r.p.Stats().Published; n != 1 {
		t.Fatalf("%d published at 10/s with the clock stopped, want 1", n)
	}
	clk.Advance(100 * time.Millisecond)
	testkit.CheckFor(t, waitLong, "second publish", testkit.True(func() bool { return r.p.Stats().Published == 2 }), testkit.Every(time.Millisecond))
	testkit.CheckFor(t, waitLong, "drained", testkit.True(func() bool { return ob.Depth().Records == 0 }), testkit.Each(func() { clk.Advance(100 * time.Millisecond) }), testkit.Every(time.Millisecond))
	if unique, _, _ := hq.stats(); unique != 5 {
		t.Errorf("HQ holds %d, want 5", unique)
	}
}

func TestRunTwiceAndCancel(t *testing.T) {
	b := fake.NewBroker()
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{})
	r := startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{})
	testkit.CheckFor(t, waitLong, "Run started", testkit.True(r.p.Started), testkit.Every(time.Millisecond))
	if err := r.p.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
	r.stop(t)
	if _, err := outbox.NewPublisher(ob, connect(t, b, "x"), outbox.PublisherOptions{Post: "Bad/Post"}); err == nil {
		t.Error("bad post id accepted")
	}
}

// BenchmarkDrainFake measures the drain rate over the in-memory broker,
// with real Badger (SyncWrites) underneath: puts are batched 500 per
// transaction outside the timer, HQ acks in batches.
func BenchmarkDrainFake(b *testing.B) {
	const n = 5000
	for range b.N {
		b.StopTimer()
		br := fake.NewBroker()
		hq := newHQ(b, connect(b, br, "hq"), testPost)
		s := openStore(b, b.TempDir())
		ob := openOutbox(b, s, outbox.Options{})
		putBatch(b, s, ob, n)
		b.StartTimer()
		start := time.Now()
		r := startPublisher(b, ob, connect(b, br, "post-1"), outbox.PublisherOptions{})
		testkit.CheckFor(b, time.Minute, "drained", testkit.True(func() bool { return ob.Depth().Records == 0 }), testkit.Every(time.Millisecond))
		el := time.Since(start)
		b.StopTimer()
		r.stop(b)
		if unique, _, _ := hq.stats(); unique != n {
			b.Fatalf("HQ holds %d, want %d", unique, n)
		}
		b.ReportMetric(float64(n)/el.Seconds(), "hits/s")
		b.StartTimer()
	}
}

// putBatch puts n hits, 500 per transaction.
func putBatch(t testing.TB, s *badgerstore.Store, ob *outbox.Outbox, n int) []string {
	t.Helper()
	return outboxtest.PutHits(t, s, ob, 0, n, hitPayload)
}

// fakeWithin polls cond, advancing clk a second at a time, and fails once
// more than limit of the fake clock has passed without it.
func fakeWithin(t *testing.T, clk *clocktest.Clock, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	var advanced time.Duration
	testkit.CheckFor(t, waitLong, what, func() error {
		if cond() {
			return nil
		}
		if advanced > limit {
			t.Fatalf("%s: not within %v of the post's clock", what, limit)
		}
		return fmt.Errorf("not yet, %v on", advanced)
	}, testkit.Each(func() { advanced += time.Second; clk.Advance(time.Second) }), testkit.Every(5*time.Millisecond))
}

// The post's clock ran an hour fast while a record waited for HQ's ack,
// then was set right: the record is resent after the ack timeout, not an
// hour and the ack timeout later.
func TestClockSetBackDoesNotHoldResend(t *testing.T) {
	b := fake.NewBroker()
	hq := newHQ(t, connect(t, b, "hq"), testPost)
	hq.setWithhold(func(_ string, receipt int) bool { return receipt == 1 })
	clk := clocktest.New()
	clk.Advance(time.Hour) // running fast
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{Clock: clk})
	rec := put(t, ob, protocol.RecordHit, string(hitPayload(1)))
	r := startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{AckTimeout: time.Minute})
	testkit.CheckFor(t, waitLong, "first publish", testkit.True(func() bool { return r.p.Stats().Published == 1 && hq.count(rec.ID) == 1 }), testkit.Every(time.Millisecond))
	clk.Advance(-time.Hour) // set right
	// A new record wakes the publisher, as the next hit would.
	put(t, ob, protocol.RecordHit, string(hitPayload(2)))
	fakeWithin(t, clk, 5*time.Minute, "the unacked record resent and acked", func() bool { return hq.count(rec.ID) >= 2 && ob.Depth().Records == 0 })
}

// A publish failed while the clock ran an hour fast (a back-off of
// seconds began), then the clock was set right: publishing resumes after
// the back-off, not an hour later.
func TestClockSetBackDoesNotHoldBackoff(t *testing.T) {
	b := fake.NewBroker()
	hq := newHQ(t, connect(t, b, "hq"), testPost)
	clk := clocktest.New()
	clk.Advance(time.Hour)
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{Clock: clk})
	b.Down()
	r := startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{BackoffMin: time.Second, BackoffMax: 8 * time.Second})
	rec := put(t, ob, protocol.RecordHit, string(hitPayload(1)))
	testkit.CheckFor(t, waitLong, "a failed publish", testkit.True(func() bool { return r.p.Stats().PublishErrors >= 1 }), testkit.Every(time.Millisecond))
	clk.Advance(-time.Hour)
	b.Up()
	next := put(t, ob, protocol.RecordHit, string(hitPayload(2)))
	fakeWithin(t, clk, time.Minute, "both records at HQ", func() bool { return hq.count(rec.ID) >= 1 && hq.count(next.ID) >= 1 })
}
