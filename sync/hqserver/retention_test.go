package hqserver

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/fake"
	"github.com/watchpost/watchpost/sync/protocol"
)

// TestRetention: Run purges every hour (fake clock) the records older
// than their kind's retention, with their dedupe and kind index entries;
// rows stored before the kind index existed are indexed and purged too;
// a purged id that arrives again is stored again.
func TestRetention(t *testing.T) {
	cli, err := fake.NewBroker().Connect(fake.Options{ClientID: "watchpost-hq-serve"})
	if err != nil {
		t.Fatal(err)
	}
	st := openStore(t, t.TempDir())
	clk := clocktest.New()
	srv, err := New(Config{Store: st, Transport: cli, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if r := srv.cfg.Retention; r.Hits != DefaultRetainHits || r.Status != DefaultRetainStatus || r.Telemetry != DefaultRetainTelemetry {
		t.Fatalf("default retention %+v", r)
	}
	ctx := context.Background()
	start := clk.Now()
	store := func(id string, k protocol.RecordKind, payload string, received time.Time) {
		t.Helper()
		if _, err := srv.storeBatch(ctx, []incoming{{post: "p1", received: received,
			rec: protocol.Record{ID: id, Kind: k, Payload: []byte(payload), CreatedAt: received}}}); err != nil {
			t.Fatal(err)
		}
	}
	// A row as stored before the kind index: no k/ entry.
	legacy := Record{Post: "p1", ID: "OLD-TEL", Kind: "telemetry", CreatedAt: start.Add(-8 * 24 * time.Hour),
		ReceivedAt: start.Add(-8 * 24 * time.Hour), Payload: json.RawMessage(`{}`)}
	b, _ := json.Marshal(legacy)
	tk := timeKey(legacy.ReceivedAt, "p1", "OLD-TEL")
	if err := srv.rec.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		if err := tx.Set(tk, b); err != nil {
			return err
		}
		return tx.Set(recordKey("p1", "OLD-TEL"), tk)
	}); err != nil {
		t.Fatal(err)
	}
	store("HIT", protocol.RecordHit, string(hitPayload("p1", 1)), start)
	store("DISP", protocol.RecordDisposition, `{"post":"p1","hit_id":"HIT","decision":"confirmed","officer":"o1","decided_at":"2026-07-01T10:00:00Z"}`, start)
	store("STATUS", protocol.RecordStatus, `{"post":"p1","boot":1,"clock":"2026-07-01T10:00:00Z","lists":[],"outbox":{}}`, start)
	store("TEL", protocol.RecordTelemetry, `{"n":1}`, start)

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Run(runCtx) }()
	defer func() { cancel(); <-done }()

	// purges waits for n purge runs and the next purge timer.
	purges := func(n uint64) {
		t.Helper()
		testkit.CheckFor(t, 10*time.Second, fmt.Sprintf("%d purges", n), func() error {
			if c := srv.Counts(); c.PurgeRuns != n || clk.Waiters() < 1 {
				return fmt.Errorf("counts %+v, %d timers", c, clk.Waiters())
			}
			return nil
		})
	}
	ids := func() []string {
		t.Helper()
		recs, err := srv.Hits(ctx, HitFilter{Limit: MaxHitsLimit})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range recs {
			out = append(out, r.ID)
		}
		sort.Strings(out)
		return out
	}
	check := func(want ...string) {
		t.Helper()
		sort.Strings(want)
		if got := ids(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("records %v, want %v", got, want)
		}
	}

	purges(1) // at start: the 8-day-old legacy telemetry row goes
	check("DISP", "HIT", "STATUS", "TEL")
	if c := srv.Counts(); c.Purged != 1 {
		t.Fatalf("purged %d", c.Purged)
	}
	pending := clk.Waiters()
	clk.Advance(time.Hour - time.Second)
	// Advance fires every due timer before it returns: as many pending
	// as before means the purge timer is not due yet.
	if n := clk.Waiters(); n != pending {
		t.Fatalf("%d timers pending a second before the purge interval, want %d", n, pending)
	}
	clk.Advance(time.Second)
	purges(2)

	clk.Advance(7 * 24 * time.Hour) // the purge timer fires once, at the new now
	purges(3)
	check("DISP", "HIT", "STATUS")
	// The purged telemetry id arrives again (a post offline for a week
	// still holding it): stored again, as a new record.
	store("TEL", protocol.RecordTelemetry, `{"n":1}`, clk.Now())
	check("DISP", "HIT", "STATUS", "TEL")

	clk.Advance(30*24*time.Hour - 7*24*time.Hour - time.Hour)
	purges(4)
	check("DISP", "HIT", "STATUS") // 30 days old to the second: kept; the new TEL is 23 days old
	clk.Advance(time.Hour)
	purges(5)
	check("DISP", "HIT")

	clk.Advance(DefaultRetainHits)
	purges(6)
	check()
	// Nothing of the records is left: no dedupe entry, no index entry.
	var left []string
	if err := srv.rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate(nil, func(key, _ []byte) error {
			if k := string(key); k[:2] != "p/" && k[:2] != "m/" {
				left = append(left, k)
			}
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("keys left: %q", left)
	}
	if c := srv.Counts(); c.PurgeErrors != 0 || c.Purged != 6 {
		t.Fatalf("counts %+v", c)
	}
}

// TestRetentionForever: a negative retention keeps a kind forever.
func TestRetentionForever(t *testing.T) {
	clk := clocktest.New()
	srv, err := New(Config{Store: openStore(t, t.TempDir()), Clock: clk, Retention: Retention{Hits: -1, Telemetry: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i, k := range []protocol.RecordKind{protocol.RecordHit, protocol.RecordTelemetry} {
		payload := `{"n":1}`
		if k == protocol.RecordHit {
			payload = string(hitPayload("p1", i))
		}
		if _, err := srv.storeBatch(ctx, []incoming{{post: "p1", received: clk.Now(),
			rec: protocol.Record{ID: k.String(), Kind: k, Payload: []byte(payload), CreatedAt: clk.Now()}}}); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(10 * DefaultRetainHits)
	res, err := srv.Purge(ctx)
	if err != nil || res.Deleted["hit"] != 0 || res.Deleted["telemetry"] != 1 {
		t.Fatalf("purge %+v, %v", res, err)
	}
	if recs, err := srv.Hits(ctx, HitFilter{}); err != nil || len(recs) != 1 || recs[0].ID != "hit" {
		t.Fatalf("left %+v, %v", recs, err)
	}
}
