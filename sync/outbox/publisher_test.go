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
	"github.com/watchpost/watchpost/sync/fake"
	"github.com/watchpost/watchpost/sync/outbox"
)

const waitLong = 20 * time.Second

func TestDeliverExactlyOnceInHQView(t *testing.T) {
	b := fake.NewBroker()
	hq := newHQ(t, connect(t, b, "hq"), testPost)
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{})
	var ids []string
	for i := range 100 {
		ids = append(ids, put(t, ob, outbox.KindHit, string(hitPayload(i))).ID)
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
				k := []outbox.Kind{outbox.KindHit, outbox.KindDisposition, outbox.KindTelemetry, outbox.KindHit}[i%4]
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
	checkFor(t, waitLong, "outbox drained", nil, 0, func() bool { return ob.Depth().Records == 0 })
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
		low = append(low, put(t, ob, outbox.KindTelemetry, fmt.Sprintf(`{"t":%d}`, i)).ID)
		want = append(want, put(t, ob, outbox.KindHit, string(hitPayload(i))).ID)
	}
	want = append(want, low...)
	startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{Window: 1})
	checkFor(t, waitLong, "drained", nil, 0, func() bool { return ob.Depth().Records == 0 })
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
	rec := put(t, ob, outbox.KindHit, string(hitPayload(1)))
	r := startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{AckTimeout: time.Minute})
	checkFor(t, waitLong, "PUBACKed publish received by HQ", nil, 0, func() bool { return r.p.Stats().Published == 1 && hq.count(rec.ID) == 1 })
	// Without the ack the record stays, however long the PUBACK is old,
	// until the ack timeout.
	clk.Advance(59 * time.Second)
	if hq.count(rec.ID) != 1 || ob.Depth().Records != 1 {
		t.Fatalf("before the ack timeout: HQ count %d, depth %+v", hq.count(rec.ID), ob.Depth())
	}
	checkFor(t, waitLong, "resend after the ack timeout", clk, time.Second, func() bool { return ob.Depth().Records == 0 })
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
	rec := put(t, ob, outbox.KindHit, string(hitPayload(1)))
	r := startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{})
	checkFor(t, waitLong, "published", nil, 0, func() bool { return hq.count(rec.ID) == 1 })
	ctx := context.Background()
	unknown, _ := outbox.EncodeAck([]string{outbox.NewID(time.Now()), "not-ours"})
	for _, p := range [][]byte{unknown, []byte(`garbage`), []byte(`{"ids":["bad id"]}`)} {
		if err := hqConn.Publish(ctx, outbox.AcksTopic(testPost), p, false); err != nil {
			t.Fatal(err)
		}
	}
	checkFor(t, waitLong, "acks processed", nil, 0, func() bool {
		st := r.p.Stats()
		return st.AckedUnknown == 2 && st.BadAcks == 2
	})
	mustDepth(t, ob, 1)
	// The real ack still works.
	good, _ := outbox.EncodeAck([]string{rec.ID})
	if err := hqConn.Publish(ctx, outbox.AcksTopic(testPost), good, false); err != nil {
		t.Fatal(err)
	}
	checkFor(t, waitLong, "acked", nil, 0, func() bool { return ob.Depth().Records == 0 })
	// An ack for a record acked already is harmless too.
	if err := hqConn.Publish(ctx, outbox.AcksTopic(testPost), good, false); err != nil {
		t.Fatal(err)
	}
	checkFor(t, waitLong, "duplicate ack", nil, 0, func() bool { return r.p.Stats().AckedUnknown == 3 })
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
		ids = append(ids, put(t, ob, outbox.KindHit, string(hitPayload(i))).ID)
	}
	checkFor(t, waitLong, "failed publishes", clk, 500*time.Millisecond, func() bool { return r.p.Stats().PublishErrors >= 3 })
	if unique, _, _ := hq.stats(); unique != 0 {
		t.Fatal("HQ received records while the broker was down")
	}
	mustDepth(t, ob, 50)
	b.Up()
	checkFor(t, waitLong, "drained after the link returned", clk, 500*time.Millisecond, func() bool { return ob.Depth().Records == 0 })
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
		ids = append(ids, put(t, ob, outbox.KindHit, string(hitPayload(i))).ID)
	}
	post := connect(t, b, "post-1")
	r := startPublisher(t, ob, post, outbox.PublisherOptions{})
	checkFor(t, waitLong, "a window published", nil, 0, func() bool { return r.p.Stats().Published == outbox.DefaultWindow })
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
	checkFor(t, waitLong, "drained after restart", nil, 0, func() bool { return ob.Depth().Records == 0 })
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
			r, err := ob.PutTx(tx, outbox.Record{Kind: outbox.KindHit, Payload: hitPayload(1)})
			lateID = r.ID
			close(inTx)
			<-release
			return err
		})
	}()
	<-inTx
	// B takes the next number, commits and is delivered.
	early := put(t, ob, outbox.KindHit, string(hitPayload(2)))
	checkFor(t, waitLong, "the later record delivered", nil, 0, func() bool { return hq.count(early.ID) == 1 })
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	checkFor(t, waitLong, "the earlier-numbered record delivered", nil, 0, func() bool { return hq.count(lateID) == 1 })
	checkFor(t, waitLong, "drained", nil, 0, func() bool { return ob.Depth().Records == 0 })
}

func TestMaxRate(t *testing.T) {
	b := fake.NewBroker()
	hq := newHQ(t, connect(t, b, "hq"), testPost)
	clk := clocktest.New()
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{Clock: clk})
	for i := range 5 {
		put(t, ob, outbox.KindHit, string(hitPayload(i)))
	}
	r := startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{MaxRate: 10})
	checkFor(t, waitLong, "first publish", nil, 0, func() bool {
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
	})
	// The clock does not move: once the first record is acked and the
	// publisher waits on its timer, nothing else may have gone.
	checkFor(t, waitLong, "first ack, then a wait on the clock", nil, 0, func() bool {
		return r.p.Stats().Acked == 1 && clk.Waiters() == 1
	})
	if n := r.p.Stats().Published; n != 1 {
		t.Fatalf("%d published at 10/s with the clock stopped, want 1", n)
	}
	clk.Advance(100 * time.Millisecond)
	checkFor(t, waitLong, "second publish", nil, 0, func() bool { return r.p.Stats().Published == 2 })
	checkFor(t, waitLong, "drained", clk, 100*time.Millisecond, func() bool { return ob.Depth().Records == 0 })
	if unique, _, _ := hq.stats(); unique != 5 {
		t.Errorf("HQ holds %d, want 5", unique)
	}
}

func TestRunTwiceAndCancel(t *testing.T) {
	b := fake.NewBroker()
	ob := openOutbox(t, openStore(t, t.TempDir()), outbox.Options{})
	r := startPublisher(t, ob, connect(t, b, "post-1"), outbox.PublisherOptions{})
	checkFor(t, waitLong, "Run started", nil, 0, r.p.Started)
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
		checkFor(b, time.Minute, "drained", nil, 0, func() bool { return ob.Depth().Records == 0 })
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
	ids := make([]string, 0, n)
	for i := 0; i < n; i += 500 {
		err := s.Records("screenings").Update(context.Background(), func(tx *badgerstore.RecordsTxn) error {
			for j := i; j < min(n, i+500); j++ {
				r, err := ob.PutTx(tx, outbox.Record{Kind: outbox.KindHit, Payload: hitPayload(j)})
				if err != nil {
					return err
				}
				ids = append(ids, r.ID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}
