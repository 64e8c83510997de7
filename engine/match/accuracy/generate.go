package accuracy

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/normalize"
)

// Sizes says how many cases of each set Generate makes at most.
type Sizes struct {
	NearMiss, Single, TwoName, Perturbed, Aliases int
}

// DefaultSizes are the sizes of the checked-in development set: enough
// that one case is a twentieth of the tightest target (0.2 % of the
// near misses), small enough to screen in about a second.
var DefaultSizes = Sizes{NearMiss: 5000, Single: 3000, TwoName: 3000, Perturbed: 4000, Aliases: 5000}

// Generate derives a development set from src. The result depends only on
// src (in its order), sizes and seed.
//
//   - Near misses: the given names (all, or one of them) of a listed
//     person with the family name of another person of the same group
//     (programme), in either order, as one name or as surname and given
//     names; combinations whose words are a subset or a superset of a
//     listed person's name are left out (they may be that person).
//   - Single names: one name word alone, drawn half by how common it is and
//     half uniformly, some in their original script; words that are a whole
//     listed name are left out.
//   - Two names: two name words of unrelated people, with the same
//     exclusion as near misses.
//   - Perturbed: a listed person's primary name with one or two of a
//     typo, a transposition, a respelling, a dropped middle name, the
//     family name first, MRZ folding and truncation, a compound written
//     together; it must hit that person.
//   - Aliases: an alias that shares a word with the primary name; it is
//     screened against primary names only and must hit its person.
func Generate(src Sources, sizes Sizes, seed uint64) *Set {
	variants := newVariantIndex(src.List)
	g := &generator{r: rand.New(rand.NewPCG(seed, 0x5eed_ac_c0)), names: newNameIndex(variants.names), variants: variants}
	set := &Set{List: src.List, Cases: make(map[string][]Case)}
	set.Cases[SetPerturbed] = g.perturbed(src.Persons, sizes.Perturbed)
	set.Cases[SetAliases] = g.aliases(src.AliasPairs, src.List, sizes.Aliases)
	set.Cases[SetNearMiss] = g.nearMisses(src.Persons, sizes.NearMiss)
	words := g.usableWords(src.Words)
	set.Cases[SetSingle] = g.singles(words, sizes.Single)
	set.Cases[SetTwoName] = g.twoNames(words, sizes.TwoName)
	return set
}

type generator struct {
	r        *rand.Rand
	names    *nameIndex
	variants *variantIndex
}

// nameIndex answers whether a set of words is a subset or a superset of
// the words of some listed person's name.
type nameIndex struct {
	names  [][]string
	byWord map[string][]int
}

