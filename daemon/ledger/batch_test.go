package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
)

// testKey is a batch key shaped like the intake's File.ID.
const testKey = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// newEnvMem is newEnv over a store of the given MemTableSize, with the
// ledger's options changed by edits.
func newEnvMem(t testing.TB, memTable int64, edits ...func(*Options)) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), clock: clocktest.New(), memTable: memTable}
	e.opts = Options{Post: testPost, Clock: e.clock}
	for _, edit := range edits {
		edit(&e.opts)
	}
	e.open(t)
	return e
}

// newEnvOpts is newEnv with the ledger's options changed by edit.
func newEnvOpts(t testing.TB, edit func(*Options)) *env { return newEnvMem(t, 0, edit) }

// manifestScreening is a realistic screening of the intake: a full
// traveller, a file name as Ref, and, for a hit, two hits with their
// explanations.
func manifestScreening(i int, hit bool) Screening {
	s := Screening{
		Source: SourceIntake, Ref: "AF1234_20260701T0930Z_CDG-BKO.edi", Actor: "intake",
		Traveller: engine.Query{
			ID: fmt.Sprintf("pax-%04d", i), Surname: "ZZTESTOVA-MARCHETTI", GivenNames: "QUILLANE ANOUK MARIE",
			BirthDate: "1971-03-14", Nationality: "UTO", Sex: "F",
			DocumentNumber: fmt.Sprintf("X9Q7W%04d", i), DocumentCountry: "UTO",
		},
		ScreenedAt: time.Date(2026, 7, 1, 9, 59, 0, 0, time.UTC),
	}
	if !hit {
		return s
	}
	for j := range 2 {
		s.Hits = append(s.Hits, engine.Hit{
			List: "un-consolidated", ListVersion: 20260630, EntryID: fmt.Sprintf("QDi.%03d.%d", i, j),
			Score: 0.912345678, Band: engine.BandPossible, MatchedName: "ZZTESTOVA MARCHETTI QUILLANE ANOUK",
			Action: "refer_secondary",
			Explanation: engine.Explanation{
				Name: &engine.NameExplanation{
					Score: 0.9345678,
					Aligned: []engine.TokenMatch{
						{Query: "ZZTESTOVA", List: "ZZTESTOVA", How: "exact", Similarity: 1, Weight: 3.456789},
						{Query: "MARCHETTI", List: "MARCHETI", How: "typo", Similarity: 0.93, Weight: 2.123456},
						{Query: "QUILLANE", List: "QUILLANE", How: "exact", Similarity: 1, Weight: 4.012345},
						{Query: "ANOUK", List: "ANOUK", How: "exact", Similarity: 1, Weight: 1.234567},
					},
					UnmatchedQuery: []string{"MARIE"},
				},
				BirthDate: "exact", Nationality: "match", Sex: "match", Document: "absent",
			},
		})
	}
	return s
}

// manifest returns n screenings, every step-th of which hits (none when
// step is 0).
func manifest(n, step int) []Screening {
	out := make([]Screening, n)
	for i := range out {
		out[i] = manifestScreening(i, step > 0 && i%step == 0)
	}
	return out
}

