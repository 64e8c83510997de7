package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/publish"
	"github.com/watchpost/watchpost/sync/replica"
)

// A documents list shaped like INTERPOL's SLTD extracts: a number of nine
// letters and digits, an issuing state, a type, and the date reported
// (in the note).

var sltdStates = []string{"AFG", "ARG", "AUS", "BEL", "BRA", "CAN", "CHN", "COL", "DEU", "DZA", "EGY", "ESP", "ETH", "FRA", "GBR",
	"GHA", "GRC", "IDN", "IND", "IRN", "IRQ", "ITA", "JOR", "JPN", "KEN", "LBN", "LBY", "MAR", "MEX", "NGA", "NLD", "PAK", "PER",
	"PHL", "POL", "ROU", "RUS", "SAU", "SDN", "SEN", "SYR", "THA", "TUN", "TUR", "UKR", "USA", "VEN", "VNM", "YEM", "ZAF"}

const base36 = 36 * 36 * 36 * 36 * 36 * 36 * 36 * 36 // 36^8

// sltdDoc is generated row i (any i >= 0): distinct numbers for distinct
// i (a letter, then i scrambled over 36^8 by a multiplier coprime to 36).
func sltdDoc(i int) engine.Document {
	v := uint64(i) * 1_000_003 % base36
	num := []byte{byte('A' + i%26)}
	digits := strconv.FormatUint(v, 36)
	num = append(num, strings.Repeat("0", 8-len(digits))...)
	num = append(num, strings.ToUpper(digits)...)
	typ := "P"
	switch i % 10 {
	case 7:
		typ = "I"
	case 9:
		typ = "V"
	}
	day := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%4000)
	return engine.Document{Type: typ, Number: string(num), Country: sltdStates[i%len(sltdStates)], Note: "reported " + day.Format(time.DateOnly)}
}

// sltdChange says what edition 2 does to row i < n: of every 100 rows the
// first changes; by (i/100)%5 it is removed (0, 1), gets a new note (2),
// or stays (3, 4). Edition 2 also adds n/100*2/5 rows, so that a delta
// carries n/100 operations: 40 % adds, 40 % removes, 20 % changes.
func sltdChange(i int) (removed, changed bool) {
	if i%100 != 0 {
		return false, false
	}
	k := (i / 100) % 5
	return k <= 1, k == 2
}

func sltdEdition(n, edition int) func(emit func(*engine.Document) error) error {
	return func(emit func(*engine.Document) error) error {
		for i := 0; i < n; i++ {
			d := sltdDoc(i)
			if edition == 2 {
				removed, changed := sltdChange(i)
				if removed {
					continue
				}
				if changed {
					d.Note += "; recovered 2026-12-01"
				}
			}
			if err := emit(&d); err != nil {
				return err
			}
		}
		if edition == 2 {
			for i := n; i < n+n/100*2/5; i++ {
				d := sltdDoc(i)
				if err := emit(&d); err != nil {
					return err
				}
			}
		}
		return nil
	}
}

// docFigures are the documents list's figures for one list size.
type docFigures struct {
	figures
	// Lookups during the apply, and before it on the idle post; each
	// LookupDocument of a listed or an unlisted number (half each).
	during, idle latencies
	// inconsistent counts lookups during the apply of rows that are in
	// both versions and were not found (must be 0).
	inconsistent int64
}

type latencies struct {
	n             int
	p50, p99, max time.Duration
}

func (l latencies) String() string {
	return fmt.Sprintf("%d lookups p50 %s p99 %s max %s", l.n, l.p50, l.p99, l.max)
}

func summarize(d []time.Duration) latencies {
	if len(d) == 0 {
		return latencies{}
	}
	slices.Sort(d)
	return latencies{n: len(d), p50: d[len(d)/2], p99: d[len(d)*99/100], max: d[len(d)-1]}
}

func (f docFigures) String() string {
	return fmt.Sprintf("%s; lookups idle: %s; during the apply: %s", f.figures, f.idle, f.during)
}

// lookupLoop looks up numbers until stop is closed or limit lookups (if
// not 0) are done: even calls a row of both editions (which must be
// found), odd ones a number never listed.
func lookupLoop(st *badgerstore.Store, n int, seed uint64, stop <-chan struct{}, limit int, bad *atomic.Int64) []time.Duration {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []time.Duration
	for k := 0; limit == 0 || k < limit; k++ {
		select {
		case <-stop:
			return out
		default:
		}
		i := rng.IntN(n)
		if k%2 == 1 {
			i += 3 * n // never listed
		} else if i%100 == 0 {
			i++ // rows i%100 == 0 change in edition 2
		}
		d := sltdDoc(i)
		start := time.Now()
		hits, err := st.LookupDocument(d.Number, d.Country)
		out = append(out, time.Since(start))
		if err != nil || (k%2 == 0 && len(hits) != 1) || (k%2 == 1 && len(hits) != 0) {
			bad.Add(1)
		}
	}
	return out
}

