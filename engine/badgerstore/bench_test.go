package badgerstore

import (
	"context"
	"fmt"
	"math/rand/v2"
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

// BenchmarkLookupDocument looks up random document numbers (half of them
// listed) in a documents list of WATCHPOST_BENCH_DOCS rows (default
// 1,000,000), built once outside the timed loop, and reports latency
// percentiles.
func BenchmarkLookupDocument(b *testing.B) {
	n := envInt("WATCHPOST_BENCH_DOCS", 1_000_000)
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
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
	time.Sleep(2 * time.Second) // let compactions triggered by the reopen finish
	b.Run(fmt.Sprintf("docs=%d", n), func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		lat := make([]time.Duration, b.N)
		hits := 0
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			num := docNumber(rng.IntN(2 * n)) // >= n is not listed
			t0 := time.Now()
			h, err := s.LookupDocument(num, "")
			lat[i] = time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
			hits += len(h)
		}
		b.StopTimer()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
		b.ReportMetric(float64(hits)/float64(b.N), "hits/op")
	})
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
	rng := rand.New(rand.NewPCG(3, 4))
	lat := make([]time.Duration, 200_000)
	hits := 0
	for i := range lat {
		num := docNumber(rng.IntN(2 * n))
		t0 := time.Now()
		h, err := s.LookupDocument(num, "")
		lat[i] = time.Since(t0)
		if err != nil {
			t.Fatal(err)
		}
		hits += len(h)
	}
	slices.Sort(lat)
	t.Logf("%d lookups, %d hits: p50 %v, p99 %v, p99.9 %v, max %v", len(lat), hits,
		lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)*999/1000], lat[len(lat)-1])
	start = time.Now()
	if err := s.Verify(context.Background(), "sltd"); err != nil {
		t.Fatal(err)
	}
	t.Logf("verified in %v", time.Since(start))
}
