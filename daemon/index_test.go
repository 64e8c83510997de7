package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/config"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/synth"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/protocol"
)

// startDeltaPost runs a post (no link to HQ) over a store holding a list
// of n synthetic persons and returns it with the persons held back for a
// delta to add.
func startDeltaPost(t testing.TB, n int, log *slog.Logger) (*Post, []engine.Entry, []string) {
	t.Helper()
	cfg := config.Default()
	cfg.PostID = "test-post"
	cfg.DataDir = t.TempDir()
	st, err := OpenStore(cfg.DataDir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var extra []engine.Entry
	var ids []string
	if _, err := st.ReplaceEntries(context.Background(), badgerstore.ListMeta{Name: "synthetic", Format: "test"}, func(emit func(*engine.Entry) error) error {
		return synth.Persons(3, n+n/10+3, func(e *engine.Entry) error {
			if len(extra) < n/10+3 {
				e.ID = "NEW-" + e.ID
				extra = append(extra, *e)
				return nil
			}
			ids = append(ids, e.ID)
			return emit(e)
		})
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	p, err := NewPost(cfg, PostOptions{Software: "test", RebuildDelay: time.Hour, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	cancel, done := runUntilReady(t, p)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return p, extra, ids
}

func indexedVersion(p *Post, list string) uint64 {
	for _, l := range p.Indexed() {
		if l.Name == list {
			return l.Version
		}
	}
	return 0
}

func checkedVersion(p *Post, list string) uint64 {
	checked, _ := p.Checked()
	for _, c := range checked {
		if c.List == list {
			return c.Version
		}
	}
	return 0
}

// TestPostAppliesDeltaInPlace commits a delta to the store the way the
// replica applier does (UpdateEntries) and checks that screening picks it
// up without a rebuild (the rebuild delay is an hour): the added person
// is found and the removed one is not, and the version the post reports
// (Checked, as /v1/lists, the screening results' "checked" and the status
// give it) is never one the screening does not use yet.
func TestPostAppliesDeltaInPlace(t *testing.T) {
	p, extra, _ := startDeltaPost(t, 2000, nil)
	st := p.Store()
	info, err := st.List("synthetic")
	if err != nil {
		t.Fatal(err)
	}
	var gone engine.Entry
	if _, err := st.Entries(context.Background(), "synthetic", func(e *engine.Entry) error {
		if gone.ID == "" {
			gone = *e
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	added := extra[0]
	find := func(e engine.Entry) (engine.Hit, bool) {
		t.Helper()
		hits, err := p.Screen(&engine.Query{Name: e.Names[0].Value, DocumentNumber: firstDoc(e)})
		if err != nil {
			t.Fatal(err)
		}
		i := slices.IndexFunc(hits, func(h engine.Hit) bool { return h.EntryID == e.ID })
		if i < 0 {
			return engine.Hit{}, false
		}
		return hits[i], true
	}
	if _, ok := find(gone); !ok {
		t.Fatalf("%s is not found before the delta", gone.ID)
	}
	next, err := st.UpdateEntries(context.Background(), "synthetic", info.Version, []engine.Entry{added}, []string{gone.ID})
	if err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, "the delta in screening", func() error {
		reported := checkedVersion(p, "synthetic")
		h, found := find(added)
		_, still := find(gone)
		switch {
		case reported == next.Version && (!found || still):
			t.Fatalf("version %d reported before screening uses it (added found %v, removed found %v)", reported, found, still)
		case found && h.ListVersion != next.Version:
			t.Fatalf("added person found on version %d, want %d", h.ListVersion, next.Version)
		case reported != next.Version:
			return fmt.Errorf("post reports version %d, store has %d", reported, next.Version)
		}
		return nil
	})
}

func firstDoc(e engine.Entry) string {
	if len(e.Documents) > 0 {
		return e.Documents[0].Number
	}
	return ""
}

// TestStatusReportsScreeningVersion: the status's list version is the
// screening index's while the index is behind the store (the gap counted
// as behind), and the store's once the index has it.
func TestStatusReportsScreeningVersion(t *testing.T) {
	held := []protocol.ListHeld{{List: "un", Version: 5, Hash: "h5", Entries: 50, Behind: 1}, {List: "ofac", Version: 3, Hash: "o3", Entries: 30}}
	indexed := []engine.ListInfo{{Name: "un", Version: 4, Hash: "h4", Entries: 49}, {Name: "ofac", Version: 3, Hash: "o3", Entries: 30}}
	got := screeningVersions(held, indexed)
	want := []protocol.ListHeld{{List: "un", Version: 4, Hash: "h4", Entries: 49, Behind: 2}, {List: "ofac", Version: 3, Hash: "o3", Entries: 30}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("status lists %+v, want %+v", got, want)
	}
	if held[0].Version != 5 {
		t.Fatal("the agent's status was modified")
	}
}

// BenchmarkDeltaToScreenable measures, on a running post over a list of
// 1,000,000 synthetic persons (WATCHPOST_BENCH_PERSONS changes it), how
// long a 1 % delta (a third adds, a third changes, a third removes) takes
// from its arrival at the store (UpdateEntries, as the replica applier
// calls it) until the post screens with it and reports its version:
// screenable-ms is that, arrival to screenable; commit-ms is the store's
// UpdateEntries call, which ends with the collection of the superseded
// rows after the index has the new version; ms/op is until both are done.
// The p50 figures are the medians of the iterations (the machine's other
// work shows in the means).
func BenchmarkDeltaToScreenable(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("WATCHPOST_BENCH_PERSONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	p, extra, live := startDeltaPost(b, n, nil)
	st := p.Store()
	r := rand.New(rand.NewPCG(1, 2))
	third := n / 300
	var commit, screenable time.Duration
	var commits, screenables []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		info, err := st.List("synthetic")
		if err != nil {
			b.Fatal(err)
		}
		var ups []engine.Entry
		var dels []string
		for range third {
			if len(extra) == 0 {
				b.Fatal("out of persons to add")
			}
			ups = append(ups, extra[len(extra)-1])
			extra = extra[:len(extra)-1]
		}
		pick := func() string {
			k := r.IntN(len(live))
			id := live[k]
			live[k] = live[len(live)-1]
			live = live[:len(live)-1]
			return id
		}
		for range third {
			e := ups[r.IntN(len(ups))]
			e.ID = pick()
			ups = append(ups, e)
		}
		for range third {
			dels = append(dels, pick())
		}
		for _, e := range ups {
			live = append(live, e.ID)
		}
		b.StartTimer()
		// The index is watched from before the delta arrives: the post
		// may screen with it before UpdateEntries returns.
		want := info.Version + 1
		seen := make(chan time.Time, 1)
		go func() {
			for indexedVersion(p, "synthetic") != want {
				time.Sleep(100 * time.Microsecond)
			}
			seen <- time.Now()
		}()
		t0 := time.Now()
		next, err := st.UpdateEntries(context.Background(), "synthetic", info.Version, ups, dels)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		t2 := <-seen
		if v := checkedVersion(p, "synthetic"); v != next.Version {
			b.Fatalf("post reports version %d, screens with %d", v, next.Version)
		}
		commit += t1.Sub(t0)
		screenable += t2.Sub(t0)
		commits, screenables = append(commits, t1.Sub(t0)), append(screenables, t2.Sub(t0))
	}
	b.StopTimer()
	b.ReportMetric(float64(commit.Milliseconds())/float64(b.N), "commit-ms")
	b.ReportMetric(float64(screenable.Milliseconds())/float64(b.N), "screenable-ms")
	median := func(ds []time.Duration) float64 {
		slices.Sort(ds)
		return float64(ds[len(ds)/2].Microseconds()) / 1000
	}
	b.ReportMetric(median(commits), "commit-p50-ms")
	b.ReportMetric(median(screenables), "screenable-p50-ms")
}

// TestPostCompactsAfterDeltas applies deltas that replace more than a
// tenth of the names and checks that the post compacts its index in the
// background and screens the same way after it: the persons the deltas
// added are found, those they removed are not, at the store's version.
func TestPostCompactsAfterDeltas(t *testing.T) {
	logs := new(testkit.Buffer)
	p, extra, live := startDeltaPost(t, 400, slog.New(slog.NewJSONHandler(logs, nil)))
	st := p.Store()
	var added []engine.Entry
	removed := live[:60]
	var gone []engine.Entry
	for _, id := range removed {
		e, _, err := st.Entry("synthetic", id)
		if err != nil {
			t.Fatal(err)
		}
		gone = append(gone, e)
	}
	for step := 0; step < 3; step++ {
		info, err := st.List("synthetic")
		if err != nil {
			t.Fatal(err)
		}
		ups := extra[step*10 : step*10+10]
		added = append(added, ups...)
		if _, err := st.UpdateEntries(context.Background(), "synthetic", info.Version, ups, removed[step*20:step*20+20]); err != nil {
			t.Fatal(err)
		}
	}
	want, err := st.List("synthetic")
	if err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, "compaction", testkit.True(func() bool {
		return strings.Contains(logs.String(), "screening index compacted") && checkedVersion(p, "synthetic") == want.Version
	}))
	if entries, _ := p.screener.Load().Index().Size(); entries != want.Entries {
		t.Fatalf("compacted index holds %d entries, the store %d", entries, want.Entries)
	}
	for _, e := range added {
		hits, err := p.Screen(&engine.Query{Name: e.Names[0].Value})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(hits, func(h engine.Hit) bool { return h.EntryID == e.ID && h.ListVersion == want.Version }) {
			t.Fatalf("added %s (%s) not found at version %d after compaction", e.ID, e.Names[0].Value, want.Version)
		}
	}
	for _, e := range gone {
		hits, err := p.Screen(&engine.Query{Name: e.Names[0].Value, DocumentNumber: firstDoc(e)})
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(hits, func(h engine.Hit) bool { return h.EntryID == e.ID }) {
			t.Fatalf("removed %s still found after compaction", e.ID)
		}
	}
}

// TestEditionKeepsItsLists: an edition taken before a delta is applied
// keeps screening, and reporting, the version it was taken at after the
// post swaps in the next; a new edition has the delta.
func TestEditionKeepsItsLists(t *testing.T) {
	p, extra, _ := startDeltaPost(t, 500, nil)
	st := p.Store()
	info, err := st.List("synthetic")
	if err != nil {
		t.Fatal(err)
	}
	added := extra[0]
	q := engine.Query{Name: added.Names[0].Value, DocumentNumber: firstDoc(added)}
	screen := func(ed Edition) (uint64, bool) {
		t.Helper()
		checked, _ := ed.Checked()
		hits, err := ed.Screen(&q)
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range hits {
			if h.ListVersion != checked[0].Version {
				t.Fatalf("hit on version %d, checked against %+v", h.ListVersion, checked)
			}
		}
		return checked[0].Version, slices.ContainsFunc(hits, func(h engine.Hit) bool { return h.EntryID == added.ID })
	}
	old := p.Edition()
	next, err := st.UpdateEntries(context.Background(), "synthetic", info.Version, []engine.Entry{added}, nil)
	if err != nil {
		t.Fatal(err)
	}
	testkit.CheckFor(t, 10*time.Second, "the delta in screening", func() error {
		if v := checkedVersion(p, "synthetic"); v != next.Version {
			return fmt.Errorf("post reports version %d, store has %d", v, next.Version)
		}
		return nil
	})
	if v, found := screen(old); v != info.Version || found {
		t.Fatalf("the edition taken at version %d screens at %d (added person found: %v)", info.Version, v, found)
	}
	if v, found := screen(p.Edition()); v != next.Version || !found {
		t.Fatalf("the edition in use screens at %d (added person found: %v), want %d with the person", v, found, next.Version)
	}
}

// TestPostDropsUncommittedDelta: the post prepares an edition with a
// delta while the store commits it, and drops it when the store does not
// commit (here its context ends during the reads): the person that delta
// would add is never screened, and the next delta from the same version
// is applied in place.
func TestPostDropsUncommittedDelta(t *testing.T) {
	p, extra, _ := startDeltaPost(t, 500, nil)
	st := p.Store()
	info, err := st.List("synthetic")
	if err != nil {
		t.Fatal(err)
	}
	lost, added := extra[0], extra[1]
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.UpdateEntries(cancelled, "synthetic", info.Version, []engine.Entry{lost}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("update with an ended context: %v", err)
	}
	next, err := st.UpdateEntries(context.Background(), "synthetic", info.Version, []engine.Entry{added}, nil)
	if err != nil {
		t.Fatal(err)
	}
	found := func(e engine.Entry) bool {
		hits, err := p.Screen(&engine.Query{Name: e.Names[0].Value, DocumentNumber: firstDoc(e)})
		if err != nil {
			t.Fatal(err)
		}
		return slices.ContainsFunc(hits, func(h engine.Hit) bool { return h.EntryID == e.ID })
	}
	testkit.CheckFor(t, 10*time.Second, "the committed delta in screening", func() error {
		if v := checkedVersion(p, "synthetic"); v != next.Version || !found(added) {
			return fmt.Errorf("post reports version %d (store %d), added person found: %v", v, next.Version, found(added))
		}
		return nil
	})
	if found(lost) {
		t.Fatal("the person of the delta the store did not commit is screened")
	}
}

// TestPostBuildsNewListAtOnce: a list the index does not hold at all (a
// first snapshot, a list added) is answered "not screened" until the
// index has it, so the post builds at once instead of gathering changes
// for RebuildDelay (an hour here).
func TestPostBuildsNewListAtOnce(t *testing.T) {
	p, extra, _ := startDeltaPost(t, 200, nil)
	if _, err := p.Store().ReplaceEntries(context.Background(), badgerstore.ListMeta{Name: "second", Format: "test"}, func(emit func(*engine.Entry) error) error {
		return emit(&extra[0])
	}); err != nil {
		t.Fatal(err)
	}
	p.requestRebuild() // what the replica applier does after a snapshot
	testkit.CheckFor(t, 30*time.Second, "the new list in screening", func() error {
		if v := checkedVersion(p, "second"); v == 0 {
			return errors.New("list second is not checked yet")
		}
		return nil
	})
}
