package match

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/synth"
)

// deltaWorld is a list held as its entries by id, for comparing an index
// updated by deltas with one built afresh.
type deltaWorld struct {
	info    engine.ListInfo
	entries map[string]engine.Entry
	pool    []engine.Entry // synthetic persons not yet listed, for adds and changes
}

func newDeltaWorld(t testing.TB, seed uint64, listed, pool int) *deltaWorld {
	t.Helper()
	w := &deltaWorld{info: engine.ListInfo{Name: "synthetic", Version: 1, Action: "refer"}, entries: make(map[string]engine.Entry)}
	i := 0
	if err := synth.Persons(seed, listed+pool, func(e *engine.Entry) error {
		if i < listed {
			w.entries[e.ID] = *e
		} else {
			w.pool = append(w.pool, *e)
		}
		i++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	w.info.Entries = len(w.entries)
	return w
}

func (w *deltaWorld) ids() []string {
	ids := make([]string, 0, len(w.entries))
	for id := range w.entries {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// build indexes the world's entries afresh, in id order (as a store reads
// them), beside other lists that stay as they are.
func (w *deltaWorld) build(order []string) *Index {
	b := NewBuilder()
	other := b.AddList(engine.ListInfo{Name: "other", Version: 7})
	if err := synth.Persons(99, 200, func(e *engine.Entry) error { b.Add(other, e); return nil }); err != nil {
		panic(err)
	}
	h := b.AddList(w.info)
	if order == nil {
		order = w.ids()
	}
	for _, id := range order {
		e := w.entries[id]
		b.Add(h, &e)
	}
	return b.Build()
}

// delta draws a random delta of about share of the list: a third adds
// (persons from the pool), a third changes (an entry's id with another
// person's names, dates and documents, or with one name dropped or one
// added), a third removes. It applies it to the world and returns it.
func (w *deltaWorld) delta(r *rand.Rand, share float64) *Delta {
	n := max(3, int(share*float64(len(w.entries))))
	ids := w.ids()
	r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	d := &Delta{FromVersion: w.info.Version}
	for i := 0; i < n/3 && len(w.pool) > 0; i++ { // adds
		e := w.pool[len(w.pool)-1]
		w.pool = w.pool[:len(w.pool)-1]
		d.Upserts = append(d.Upserts, e)
	}
	for _, id := range ids[:n/3] { // changes
		e := w.entries[id]
		switch r.IntN(3) {
		case 0:
			if len(w.pool) > 0 {
				other := w.pool[len(w.pool)-1]
				w.pool = w.pool[:len(w.pool)-1]
				other.ID = id
				e = other
			}
		case 1:
			if len(e.Names) > 1 {
				e.Names = slices.Delete(slices.Clone(e.Names), 0, 1)
			}
		case 2:
			e.Names = append(slices.Clone(e.Names), engine.Name{Value: e.Names[0].Value + " " + w.pool[r.IntN(len(w.pool))].Names[0].Value})
		}
		d.Upserts = append(d.Upserts, e)
	}
	if r.IntN(2) == 0 && len(d.Upserts) > 0 { // an id upserted twice: the last wins
		first := d.Upserts[len(d.Upserts)-1]
		first.Names = []engine.Name{{Value: "SUPERSEDED NAME " + first.ID}}
		d.Upserts = slices.Insert(d.Upserts, 0, first)
	}
	d.Deletes = append(d.Deletes, ids[n/3:n/3+n/3]...)
	for _, e := range d.Upserts {
		w.entries[e.ID] = e
	}
	for _, id := range d.Deletes {
		delete(w.entries, id)
	}
	w.info.Version++
	w.info.Entries = len(w.entries)
	w.info.Hash = fmt.Sprintf("v%d", w.info.Version)
	d.Info = w.info
	return d
}

// deltaQueries are travellers to screen after a delta: derived from the
// entries it added, changed and removed (as names, documents or both),
// from entries it left alone, and random ones sharing the lists' words.
func deltaQueries(seed uint64, d *Delta, w *deltaWorld, fresh *Index, removed []engine.Entry) []engine.Query {
	var near []engine.Entry
	near = append(near, d.Upserts...)
	near = append(near, removed...)
	for i, id := range w.ids() {
		if i%17 == 0 {
			near = append(near, w.entries[id])
		}
	}
	qs := synth.Travellers(seed, 400, near, 0.6)
	qs = append(qs, commonNameQueries(fresh, 40)...)
	for _, e := range near[:min(len(near), 60)] {
		q := engine.Query{Name: e.Names[0].Value}
		if len(e.Documents) > 0 {
			q.DocumentNumber = e.Documents[0].Number
		}
		qs = append(qs, q)
	}
	return qs
}

// TestApplyMatchesRebuild is the contract of Apply: after each of a run of
// random deltas (adds, changes, removes, an id upserted twice), screening
// the edition Apply made gives exactly the hits a fresh build of the same
// entries gives — lists, entry ids, scores, bands, matched names and
// explanations — and so does its compaction. No tolerance: weights come
// from the same document frequencies and number of names, and every tie is
// broken by list, entry id and name order, not by the order of indexing.
//
// The large case (120,000 persons, skipped with -short) is there for the
// screener's path for names made of common words, which only a large list
// takes.
func TestApplyMatchesRebuild(t *testing.T) {
	for _, c := range []struct {
		seed         uint64
		listed, pool int
		steps        int
	}{{1, 3000, 1500, 6}, {2, 3000, 1500, 6}, {3, 3000, 1500, 6}, {4, 120000, 6000, 2}} {
		seed := c.seed
		t.Run(fmt.Sprint("seed", seed, "-", c.listed), func(t *testing.T) {
			if c.listed > 10000 && testing.Short() {
				t.Skip("large list: not with -short")
			}
			w := newDeltaWorld(t, seed, c.listed, c.pool)
			r := rand.New(rand.NewPCG(seed, 42))
			// The incremental index starts from the entries in another
			// order than the fresh builds read them in.
			order := w.ids()
			r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
			ix := w.build(order)
			for step := 0; step < c.steps; step++ {
				var removed []engine.Entry
				before := maps.Clone(w.entries)
				d := w.delta(r, []float64{0.01, 0.05, 0.002}[step%3])
				for _, id := range d.Deletes {
					removed = append(removed, before[id])
				}
				next, err := ix.Apply(d)
				if err != nil {
					t.Fatalf("step %d: %v", step, err)
				}
				ix = next
				fresh := w.build(nil)
				if ge, gn := ix.Size(); true {
					if fe, fn := fresh.Size(); ge != fe || gn != fn {
						t.Fatalf("step %d: applied index holds %d entries, %d names; fresh build %d, %d", step, ge, gn, fe, fn)
					}
				}
				if !reflect.DeepEqual(ix.Lists(), fresh.Lists()) {
					t.Fatalf("step %d: lists %+v, fresh build %+v", step, ix.Lists(), fresh.Lists())
				}
				qs := deltaQueries(seed*100+uint64(step), d, w, fresh, removed)
				sameHits(t, fmt.Sprintf("step %d applied", step), NewScreener(ix, nil, Config{}), NewScreener(fresh, nil, Config{}), qs)
				if step%2 == 1 {
					sameHits(t, fmt.Sprintf("step %d compacted", step), NewScreener(ix.Compact(), nil, Config{}), NewScreener(fresh, nil, Config{}), qs)
				}
			}
		})
	}
}

// sameHits screens qs with both screeners and fails on the first
// traveller whose hits differ. It also fails if no traveller had a hit,
// which would make the comparison say nothing.
func sameHits(t *testing.T, what string, got, want *Screener, qs []engine.Query) {
	t.Helper()
	withHits := 0
	for i := range qs {
		g, err := got.Screen(&qs[i])
		if err != nil {
			t.Fatalf("%s: traveller %d: %v", what, i, err)
		}
		f, err := want.Screen(&qs[i])
		if err != nil {
			t.Fatalf("%s: traveller %d: %v", what, i, err)
		}
		if !reflect.DeepEqual(g, f) {
			t.Fatalf("%s: traveller %d %q: hits differ\n got %s\nwant %s", what, i, qs[i].FullName(), hitsString(g), hitsString(f))
		}
		if len(f) > 0 {
			withHits++
		}
	}
	if withHits < len(qs)/10 {
		t.Fatalf("%s: only %d of %d travellers had a hit: the comparison is too weak", what, withHits, len(qs))
	}
}

func hitsString(hs []engine.Hit) string {
	var b strings.Builder
	for _, h := range hs {
		fmt.Fprintf(&b, "\n  %s/%s v%d %.3f %s %q %+v", h.List, h.EntryID, h.ListVersion, h.Score, h.Band, h.MatchedName, h.Explanation)
	}
	return b.String()
}

// TestApplyLeavesOldEdition screens with an edition while the next is
// applied to it (the race detector watches the shared arrays) and checks
// that the old edition still answers as before: readers of the edition
// in use never see part of a delta.
func TestApplyLeavesOldEdition(t *testing.T) {
	w := newDeltaWorld(t, 5, 2000, 1000)
	ix := w.build(nil)
	r := rand.New(rand.NewPCG(5, 1))
	d := w.delta(r, 0.05)
	qs := deltaQueries(5, d, w, w.build(nil), nil)
	old := NewScreener(ix, nil, Config{})
	want := make([][]engine.Hit, len(qs))
	for i := range qs {
		var err error
		if want[i], err = old.Screen(&qs[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	var next *Index
	var applyErr error
	wg.Go(func() { next, applyErr = ix.Apply(d) })
	for i := range qs {
		got, err := old.Screen(&qs[i])
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want[i]) {
			t.Fatalf("traveller %d: the old edition changed during Apply:\n got %s\nwant %s", i, hitsString(got), hitsString(want[i]))
		}
	}
	wg.Wait()
	if applyErr != nil {
		t.Fatal(applyErr)
	}
	// A second edition made from the old one (not the newest) must not
	// overwrite what the first appended.
	w2 := newDeltaWorld(t, 5, 2000, 1000)
	d2 := w2.delta(rand.New(rand.NewPCG(6, 1)), 0.05)
	other, err := ix.Apply(d2)
	if err != nil {
		t.Fatal(err)
	}
	sameHits(t, "newest edition after a sibling", NewScreener(next, nil, Config{}), NewScreener(w.build(nil), nil, Config{}), qs)
	sameHits(t, "sibling edition", NewScreener(other, nil, Config{}), NewScreener(w2.build(nil), nil, Config{}), deltaQueries(6, d2, w2, w2.build(nil), nil))
}

// TestApplyRefusesMisfits checks that a delta that does not fit the index
// is refused with ErrDeltaMismatch and a reason, leaving the index as is.
func TestApplyRefusesMisfits(t *testing.T) {
	w := newDeltaWorld(t, 7, 100, 10)
	ix := w.build(nil)
	some := w.ids()[0]
	for _, c := range []struct {
		name string
		d    Delta
		want string
	}{
		{"another version", Delta{FromVersion: 2, Info: engine.ListInfo{Name: "synthetic", Version: 3}}, "holds version 1"},
		{"unknown list", Delta{FromVersion: 1, Info: engine.ListInfo{Name: "nope", Version: 2}}, "not in the index"},
		{"delete of an unknown entry", Delta{FromVersion: 1, Info: engine.ListInfo{Name: "synthetic", Version: 2}, Deletes: []string{"NOPE"}}, `"NOPE" to delete`},
		{"delete twice", Delta{FromVersion: 1, Info: engine.ListInfo{Name: "synthetic", Version: 2}, Deletes: []string{some, some}}, "to delete"},
		{"upsert and delete", Delta{FromVersion: 1, Info: engine.ListInfo{Name: "synthetic", Version: 2}, Upserts: []engine.Entry{w.entries[some]}, Deletes: []string{some}}, "both upserted and deleted"},
	} {
		_, err := ix.Apply(&c.d)
		if !errors.Is(err, ErrDeltaMismatch) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrDeltaMismatch saying %q", c.name, err, c.want)
		}
	}
	if got := ix.Lists()[1].Version; got != 1 {
		t.Errorf("a refused delta changed the index: version %d", got)
	}
}

// commonNameQueries returns n travellers named with three or four of the
// words most common in ix, which take the screener's path for names made
// of common words (the postings read pass its budget on a large list).
func commonNameQueries(ix *Index, n int) []engine.Query {
	ids := make([]int, len(ix.tokens))
	for i := range ids {
		ids[i] = i
	}
	slices.SortFunc(ids, func(a, b int) int { return int(ix.df[b] - ix.df[a]) })
	var top []string
	for _, id := range ids {
		if t := ix.tokens[id].text; len(t) > 2 && ix.tokens[id].scale == 1 {
			top = append(top, t)
		}
		if len(top) == 6 {
			break
		}
	}
	r := rand.New(rand.NewPCG(uint64(len(ix.names)), 9))
	qs := make([]engine.Query, n)
	for i := range qs {
		k := 3 + r.IntN(2)
		words := make([]string, k)
		for j := range words {
			words[j] = top[r.IntN(len(top))]
		}
		qs[i] = engine.Query{Name: strings.Join(words, " "), BirthDate: fmt.Sprint(1950 + r.IntN(50))}
	}
	return qs
}

// TestWithListInfo: an edition made by Apply with a delta whose list
// description was not final yet (as the post applies a delta while the
// store commits it) takes the final one with WithListInfo, and the next
// delta applies to the result as to a fresh build, while the edition it
// came from screens as before.
func TestWithListInfo(t *testing.T) {
	w := newDeltaWorld(t, 8, 2000, 1000)
	ix := w.build(nil)
	r := rand.New(rand.NewPCG(8, 1))
	d := w.delta(r, 0.05)
	final := d.Info
	d.Info.Hash, d.Info.Entries = "", 0 // not known before the store's reads
	early, err := ix.Apply(d)
	if err != nil {
		t.Fatal(err)
	}
	afterFirst := w.build(nil)
	next, err := early.WithListInfo(final)
	if err != nil {
		t.Fatal(err)
	}
	listInfo := func(ix *Index) engine.ListInfo {
		i := slices.IndexFunc(ix.Lists(), func(l engine.ListInfo) bool { return l.Name == final.Name })
		return ix.Lists()[i]
	}
	if got := listInfo(next); !reflect.DeepEqual(got, final) {
		t.Fatalf("list info %+v, want %+v", got, final)
	}
	if got := listInfo(early); got.Hash != "" || got.Version != final.Version {
		t.Fatalf("the edition WithListInfo came from changed: %+v", got)
	}
	if _, err := next.WithListInfo(engine.ListInfo{Name: "absent"}); !errors.Is(err, ErrDeltaMismatch) {
		t.Fatalf("info of a list not in the index: %v", err)
	}
	qs1 := deltaQueries(8, d, w, afterFirst, nil)
	d2 := w.delta(r, 0.05)
	last, err := next.Apply(d2)
	if err != nil {
		t.Fatal(err)
	}
	sameHits(t, "delta after WithListInfo", NewScreener(last, nil, Config{}), NewScreener(w.build(nil), nil, Config{}), deltaQueries(9, d2, w, w.build(nil), nil))
	sameHits(t, "edition before the second delta", NewScreener(next, nil, Config{}), NewScreener(afterFirst, nil, Config{}), qs1)
}
