package accuracy

import (
	"slices"
	"strings"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/normalize"
)

// variantIndex finds the listed names a query could have been made from
// by the perturbations of the positive set: words respelt by one rule or
// to another usual form, one keying error past the first letter, a
// compound written together, one name dropped, words in any order. A
// negative that could is no negative (the positive set holds its twin),
// so the generator leaves it out.
type variantIndex struct {
	names  [][]string          // each listed person name's identifying words, in order
	byWord map[string][]int    // word → names holding it
	byDel  map[string][]string // a word and its one-letter deletions → words
	forms  map[string][]string // word → its other usual forms
}

func newVariantIndex(list []engine.Entry) *variantIndex {
	ix := &variantIndex{byWord: make(map[string][]int), byDel: make(map[string][]string), forms: make(map[string][]string)}
	for _, e := range list {
		if e.Kind != engine.KindPerson {
			continue
		}
		for _, n := range e.Names {
			w := orderedWords(n.Value)
			if len(w) == 0 {
				continue
			}
			id := len(ix.names)
			ix.names = append(ix.names, w)
			for _, t := range w {
				if len(ix.byWord[t]) == 0 {
					ix.byDel[t] = append(ix.byDel[t], t)
					normalize.Deletes(t, func(d string) { ix.byDel[d] = append(ix.byDel[d], t) })
				}
				if l := ix.byWord[t]; len(l) == 0 || l[len(l)-1] != id {
					ix.byWord[t] = append(ix.byWord[t], id)
				}
			}
		}
	}
	for _, fs := range wordForms {
		for _, f := range fs {
			ix.forms[f] = fs
		}
	}
	return ix
}

// orderedWords are the identifying words of a name (no particles, no
// initials) in their order.
func orderedWords(name string) []string {
	var out []string
	for _, t := range normalize.Tokens(name) {
		if len(t) > 1 && !normalize.IsParticle(t) {
			out = append(out, t)
		}
	}
	return out
}

// near reports whether query word q could be listed word w after one
// perturbation.
func (ix *variantIndex) near(q, w string) bool {
	if q == w || slices.Contains(ix.forms[w], q) {
		return true
	}
	if len(w) >= 4 && q[0] == w[0] && oneEdit(q, w) {
		return true
	}
	for _, r := range respellings {
		for k := 0; k+len(r.from) <= len(w); k++ {
			if w[k:k+len(r.from)] == r.from && len(q) == len(w)-len(r.from)+len(r.to) && q == w[:k]+r.to+w[k+len(r.from):] {
				return true
			}
		}
	}
	return false
}

// candidates are the listed words q could be.
func (ix *variantIndex) candidates(q string) []string {
	out := []string{q}
	add := func(w string) {
		if !slices.Contains(out, w) && ix.near(q, w) {
			out = append(out, w)
		}
	}
	for _, w := range ix.byDel[q] {
		add(w)
	}
	normalize.Deletes(q, func(d string) {
		for _, w := range ix.byDel[d] {
			add(w)
		}
	})
	for _, f := range ix.forms[q] {
		add(f)
	}
	for _, r := range respellings {
		for k := 0; k+len(r.to) <= len(q); k++ {
			if q[k:k+len(r.to)] == r.to {
				add(q[:k] + r.from + q[k+len(r.to):])
			}
		}
	}
	return out
}

// derivable reports whether some listed person name could be turned into
// the query name by the positive set's perturbations, or is, so spelt,
// part of the query (the person with a name the list does not give).
func (ix *variantIndex) derivable(query string) bool {
	q := orderedWords(query)
	if len(q) == 0 {
		return false
	}
	seen := map[int]bool{}
	for _, qw := range q {
		for _, w := range ix.candidates(qw) {
			for _, id := range ix.byWord[w] {
				if !seen[id] {
					seen[id] = true
					if ix.fits(q, ix.names[id]) || ix.fitsWithin(q, ix.names[id]) {
						return true
					}
				}
			}
		}
		// A compound written together: look up its halves.
		for k := 2; k+2 <= len(qw); k++ {
			for _, id := range ix.byWord[qw[:k]] {
				if !seen[id] {
					seen[id] = true
					if ix.fits(q, ix.names[id]) {
						return true
					}
				}
			}
		}
	}
	return false
}

// fits reports whether every query word is a listed word, a variant of
// one, or two adjacent listed words written together, each listed word
// used once, with at most two words changed and at most one listed word
// left over (from a name of three or more).
func (ix *variantIndex) fits(q, n []string) bool {
	if len(n) > len(q)+1+2 { // cannot leave only one word over even with two compounds
		return false
	}
	return cover(q, n, ix.near, func(left int) bool { return left == 0 || (left == 1 && len(n) >= 3) })
}

// fitsWithin reports the same with the sides exchanged: every listed word
// is in the query, so spelt, which may hold names the list does not give.
func (ix *variantIndex) fitsWithin(q, n []string) bool {
	return cover(n, q, func(x, y string) bool { return ix.near(y, x) }, func(int) bool { return true })
}

// cover reports whether each word of a, in turn, can take an unused word
// of b: the same word, a near one (at most two of those), or two adjacent
// words written as one on either side; leftOK judges how many words of b
// are left.
func cover(a, b []string, near func(x, y string) bool, leftOK func(left int) bool) bool {
	used := make([]bool, len(b))
	var try func(i, changed int) bool
	take := func(next, changed int, js ...int) bool {
		for _, j := range js {
			used[j] = true
		}
		ok := try(next, changed)
		for _, j := range js {
			used[j] = false
		}
		return ok
	}
	try = func(i, changed int) bool {
		if i == len(a) {
			left := 0
			for _, u := range used {
				if !u {
					left++
				}
			}
			return leftOK(left)
		}
		for j, w := range b {
			if !used[j] && a[i] == w && take(i+1, changed, j) {
				return true
			}
		}
		if changed == 2 {
			return false
		}
		for j, w := range b {
			if used[j] {
				continue
			}
			switch {
			case near(a[i], w) && take(i+1, changed+1, j):
				return true
			case j+1 < len(b) && !used[j+1] && a[i] == w+b[j+1] && take(i+1, changed+1, j, j+1):
				return true
			case i+1 < len(a) && a[i]+a[i+1] == w && take(i+2, changed+1, j):
				return true
			}
		}
		return false
	}
	return try(0, 0)
}

// oneEdit reports whether a and b differ by exactly one insertion,
// deletion, substitution or transposition of adjacent letters.
func oneEdit(a, b string) bool {
	if a == b {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	switch len(b) - len(a) {
	case 0:
		i := 0
		for a[i] == b[i] {
			i++
		}
		if a[i+1:] == b[i+1:] {
			return true
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
	case 1:
		i := 0
		for i < len(a) && a[i] == b[i] {
			i++
		}
		return a[i:] == b[i+1:]
	}
	return false
}

// isVariantName reports whether one word is a variant of a one-word
// listed name.
func (ix *variantIndex) isVariantName(word string) bool {
	q := orderedWords(word)
	if len(q) != 1 {
		return false
	}
	for _, w := range ix.candidates(q[0]) {
		for _, id := range ix.byWord[w] {
			if len(ix.names[id]) == 1 && strings.EqualFold(ix.names[id][0], w) {
				return true
			}
		}
	}
	return false
}
