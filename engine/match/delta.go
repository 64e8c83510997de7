package match

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/watchpost/watchpost/engine"
)

// Delta is one step of a names list from one version to the next, as the
// store applies it: upserts add or replace entries by id (the last upsert
// of an id wins), deletes remove entries by id.
type Delta struct {
	// FromVersion is the version of the list the delta applies to; the
	// index must hold exactly that version.
	FromVersion uint64
	// Info describes the list after the delta (name, new version, hash,
	// entry count); Info.Name names the list.
	Info    engine.ListInfo
	Upserts []engine.Entry
	Deletes []string
}

// ErrDeltaMismatch is returned by Apply for a delta that does not fit the
// index: another list, another version, a delete of an entry the list does
// not hold. The index is then to be built afresh from the store.
var ErrDeltaMismatch = errors.New("delta does not fit the index")

// Apply returns a new edition of the index with d applied; ix itself is
// unchanged and stays safe to screen with. The new edition shares ix's
// arrays and maps and holds copies only of what the delta changes: the
// posting lists and document keys of the words and documents it touches,
// the small overlays of the lookup maps, and one document frequency and
// weight per token (every word's rarity depends on the number of names).
// The work is proportional to the delta, the posting lists it touches and
// the number of distinct words, not to the number of entries.
//
// Screening the new edition gives the hits, scores and bands that
// screening a fresh Build of the same entries gives.
func (ix *Index) Apply(d *Delta) (*Index, error) {
	fail := func(format string, args ...any) (*Index, error) {
		return nil, fmt.Errorf("apply delta to list %q from version %d: %w: %s", d.Info.Name, d.FromVersion, ErrDeltaMismatch, fmt.Sprintf(format, args...))
	}
	list := slices.IndexFunc(ix.lists, func(l listRef) bool { return l.info.Name == d.Info.Name })
	if list < 0 {
		return fail("the list is not in the index")
	}
	if cur := ix.lists[list].info.Version; cur != d.FromVersion {
		return fail("the index holds version %d", cur)
	}
	if d.Info.Kind == engine.ListDocuments {
		return fail("a documents list is not indexed in memory")
	}
	last := make(map[string]int, len(d.Upserts))
	for i := range d.Upserts {
		last[d.Upserts[i].ID] = i
	}
	liveID := func(id string) (uint32, bool) {
		e, ok := ix.byID.get(entryKey{uint16(list), id})
		return e, ok && e != noEntry
	}
	deleted := make(map[string]bool, len(d.Deletes))
	for _, id := range d.Deletes {
		if _, ok := last[id]; ok {
			return fail("entry %q is both upserted and deleted", id)
		}
		if _, ok := liveID(id); !ok || deleted[id] {
			return fail("entry %q to delete is not in the list", id)
		}
		deleted[id] = true
	}

	ix.chain.mu.Lock()
	defer ix.chain.mu.Unlock()
	nx := *ix
	if ix.chain.tip != ix {
		// An older edition: appending in place would overwrite what its
		// successor appended, so the shared arrays are copied on append.
		nx.entries, nx.names, nx.tokens = slices.Clip(ix.entries), slices.Clip(ix.names), slices.Clip(ix.tokens)
	}
	nx.lists = slices.Clone(ix.lists)
	nx.lists[list].info = d.Info
	nx.df = slices.Clone(ix.df)
	nx.post = slices.Clone(ix.post)
	nx.byText, nx.bySkel, nx.byDel, nx.byStrip = ix.byText.edit(), ix.bySkel.edit(), ix.byDel.edit(), ix.byStrip.edit()
	nx.docs, nx.byID = ix.docs.edit(), ix.byID.edit()

	// Removals: the entries deleted and the old rows of those upserted.
	goneNames := newBitset(len(ix.names))
	goneEntries := newBitset(len(ix.entries))
	touched := make(map[uint32]bool)
	docKeys := make(map[string]bool)
	remove := func(eid uint32) {
		e := &ix.entries[eid]
		goneEntries.set(eid)
		for n := e.firstName; n < e.firstName+e.nNames; n++ {
			goneNames.set(n)
			for _, t := range ix.names[n].tokens {
				touched[t] = true
			}
		}
		for _, r := range e.docs {
			docKeys[engine.DocumentKey(r.number)] = true
		}
		nx.byID.set(entryKey{e.list, e.id}, noEntry)
		nx.live -= int(e.nNames)
		nx.liveEntries--
		nx.churn += int(e.nNames)
	}
	for _, id := range d.Deletes {
		eid, _ := liveID(id)
		remove(eid)
	}
	for i := range d.Upserts {
		if eid, ok := liveID(d.Upserts[i].ID); ok && last[d.Upserts[i].ID] == i {
			remove(eid)
		}
	}
	for k := range docKeys {
		refs, _ := nx.docs.get(k)
		kept := make([]docRef, 0, len(refs))
		for _, r := range refs {
			if !goneEntries.has(r.entry) {
				kept = append(kept, r)
			}
		}
		nx.docs.set(k, kept)
	}

	// Additions, in the delta's order.
	oldNames, oldTokens := len(nx.names), len(nx.tokens)
	fresh := make(map[uint32][]uint32)
	for i := range d.Upserts {
		if last[d.Upserts[i].ID] != i {
			continue
		}
		nx.addEntry(list, &d.Upserts[i], fresh)
		nx.liveEntries++
	}
	added := len(nx.names) - oldNames
	nx.live += added
	nx.churn += added
	for range len(nx.tokens) - oldTokens {
		nx.post = append(nx.post, nil)
		nx.df = append(nx.df, 0)
	}
	for t := range fresh {
		touched[t] = true
	}
	for t := range touched {
		old := nx.post[t]
		p := make([]uint32, 0, len(old)+len(fresh[t]))
		for _, n := range old {
			if !goneNames.has(n) {
				p = append(p, n)
			}
		}
		p = append(p, fresh[t]...) // new names' ids are above every old one's
		nx.post[t] = p
		nx.df[t] = int32(len(p))
	}

	// New words: their lookup keys, and their place in the sorted table.
	if len(nx.tokens) > oldTokens {
		buf := make([]byte, 0, 64)
		nu := make([]uint32, 0, len(nx.tokens)-oldTokens)
		for id := oldTokens; id < len(nx.tokens); id++ {
			buf = nx.indexToken(uint32(id), buf)
			nu = append(nu, uint32(id))
		}
		byText := func(a, b uint32) int { return strings.Compare(nx.tokens[a].text, nx.tokens[b].text) }
		slices.SortFunc(nu, byText)
		nx.sorted = mergeSorted(ix.sorted, nu, byText)
	}
	nx.weigh()
	nx.chain.tip = &nx
	return &nx, nil
}