func mustBatch(t testing.TB, l *Ledger, key string, ss []Screening) BatchResult {
	t.Helper()
	r, err := l.RecordBatch(context.Background(), key, ss)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// summary is a BatchResult without what only the first call returns.
func summary(r BatchResult) BatchResult {
	r.Recorded, r.Replayed = nil, false
	return r
}

func TestRecordBatch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ss := manifest(10, 4) // hits at 0, 4, 8
	res := mustBatch(t, e.l, testKey, ss)

	if res.Replayed || res.Key != testKey || res.Screened != 10 || res.HitTravellers != 3 || res.Hits != 6 ||
		!res.RecordedAt.Equal(e.clock.Now()) || len(res.Recorded) != 10 {
		t.Fatalf("result = %+v", res)
	}
	var wantHits []BatchHit
	for i, r := range res.Recorded {
		if (r.HitID != "") != (len(ss[i].Hits) > 0) || r.ScreeningID == "" {
			t.Errorf("Recorded[%d] = %+v", i, r)
		}
		if r.HitID != "" {
			wantHits = append(wantHits, BatchHit{Index: i, HitID: r.HitID})
		}
	}
	if !reflect.DeepEqual(res.HitRecords, wantHits) {
		t.Errorf("HitRecords = %+v, want %+v", res.HitRecords, wantHits)
	}

	// One outbox record per hit traveller, under its hit id.
	got := e.outboxRecords(t)
	if len(got) != 3 {
		t.Fatalf("outbox records = %d, want 3", len(got))
	}
	for _, h := range res.HitRecords {
		r, ok := got[h.HitID]
		if !ok || r.Kind != protocol.RecordHit {
			t.Errorf("no hit record %s in the outbox: %+v", h.HitID, r)
		}
		hr, err := e.l.Hit(ctx, h.HitID)
		if err != nil || hr.Traveller.ID != ss[h.Index].Traveller.ID || hr.Status != StatusOpen {
			t.Errorf("Hit(%s) = %+v, %v", h.HitID, hr.Traveller, err)
		}
	}

	// One marker, holding counts and ids only.
	rows := e.rows(t, Namespace)
	var markers, markerTimes int
	for k, v := range rows {
		switch {
		case strings.HasPrefix(k, prefixBatch):
			markers++
			if k != prefixBatch+testKey {
				t.Errorf("marker key %q", k)
			}
			if bytes.Contains(v, []byte("ZZTESTOVA")) || bytes.Contains(v, []byte("X9Q7W")) || bytes.Contains(v, []byte("1971")) {
				t.Errorf("marker holds traveller data: %s", v)
			}
		case strings.HasPrefix(k, prefixBatchTime):
			markerTimes++
		}
	}
	if markers != 1 || markerTimes != 1 {
		t.Errorf("markers = %d, time index rows = %d, want 1 and 1", markers, markerTimes)
	}
	// 7 non-hit rows; 3 × (hit, hi/, hs/open, screened, hit_opened); schema
	// and audit key; marker and its time row; a chain index row per entry
	// (7 + 3×2).
	if len(rows) != 7+3*5+2+2+7+3*2 {
		t.Errorf("ledger rows = %d: %v", len(rows), keys(rows))
	}
	st := e.l.Stats()
	if st.Screenings != 10 || st.HitScreenings != 3 || st.OpenHits != 3 {
		t.Errorf("stats = %+v", st)
	}
	obRows := e.rows(t, outbox.DefaultNamespace)
	depth := e.ob.Depth()

	// The same key again: nothing written, the same summary.
	check := func(t *testing.T, l *Ledger, ss []Screening) {
		t.Helper()
		again, err := l.RecordBatch(ctx, testKey, ss)
		if err != nil {
			t.Fatal(err)
		}
		if !again.Replayed || again.Recorded != nil {
			t.Errorf("replay: Replayed = %v, Recorded = %v", again.Replayed, again.Recorded)
		}
		if !reflect.DeepEqual(summary(again), summary(res)) {
			t.Errorf("replayed summary = %+v, want %+v", summary(again), summary(res))
		}
		if after := e.rows(t, Namespace); !maps.EqualFunc(after, rows, bytes.Equal) {
			t.Errorf("ledger rows changed on replay: %d → %d", len(rows), len(after))
		}
		if after := e.rows(t, outbox.DefaultNamespace); !maps.EqualFunc(after, obRows, bytes.Equal) {
			t.Errorf("outbox rows changed on replay: %d → %d", len(obRows), len(after))
		}
		if d := e.ob.Depth(); d.Records != depth.Records || d.Bytes != depth.Bytes {
			t.Errorf("outbox depth = %+v, want %+v", d, depth)
		}
	}
	t.Run("Replay", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		check(t, e.l, ss)
		if after := e.l.Stats(); !reflect.DeepEqual(after, st) {
			t.Errorf("stats moved on replay: %+v, want %+v", after, st)
		}
	})
	t.Run("ReplayOtherScreenings", func(t *testing.T) {
		// The key decides, not the content: a caller reusing a key gets
		// the first recording back.
		check(t, e.l, manifest(3, 1))
	})
	t.Run("ReplayAfterReopen", func(t *testing.T) {
		e.reopen(t)
		check(t, e.l, ss)
	})
}

