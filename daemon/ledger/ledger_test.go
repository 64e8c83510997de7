package ledger

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
)

func TestRecordHit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s := screening(2)
	s.ScreenedAt = e.clock.Now().Add(-time.Second)
	rec := mustRecord(t, e.l, s)
	if rec.HitID == "" || rec.ScreeningID == "" || rec.HitID == rec.ScreeningID {
		t.Fatalf("Recorded = %+v, want distinct screening and hit ids", rec)
	}

	if d := e.ob.Depth(); d.Records != 1 || d.High != 1 {
		t.Fatalf("outbox depth = %+v, want exactly one high-priority record", d)
	}
	recs := e.outboxRecords(t)
	r, ok := recs[rec.HitID]
	if !ok || len(recs) != 1 {
		t.Fatalf("outbox records %v, want one with id %s", recs, rec.HitID)
	}
	if r.Kind != protocol.RecordHit {
		t.Fatalf("outbox record kind = %v, want hit", r.Kind)
	}
	var rep protocol.HitReport
	if err := protocol.DecodeJSON(r.Payload, &rep); err != nil {
		t.Fatal(err)
	}
	if err := rep.Validate(); err != nil {
		t.Fatal(err)
	}
	if got, want := rep.Post, testPost; got != want {
		t.Errorf("report post = %q, want %q", got, want)
	}
	if !rep.ScreenedAt.Equal(s.ScreenedAt) || rep.Source != SourceAPI || rep.Ref != "XY123" {
		t.Errorf("report = %+v, want screened_at %v, source api, ref XY123", rep, s.ScreenedAt)
	}
	if rep.Traveller != s.Traveller || len(rep.Hits) != 2 || rep.Hits[1].EntryID != "QDi.001" {
		t.Errorf("report traveller/hits = %+v / %+v", rep.Traveller, rep.Hits)
	}

	h, err := e.l.Hit(ctx, rec.HitID)
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != StatusOpen || h.ScreeningID != rec.ScreeningID || h.Traveller != s.Traveller || len(h.Hits) != 2 {
		t.Errorf("hit = %+v", h)
	}

	page, err := e.l.Audit(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range page.Entries {
		actions = append(actions, a.Action)
		if a.Actor != "workstation-1" || a.ScreeningID != rec.ScreeningID || a.HitID != rec.HitID {
			t.Errorf("audit entry %+v: want actor workstation-1 and both ids", a)
		}
	}
	if got, want := strings.Join(actions, ","), "screened,hit_opened"; got != want {
		t.Errorf("audit actions = %s, want %s", got, want)
	}
	if found := containsAny(auditRows(t, e), personal()); len(found) > 0 {
		t.Errorf("traveller data in the audit trail: %v", found)
	}

	st := e.l.Stats()
	if st.Screenings != 1 || st.HitScreenings != 1 || st.OpenHits != 1 || !st.LastScreening.Equal(e.clock.Now()) {
		t.Errorf("stats = %+v", st)
	}
	if st.Hits[HitLabel{"un", engine.BandMatch}] != 1 || st.Hits[HitLabel{"un", engine.BandPossible}] != 1 {
		t.Errorf("stats hits = %v, want one match and one possible on un", st.Hits)
	}
}

// auditRows returns the rows of the audit trail (a/ and s/).
func auditRows(t testing.TB, e *env) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range e.rows(t, Namespace) {
		if strings.HasPrefix(k, prefixAudit) || strings.HasPrefix(k, prefixScreening) {
			out[k] = v
		}
	}
	return out
}

