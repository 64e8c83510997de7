// Package match finds the watchlist entries a traveller may be and says
// why: an in-memory index over the names, birth dates and documents of
// every loaded list (candidate retrieval by token, transliteration skeleton,
// typo and prefix keys, never a scan of a whole list) and an explainable
// scorer that aligns name words, weighs rare words above common ones and
// qualifies by birth date, nationality, sex and document. A list's delta
// makes a new edition of the index (Index.Apply) that shares the old one's
// memory and screens exactly as a fresh build would.
package match

import (
	"maps"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/normalize"
	"github.com/watchpost/watchpost/engine/option"
)

// Config holds the screening thresholds. The zero value of a field means
// its default.
type Config struct {
	// MatchThreshold is the lowest score in band "match" (default
	// DefaultMatchThreshold).
	MatchThreshold float64
	// PossibleThreshold is the lowest score in band "possible" (default
	// DefaultPossibleThreshold).
	PossibleThreshold float64
	// MaxHits caps the hits returned per traveller (default 10).
	MaxHits int
	// MaxCandidates caps the names fully scored per traveller (default 24).
	MaxCandidates int
	// IncludeEntities screens names against organisations and vessels as
	// well as persons. Travellers are persons, so the default is false;
	// document numbers are checked against every entry regardless.
	IncludeEntities bool
}

// Default thresholds, calibrated on the development set
// (engine/match/testdata/devset): at possible, about 0.8 % of near misses
// (a given name of one listed person with the family name of another) and
// no single name alone are hit, and 98.5 % of listed names with a typo, a
// respelling, a dropped or moved name or MRZ folding are found; at match,
// under 0.1 % of near misses.
const (
	DefaultMatchThreshold    = 0.80
	DefaultPossibleThreshold = 0.68
	DefaultMaxHits           = 10
	DefaultMaxCandidates     = 24
)

func (c Config) withDefaults() Config {
	c.MatchThreshold = option.Or(c.MatchThreshold, DefaultMatchThreshold)
	c.PossibleThreshold = option.Or(c.PossibleThreshold, DefaultPossibleThreshold)
	c.MaxHits = option.Or(c.MaxHits, DefaultMaxHits)
	c.MaxCandidates = option.Or(c.MaxCandidates, DefaultMaxCandidates)
	return c
}

// token is one distinct name word across all loaded lists. Its document
// frequency and rarity are per edition of the index (Index.df, Index.weight),
// so that an edition made by Apply can share the token table with the one
// before.
type token struct {
	text       string
	skel       string
	scale      float32 // tokenScale of the text
	letters    uint32  // letterSet of the text
	vowelStart bool
}

type nameRec struct {
	entry   uint32
	person  bool // the entry is a person (kept here to spare a lookup per candidate)
	display string
	tokens  []uint32
	quality string
}

type entryRec struct {
	list uint16
	// spans are the birth years within a year of the first two listed
	// dates (or ranges), read when ranking candidates so that the dates
	// themselves are read only for an entry that lists more.
	spans      [2]yearSpan
	nSpans     uint8
	kind       engine.EntryKind
	id         string
	birthDates []engine.BirthDate
	nats       []string
	sex        string
	firstName  uint32 // the entry's names are names[firstName : firstName+nNames]
	nNames     uint32
	docs       []docRef // the documents indexed for it
}

// yearSpan is the birth years a listed date agrees with: within a year of
// it, or of its range.
type yearSpan struct{ lo, hi int }

func spanOf(d engine.BirthDate) yearSpan {
	return yearSpan{d.Year - 1, max(d.Year, d.ToYear) + 1}
}

// birthYearAgrees reports whether a birth year fits any of the entry's
// listed dates within a year (or its range).
func (e *entryRec) birthYearAgrees(y int) bool {
	if int(e.nSpans) > len(e.spans) {
		return birthYearAgrees(y, e.birthDates)
	}
	for _, sp := range e.spans[:e.nSpans] {
		if y >= sp.lo && y <= sp.hi {
			return true
		}
	}
	return false
}

type docRef struct {
	entry   uint32
	country string
	typ     string
	number  string
}

type listRef struct {
	info engine.ListInfo
}