func TestRecordBatchEmpty(t *testing.T) {
	e := newEnv(t)
	res := mustBatch(t, e.l, "empty-1", nil)
	if res.Screened != 0 || res.HitTravellers != 0 || res.Replayed {
		t.Fatalf("result = %+v", res)
	}
	if again := mustBatch(t, e.l, "empty-1", nil); !again.Replayed {
		t.Errorf("empty batch not replayed: %+v", again)
	}
	if st := e.l.Stats(); st.Screenings != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func TestRecordBatchInvalid(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, key := range []string{"", strings.Repeat("a", maxKeyLen+1), "a/b", "a b", "clé", "a\x00b"} {
		if _, err := e.l.RecordBatch(ctx, key, manifest(2, 1)); !errors.Is(err, ErrInvalid) {
			t.Errorf("key %q: err = %v, want ErrInvalid", key, err)
		}
	}
	if _, err := e.l.RecordBatch(ctx, strings.Repeat("Az09._:-", maxKeyLen/8), nil); err != nil {
		t.Errorf("a %d-character key of every allowed character: %v", maxKeyLen, err)
	}
	ss := manifest(4, 1)
	ss[2].Source = "fax"
	_, err := e.l.RecordBatch(ctx, testKey, ss)
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "screening 2") {
		t.Errorf("bad screening: err = %v, want ErrInvalid naming screening 2", err)
	}
	if d := e.ob.Depth(); d.Records != 0 {
		t.Errorf("outbox depth = %+v after refusals", d)
	}
	for k := range e.rows(t, Namespace) {
		if k != string(keySchema) && k != string(keyAuditKey) && !strings.HasPrefix(k, prefixBatch) && !strings.HasPrefix(k, prefixBatchTime) {
			t.Errorf("row %q written by a refused batch", k)
		}
	}
}

// TestRecordBatchAtomic fails the transaction part way through the batch
// and after the marker, and checks that nothing is left and that the key
// then records normally.
func TestRecordBatchAtomic(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	boom := errors.New("boom")
	failAt := func(op string, n int) func(string) error {
		seen := 0
		return func(o string) error {
			if o == op {
				if seen++; seen == n {
					return boom
				}
			}
			return nil
		}
	}
	for _, tc := range []struct {
		name string
		hook func(string) error
	}{
		{"MidBatch", failAt("record", 6)}, // after two hits and three non-hits
		{"AfterMarker", failAt("batch", 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.fault = tc.hook
			defer func() { e.fault = nil }()
			if _, err := e.l.RecordBatch(ctx, testKey, manifest(10, 3)); !errors.Is(err, boom) {
				t.Fatalf("err = %v, want boom", err)
			}
			e.checkEmpty(t)
		})
	}
	t.Run("OutboxRefuses", func(t *testing.T) {
		ss := manifest(6, 2)
		ss[4].Hits[0].MatchedName = strings.Repeat("A", protocol.MaxRecordPayload)
		_, err := e.l.RecordBatch(ctx, testKey, ss)
		if !errors.Is(err, outbox.ErrInvalidRecord) || !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v, want outbox.ErrInvalidRecord and ErrInvalid", err)
		}
		e.checkEmpty(t)
	})
	t.Run("ContextEnded", func(t *testing.T) {
		e.checkCancelInTxn(t, func(ctx context.Context) error { _, err := e.l.RecordBatch(ctx, testKey, manifest(4, 2)); return err })
	})
	t.Run("ThenRecords", func(t *testing.T) {
		res := mustBatch(t, e.l, testKey, manifest(10, 3))
		if res.Replayed || res.Screened != 10 || res.HitTravellers != 4 {
			t.Fatalf("result = %+v", res)
		}
		if d := e.ob.Depth(); d.Records != 4 {
			t.Errorf("outbox depth = %d, want 4", d.Records)
		}
	})
}

