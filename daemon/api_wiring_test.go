package daemon

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/watchpost/watchpost/daemon/api"
	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/sync/outbox"
)

// openLedger opens a ledger, with its outbox, on a fresh store.
func openLedger(t *testing.T) (*ledger.Ledger, *outbox.Outbox) {
	t.Helper()
	st := storetest.OpenWith(t, t.TempDir(), badgerstore.Options{})
	return openLedgerOn(t, st)
}

// openLedgerOn opens a ledger, with its outbox, on st.
func openLedgerOn(t *testing.T, st *badgerstore.Store) (*ledger.Ledger, *outbox.Outbox) {
	t.Helper()
	ctx := context.Background()
	ob, err := outbox.Open(ctx, st, outbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	led, err := ledger.Open(ctx, st, ob, ledger.Options{Post: "test-post"})
	if err != nil {
		t.Fatal(err)
	}
	return led, ob
}

// TestAPIDispositionActor: the API shows the token a decision came
// through, for the decision in force, on Dispose, Hit and Hits.
func TestAPIDispositionActor(t *testing.T) {
	ctx := context.Background()
	led, _ := openLedger(t)
	a := apiLedger{led}
	hit := []engine.Hit{{List: "un", EntryID: "QDi.1", Band: engine.BandMatch}}
	rec, err := a.Record(ctx, api.Screening{Source: api.SourceAPI, Actor: "reader-gate2", Traveller: engine.Query{Name: "A B"}, Hits: hit})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := a.Hit(ctx, rec.HitID); err != nil || r.Disposition != nil || r.Actor != "reader-gate2" {
		t.Fatalf("open hit: %+v, %v", r, err)
	}

	check := func(what string, r api.HitRecord, decision, actor string) {
		t.Helper()
		if d := r.Disposition; d == nil || d.Decision != decision || d.Actor != actor || r.Actor != "reader-gate2" {
			t.Errorf("%s: %+v (disposition %+v), want %s via %q", what, r, r.Disposition, decision, actor)
		}
	}
	r, err := a.Dispose(ctx, rec.HitID, api.Disposition{Decision: api.DecisionReferred, Officer: "o-17", Actor: "desk-1"})
	if err != nil {
		t.Fatal(err)
	}
	check("Dispose", r, api.DecisionReferred, "desk-1")
	// The same decision again, through another token, changes nothing:
	// the decision in force still came through desk-1.
	r, err = a.Dispose(ctx, rec.HitID, api.Disposition{Decision: api.DecisionReferred, Officer: "o-17", Actor: "desk-2"})
	if err != nil {
		t.Fatal(err)
	}
	check("repeated Dispose", r, api.DecisionReferred, "desk-1")
	r, err = a.Dispose(ctx, rec.HitID, api.Disposition{Decision: api.DecisionConfirmed, Officer: "o-17", Actor: "desk-2"})
	if err != nil {
		t.Fatal(err)
	}
	check("second Dispose", r, api.DecisionConfirmed, "desk-2")
	r, err = a.Hit(ctx, rec.HitID)
	if err != nil {
		t.Fatal(err)
	}
	check("Hit", r, api.DecisionConfirmed, "desk-2")
	rs, _, err := a.Hits(ctx, api.HitFilter{Status: api.StatusDisposed, Limit: 10})
	if err != nil || len(rs) != 1 {
		t.Fatalf("Hits: %d, %v", len(rs), err)
	}
	check("Hits", rs[0], api.DecisionConfirmed, "desk-2")
}

// TestRegisterMetrics: the outbox and ledger series are read at scrape
// time; without a link to HQ there are no sync series.
func TestRegisterMetrics(t *testing.T) {
	ctx := context.Background()
	led, ob := openLedger(t)
	reg := prometheus.NewPedanticRegistry()
	if err := registerMetrics(reg, nil, ob, led); err != nil {
		t.Fatal(err)
	}
	a := apiLedger{led}
	if _, err := a.Record(ctx, api.Screening{Source: api.SourceAPI, Traveller: engine.Query{Name: "A B"},
		Hits: []engine.Hit{{List: "un", EntryID: "QDi.1", Band: engine.BandMatch}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Record(ctx, api.Screening{Source: api.SourceAPI, Traveller: engine.Query{Name: "C D"}}); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP watchpost_ledger_open_hits Hits awaiting an officer's decision.
# TYPE watchpost_ledger_open_hits gauge
watchpost_ledger_open_hits 1
# HELP watchpost_ledger_screenings_total Screenings recorded in the ledger (API, manifests, intake).
# TYPE watchpost_ledger_screenings_total counter
watchpost_ledger_screenings_total 2
# HELP watchpost_outbox_records Records waiting in the outbox for HQ, by priority (high: hits and dispositions; low: the rest).
# TYPE watchpost_outbox_records gauge
watchpost_outbox_records{priority="high"} 1
watchpost_outbox_records{priority="low"} 0
# HELP watchpost_outbox_over_budget 1 while the outbox is over its budget (the alarm), else 0.
# TYPE watchpost_outbox_over_budget gauge
watchpost_outbox_over_budget 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "watchpost_ledger_open_hits", "watchpost_ledger_screenings_total",
		"watchpost_outbox_records", "watchpost_outbox_over_budget"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "watchpost_outbox_bytes", "watchpost_outbox_budget_bytes", "watchpost_outbox_dropped_total"); err != nil || n != 3 {
		t.Errorf("outbox series: %d, %v", n, err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 8 {
		t.Errorf("%d series, want 8 (no sync series without a link), %v", n, err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	// A second registration of the same series is refused, not a panic.
	if err := registerMetrics(reg, nil, ob, led); err == nil {
		t.Error("registered twice")
	}
}