// entryKey names an entry across lists: its list's handle and its id.
type entryKey struct {
	list uint16
	id   string
}

// noEntry marks, in an edition's overlay of Index.byID, an entry removed
// since the base was built.
const noEntry = ^uint32(0)

// Index is an immutable, concurrency-safe screening index over the names
// and documents of one or more lists. Build it with a Builder; Apply makes
// a new edition with a list's delta applied, sharing most of its memory
// with this one.
//
// An edition made by Apply holds removed names and entries that nothing
// refers to any more (no posting list, document or id points at them) and
// tokens that no live name holds (document frequency 0, skipped by every
// lookup): screening an edition gives what screening a fresh build of the
// same entries gives. Compact makes that fresh build.
type Index struct {
	lists       []listRef
	entries     []entryRec
	names       []nameRec
	tokens      []token
	df          []int32                   // token id → how many live names contain it
	weight      []float32                 // token id → rarity in [0,1]: 1 for a word seen once, less for common words
	byText      layered[string, uint32]   // token text → token id
	bySkel      layered[string, []uint32] // skeleton → token ids
	byDel       layered[string, []uint32] // one-letter deletions of tokens (and the tokens) → token ids
	byStrip     layered[string, []uint32] // token without a glued particle prefix → token ids
	sorted      []uint32                  // token ids by text, for prefix search
	post        [][]uint32                // token id → ascending live name ids
	docs        layered[string, []docRef] // engine.DocumentKey → live entries holding it
	byID        layered[entryKey, uint32] // entry key → live entry id
	live        int                       // live names
	liveEntries int
	logN        float64
	churn       int    // names added and removed by Apply since the base was built
	chain       *chain // the editions sharing this one's arrays
}

// chain tracks the newest edition of a base: only it may append to the
// arrays the editions share, since an older one's readers never look past
// their own lengths but a second edition made from the same one would
// overwrite the first's appended rows.
type chain struct {
	mu  sync.Mutex
	tip *Index
}

// layered is a map read through an overlay of the changes made since the
// base was built. Both maps are read-only once an edition is published:
// an edit clones the overlay (bounded by compaction), never the base.
type layered[K comparable, V any] struct {
	base map[K]V
	over map[K]V // nil while building
}

func (l *layered[K, V]) get(k K) (V, bool) {
	if v, ok := l.over[k]; ok {
		return v, true
	}
	v, ok := l.base[k]
	return v, ok
}

// set writes k: into the base while building, into the overlay after.
func (l *layered[K, V]) set(k K, v V) {
	if l.over == nil {
		l.base[k] = v
		return
	}
	l.over[k] = v
}

// appendID adds id to the ids under k. While building the base's slice
// grows in place; after, the overlay gets a copy, since the slice read so
// far belongs to earlier editions too.
func appendID(l *layered[string, []uint32], k string, id uint32, once bool) {
	ids, _ := l.get(k)
	if n := len(ids); once && n > 0 && ids[n-1] == id {
		return
	}
	if l.over != nil {
		ids = slices.Clip(ids)
	}
	l.set(k, append(ids, id))
}

func (l layered[K, V]) edit() layered[K, V] {
	over := maps.Clone(l.over)
	if over == nil {
		over = make(map[K]V)
	}
	return layered[K, V]{base: l.base, over: over}
}

func (l layered[K, V]) size() int { return len(l.base) + len(l.over) }