func TestRecordNoHitStoresNoTravellerData(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	s := screening(0)
	s.Source, s.Ref = SourceManifest, "XY123/2026-07-01"
	rec := mustRecord(t, e.l, s)
	if rec.HitID != "" {
		t.Fatalf("non-hit got hit id %s", rec.HitID)
	}
	if d := e.ob.Depth(); d.Records != 0 {
		t.Fatalf("outbox depth = %+v, want empty", d)
	}
	if rows := e.rows(t, outbox.DefaultNamespace); len(rows) != 0 {
		t.Fatalf("outbox namespace holds %d rows", len(rows))
	}
	rows := e.rows(t, Namespace)
	if found := containsAny(rows, personal()); len(found) > 0 {
		t.Fatalf("traveller data stored for a non-hit: %v", found)
	}
	if len(rows) != 4 { // m/schema, m/audit-key, the screening row and its chain index
		t.Fatalf("ledger rows = %v, want m/schema, m/audit-key, one screening row and its index", keys(rows))
	}
	page, err := e.l.Audit(ctx, AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != 1 {
		t.Fatalf("audit = %+v, want one entry", page.Entries)
	}
	a := page.Entries[0]
	if a.Action != ActionScreened || a.ID != rec.ScreeningID || a.Matches != 0 || a.Source != SourceManifest ||
		a.Ref != s.Ref || a.Actor != "workstation-1" || !a.Time.Equal(rec.RecordedAt) {
		t.Errorf("audit entry = %+v", a)
	}
	if h, err := e.l.Hits(ctx, HitFilter{}); err != nil || len(h.Hits) != 0 {
		t.Errorf("Hits = %+v, %v; want none", h, err)
	}
	if st := e.l.Stats(); st.Screenings != 1 || st.HitScreenings != 0 || st.OpenHits != 0 {
		t.Errorf("stats = %+v", st)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestRecordInvalid(t *testing.T) {
	e := newEnv(t)
	bad := screening(1)
	bad.Source = "fax"
	if _, err := e.l.Record(context.Background(), bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("source fax: err = %v, want ErrInvalid", err)
	}
	bad = screening(1)
	bad.Hits[0].EntryID = ""
	if _, err := e.l.Record(context.Background(), bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("hit without entry id: err = %v, want ErrInvalid", err)
	}
	if rows := e.rows(t, Namespace); len(rows) != 2 {
		t.Errorf("ledger rows = %v, want only m/schema and m/audit-key", keys(rows))
	}
}

// TestRecordAtomic makes the transaction fail after every row is written
// (a hook, then a real outbox refusal) and checks that nothing is left.
func TestRecordAtomic(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	t.Run("Hook", func(t *testing.T) {
		boom := errors.New("boom")
		e.fault = func(string) error { return boom }
		defer func() { e.fault = nil }()
		for _, n := range []int{0, 2} {
			if _, err := e.l.Record(ctx, screening(n)); !errors.Is(err, boom) {
				t.Fatalf("%d hits: err = %v, want boom", n, err)
			}
		}
		e.checkEmpty(t)
	})
	t.Run("OutboxRefuses", func(t *testing.T) {
		// A report over protocol.MaxRecordPayload: the screening rows and the hit
		// are written before PutTx refuses it.
		s := screening(1)
		s.Hits[0].MatchedName = strings.Repeat("A", protocol.MaxRecordPayload)
		_, err := e.l.Record(ctx, s)
		if !errors.Is(err, outbox.ErrInvalidRecord) || !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v, want outbox.ErrInvalidRecord and ErrInvalid", err)
		}
		e.checkEmpty(t)
	})
	t.Run("ContextEnded", func(t *testing.T) {
		e.checkCancelInTxn(t, func(ctx context.Context) error { _, err := e.l.Record(ctx, screening(1)); return err })
	})
}

func TestDispose(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rec := mustRecord(t, e.l, screening(1))
	auditBefore := len(mustAudit(t, e.l).Entries)

	e.clock.Advance(time.Minute)
	h, err := e.l.Dispose(ctx, rec.HitID, Disposition{Decision: protocol.DispositionReferred, Officer: "off-17", Note: "sent to secondary", Actor: "desk-3"})
	if err != nil {
		t.Fatal(err)
	}
	if h.Status != StatusReferred || len(h.Decisions) != 1 || h.Decisions[0].Officer != "off-17" ||
		!h.Decisions[0].DecidedAt.Equal(e.clock.Now()) {
		t.Fatalf("hit after dispose = %+v", h)
	}
	if stored, err := e.l.Hit(ctx, rec.HitID); err != nil || stored.Status != StatusReferred || len(stored.Decisions) != 1 {
		t.Fatalf("stored hit = %+v, %v", stored, err)
	}
	if d := e.ob.Depth(); d.Records != 2 || d.High != 2 {
		t.Fatalf("outbox depth = %+v, want the hit and the disposition", d)
	}
	recs := e.outboxRecords(t)
	r, ok := recs[h.Decisions[0].ID]
	if !ok || r.Kind != protocol.RecordDisposition {
		t.Fatalf("no disposition record %s in %v", h.Decisions[0].ID, recs)
	}
	var rep protocol.DispositionReport
	if err := protocol.DecodeJSON(r.Payload, &rep); err != nil {
		t.Fatal(err)
	}
	if err := rep.Validate(); err != nil {
		t.Fatal(err)
	}
	if rep.HitID != rec.HitID || rep.Post != testPost || rep.Decision != protocol.DispositionReferred ||
		rep.Officer != "off-17" || rep.Note != "sent to secondary" || !rep.DecidedAt.Equal(e.clock.Now()) {
		t.Errorf("disposition report = %+v", rep)
	}

	page := mustAudit(t, e.l)
	if got, want := len(page.Entries), auditBefore+1; got != want {
		t.Fatalf("audit entries = %d, want %d", got, want)
	}
	a := page.Entries[len(page.Entries)-1]
	if a.Action != ActionDisposition || a.Actor != "off-17" || a.HitID != rec.HitID || a.OutboxID != r.ID ||
		a.Decision != protocol.DispositionReferred || a.Previous != string(StatusOpen) || a.Via != "desk-3" {
		t.Errorf("disposition audit entry = %+v", a)
	}
	if found := containsAny(auditRows(t, e), []string{"sent to secondary"}); len(found) > 0 {
		t.Errorf("officer's note in the audit trail: %v", found)
	}

	t.Run("Supersede", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		h, err := e.l.Dispose(ctx, rec.HitID, Disposition{Decision: protocol.DispositionConfirmed, Officer: "off-02"})
		if err != nil {
			t.Fatal(err)
		}
		if h.Status != StatusConfirmed || len(h.Decisions) != 2 || h.Decisions[0].Decision != protocol.DispositionReferred {
			t.Fatalf("hit = %+v, want confirmed with both decisions", h)
		}
		if d := e.ob.Depth(); d.Records != 3 {
			t.Errorf("outbox depth = %+v, want 3 records", d)
		}
		for status, want := range map[Status]int{"": 1, StatusOpen: 0, StatusReferred: 0, StatusConfirmed: 1} {
			p, err := e.l.Hits(ctx, HitFilter{Status: status})
			if err != nil || len(p.Hits) != want {
				t.Errorf("Hits(status %q) = %d hits, %v; want %d", status, len(p.Hits), err, want)
			}
		}
		if last := mustAudit(t, e.l).Entries; last[len(last)-1].Previous != string(StatusReferred) {
			t.Errorf("last audit entry = %+v, want previous referred", last[len(last)-1])
		}
	})
	t.Run("RepeatIsNoop", func(t *testing.T) {
		before := e.ob.Depth().Records
		nAudit := len(mustAudit(t, e.l).Entries)
		h, err := e.l.Dispose(ctx, rec.HitID, Disposition{Decision: protocol.DispositionConfirmed, Officer: "off-02"})
		if err != nil || len(h.Decisions) != 2 {
			t.Fatalf("repeat: %+v, %v", h, err)
		}
		if e.ob.Depth().Records != before || len(mustAudit(t, e.l).Entries) != nAudit {
			t.Errorf("a repeated decision wrote something")
		}
	})
	st := e.l.Stats()
	if st.OpenHits != 0 || st.Dispositions[protocol.DispositionReferred] != 1 || st.Dispositions[protocol.DispositionConfirmed] != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func mustAudit(t testing.TB, l *Ledger) AuditPage {
	t.Helper()
	p, err := l.Audit(context.Background(), AuditFilter{Limit: MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDisposeRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rec := mustRecord(t, e.l, screening(1))
	snapshot := func() (map[string][]byte, int) { return e.rows(t, Namespace), e.ob.Depth().Records }
	rowsBefore, depthBefore := snapshot()

	unknown := outbox.NewID(e.clock.Now())
	cases := []struct {
		name string
		id   string
		d    Disposition
		want error
		msg  string
	}{
		{"UnknownDecision", rec.HitID, Disposition{Decision: "arrest", Officer: "off-1"}, ErrInvalid, "decision"},
		{"NoDecision", rec.HitID, Disposition{Officer: "off-1"}, ErrInvalid, "decision"},
		{"NoOfficer", rec.HitID, Disposition{Decision: protocol.DispositionConfirmed}, ErrInvalid, "officer"},
		{"NoteTooLong", rec.HitID, Disposition{Decision: protocol.DispositionConfirmed, Officer: "off-1", Note: strings.Repeat("n", MaxNote+1)}, ErrInvalid, "note"},
		{"UnknownHit", unknown, Disposition{Decision: protocol.DispositionConfirmed, Officer: "off-1"}, ErrNotFound, unknown},
		{"MalformedID", "../h/x", Disposition{Decision: protocol.DispositionConfirmed, Officer: "off-1"}, ErrNotFound, "not found"},
		{"EmptyID", "", Disposition{Decision: protocol.DispositionConfirmed, Officer: "off-1"}, ErrInvalid, "hit_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.l.Dispose(ctx, c.id, c.d)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("err = %v, want %v mentioning %q", err, c.want, c.msg)
			}
			rows, depth := snapshot()
			if depth != depthBefore || len(rows) != len(rowsBefore) {
				t.Fatalf("something was stored: %d rows (was %d), outbox %d (was %d)", len(rows), len(rowsBefore), depth, depthBefore)
			}
		})
	}
	t.Run("TransactionFails", func(t *testing.T) {
		boom := errors.New("boom")
		e.fault = func(string) error { return boom }
		defer func() { e.fault = nil }()
		if _, err := e.l.Dispose(ctx, rec.HitID, Disposition{Decision: protocol.DispositionConfirmed, Officer: "off-1"}); !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
		rows, depth := snapshot()
		if depth != depthBefore || len(rows) != len(rowsBefore) || string(rows[string(hitKey(rec.HitID))]) != string(rowsBefore[string(hitKey(rec.HitID))]) {
			t.Fatalf("a failed dispose changed the store")
		}
		if st := e.l.Stats(); st.OpenHits != 1 || len(st.Dispositions) != 0 {
			t.Errorf("stats moved: %+v", st)
		}
	})
}

func TestPurge(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	old := mustRecord(t, e.l, screening(0))
	hit := mustRecord(t, e.l, screening(1))
	decided := mustRecord(t, e.l, screening(1))
	if _, err := e.l.Dispose(ctx, decided.HitID, Disposition{Decision: protocol.DispositionFalsePositive, Officer: "off-1"}); err != nil {
		t.Fatal(err)
	}

	e.clock.Advance(DefaultRetention - time.Second)
	if p, err := e.l.Purge(ctx); err != nil || p.Screenings != 0 || p.Hits != 0 {
		t.Fatalf("purge before retention = %+v, %v; want nothing", p, err)
	}
	e.clock.Advance(time.Second)
	fresh := mustRecord(t, e.l, screening(0))
	p, err := e.l.Purge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Screenings != 1 || p.Hits != 0 || !p.From.Equal(old.RecordedAt) || !p.To.Equal(old.RecordedAt) {
		t.Fatalf("purge at retention = %+v, want the one old non-hit", p)
	}
	if _, err := e.l.Hit(ctx, hit.HitID); err != nil {
		t.Fatalf("hit purged with the non-hits: %v", err)
	}

	e.clock.Advance(DefaultHitRetention - DefaultRetention)
	p, err = e.l.Purge(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.Screenings != 1 || p.Hits != 2 || p.OpenHits != 1 {
		t.Fatalf("purge at hit retention = %+v, want the fresh non-hit and both hits (one open)", p)
	}
	for _, id := range []string{hit.HitID, decided.HitID} {
		if _, err := e.l.Hit(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Hit(%s) after purge: %v, want ErrNotFound", id, err)
		}
		if _, err := e.l.Dispose(ctx, id, Disposition{Decision: protocol.DispositionConfirmed, Officer: "off-1"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("Dispose(%s) after purge: %v, want ErrNotFound", id, err)
		}
	}
	rows := e.rows(t, Namespace)
	if found := containsAny(rows, personal()); len(found) > 0 {
		t.Errorf("traveller data left after purge: %v", found)
	}
	for k := range rows {
		if !strings.HasPrefix(k, prefixAudit) && !strings.HasPrefix(k, "m/") &&
			!strings.HasPrefix(k, prefixChain) && !strings.HasPrefix(k, prefixHole) && !strings.HasPrefix(k, prefixCheckpoint) {
			t.Errorf("row %q left after purge", k)
		}
	}
	if rep, err := e.l.VerifyAudit(ctx); err != nil || len(rep.Faults) != 0 || rep.Purged != 2 {
		t.Errorf("chain after purge: %+v, %v; want it whole with the 2 non-hit rows passed over", rep, err)
	}

	// The audit trail keeps the hits' entries and says what was purged.
	var purges []Purged
	opened := map[string]bool{}
	for _, a := range mustAudit(t, e.l).Entries {
		switch a.Action {
		case ActionPurge:
			purges = append(purges, *a.Purged)
		case ActionHitOpened:
			opened[a.HitID] = true
		case ActionScreened:
			if a.Matches == 0 {
				t.Errorf("non-hit screening row %s still in the audit trail", a.ID)
			}
		}
	}
	if !opened[hit.HitID] || !opened[decided.HitID] {
		t.Errorf("hit_opened entries lost: %v", opened)
	}
	if len(purges) != 3 || purges[0].Screenings != 1 || purges[1].Screenings != 1 || purges[2].Hits != 2 || len(purges[2].HitIDs) != 2 {
		t.Errorf("purge entries = %+v", purges)
	}
	_ = fresh
	if st := e.l.Stats(); st.OpenHits != 0 || st.PurgedScreenings != 2 || st.PurgedHits != 2 {
		t.Errorf("stats = %+v", st)
	}
}

func TestPurgeBatches(t *testing.T) {
	e := newEnvOpts(t, func(o *Options) { o.PurgeBatch.Screenings, o.PurgeBatch.Hits = 3, 2 })
	for i := 0; i < 7; i++ {
		mustRecord(t, e.l, screening(i%2))
		e.clock.Advance(time.Second)
	}
	e.clock.Advance(DefaultHitRetention)
	p, err := e.l.Purge(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if p.Screenings != 4 || p.Hits != 3 || p.OpenHits != 3 {
		t.Fatalf("purged %+v, want 4 screenings and 3 hits", p)
	}
	n := 0
	for _, a := range mustAudit(t, e.l).Entries {
		if a.Action == ActionPurge {
			n++
		}
	}
	if n != 4 { // 3+1 screenings, 2+1 hits
		t.Errorf("purge audit entries = %d, want one per batch (4)", n)
	}
	rows := e.rows(t, Namespace)
	for k := range rows {
		if !strings.HasPrefix(k, prefixAudit) && k != string(keySchema) {
			delete(rows, k) // the chain's rows
		}
	}
	if len(rows) != 1+3*2+n { // schema, 3 hits × (screened, hit_opened), purges
		t.Errorf("rows left = %d: %v", len(rows), keys(rows))
	}
}

func TestRunPurge(t *testing.T) {
	e := newEnv(t)
	mustRecord(t, e.l, screening(0))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.l.RunPurge(ctx, time.Hour) }()
	testkit.CheckFor(t, 5*time.Second, "the purge loop to wait", testkit.True(func() bool { return e.clock.Waiters() == 1 }), testkit.Every(time.Millisecond))
	if st := e.l.Stats(); st.PurgedScreenings != 0 {
		t.Fatalf("purged too early: %+v", st)
	}
	for i := 0; i < 24; i++ {
		e.clock.Advance(time.Hour)
		testkit.CheckFor(t, 5*time.Second, "the purge loop to wait again", testkit.True(func() bool { return e.clock.Waiters() == 1 }), testkit.Every(time.Millisecond))
	}
	if st := e.l.Stats(); st.PurgedScreenings != 1 {
		t.Fatalf("after 24 h: %+v, want the non-hit purged", st)
	}
	cancel()
	testkit.Returned(t, done, 5*time.Second, "RunPurge")
	if err := e.l.RunPurge(context.Background(), 0); err == nil {
		t.Error("RunPurge with interval 0 did not fail")
	}
}

func TestHitsPagination(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	var ids []string // oldest first
	start := e.clock.Now()
	for i := 0; i < 7; i++ {
		ids = append(ids, mustRecord(t, e.l, screening(1)).HitID)
		mustRecord(t, e.l, screening(0))
		e.clock.Advance(time.Second)
	}
	if _, err := e.l.Dispose(ctx, ids[5], Disposition{Decision: protocol.DispositionFalsePositive, Officer: "off-1"}); err != nil {
		t.Fatal(err)
	}

	var got []string
	var sizes []int
	f := HitFilter{Limit: 3}
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		p, err := e.l.Hits(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		sizes = append(sizes, len(p.Hits))
		for _, h := range p.Hits {
			got = append(got, h.ID)
		}
		if p.Next == "" {
			break
		}
		f.Cursor = p.Next
	}
	var want []string
	for i := len(ids) - 1; i >= 0; i-- {
		want = append(want, ids[i])
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("hits = %v, want newest first %v", got, want)
	}
	if len(sizes) != 3 || sizes[0] != 3 || sizes[2] != 1 {
		t.Errorf("page sizes = %v, want 3,3,1", sizes)
	}

	p, err := e.l.Hits(ctx, HitFilter{Status: StatusOpen, Limit: 2})
	if err != nil || len(p.Hits) != 2 || p.Hits[0].ID != ids[6] || p.Hits[1].ID != ids[4] {
		t.Errorf("open hits = %+v, %v; want %s, %s (skipping the decided %s)", p, err, ids[6], ids[4], ids[5])
	}
	p, err = e.l.Hits(ctx, HitFilter{Since: start.Add(5 * time.Second)})
	if err != nil || len(p.Hits) != 2 || p.Next != "" {
		t.Errorf("since +5s = %d hits, next %q, %v; want 2 and no next page", len(p.Hits), p.Next, err)
	}
	if p, err := e.l.Hits(ctx, HitFilter{Status: StatusFalsePositive}); err != nil || len(p.Hits) != 1 || p.Hits[0].ID != ids[5] {
		t.Errorf("false positives = %+v, %v", p, err)
	}
	if p, err := e.l.Hits(ctx, HitFilter{Status: StatusDecided, Limit: 1}); err != nil || len(p.Hits) != 1 || p.Hits[0].ID != ids[5] || p.Next != "" {
		t.Errorf("decided = %+v, %v; want only %s, no next page", p, err, ids[5])
	}
	if p, err := e.l.Hits(ctx, HitFilter{Status: StatusOpen, Limit: MaxPageLimit}); err != nil || len(p.Hits) != 6 || p.Hits[0].Actor != "workstation-1" {
		t.Errorf("open = %d hits, %v; want 6 with their actor", len(p.Hits), err)
	}
	for _, f := range []HitFilter{{Cursor: "zz"}, {Cursor: strings.Repeat("g", 32) + ids[0]}, {Status: "closed"}, {Limit: -1}} {
		if _, err := e.l.Hits(ctx, f); !errors.Is(err, ErrInvalid) {
			t.Errorf("Hits(%+v): err = %v, want ErrInvalid", f, err)
		}
	}
}

func TestAuditPagination(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	start := e.clock.Now()
	for i := 0; i < 5; i++ {
		mustRecord(t, e.l, screening(i%2)) // non-hit rows in s/, hit rows in a/
		e.clock.Advance(time.Second)
	}
	all := mustAudit(t, e.l).Entries
	if len(all) != 7 { // 5 screened + 2 hit_opened
		t.Fatalf("audit = %d entries, want 7", len(all))
	}
	for i := 1; i < len(all); i++ {
		if all[i].Time.Before(all[i-1].Time) {
			t.Fatalf("audit not in time order at %d: %v then %v", i, all[i-1].Time, all[i].Time)
		}
	}
	var got []AuditEntry
	f := AuditFilter{Limit: 3}
	for {
		p, err := e.l.Audit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.Entries...)
		f.Cursor = p.Next
		if !p.More {
			break
		}
	}
	if len(got) != len(all) {
		t.Fatalf("paged audit = %d entries, want %d", len(got), len(all))
	}
	for i := range got {
		if got[i].ID != all[i].ID {
			t.Fatalf("paged audit differs at %d", i)
		}
	}
	// Tailing: nothing new, then one new entry.
	p, err := e.l.Audit(ctx, f)
	if err != nil || len(p.Entries) != 0 || p.Next != f.Cursor {
		t.Fatalf("tail = %+v, %v; want empty with the same cursor", p, err)
	}
	rec := mustRecord(t, e.l, screening(0))
	if p, err = e.l.Audit(ctx, f); err != nil || len(p.Entries) != 1 || p.Entries[0].ID != rec.ScreeningID {
		t.Fatalf("tail after a screening = %+v, %v", p, err)
	}
	if p, err := e.l.Audit(ctx, AuditFilter{Since: start.Add(4 * time.Second)}); err != nil || len(p.Entries) != 2 {
		t.Errorf("since +4s = %+v, %v; want the last two screenings", p, err)
	}
}

func TestReopen(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := mustRecord(t, e.l, screening(2))
	b := mustRecord(t, e.l, screening(1))
	mustRecord(t, e.l, screening(0))
	if _, err := e.l.Dispose(ctx, a.HitID, Disposition{Decision: protocol.DispositionConfirmed, Officer: "off-1", Note: "n"}); err != nil {
		t.Fatal(err)
	}
	audit := mustAudit(t, e.l)
	hitA, _ := e.l.Hit(ctx, a.HitID)

	e.reopen(t)
	if d := e.ob.Depth(); d.Records != 3 {
		t.Errorf("outbox depth after reopen = %+v, want 3", d)
	}
	got, err := e.l.Hit(ctx, a.HitID)
	if err != nil {
		t.Fatal(err)
	}
	wantJSON, _ := json.Marshal(hitA)
	gotJSON, _ := json.Marshal(got)
	if string(gotJSON) != string(wantJSON) {
		t.Errorf("hit after reopen = %s, want %s", gotJSON, wantJSON)
	}
	if p, err := e.l.Hits(ctx, HitFilter{Status: StatusOpen}); err != nil || len(p.Hits) != 1 || p.Hits[0].ID != b.HitID {
		t.Errorf("open hits after reopen = %+v, %v", p, err)
	}
	if st := e.l.Stats(); st.OpenHits != 1 || st.Screenings != 0 {
		t.Errorf("stats after reopen = %+v, want 1 open hit and counters from zero", st)
	}
	after := mustAudit(t, e.l)
	if len(after.Entries) != len(audit.Entries) {
		t.Errorf("audit after reopen = %d entries, want %d", len(after.Entries), len(audit.Entries))
	}
	// And it still works: a decision after the reopen.
	if _, err := e.l.Dispose(ctx, b.HitID, Disposition{Decision: protocol.DispositionFalsePositive, Officer: "off-1"}); err != nil {
		t.Fatal(err)
	}
	if st := e.l.Stats(); st.OpenHits != 0 {
		t.Errorf("open hits = %d, want 0", st.OpenHits)
	}
}

func TestSchemaTooNew(t *testing.T) {
	e := newEnv(t)
	err := e.store.Records(Namespace).Update(context.Background(), func(tx *badgerstore.RecordsTxn) error {
		return tx.Set(keySchema, []byte("99"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), e.store, e.ob, e.opts); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("err = %v, want ErrSchemaTooNew", err)
	}
}

func TestOpenOptions(t *testing.T) {
	e := newEnv(t)
	for _, o := range []Options{
		{},
		{Post: testPost, Retention: 48 * time.Hour, HitRetention: 24 * time.Hour},
		{Post: testPost, Retention: -time.Hour},
	} {
		if _, err := Open(context.Background(), e.store, e.ob, o); err == nil {
			t.Errorf("Open(%+v) did not fail", o)
		}
	}
}

func TestConcurrentRecord(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const workers, each = 8, 20
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	hitIDs := make(chan string, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r, err := e.l.Record(ctx, screening((w+i)%2))
				if err != nil {
					errs <- err
					return
				}
				if r.HitID != "" {
					hitIDs <- r.HitID
				}
				if i%5 == 0 {
					if _, err := e.l.Hits(ctx, HitFilter{Limit: 5}); err != nil {
						errs <- err
					}
					e.l.Stats()
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	close(hitIDs)
	for err := range errs {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for id := range hitIDs {
		want[id] = true
	}
	const nHits = workers * each / 2
	if len(want) != nHits {
		t.Fatalf("%d distinct hit ids, want %d", len(want), nHits)
	}
	st := e.l.Stats()
	if st.Screenings != workers*each || st.HitScreenings != nHits || st.OpenHits != nHits {
		t.Errorf("stats = %+v", st)
	}
	if d := e.ob.Depth(); d.Records != nHits {
		t.Errorf("outbox depth = %d, want %d", d.Records, nHits)
	}
	p, err := e.l.Hits(ctx, HitFilter{Limit: MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Hits) != nHits {
		t.Fatalf("Hits = %d, want %d", len(p.Hits), nHits)
	}
	for _, h := range p.Hits {
		if !want[h.ID] {
			t.Errorf("unexpected hit %s", h.ID)
		}
	}
}

// TestConcurrentDispose: officers deciding on the same hit at once must
// not lose a decision (Badger runs without conflict detection here).
func TestConcurrentDispose(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rec := mustRecord(t, e.l, screening(1))
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			d := Disposition{Decision: protocol.DispositionReferred, Officer: fmt.Sprintf("off-%d", i)}
			if _, err := e.l.Dispose(ctx, rec.HitID, d); err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Add(1)
	go func() { // a purge racing the decisions deletes nothing, changes nothing
		defer wg.Done()
		if _, err := e.l.Purge(ctx); err != nil {
			errs <- err
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	h, err := e.l.Hit(ctx, rec.HitID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Decisions) != n {
		t.Fatalf("%d decisions kept, want %d", len(h.Decisions), n)
	}
	if d := e.ob.Depth(); d.Records != 1+n+1 { // the hit, the decisions, the purge's checkpoint
		t.Errorf("outbox depth = %d, want %d", d.Records, 1+n+1)
	}
	if st := e.l.Stats(); st.OpenHits != 0 || st.Dispositions[protocol.DispositionReferred] != n {
		t.Errorf("stats = %+v", st)
	}
	p, err := e.l.Hits(ctx, HitFilter{Status: StatusReferred})
	if err != nil || len(p.Hits) != 1 {
		t.Errorf("referred hits = %+v, %v; want exactly one index row", p, err)
	}
}

// TestLogsHoldNoTravellerData records, decides and purges with a logger
// at debug level and checks the traveller's data appears nowhere.
func TestLogsHoldNoTravellerData(t *testing.T) {
	var buf testkit.Buffer
	e := newEnv(t)
	e.opts.Logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.reopen(t)
	ctx := context.Background()
	rec := mustRecord(t, e.l, screening(2))
	mustRecord(t, e.l, screening(0))
	if _, err := e.l.Dispose(ctx, rec.HitID, Disposition{Decision: protocol.DispositionConfirmed, Officer: "off-1", Note: "QUILLANE said so"}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(DefaultHitRetention)
	if _, err := e.l.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, rec.HitID) {
		t.Fatalf("log does not mention the hit; got:\n%s", out)
	}
	for _, s := range append(personal(), "said so") {
		if strings.Contains(out, s) {
			t.Errorf("log holds %q:\n%s", s, out)
		}
	}
}
