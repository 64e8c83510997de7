package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/fake"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/transport"
)

const testPost = "post-1"

// env is a ledger over a real Badger store in a temporary directory, with
// a real outbox over the same store.
type env struct {
	dir   string
	clock *clocktest.Clock
	store *badgerstore.Store
	ob    *outbox.Outbox
	l     *Ledger
	opts  Options
	// memTable is the store's MemTableSize (8 MB when 0, to keep tests
	// light; badgerstore.DefaultMemTableSize is 32 MB).
	memTable int64
	// fault, when set, is the ledger's Options.InTxn: it runs inside each
	// write transaction before the commit.
	fault func(op string) error
}

func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), clock: clocktest.New()}
	e.opts = Options{Post: testPost, Clock: e.clock}
	e.open(t)
	return e
}

func (e *env) open(t testing.TB) {
	t.Helper()
	o := storetest.Small()
	if e.memTable != 0 {
		o.MemTableSize = e.memTable
	}
	s := storetest.OpenWith(t, e.dir, o)
	ob, err := outbox.Open(context.Background(), s, outbox.Options{Clock: e.clock})
	if err != nil {
		t.Fatal(err)
	}
	opts := e.opts
	opts.InTxn = func(op string) error {
		if e.fault != nil {
			return e.fault(op)
		}
		return nil
	}
	l, err := Open(context.Background(), s, ob, opts)
	if err != nil {
		t.Fatal(err)
	}
	e.store, e.ob, e.l = s, ob, l
}

// reopen closes the store and opens everything again over the same
// directory.
func (e *env) reopen(t testing.TB) {
	t.Helper()
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	e.open(t)
}

// checkEmpty fails unless a failed transaction left nothing: no ledger
// row but the schema, no outbox row, and no change to the stats.
func (e *env) checkEmpty(t *testing.T) {
	t.Helper()
	rows := e.rows(t, Namespace)
	delete(rows, string(keyAuditKey)) // made at Open
	if len(rows) != 1 {
		t.Errorf("ledger rows = %v, want only m/schema and m/audit-key", keys(rows))
	}
	if rows := e.rows(t, outbox.DefaultNamespace); len(rows) != 0 {
		t.Errorf("outbox rows = %d, want none", len(rows))
	}
	if d := e.ob.Depth(); d.Records != 0 {
		t.Errorf("outbox depth = %+v, want empty", d)
	}
	if st := e.l.Stats(); st.Screenings != 0 || st.OpenHits != 0 {
		t.Errorf("stats moved: %+v", st)
	}
}

// checkCancelInTxn: a context that ends inside write's transaction aborts
// it with context.Canceled and leaves nothing.
func (e *env) checkCancelInTxn(t *testing.T, write func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e.fault = func(string) error { cancel(); return nil }
	defer func() { e.fault = nil }()
	if err := write(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	e.checkEmpty(t)
}

// rows returns every key and value of a records namespace.
func (e *env) rows(t testing.TB, ns string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := e.store.Records(ns).View(context.Background(), func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate(nil, func(k, v []byte) error {
			out[string(k)] = bytes.Clone(v)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// outboxRecords drains the outbox through a real Publisher over the fake
// broker into a simulated HQ that never acks (so the records stay), and
// returns the records HQ received, by id.
func (e *env) outboxRecords(t testing.TB) map[string]protocol.Record {
	t.Helper()
	want := e.ob.Depth().Records
	got := map[string]protocol.Record{}
	if want == 0 {
		return got
	}
	broker := fake.NewBroker()
	hq, err := broker.Connect(fake.Options{ClientID: "hq"})
	if err != nil {
		t.Fatal(err)
	}
	post, err := broker.Connect(fake.Options{ClientID: testPost})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	if err := hq.Subscribe(protocol.HitsTopic(testPost), func(m transport.Message) {
		r, err := protocol.DecodeRecord(m.Payload)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			got["bad"] = protocol.Record{Payload: fmt.Appendf(nil, "%v", err)}
			return
		}
		got[r.ID] = r
	}); err != nil {
		t.Fatal(err)
	}
	pub, err := outbox.NewPublisher(e.ob, post, outbox.PublisherOptions{Post: testPost})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- pub.Run(ctx) }()
	testkit.CheckFor(t, 10*time.Second, "HQ to receive the outbox", testkit.True(func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= want
	}), testkit.Every(time.Millisecond))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	_ = post.Close(context.Background())
	_ = hq.Close(context.Background())
	mu.Lock()
	defer mu.Unlock()
	if bad, ok := got["bad"]; ok {
		t.Fatalf("HQ got a bad message: %s", bad.Payload)
	}
	return got
}

func traveller() engine.Query {
	return engine.Query{
		Surname: "ZZTESTOVA", GivenNames: "QUILLANE", BirthDate: "1971-03-14",
		Nationality: "UTO", Sex: "F", DocumentNumber: "X9Q7W3K1", DocumentCountry: "UTO",
	}
}

// personal returns the traveller's data that must never be stored for a
// non-hit, nor kept in the audit trail.
func personal() []string {
	q := traveller()
	return []string{q.Surname, q.GivenNames, q.BirthDate, q.DocumentNumber}
}

func hits(n int) []engine.Hit {
	out := make([]engine.Hit, n)
	for i := range out {
		band := engine.BandMatch
		if i%2 == 1 {
			band = engine.BandPossible
		}
		out[i] = engine.Hit{
			List: "un", ListVersion: 7, EntryID: fmt.Sprintf("QDi.%03d", i), Score: 0.97,
			Band: band, MatchedName: "ZZTESTOVA QUILLANE",
		}
	}
	return out
}

func screening(nHits int) Screening {
	return Screening{Source: SourceAPI, Ref: "XY123", Actor: "workstation-1", Traveller: traveller(), Hits: hits(nHits)}
}

func mustRecord(t testing.TB, l *Ledger, s Screening) Recorded {
	t.Helper()
	r, err := l.Record(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// containsAny reports which of the needles occurs in any value.
func containsAny(rows map[string][]byte, needles []string) []string {
	var found []string
	for k, v := range rows {
		for _, n := range needles {
			if bytes.Contains(v, []byte(n)) || bytes.Contains([]byte(k), []byte(n)) {
				found = append(found, fmt.Sprintf("%q in %q", n, k))
			}
		}
	}
	return found
}