// Builder collects entries for an Index. It is not safe for concurrent use.
type Builder struct {
	ix *Index
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder {
	return &Builder{ix: &Index{
		byText: layered[string, uint32]{base: make(map[string]uint32)},
		docs:   layered[string, []docRef]{base: make(map[string][]docRef)},
		byID:   layered[entryKey, uint32]{base: make(map[entryKey]uint32)},
	}}
}

// Grow reserves room for about n more entries, so that loading a large
// list does not spend its time copying growing arrays.
func (b *Builder) Grow(n int) {
	ix := b.ix
	ix.entries = slices.Grow(ix.entries, n)
	ix.names = slices.Grow(ix.names, 2*n)
	if len(ix.docs.base) == 0 && n > 0 {
		ix.docs.base = make(map[string][]docRef, n/2)
	}
	if len(ix.byID.base) == 0 && n > 0 {
		ix.byID.base = make(map[entryKey]uint32, n)
	}
}

// AddList registers a list and returns its handle for Add.
func (b *Builder) AddList(info engine.ListInfo) int {
	b.ix.lists = append(b.ix.lists, listRef{info: info})
	return len(b.ix.lists) - 1
}

// SetListInfo updates a registered list's description (its version, say,
// once the entries have been read).
func (b *Builder) SetListInfo(list int, info engine.ListInfo) { b.ix.lists[list].info = info }

// Add indexes one entry of the list whose handle AddList returned. The
// ids of a list's entries are unique (Apply finds entries by id).
func (b *Builder) Add(list int, e *engine.Entry) { b.ix.addEntry(list, e, nil) }

// addEntry appends e's entry, names and documents. Names get posted at
// Build while building; after, fresh[token] collects the new names of
// each token in ascending order.
func (ix *Index) addEntry(list int, e *engine.Entry, fresh map[uint32][]uint32) {
	id := uint32(len(ix.entries))
	rec := entryRec{
		list:       uint16(list),
		kind:       e.Kind,
		id:         e.ID,
		birthDates: slices.Clip(e.BirthDates),
		nats:       slices.Clip(e.Nationalities),
		sex:        e.Sex,
		firstName:  uint32(len(ix.names)),
	}
	for i, d := range e.BirthDates[:min(2, len(e.BirthDates))] {
		rec.spans[i] = spanOf(d)
	}
	rec.nSpans = uint8(min(len(e.BirthDates), len(rec.spans)+1))
	seen := make(map[string]bool, len(e.Names))
	for _, n := range e.Names {
		toks := normalize.Tokens(n.Value)
		if len(toks) == 0 {
			continue
		}
		key := strings.Join(toks, " ")
		if seen[key] {
			continue
		}
		seen[key] = true
		ids := make([]uint32, len(toks))
		for i, t := range toks {
			ids[i] = ix.intern(t)
		}
		nid := uint32(len(ix.names))
		ix.names = append(ix.names, nameRec{entry: id, person: e.Kind == engine.KindPerson, display: n.Value, tokens: ids, quality: n.Quality})
		if fresh != nil {
			for j, t := range ids {
				if !slices.Contains(ids[:j], t) {
					fresh[t] = append(fresh[t], nid)
				}
			}
		}
	}
	rec.nNames = uint32(len(ix.names)) - rec.firstName
	for _, d := range e.Documents {
		k := engine.DocumentKey(d.Number)
		if k == "" {
			continue
		}
		ref := docRef{entry: id, country: d.Country, typ: d.Type, number: d.Number}
		rec.docs = append(rec.docs, ref)
		refs, _ := ix.docs.get(k)
		if ix.docs.over != nil {
			refs = slices.Clip(refs)
		}
		ix.docs.set(k, append(refs, ref))
	}
	ix.entries = append(ix.entries, rec)
	ix.byID.set(entryKey{uint16(list), e.ID}, id)
}

// intern returns t's token id, adding the token if no edition had it.
func (ix *Index) intern(t string) uint32 {
	if id, ok := ix.byText.get(t); ok {
		return id
	}
	id := uint32(len(ix.tokens))
	ix.byText.set(t, id)
	ix.tokens = append(ix.tokens, token{text: t, skel: normalize.Skeleton(t), letters: letterSet(t), vowelStart: isVowel(t[0]), scale: float32(tokenScale(t))})
	return id
}

// lookup returns the id of the token t if a live name holds it.
func (ix *Index) lookup(t string) (uint32, bool) {
	id, ok := ix.byText.get(t)
	return id, ok && ix.df[id] > 0
}

// Glued particle prefixes: "ALQAIDA" is also found as "QAIDA".
var gluedPrefixes = []string{"AL", "EL", "UL", "BIN", "BEN", "IBN", "ABU", "ABD"}

// shortWord is the longest word whose one-letter skeleton still matches
// another's, provided both are this short (LI, LEE; CHI, SHI).
const shortWord = 3

// minDeleteLen is the shortest word that gets typo keys; shorter words
// match by exact text or skeleton only, since one edit changes them too much.
const minDeleteLen = 5

// Build finishes the index. The builder must not be used afterwards.
func (b *Builder) Build() *Index {
	ix := b.ix
	b.ix = nil
	ix.post = make([][]uint32, len(ix.tokens))
	counts := make([]int32, len(ix.tokens))
	for _, n := range ix.names {
		for _, t := range n.tokens {
			counts[t]++
		}
	}
	for t, c := range counts {
		ix.post[t] = make([]uint32, 0, c)
	}
	for i, n := range ix.names {
		for j, t := range n.tokens {
			if slices.Contains(n.tokens[:j], t) {
				continue // a word repeated in one name is posted once
			}
			ix.post[t] = append(ix.post[t], uint32(i))
		}
	}
	ix.live, ix.liveEntries = len(ix.names), len(ix.entries)
	ix.bySkel = layered[string, []uint32]{base: make(map[string][]uint32)}
	ix.byDel = layered[string, []uint32]{base: make(map[string][]uint32)}
	ix.byStrip = layered[string, []uint32]{base: make(map[string][]uint32)}
	ix.sorted = make([]uint32, len(ix.tokens))
	ix.df = make([]int32, len(ix.tokens))
	buf := make([]byte, 0, 64)
	for i := range ix.tokens {
		ix.df[i] = int32(len(ix.post[i]))
		ix.sorted[i] = uint32(i)
		buf = ix.indexToken(uint32(i), buf)
	}
	ix.weigh()
	slices.SortFunc(ix.sorted, func(a, b uint32) int { return strings.Compare(ix.tokens[a].text, ix.tokens[b].text) })
	// Room for the rows deltas add (Apply appends in place, and copying a
	// million entries would cost a delta more than the rest of its work);
	// compaction, past a tenth of the names changed, builds with new room.
	ix.entries = slices.Grow(ix.entries, len(ix.entries)/8)
	ix.names = slices.Grow(ix.names, len(ix.names)/8)
	ix.tokens = slices.Grow(ix.tokens, len(ix.tokens)/8)
	ix.chain = &chain{tip: ix}
	return ix
}

// indexToken enters token id under its skeleton, typo and stripped keys.
func (ix *Index) indexToken(id uint32, buf []byte) []byte {
	t := &ix.tokens[id]
	if len(t.skel) >= 2 || len(t.text) <= shortWord {
		appendID(&ix.bySkel, t.skel, id, false)
	}
	if len(t.text) >= minDeleteLen {
		appendID(&ix.byDel, t.text, id, false)
		for k := 0; k < len(t.text); k++ {
			buf = append(append(buf[:0], t.text[:k]...), t.text[k+1:]...)
			appendID(&ix.byDel, string(buf), id, true)
		}
	}
	for _, p := range gluedPrefixes {
		if len(t.text) >= len(p)+4 && strings.HasPrefix(t.text, p) {
			appendID(&ix.byStrip, t.text[len(p):], id, false)
		}
	}
	return buf
}

// weigh computes every token's rarity from its document frequency and
// the number of live names.
func (ix *Index) weigh() {
	ix.logN = math.Log(float64(ix.live) + 2)
	ix.weight = make([]float32, len(ix.tokens))
	for i, df := range ix.df {
		ix.weight[i] = float32(ix.rarity(int(df)))
	}
}

// rarity maps a document frequency to a weight in (0,1]: the inverse
// document frequency relative to the largest possible, so that weights mean
// the same on a list of a thousand names and on one of a million.
func (ix *Index) rarity(df int) float64 {
	if df < 1 {
		df = 1
	}
	w := math.Log(float64(ix.live+2)/float64(df)) / ix.logN
	return math.Max(w, 0.05)
}

// Lists returns the lists in the index.
func (ix *Index) Lists() []engine.ListInfo {
	out := make([]engine.ListInfo, len(ix.lists))
	for i, l := range ix.lists {
		out[i] = l.info
	}
	return out
}

// Size returns the number of indexed (live) entries and names.
func (ix *Index) Size() (entries, names int) { return ix.liveEntries, ix.live }