// TestRecordBatchMarkerRetention: the marker outlives the non-hit rows
// (Retention) and goes with the hit records (HitRetention).
func TestRecordBatchMarkerRetention(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	ss := manifest(5, 5) // one hit, four non-hits
	first := mustBatch(t, e.l, testKey, ss)

	e.clock.Advance(DefaultRetention)
	p, err := e.l.Purge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Screenings != 4 || p.Hits != 0 || p.Batches != 0 {
		t.Fatalf("purge at retention = %+v, want the four non-hits only", p)
	}
	again := mustBatch(t, e.l, testKey, ss)
	if !again.Replayed || !reflect.DeepEqual(summary(again), summary(first)) {
		t.Fatalf("replay after Retention = %+v, want %+v replayed", again, summary(first))
	}
	if d := e.ob.Depth(); d.Records != 2 { // the hit and the purge's audit checkpoint
		t.Errorf("outbox depth = %d, want 2", d.Records)
	}

	e.clock.Advance(DefaultHitRetention - DefaultRetention - time.Second)
	if p, err := e.l.Purge(ctx); err != nil || p.Batches != 0 || p.Hits != 0 {
		t.Fatalf("purge just before hit retention = %+v, %v; want nothing", p, err)
	}
	e.clock.Advance(time.Second)
	p, err = e.l.Purge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Hits != 1 || p.Batches != 1 {
		t.Fatalf("purge at hit retention = %+v, want the hit and the marker", p)
	}
	for k := range e.rows(t, Namespace) {
		if !strings.HasPrefix(k, prefixAudit) && !strings.HasPrefix(k, "m/") &&
			!strings.HasPrefix(k, prefixChain) && !strings.HasPrefix(k, prefixHole) && !strings.HasPrefix(k, prefixCheckpoint) {
			t.Errorf("row %q left after purge", k)
		}
	}
	var audited int
	for _, a := range mustAudit(t, e.l).Entries {
		if a.Action == ActionPurge && a.Purged.Batches > 0 {
			audited += a.Purged.Batches
		}
	}
	if audited != 1 {
		t.Errorf("purge audit entries count %d markers, want 1", audited)
	}

	// Past HitRetention the key is new again.
	if r := mustBatch(t, e.l, testKey, ss); r.Replayed || r.HitTravellers != 1 {
		t.Errorf("after the marker's purge: %+v, want a new recording", r)
	}
}

func TestPurgeBatchMarkers(t *testing.T) {
	e := newEnvOpts(t, func(o *Options) { o.PurgeBatch.BatchMarkers = 2 })
	for i := range 5 {
		mustBatch(t, e.l, fmt.Sprintf("key-%d", i), nil)
		e.clock.Advance(time.Second)
	}
	e.clock.Advance(DefaultHitRetention)
	p, err := e.l.Purge(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.Batches != 5 {
		t.Fatalf("purged %+v, want 5 markers", p)
	}
	rows := e.rows(t, Namespace)
	for k := range rows {
		if !strings.HasPrefix(k, prefixAudit) && k != string(keySchema) {
			delete(rows, k) // the chain's rows
		}
	}
	if len(rows) != 1+3 { // schema, 3 purge entries (2+2+1)
		t.Errorf("rows left = %v", keys(rows))
	}
}

// TestRecordBatchSizeBound checks MaxBatch and the transaction limit
// against the bounds documented at MaxBatch.
func TestRecordBatchSizeBound(t *testing.T) {
	ctx := context.Background()
	t.Run("OverMaxBatch", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.l.RecordBatch(ctx, testKey, make([]Screening, MaxBatch+1))
		if !errors.Is(err, ErrBatchTooBig) {
			t.Fatalf("err = %v, want ErrBatchTooBig", err)
		}
	})
	t.Run("DefaultMemTable", func(t *testing.T) {
		e := newEnvMem(t, badgerstore.DefaultMemTableSize)
		// A 1,000-passenger manifest at 5% hits, and MaxBatch at 5%, fit.
		for i, n := range []int{1000, MaxBatch} {
			if r := mustBatch(t, e.l, fmt.Sprintf("fits-%d", i), manifest(n, 20)); r.Screened != n || r.HitTravellers != n/20 {
				t.Fatalf("%d at 5%%: %+v", n, summary(r))
			}
		}
		// 2,000 travellers who all hit do not: refused whole.
		before := e.ob.Depth()
		_, err := e.l.RecordBatch(ctx, "too-big", manifest(2000, 1))
		if !errors.Is(err, ErrBatchTooBig) || !errors.Is(err, badgerstore.ErrTxnTooBig) {
			t.Fatalf("err = %v, want ErrBatchTooBig and badgerstore.ErrTxnTooBig", err)
		}
		if d := e.ob.Depth(); d.Records != before.Records {
			t.Errorf("outbox depth %d → %d after a refused batch", before.Records, d.Records)
		}
		if again, err := e.l.RecordBatch(ctx, "too-big", nil); err != nil || again.Replayed {
			t.Errorf("a refused batch left its marker: %+v, %v", again, err)
		}
		// 900 who all hit fit (999 measured, BenchmarkBatchBound).
		if r := mustBatch(t, e.l, "all-hits", manifest(900, 1)); r.HitTravellers != 900 {
			t.Fatalf("1000 hits: %+v", summary(r))
		}
	})
	t.Run("TestMemTable", func(t *testing.T) {
		// The tests' 8 MB memtable (1.2 MB transactions): a 500-passenger
		// manifest with 5% hits still fits.
		e := newEnv(t)
		if r := mustBatch(t, e.l, testKey, manifest(500, 20)); r.HitTravellers != 25 {
			t.Fatalf("result = %+v", summary(r))
		}
	})
}