// measureDocuments publishes a documents list of n rows at HQ, installs
// its snapshot at a post, publishes edition 2 (1 % of the rows changed,
// see sltdChange) and times the post applying the delta while another
// goroutine looks up documents, as officers would.
func measureDocuments(tb testing.TB, n int, open func(testing.TB, string) *badgerstore.Store) docFigures {
	tb.Helper()
	ctx := context.Background()
	r := newSizeRig(tb, open)
	ed := publish.Edition{List: listName, Format: "docs-csv"}
	first, err := r.pub.PublishDocuments(ctx, ed, sltdEdition(n, 1))
	if err != nil {
		tb.Fatal(err)
	}
	if first.Entries != n {
		tb.Fatalf("edition 1 holds %d rows, want %d", first.Entries, n)
	}
	r.installFirst(tb)
	res, err := r.pub.PublishDocuments(ctx, ed, sltdEdition(n, 2))
	if err != nil {
		tb.Fatal(err)
	}
	delta := r.delta(tb, res.Version)

	var bad atomic.Int64
	idle := lookupLoop(r.post, n, uint64(n), nil, 20_000, &bad)
	if bad.Load() != 0 {
		tb.Fatalf("%d lookups on the idle post went wrong", bad.Load())
	}
	stop := make(chan struct{})
	var during []time.Duration
	var wg sync.WaitGroup
	wg.Go(func() { during = lookupLoop(r.post, n, uint64(n)+1, stop, 0, &bad) })
	start := time.Now()
	out, err := r.app.HandleDelta(ctx, delta)
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil || out.Action != replica.Applied {
		tb.Fatalf("delta: %v %v", out.Action, err)
	}
	got, err := r.post.List(listName)
	if err != nil {
		tb.Fatal(err)
	}
	if got.Hash != res.Hash || got.Version != 2 || got.Kind != engine.ListDocuments {
		tb.Fatalf("post holds %+v, HQ hash %s", got, res.Hash)
	}
	return docFigures{
		figures: figures{entries: n, ops: res.Upserts + res.Deletes, deltaBytes: len(delta), snapshotBytes: res.SnapshotBytes, apply: elapsed},
		idle:    summarize(idle), during: summarize(during), inconsistent: bad.Load(),
	}
}

// TestDocumentsDeltaSizeTarget checks, on 100,000 documents (20,000 with
// -short or -race, which slows the imports tenfold; the ratio does not
// depend on the size), the size target for documents lists: a
// delta changing 1 % of the rows is at most 2 % of the snapshot. It also
// checks that lookups during the apply find every row both versions hold
// and no unlisted number. BenchmarkDocumentsDeltaOnePercent measures the
// scale.
func TestDocumentsDeltaSizeTarget(t *testing.T) {
	n := 100_000
	if testing.Short() || raceEnabled {
		n = 20_000
	}
	f := measureDocuments(t, n, openStore)
	t.Log(f)
	if f.ops != n/100 {
		t.Errorf("delta of %d operations, want %d (1 %%)", f.ops, n/100)
	}
	if f.ratio() > 0.02 {
		t.Errorf("delta is %.2f%% of the snapshot, the target is at most 2%%", 100*f.ratio())
	}
	if f.inconsistent != 0 {
		t.Errorf("%d lookups during the apply missed a row both versions hold, or found an unlisted number", f.inconsistent)
	}
	if f.during.n == 0 {
		t.Error("no lookup ran during the apply")
	}
}

// BenchmarkDocumentsDeltaOnePercent reports, for a documents list of
// 1,000,000 rows (or the sizes in WATCHPOST_BENCH_DOCS, comma-separated,
// e.g. 10000000), the snapshot's and the 1 % delta's bytes, the post's
// apply time and the latency of lookups before and during the apply. The
// stores are opened with the post's defaults (daemon.OpenStore). Run
// with -benchtime=1x: each iteration builds the lists from scratch.
//
//	go test -run '^$' -bench DocumentsDeltaOnePercent -benchtime=1x -timeout 2h ./sync/e2e
func BenchmarkDocumentsDeltaOnePercent(b *testing.B) {
	sizes := []int{1_000_000}
	if env := os.Getenv("WATCHPOST_BENCH_DOCS"); env != "" {
		sizes = nil
		for _, f := range strings.Split(env, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 100 {
				b.Fatalf("WATCHPOST_BENCH_DOCS: %q is not a size of at least 100", f)
			}
			sizes = append(sizes, n)
		}
	}
	open := func(tb testing.TB, dir string) *badgerstore.Store {
		st, err := badgerstore.Open(dir, badgerstore.Options{})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { st.Close() })
		return st
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("docs=%d", n), func(b *testing.B) {
			for range b.N {
				f := measureDocuments(b, n, open)
				b.ReportMetric(float64(f.deltaBytes), "delta-bytes")
				b.ReportMetric(float64(f.snapshotBytes), "snapshot-bytes")
				b.ReportMetric(100*f.ratio(), "delta-%-of-snapshot")
				b.ReportMetric(float64(f.apply.Milliseconds()), "apply-ms")
				b.ReportMetric(float64(f.idle.p99.Microseconds()), "idle-lookup-p99-µs")
				b.ReportMetric(float64(f.during.p99.Microseconds()), "apply-lookup-p99-µs")
				b.ReportMetric(float64(f.during.max.Microseconds()), "apply-lookup-max-µs")
				if f.inconsistent != 0 {
					b.Errorf("%d lookups during the apply went wrong", f.inconsistent)
				}
				b.Log(f)
			}
		})
	}
}
