package hqserver

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/sync/protocol"
)

// indexRig is a server without a transport whose records are stored
// through the record writer's own transaction (storeBatch).
type indexRig struct {
	s   *Server
	clk *clocktest.Clock
}

func newIndexRig(t testing.TB) *indexRig {
	clk := clocktest.NewAt(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	s, err := New(Config{Store: openStore(t, t.TempDir()), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return &indexRig{s: s, clk: clk}
}

func hitReport(post, name, list string, band engine.Band) []byte {
	b, _ := json.Marshal(protocol.HitReport{Post: post, ScreenedAt: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC), Source: "api",
		Traveller: engine.Query{Name: name}, Hits: []engine.Hit{{List: list, EntryID: "E-" + name, Band: band, Score: 0.9, MatchedName: name}}})
	return b
}

func (r *indexRig) store(t testing.TB, post, id string, kind protocol.RecordKind, payload []byte) {
	t.Helper()
	in := incoming{post: post, rec: protocol.Record{ID: id, Kind: kind, CreatedAt: r.clk.Now(), Payload: payload}, received: r.clk.Now()}
	if _, err := r.s.storeBatch(context.Background(), []incoming{in}); err != nil {
		t.Fatal(err)
	}
}

func ids(hs []IndexedHit) string {
	s := ""
	for _, h := range hs {
		s += h.ID + " "
	}
	return s
}

// TestHitIndex: pages follow the filters and the decisions in force,
// newest first, the cursor continues where a page ended, the daily counts
// add up, and a purge takes its hits out of every index.
func TestHitIndex(t *testing.T) {
	r := newIndexRig(t)
	ctx := context.Background()
	for i := range 6 {
		post, list, band := "post-a", "un", engine.BandMatch
		if i%2 == 1 {
			post, list, band = "post-b", "ofac", engine.BandPossible
		}
		r.store(t, post, fmt.Sprintf("h%d", i), protocol.RecordHit, hitReport(post, fmt.Sprintf("NAME %d", i), list, band))
		r.clk.Advance(time.Minute)
	}
	dec, _ := json.Marshal(protocol.DispositionReport{Post: "post-a", HitID: "h2", Decision: "confirmed", Officer: "o1", DecidedAt: r.clk.Now()})
	r.store(t, "post-a", "d1", protocol.RecordDisposition, dec)
	dec2, _ := json.Marshal(protocol.DispositionReport{Post: "post-a", HitID: "h2", Decision: "false_positive", Officer: "o2", DecidedAt: r.clk.Now().Add(time.Second)})
	r.store(t, "post-a", "d2", protocol.RecordDisposition, dec2)

	for _, c := range []struct {
		q    HitQuery
		want string
	}{
		{HitQuery{}, "h5 h4 h3 h2 h1 h0 "},
		{HitQuery{Post: "post-b"}, "h5 h3 h1 "},
		{HitQuery{List: "un"}, "h4 h2 h0 "},
		{HitQuery{Band: engine.BandPossible}, "h5 h3 h1 "},
		{HitQuery{Status: StatusOpen}, "h5 h4 h3 h1 h0 "},
		{HitQuery{Status: "false_positive"}, "h2 "},
		{HitQuery{Status: "confirmed"}, ""},
		{HitQuery{Post: "post-a", Status: StatusOpen}, "h4 h0 "},
		{HitQuery{From: r.clk.Now().Add(-4*time.Minute - time.Second), To: r.clk.Now().Add(-2 * time.Minute)}, "h3 h2 "},
	} {
		page, err := r.s.HitPage(ctx, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(page.Hits); got != c.want {
			t.Errorf("%+v: got %q, want %q", c.q, got, c.want)
		}
	}
	// Pages of two, by cursor.
	var all string
	q := HitQuery{Limit: 2}
	for n := 0; ; n++ {
		page, err := r.s.HitPage(ctx, q)
		if err != nil || n > 5 {
			t.Fatalf("page %d: %v", n, err)
		}
		all += ids(page.Hits)
		if page.Next == "" {
			break
		}
		q.After = page.Next
	}
	if all != "h5 h4 h3 h2 h1 h0 " {
		t.Errorf("paged: %q", all)
	}
	h, ok, err := r.s.Hit(ctx, "post-a", "h2")
	if err != nil || !ok || h.Status != "false_positive" || len(h.History) != 2 || h.History[0].Officer != "o1" {
		t.Fatalf("hit h2: ok %v, %v, %+v", ok, err, h)
	}
	counts, err := r.s.HitsPerDay(ctx, r.clk.Now().AddDate(0, 0, -1), r.clk.Now().AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range counts {
		total += c.N
	}
	if total != 6 || len(counts) != 2 {
		t.Errorf("counts %+v, want 6 hits over 2 post/list pairs", counts)
	}

	// Retention: every hit goes, and with it every index entry.
	r.s.cfg.Retention.Hits = time.Minute
	r.clk.Advance(time.Hour)
	if _, err := r.s.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	for _, q := range []HitQuery{{}, {Post: "post-a"}, {List: "ofac"}, {Band: engine.BandMatch}, {Status: StatusOpen}, {Status: "false_positive"}} {
		page, err := r.s.HitPage(ctx, q)
		if err != nil || len(page.Hits) != 0 {
			t.Errorf("%+v after the purge: %q, %v", q, ids(page.Hits), err)
		}
	}
	n := 0
	r.s.rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate(prefixIndex, func(k, _ []byte) error {
			if k[2] != 'c' {
				n++
				t.Errorf("index key left after the purge: %q", k)
			}
			return nil
		})
	})
}

// TestHistorySamples: one sample per post and hour, the deepest outbox
// of the hour kept, trimmed after SeriesWindow.
func TestHistorySamples(t *testing.T) {
	r := newIndexRig(t)
	ctx := context.Background()
	status := func(boot, screenings uint64, outbox int) {
		st, _ := json.Marshal(protocol.PostStatus{Post: "p1", Boot: boot, Clock: r.clk.Now(), Screenings: screenings, Outbox: protocol.OutboxState{Records: outbox}})
		r.store(t, "p1", fmt.Sprintf("s%d-%d", boot, screenings), protocol.RecordStatus, st)
	}
	start := r.clk.Now()
	status(1, 10, 5)
	r.clk.Advance(10 * time.Minute)
	status(1, 20, 2)
	r.clk.Advance(time.Hour)
	status(1, 35, 0)
	hist, err := r.s.History(ctx, "p1", start.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 2 || hist[0].Screenings != 20 || hist[0].Start != 10 || hist[0].Outbox != 5 || hist[1].Screenings != 35 || hist[1].Start != 35 {
		t.Fatalf("history %+v", hist)
	}
	r.clk.Advance(SeriesWindow)
	if err := r.s.trimIndex(ctx); err != nil {
		t.Fatal(err)
	}
	if hist, _ = r.s.History(ctx, "p1", time.Time{}); len(hist) != 0 {
		t.Errorf("after the window: %+v", hist)
	}
}
