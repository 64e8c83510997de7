package ledger

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/testkit"
)

// newEnvWith is newEnv with its options changed by set before Open.
func newEnvWith(t testing.TB, set func(o *Options)) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), clock: clocktest.New()}
	e.opts = Options{Post: testPost, Clock: e.clock}
	set(&e.opts)
	e.open(t)
	return e
}

// runGroup runs e.l's group commit until the returned stop, which
// returns its error (and runs at the end of the test if not called).
func runGroup(t *testing.T, e *env) (stop func() error) {
	t.Helper()
	l := e.l
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.RunGroupCommit(ctx) }()
	testkit.CheckFor(t, 10*time.Second, "the group commit to run", testkit.True(func() bool {
		l.group.mu.Lock()
		defer l.group.mu.Unlock()
		return l.group.running
	}), testkit.Every(time.Millisecond))
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("the group commit did not return within 10 s")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// screeningRows returns the ids of the non-hit rows stored (s/ keys end
// with the screening id).
func (e *env) screeningRows(t testing.TB) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for k := range e.rows(t, Namespace) {
		if strings.HasPrefix(k, prefixScreening) {
			ids[k[len(k)-idLen:]] = true
		}
	}
	return ids
}

// TestGroupCommitWindow: with the group commit running, screenings
// without a hit from concurrent callers are answered at once and stored
// together when the window ends, every one of them, linked into a chain
// that verifies; hits recorded among them are stored before their Record
// returns; stopping the group commit stores what is still queued.
func TestGroupCommitWindow(t *testing.T) {
	e := newEnvWith(t, func(o *Options) { o.GroupRows = 10_000 })
	stop := runGroup(t, e)
	ctx := context.Background()
	const clients, each = 8, 50
	var mu sync.Mutex
	answered := map[string]bool{}
	var hitIDs []string
	record := func(hitEvery int) {
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				for i := range each {
					s := screening(0)
					if hitEvery > 0 && (c*each+i)%hitEvery == 0 {
						s = screening(1)
					}
					rec, err := e.l.Record(ctx, s)
					if err != nil {
						t.Error(err)
						return
					}
					if rec.HitID != "" {
						// Stored when Record returns, window or not.
						if _, err := e.l.Hit(ctx, rec.HitID); err != nil {
							t.Errorf("hit %s just recorded: %v", rec.HitID, err)
						}
					}
					mu.Lock()
					if rec.HitID == "" {
						answered[rec.ScreeningID] = true
					} else {
						hitIDs = append(hitIDs, rec.HitID)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
	}

	record(0)
	e.clock.WaitTimer(t) // the window of the first row
	if n := len(e.screeningRows(t)); n != 0 || e.l.Stats().Screenings != 0 {
		t.Fatalf("%d rows stored (stats %d) before the window ended, want 0: they are queued", n, e.l.Stats().Screenings)
	}
	e.clock.Advance(DefaultGroupWindow)
	testkit.CheckFor(t, 10*time.Second, "the queued rows to be stored", testkit.True(func() bool {
		return len(e.screeningRows(t)) == clients*each
	}), testkit.Every(time.Millisecond))

	record(5) // a hit in every 5 screenings, each committing what is queued with it
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	stored := e.screeningRows(t)
	for id := range answered {
		if !stored[id] {
			t.Errorf("screening %s answered but not stored", id)
		}
	}
	if len(stored) != len(answered) || len(hitIDs) != clients*each/5 {
		t.Errorf("%d rows stored for %d screenings without a hit answered; %d hits, want %d", len(stored), len(answered), len(hitIDs), clients*each/5)
	}
	for _, id := range hitIDs {
		if _, err := e.l.Hit(ctx, id); err != nil {
			t.Errorf("hit %s: %v", id, err)
		}
	}
	if d := e.ob.Depth().Records; d != len(hitIDs) {
		t.Errorf("outbox holds %d records, want one per hit (%d)", d, len(hitIDs))
	}
	if st := e.l.Stats(); st.Screenings != 2*clients*each || st.HitScreenings != uint64(len(hitIDs)) {
		t.Errorf("stats %d screenings, %d with hits; want %d, %d", st.Screenings, st.HitScreenings, 2*clients*each, len(hitIDs))
	}
	rep, err := e.l.VerifyAudit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Faults) != 0 || rep.Entries != 2*clients*each+len(hitIDs) {
		t.Errorf("audit chain: %+v", rep)
	}
	// Without the group commit, Record stores each row itself again.
	rec := mustRecord(t, e.l, screening(0))
	if !e.screeningRows(t)[rec.ScreeningID] {
		t.Errorf("screening %s recorded after the group commit stopped is not stored", rec.ScreeningID)
	}
}

// TestGroupCommitRows: GroupRows queued rows are stored without waiting
// for the window; fewer wait for it, or for the group commit's end.
func TestGroupCommitRows(t *testing.T) {
	e := newEnvWith(t, func(o *Options) { o.GroupRows = 10 })
	stop := runGroup(t, e)
	for range 10 {
		mustRecord(t, e.l, screening(0))
	}
	// The clock never moves: only a full group is committed.
	testkit.CheckFor(t, 10*time.Second, "a full group to be stored", testkit.True(func() bool {
		return len(e.screeningRows(t)) == 10
	}), testkit.Every(time.Millisecond))
	for range 5 {
		mustRecord(t, e.l, screening(0))
	}
	if n := len(e.screeningRows(t)); n != 10 {
		t.Fatalf("%d rows stored, want 10 (5 queued, their window open)", n)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(e.screeningRows(t)); n != 15 {
		t.Errorf("%d rows stored once the group commit stopped, want 15", n)
	}
	if rep, err := e.l.VerifyAudit(context.Background()); err != nil || len(rep.Faults) != 0 || rep.Entries != 15 {
		t.Errorf("audit chain: %+v, %v", rep, err)
	}
}

// TestGroupCommitHitDurable: a hit is stored when its Record returns,
// with the rows queued before it, while the window is still open: the
// store closed at that moment and opened again holds the hit, its outbox
// record and the earlier row. A row queued after it, whose window never
// ended, is lost, which is what group commit gives up (and only for rows
// without a hit); the group commit reports it.
func TestGroupCommitHitDurable(t *testing.T) {
	e := newEnvWith(t, func(o *Options) {})
	stop := runGroup(t, e)
	before := mustRecord(t, e.l, screening(0))
	hit := mustRecord(t, e.l, screening(2))
	after := mustRecord(t, e.l, screening(0))
	e.reopen(t) // the clock has not moved: the window of "after" is open
	ctx := context.Background()
	h, err := e.l.Hit(ctx, hit.HitID)
	if err != nil {
		t.Fatalf("the hit answered is not stored: %v", err)
	}
	if len(h.Hits) != 2 || h.Status != StatusOpen {
		t.Errorf("hit as stored: %+v", h)
	}
	if recs := e.outboxRecords(t); len(recs) != 1 || recs[hit.HitID].ID != hit.HitID {
		t.Errorf("outbox: %v, want the hit's record", recs)
	}
	rows := e.screeningRows(t)
	if !rows[before.ScreeningID] || rows[after.ScreeningID] {
		t.Errorf("rows stored %v: want the one before the hit (%s), not the one after (%s)", rows, before.ScreeningID, after.ScreeningID)
	}
	if err := stop(); err == nil {
		t.Error("the group commit's last commit, on a closed store, reported no error")
	}
}

// TestGroupCommitFailedHitAlone: when the commit a hit shares fails, the
// hit is recorded on its own, and its Record succeeds with the ids of
// what was stored.
func TestGroupCommitFailedHitAlone(t *testing.T) {
	e := newEnvWith(t, func(o *Options) {})
	runGroup(t, e)
	failed := 0
	e.fault = func(op string) error {
		if op == "group" {
			failed++
			return errors.New("injected fault")
		}
		return nil
	}
	rec := mustRecord(t, e.l, screening(1))
	e.fault = nil
	if failed != 1 {
		t.Fatalf("%d group commits failed, want 1", failed)
	}
	if _, err := e.l.Hit(context.Background(), rec.HitID); err != nil {
		t.Fatalf("hit %s: %v", rec.HitID, err)
	}
	if recs := e.outboxRecords(t); len(recs) != 1 || recs[rec.HitID].ID != rec.HitID {
		t.Errorf("outbox: %v, want the hit's record", recs)
	}
}