// keyWords are the words of a name that identify: no particles, no
// initials, each once, sorted.
func keyWords(name string) []string {
	var out []string
	for _, t := range normalize.Tokens(name) {
		if len(t) > 1 && !normalize.IsParticle(t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// newNameIndex indexes the words of listed person names, each name's
// words as orderedWords gives them.
func newNameIndex(names [][]string) *nameIndex {
	ix := &nameIndex{byWord: make(map[string][]int)}
	for _, n := range names {
		w := slices.Compact(slices.Sorted(slices.Values(n)))
		id := len(ix.names)
		ix.names = append(ix.names, w)
		for _, t := range w {
			ix.byWord[t] = append(ix.byWord[t], id)
		}
	}
	return ix
}

// related reports whether the words are a subset or a superset of a
// listed person's name words.
func (ix *nameIndex) related(words []string) bool {
	for _, t := range words {
		for _, id := range ix.byWord[t] {
			n := ix.names[id]
			if subset(words, n) || subset(n, words) {
				return true
			}
		}
	}
	return false
}

// subset reports whether every word of a (sorted) is in b (sorted).
func subset(a, b []string) bool {
	if len(a) > len(b) {
		return false
	}
	for _, w := range a {
		if _, ok := slices.BinarySearch(b, w); !ok {
			return false
		}
	}
	return true
}

func upperWords(ws []string) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = strings.ToUpper(w)
	}
	return out
}

// shuffled returns 0..n-1 in a random order.
func (g *generator) shuffled(n int) []int { return g.r.Perm(n) }

func (g *generator) perturbed(persons []Person, n int) []Case {
	var out []Case
	for _, i := range g.shuffled(len(persons)) {
		if len(out) == n {
			break
		}
		p := persons[i]
		if len(keyWords(strings.Join(append(slices.Clone(p.Given), p.Family...), " "))) < 2 {
			continue // a one-word name perturbed is a single-name query
		}
		q, kind, ok := perturb(g.r, upperWords(p.Given), upperWords(p.Family))
		if !ok {
			continue
		}
		out = append(out, Case{Query: q, Want: p.ID, Kind: kind, From: strings.Join(p.Given, " ") + " / " + strings.Join(p.Family, " ")})
	}
	return out
}

func (g *generator) aliases(pairs []AliasPair, list []engine.Entry, n int) []Case {
	ids := make(map[string]bool, len(list))
	for _, e := range list {
		if e.Kind == engine.KindPerson {
			ids[e.ID] = true
		}
	}
	var out []Case
	seen := map[string]bool{}
	for _, i := range g.shuffled(len(pairs)) {
		if len(out) == n {
			break
		}
		p := pairs[i]
		if !ids[p.EntryID] || seen[p.EntryID+"\x00"+p.Alias] {
			continue
		}
		a, b := keyWords(p.Primary), keyWords(p.Alias)
		shared := false
		for _, w := range b {
			if _, ok := slices.BinarySearch(a, w); ok {
				shared = true
				break
			}
		}
		if !shared || slices.Equal(a, b) {
			continue
		}
		seen[p.EntryID+"\x00"+p.Alias] = true
		out = append(out, Case{Query: engine.Query{Name: p.Alias}, Want: p.EntryID, Kind: p.Kind, From: p.Primary})
	}
	return out
}

func (g *generator) nearMisses(persons []Person, n int) []Case {
	groups := make(map[string][]int)
	for i, p := range persons {
		groups[p.Group] = append(groups[p.Group], i)
	}
	var out []Case
	seen := map[string]bool{}
	for attempts := 0; len(out) < n && attempts < 50*n; attempts++ {
		a := persons[g.r.IntN(len(persons))]
		grp := groups[a.Group]
		if len(grp) < 2 {
			continue
		}
		b := persons[grp[g.r.IntN(len(grp))]]
		if b.ID == a.ID || slices.Equal(keyWords(strings.Join(a.Family, " ")), keyWords(strings.Join(b.Family, " "))) {
			continue
		}
		given := upperWords(a.Given)
		kind := "all-given"
		if len(given) > 1 && g.r.IntN(2) == 0 {
			k := 0
			if g.r.IntN(10) >= 7 {
				k = g.r.IntN(len(given))
			}
			given, kind = given[k:k+1], "one-given"
		}
		family := upperWords(b.Family)
		words := keyWords(strings.Join(given, " ") + " " + strings.Join(family, " "))
		key := strings.Join(words, " ")
		if len(words) < 2 || seen[key] || g.names.related(words) || g.variants.derivable(strings.Join(given, " ")+" "+strings.Join(family, " ")) {
			continue
		}
		seen[key] = true
		q, form := g.nameForm(given, family)
		out = append(out, Case{Query: q, Kind: kind + "," + form, From: a.ID + " given + " + b.ID + " family"})
	}
	return out
}

// nameForm writes given and family names as a traveller's query: as
// surname and given-name fields (a passport), or as one name in either
// order.
func (g *generator) nameForm(given, family []string) (engine.Query, string) {
	gs, fs := strings.Join(given, " "), strings.Join(family, " ")
	switch x := g.r.IntN(100); {
	case x < 45:
		return engine.Query{Surname: fs, GivenNames: gs}, "fields"
	case x < 85:
		return engine.Query{Name: gs + " " + fs}, "given-first"
	}
	return engine.Query{Name: fs + " " + gs}, "family-first"
}

// usableWords merges the name words of all sources by Latin spelling
// (counts add up) and keeps those that are one identifying word and not a
// whole listed name.
func (g *generator) usableWords(in []Word) []Word {
	byLatin := make(map[string]int)
	var out []Word
	for _, w := range in {
		k := normalize.Latin(w.Latin)
		if i, ok := byLatin[k]; ok {
			out[i].Count += w.Count
			continue
		}
		words := keyWords(w.Latin)
		if len(words) != 1 || len(normalize.Tokens(w.Latin)) != 1 || g.names.isName(words) || g.variants.isVariantName(w.Latin) {
			continue
		}
		byLatin[k] = len(out)
		out = append(out, w)
	}
	return out
}

// isName reports whether words are exactly the words of a listed name.
func (ix *nameIndex) isName(words []string) bool {
	for _, id := range ix.byWord[words[0]] {
		if slices.Equal(ix.names[id], words) {
			return true
		}
	}
	return false
}

// pickWords chooses n distinct words: half by how common they are
// (weighted sampling without replacement), half uniformly from the rest.
func (g *generator) pickWords(words []Word, n int) []Word {
	type keyed struct {
		i   int
		key float64
	}
	ks := make([]keyed, len(words))
	for i, w := range words {
		// Efraimidis–Spirakis: the n largest u^(1/w) are a weighted sample.
		ks[i] = keyed{i, math.Log(g.r.Float64()) / float64(max(1, w.Count))}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int { return cmp.Compare(b.key, a.key) })
	var out []Word
	taken := make([]bool, len(words))
	for _, k := range ks[:min(len(ks), n/2)] {
		taken[k.i] = true
		w := words[k.i]
		w.Origin += ",common"
		out = append(out, w)
	}
	for _, i := range g.shuffled(len(words)) {
		if len(out) == n {
			break
		}
		if !taken[i] {
			w := words[i]
			w.Origin += ",any"
			out = append(out, w)
		}
	}
	return out
}

func (g *generator) singles(words []Word, n int) []Case {
	var out []Case
	for _, w := range g.pickWords(words, n) {
		name, kind := strings.ToUpper(w.Latin), w.Origin
		if w.Script != "" && g.r.IntN(100) < 15 {
			name, kind = w.Script, w.Origin+",script"
			if kw := keyWords(name); len(kw) != 1 || g.names.isName(kw) || g.variants.isVariantName(name) {
				continue
			}
		}
		out = append(out, Case{Query: engine.Query{Name: name}, Kind: kind, From: w.Latin})
	}
	return out
}

func (g *generator) twoNames(words []Word, n int) []Case {
	pool := g.pickWords(words, 2*n)
	var out []Case
	seen := map[string]bool{}
	for attempts := 0; len(out) < n && attempts < 20*n; attempts++ {
		a, b := pool[g.r.IntN(len(pool))], pool[g.r.IntN(len(pool))]
		words := keyWords(a.Latin + " " + b.Latin)
		key := strings.Join(words, " ")
		if len(words) < 2 || seen[key] || g.names.related(words) || g.variants.derivable(a.Latin+" "+b.Latin) {
			continue
		}
		seen[key] = true
		q, form := g.nameForm([]string{strings.ToUpper(a.Latin)}, []string{strings.ToUpper(b.Latin)})
		out = append(out, Case{Query: q, Kind: form, From: a.Origin + " + " + b.Origin})
	}
	return out
}
