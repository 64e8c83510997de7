package hqserver

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/sync/protocol"
)

// BenchmarkHitPage reads one 50-hit page of HQ's console from a store of
// WATCHPOST_BENCH_HITS hits (1,000,000 by default; the store is built
// once, which takes minutes), unfiltered, by post, and by status.
func BenchmarkHitPage(b *testing.B) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("WATCHPOST_BENCH_HITS")); err == nil && v > 0 {
		n = v
	}
	r := newIndexRig(b)
	ctx := context.Background()
	batch := make([]incoming, 0, maxBatchRecords)
	flush := func() {
		if _, err := r.s.storeBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := range n {
		post := fmt.Sprintf("post-%03d", i%500)
		band := engine.BandPossible
		if i%7 == 0 {
			band = engine.BandMatch
		}
		batch = append(batch, incoming{post: post, received: r.clk.Now(),
			rec: protocol.Record{ID: fmt.Sprintf("h%08d", i), Kind: protocol.RecordHit, CreatedAt: r.clk.Now(), Payload: hitReport(post, fmt.Sprintf("TRAVELLER %d", i), "un", band)}})
		if len(batch) == maxBatchRecords {
			flush()
		}
		r.clk.Advance(time.Second)
	}
	flush()
	for _, c := range []struct {
		name string
		q    HitQuery
	}{
		{"all", HitQuery{Limit: 50}},
		{"post", HitQuery{Post: "post-123", Limit: 50}},
		{"open-match", HitQuery{Status: StatusOpen, Band: engine.BandMatch, Limit: 50}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				page, err := r.s.HitPage(ctx, c.q)
				if err != nil || len(page.Hits) != 50 || page.Next == "" {
					b.Fatalf("%d hits, next %q, %v", len(page.Hits), page.Next, err)
				}
			}
		})
	}
}