// BenchmarkBatchBound measures the largest realistic batches that fit one
// transaction (the table at MaxBatch), by bisection over batches of
// manifest; the ones that fit are committed. Run with
//
//	go test -run '^$' -bench BatchBound -benchtime 1x ./daemon/ledger
func BenchmarkBatchBound(b *testing.B) {
	for _, mem := range []int64{badgerstore.DefaultMemTableSize, 8 << 20} {
		for _, c := range []struct {
			name string
			step int
		}{{"NoHits", 0}, {"Hits5pc", 20}, {"AllHits", 1}} {
			b.Run(fmt.Sprintf("MemTable%dMB/%s", mem>>20, c.name), func(b *testing.B) {
				e := newEnvMem(b, mem, func(o *Options) { o.MaxBatch = 40000 })
				var n int
				for range b.N {
					n = largestBatch(b, e.l, c.step, 0, 40000)
				}
				b.ReportMetric(float64(n), "screenings")
			})
		}
	}
}

// largestBatch finds, by bisection, the largest batch of manifest(n, step)
// that l records in one transaction, given that lo fits and hi does not;
// l's Options.MaxBatch must be at least hi.
func largestBatch(tb testing.TB, l *Ledger, step, lo, hi int) int {
	tb.Helper()
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		_, err := l.RecordBatch(context.Background(), fmt.Sprintf("probe-%d-%d-%d", step, mid, time.Now().UnixNano()), manifest(mid, step))
		switch {
		case err == nil:
			lo = mid
		case errors.Is(err, ErrBatchTooBig):
			hi = mid
		default:
			tb.Fatal(err)
		}
	}
	return lo
}

// TestConcurrentRecordBatch: callers racing with one key record it once.
func TestConcurrentRecordBatch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const workers = 8
	var wg sync.WaitGroup
	results := make(chan BatchResult, workers)
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := e.l.RecordBatch(ctx, testKey, manifest(20, 4))
			if err != nil {
				errs <- err
				return
			}
			results <- r
			if _, err := e.l.RecordBatch(ctx, fmt.Sprintf("own-%d", w), manifest(2, 1)); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	close(results)
	for err := range errs {
		t.Fatal(err)
	}
	var fresh int
	var first *BatchResult
	for r := range results {
		if !r.Replayed {
			fresh++
		}
		if first == nil {
			first = &r
		} else if !reflect.DeepEqual(summary(r), summary(*first)) {
			t.Errorf("summaries differ: %+v vs %+v", summary(r), summary(*first))
		}
	}
	if fresh != 1 {
		t.Errorf("%d calls recorded the key, want 1", fresh)
	}
	if d := e.ob.Depth(); d.Records != 5+2*workers {
		t.Errorf("outbox depth = %d, want %d", d.Records, 5+2*workers)
	}
	if st := e.l.Stats(); st.Screenings != 20+2*workers {
		t.Errorf("stats = %+v", st)
	}
}

// TestBatchMarkerJSON pins the marker's stored form: counts and ids only.
func TestBatchMarkerJSON(t *testing.T) {
	r := BatchResult{
		Key: "k", Screened: 3, Hits: 2, HitTravellers: 1, RecordedAt: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC),
		HitRecords: []BatchHit{{Index: 2, HitID: "01J0000000000000000000000A"}},
		Recorded:   []Recorded{{ScreeningID: "x"}}, Replayed: true,
	}
	b, err := json.Marshal(&r)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"key":"k","screened":3,"hits":2,"hit_travellers":1,"recorded_at":"2026-07-01T00:00:00Z","hit_records":[{"index":2,"hit_id":"01J0000000000000000000000A"}]}`
	if string(b) != want {
		t.Errorf("marker = %s\nwant     %s", b, want)
	}
}
