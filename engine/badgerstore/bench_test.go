package badgerstore

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"
)

// BenchmarkReplaceEntries replaces a names list of WATCHPOST_BENCH_ENTRIES
// entries (default 100,000), alternating two editions that share 75% of
// their ids, with SyncWrites=true (the default) and with SyncWrites=false
// plus DB.Sync.
func BenchmarkReplaceEntries(b *testing.B) {
	n := envInt("WATCHPOST_BENCH_ENTRIES", 100_000)
	a := makeEntries(0, n, "A")
	bb := makeEntries(n/4, n+n/4, "B")
	for _, mode := range []struct {
		name string
		opts Options
	}{{"sync", Options{}}, {"nosync", Options{NoSyncWrites: true}}} {
		b.Run(fmt.Sprintf("%s/entries=%d", mode.name, n), func(b *testing.B) {
			s, err := Open(b.TempDir(), mode.opts)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ed := a
				if i%2 == 1 {
					ed = bb
				}
				if _, err := s.ReplaceEntries(ctx, ListMeta{Name: "bench"}, entrySrc(ed)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkLookupDocument looks up random document numbers in a documents
// list of WATCHPOST_BENCH_DOCS rows (default 1,000,000), built once outside
// the timed loop, and reports latency percentiles separately for listed
// ("present") and unlisted ("absent") numbers: most numbers checked at a
// border post are absent, and the two take different paths.
func BenchmarkLookupDocument(b *testing.B) {
	n := envInt("WATCHPOST_BENCH_DOCS", 1_000_000)
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { s.Close() }()
	start := time.Now()
	if _, err := s.ReplaceDocuments(context.Background(), ListMeta{Name: "sltd"}, docSrc(n)); err != nil {
		b.Fatal(err)
	}
	b.Logf("imported %d documents in %v; store is %d MB", n, time.Since(start), dirSize(b, dir)>>20)
	// Measure the steady state of a border post: the import long done, its
	// memtable flushed and the store reopened.
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	if s, err = Open(dir, Options{}); err != nil {
		b.Fatal(err)
	}
	settle(b, s) // let compactions triggered by the import and reopen finish
	flattenIfAsked(b, s)
	for _, mode := range []struct {
		name    string
		base    int
		wantHit bool
	}{{"present", 0, true}, {"absent", n, false}} {
		b.Run(fmt.Sprintf("%s/docs=%d", mode.name, n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			lat := make([]time.Duration, b.N)
			hits := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				num := docNumber(mode.base + rng.IntN(n))
				t0 := time.Now()
				h, err := s.LookupDocument(num, "")
				lat[i] = time.Since(t0)
				if err != nil {
					b.Fatal(err)
				}
				if (len(h) > 0) != mode.wantHit {
					b.Fatalf("LookupDocument(%q) = %d hits", num, len(h))
				}
				hits += len(h)
			}
			b.StopTimer()
			reportLatency(b, lat)
			b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
		})
	}
}

// settle waits (up to two minutes) until Badger has no compaction to run:
// every level's score below 1 for three polls in a row. Compactions on a
// 2-core box take CPU from lookups and dominate their p99.
// flattenIfAsked flattens the LSM tree into one level and lets it settle
// when WATCHPOST_BENCH_FLATTEN is set, and reports whether it did.
func flattenIfAsked(t testing.TB, s *Store) bool {
	t.Helper()
	if os.Getenv("WATCHPOST_BENCH_FLATTEN") == "" {
		return false
	}
	t0 := time.Now()
	if err := s.db.Flatten(1); err != nil {
		t.Fatal(err)
	}
	t.Logf("flattened in %v", time.Since(t0))
	settle(t, s)
	return true
}

func settle(t testing.TB, s *Store) {
	t.Helper()
	start := time.Now()
	calm := 0
	for calm < 3 && time.Since(start) < 2*time.Minute {
		time.Sleep(250 * time.Millisecond)
		calm++
		for _, l := range s.db.Levels() {
			if l.Score >= 1 {
				calm = 0
			}
		}
	}
	var tables []int
	for _, l := range s.db.Levels() {
		tables = append(tables, l.NumTables)
	}
	t.Logf("compactions settled after %v; tables per level %v", time.Since(start).Round(time.Millisecond), tables)
}

// reportLatency reports the p50 and p99 of lat (sorted in place).
func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// lookupLatency runs count lookups of random numbers below 2n (those >= n
// are not listed; present selects which half) and logs the percentiles.
func lookupLatency(t *testing.T, s *Store, n, count int, present bool, label string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	lat := make([]time.Duration, count)
	hits := 0
	for i := range lat {
		num := docNumber(n + rng.IntN(n))
		if present {
			num = docNumber(rng.IntN(n))
		}
		t0 := time.Now()
		h, err := s.LookupDocument(num, "")
		lat[i] = time.Since(t0)
		if err != nil {
			t.Fatal(err)
		}
		if (len(h) > 0) != present {
			t.Fatalf("LookupDocument(%q) = %d hits", num, len(h))
		}
		hits += len(h)
	}
	slices.Sort(lat)
	kind := "absent"
	if present {
		kind = "present"
	}
	t.Logf("%s: %d lookups of %s numbers, %d hits: p50 %v, p99 %v, p99.9 %v, max %v; cache hit ratios so far: index %.3f, block %.3f",
		label, len(lat), kind, hits, lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)*999/1000], lat[len(lat)-1],
		s.db.IndexCacheMetrics().Ratio(), s.db.BlockCacheMetrics().Ratio())
}

// TestManualImportDocuments measures a ReplaceDocuments of
// WATCHPOST_IMPORT_DOCS generated rows (e.g. 10000000) and the latency of
// lookups against it. It is skipped unless the variable is set.
func TestManualImportDocuments(t *testing.T) {
	n := envInt("WATCHPOST_IMPORT_DOCS", 0)
	if n == 0 {
		t.Skip("set WATCHPOST_IMPORT_DOCS=10000000 to run")
	}
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	start := time.Now()
	info, err := s.ReplaceDocuments(context.Background(), ListMeta{Name: "sltd"}, docSrc(n))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d documents in %v (version %d); store is %d MB", info.Entries, time.Since(start), info.Version, dirSize(t, dir)>>20)
	lookupLatency(t, s, n, 200_000, true, "after import")
	lookupLatency(t, s, n, 200_000, false, "after import")
	settle(t, s)
	lookupLatency(t, s, n, 200_000, true, "compactions settled")
	lookupLatency(t, s, n, 200_000, false, "compactions settled")
	if flattenIfAsked(t, s) {
		lookupLatency(t, s, n, 200_000, true, "flattened")
		lookupLatency(t, s, n, 200_000, false, "flattened")
	}
	start = time.Now()
	if err := s.Verify(context.Background(), "sltd"); err != nil {
		t.Fatal(err)
	}
	t.Logf("verified in %v", time.Since(start))
}