// mergeSorted merges two slices sorted by cmp into a new one.
func mergeSorted(a, b []uint32, cmp func(x, y uint32) int) []uint32 {
	out := make([]uint32, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if cmp(b[j], a[i]) < 0 {
			out = append(out, b[j])
			j++
		} else {
			out = append(out, a[i])
			i++
		}
	}
	out = append(out, a[i:]...)
	return append(out, b[j:]...)
}

// WithListInfo returns the edition ix with the description of the list
// info.Name replaced by info: the hash, count and time of a version the
// delta Apply made from did not know them yet. The arrays stay shared, and
// the new edition takes ix's place as the one a later Apply appends to.
func (ix *Index) WithListInfo(info engine.ListInfo) (*Index, error) {
	list := slices.IndexFunc(ix.lists, func(l listRef) bool { return l.info.Name == info.Name })
	if list < 0 {
		return nil, fmt.Errorf("set list info of %q: %w: the list is not in the index", info.Name, ErrDeltaMismatch)
	}
	ix.chain.mu.Lock()
	defer ix.chain.mu.Unlock()
	nx := *ix
	nx.lists = slices.Clone(ix.lists)
	nx.lists[list].info = info
	if ix.chain.tip == ix {
		nx.chain.tip = &nx
	}
	return &nx, nil
}

// Churn is the share of names added or removed by Apply since the index
// was built, relative to its live names: the garbage and overlay an
// edition carries. Compact when it grows past a tenth or so.
func (ix *Index) Churn() float64 { return float64(ix.churn) / float64(max(1, ix.live)) }

// Compact returns a fresh build of the index's live entries: screening it
// gives what screening ix gives, without the removed rows and overlays
// that editions made by Apply carry. It reads ix only, so it may run while
// ix is in use; an edition applied to ix meanwhile is not in the result.
func (ix *Index) Compact() *Index {
	b := NewBuilder()
	b.Grow(ix.liveEntries)
	for _, l := range ix.lists {
		b.AddList(l.info)
	}
	for i := range ix.entries {
		r := &ix.entries[i]
		if id, _ := ix.byID.get(entryKey{r.list, r.id}); id != uint32(i) {
			continue // removed or replaced
		}
		e := engine.Entry{ID: r.id, Kind: r.kind, BirthDates: r.birthDates, Nationalities: r.nats, Sex: r.sex,
			Names: make([]engine.Name, 0, r.nNames), Documents: make([]engine.Document, 0, len(r.docs))}
		for _, n := range ix.names[r.firstName : r.firstName+r.nNames] {
			e.Names = append(e.Names, engine.Name{Value: n.display, Quality: n.quality})
		}
		for _, d := range r.docs {
			e.Documents = append(e.Documents, engine.Document{Type: d.typ, Number: d.number, Country: d.country})
		}
		b.Add(int(r.list), &e)
	}
	return b.Build()
}

type bitset []uint64

func newBitset(n int) bitset  { return make(bitset, (n+63)/64) }
func (b bitset) set(i uint32) { b[i/64] |= 1 << (i % 64) }
func (b bitset) has(i uint32) bool {
	return int(i/64) < len(b) && b[i/64]&(1<<(i%64)) != 0
}
