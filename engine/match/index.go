// Package match finds the watchlist entries a traveller may be and says
// why: an in-memory index over the names, birth dates and documents of
// every loaded list (candidate retrieval by token, transliteration skeleton,
// typo and prefix keys, never a scan of a whole list) and an explainable
// scorer that aligns name words, weighs rare words above common ones and
// qualifies by birth date, nationality, sex and document.
package match

import (
	"math"
	"slices"
	"strings"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/normalize"
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
	if c.MatchThreshold == 0 {
		c.MatchThreshold = DefaultMatchThreshold
	}
	if c.PossibleThreshold == 0 {
		c.PossibleThreshold = DefaultPossibleThreshold
	}
	if c.MaxHits == 0 {
		c.MaxHits = DefaultMaxHits
	}
	if c.MaxCandidates == 0 {
		c.MaxCandidates = DefaultMaxCandidates
	}
	return c
}

// token is one distinct name word across all loaded lists.
type token struct {
	text       string
	skel       string
	df         int32   // how many indexed names contain it
	weight     float32 // rarity in [0,1]: 1 for a word seen once, less for common words
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
	list       uint16
	kind       engine.EntryKind
	id         string
	birthDates []engine.BirthDate
	nats       []string
	sex        string
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

// Index is an immutable, concurrency-safe screening index over the names
// and documents of one or more lists. Build it with a Builder.
type Index struct {
	lists   []listRef
	entries []entryRec
	names   []nameRec
	tokens  []token
	byText  map[string]uint32   // token text → token id
	bySkel  map[string][]uint32 // skeleton → token ids
	byDel   map[string][]uint32 // one-letter deletions of tokens (and the tokens) → token ids
	byStrip map[string][]uint32 // token without a glued particle prefix → token ids
	sorted  []uint32            // token ids by text, for prefix search
	post    [][]uint32          // token id → ascending name ids
	docs    map[string][]docRef // engine.DocumentKey → entries holding it
	logN    float64
}

// Builder collects entries for an Index. It is not safe for concurrent use.
type Builder struct {
	ix *Index
}

// NewBuilder returns an empty builder.
func NewBuilder() *Builder {
	return &Builder{ix: &Index{
		byText: make(map[string]uint32),
		docs:   make(map[string][]docRef),
	}}
}

// Grow reserves room for about n more entries, so that loading a large
// list does not spend its time copying growing arrays.
func (b *Builder) Grow(n int) {
	ix := b.ix
	ix.entries = slices.Grow(ix.entries, n)
	ix.names = slices.Grow(ix.names, 2*n)
	if len(ix.docs) == 0 && n > 0 {
		ix.docs = make(map[string][]docRef, n/2)
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

// Add indexes one entry of the list whose handle AddList returned.
func (b *Builder) Add(list int, e *engine.Entry) {
	ix := b.ix
	id := uint32(len(ix.entries))
	ix.entries = append(ix.entries, entryRec{
		list:       uint16(list),
		kind:       e.Kind,
		id:         e.ID,
		birthDates: slices.Clip(e.BirthDates),
		nats:       slices.Clip(e.Nationalities),
		sex:        e.Sex,
	})
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
			ids[i] = b.intern(t)
		}
		ix.names = append(ix.names, nameRec{entry: id, person: e.Kind == engine.KindPerson, display: n.Value, tokens: ids, quality: n.Quality})
	}
	for _, d := range e.Documents {
		k := engine.DocumentKey(d.Number)
		if k == "" {
			continue
		}
		ix.docs[k] = append(ix.docs[k], docRef{entry: id, country: d.Country, typ: d.Type, number: d.Number})
	}
}

func (b *Builder) intern(t string) uint32 {
	ix := b.ix
	if id, ok := ix.byText[t]; ok {
		return id
	}
	id := uint32(len(ix.tokens))
	ix.byText[t] = id
	ix.tokens = append(ix.tokens, token{text: t, skel: normalize.Skeleton(t), letters: letterSet(t), vowelStart: isVowel(t[0])})
	return id
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
	ix.logN = math.Log(float64(len(ix.names)) + 2)
	ix.bySkel = make(map[string][]uint32)
	ix.byDel = make(map[string][]uint32)
	ix.byStrip = make(map[string][]uint32)
	ix.sorted = make([]uint32, len(ix.tokens))
	buf := make([]byte, 0, 64)
	for i := range ix.tokens {
		t := &ix.tokens[i]
		id := uint32(i)
		t.df = int32(len(ix.post[i]))
		t.weight = float32(ix.rarity(int(t.df)))
		t.scale = float32(tokenScale(t.text))
		ix.sorted[i] = id
		if len(t.skel) >= 2 || len(t.text) <= shortWord {
			ix.bySkel[t.skel] = append(ix.bySkel[t.skel], id)
		}
		if len(t.text) >= minDeleteLen {
			ix.byDel[t.text] = append(ix.byDel[t.text], id)
			for k := 0; k < len(t.text); k++ {
				buf = append(append(buf[:0], t.text[:k]...), t.text[k+1:]...)
				ix.byDel[string(buf)] = appendOnce(ix.byDel[string(buf)], id)
			}
		}
		for _, p := range gluedPrefixes {
			if len(t.text) >= len(p)+4 && strings.HasPrefix(t.text, p) {
				rest := t.text[len(p):]
				ix.byStrip[rest] = append(ix.byStrip[rest], id)
			}
		}
	}
	slices.SortFunc(ix.sorted, func(a, b uint32) int { return strings.Compare(ix.tokens[a].text, ix.tokens[b].text) })
	return ix
}

func appendOnce(s []uint32, id uint32) []uint32 {
	if n := len(s); n > 0 && s[n-1] == id {
		return s
	}
	return append(s, id)
}

// rarity maps a document frequency to a weight in (0,1]: the inverse
// document frequency relative to the largest possible, so that weights mean
// the same on a list of a thousand names and on one of a million.
func (ix *Index) rarity(df int) float64 {
	if df < 1 {
		df = 1
	}
	w := math.Log(float64(len(ix.names)+2)/float64(df)) / ix.logN
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

// Size returns the number of indexed entries and names.
func (ix *Index) Size() (entries, names int) { return len(ix.entries), len(ix.names) }
