package match

import (
	"slices"
	"strings"

	"github.com/watchpost/watchpost/engine/normalize"
)

// candidates finds the indexed words a query word may stand for, with how
// similar each is.
//
// inner marks a lookup of part of a word, which is not split again.
func (s *Screener) candidates(q string, truncated, inner bool, out []candToken) []candToken {
	ix := s.ix
	add := func(id uint32, sim float64, how string) {
		if ix.df[id] == 0 || sim < minTokenSim || (sim < 1 && how != "joined" && normalize.IsParticle(ix.tokens[id].text)) {
			return // a word no live name holds, or too far off
		}
		for i := range out {
			if out[i].id == id {
				if sim > out[i].sim {
					out[i].sim, out[i].how = sim, how
				}
				return
			}
		}
		out = append(out, candToken{id: id, sim: sim, how: how})
	}
	id, known := ix.lookup(q)
	if known {
		add(id, 1, "exact")
	}
	if normalize.IsParticle(q) {
		return out // AL is not ALI: a particle stands for itself only
	}
	qVowel := isVowel(q[0])
	if sk := normalize.Skeleton(q); len(sk) >= 2 {
		// Same consonant skeleton: a transliteration variant if the
		// spellings are also close. Two-consonant skeletons are shared
		// by too many unrelated words to count on their own.
		minJW := 0.5
		if len(sk) == 2 {
			minJW = 0.75
		}
		ids, _ := ix.bySkel.get(sk)
		for _, id := range ids {
			t := &ix.tokens[id]
			if t.vowelStart == qVowel && t.text != q {
				if jw := jaroWinkler(q, t.text); jw >= minJW {
					add(id, fuzzyAgreement(q, t.text, known), "variant")
				}
			}
		}
	} else if len(q) <= shortWord {
		ids, _ := ix.bySkel.get(sk)
		for _, id := range ids {
			t := &ix.tokens[id]
			if len(t.text) <= shortWord && t.text != q && t.vowelStart == qVowel && !normalize.IsParticle(t.text) {
				add(id, fuzzyAgreement(q, t.text, known), "variant")
			}
		}
	}
	if len(q) >= minDeleteLen-1 {
		var buf [64]byte
		lookup := func(key []byte) {
			ids, ok := ix.byDel.over[string(key)]
			if !ok {
				ids = ix.byDel.base[string(key)]
			}
			for _, id := range ids {
				t := &ix.tokens[id]
				if t.text == q {
					continue
				}
				if withinOneEdit(q, t.text) || jaroWinkler(q, t.text) >= 0.88 {
					add(id, fuzzyAgreement(q, t.text, known), "typo")
				}
			}
		}
		lookup([]byte(q))
		if len(q) <= len(buf) {
			for k := 0; k < len(q); k++ {
				key := append(append(buf[:0], q[:k]...), q[k+1:]...)
				lookup(key)
			}
		}
	}
	if !inner {
		for _, p := range gluedPrefixes {
			if len(q) >= len(p)+4 && strings.HasPrefix(q, p) {
				for _, c := range s.candidates(q[len(p):], truncated, true, nil) {
					add(c.id, 0.97*c.sim, "joined") // a glued particle (ALQAIDA)
				}
			}
		}
		// A word the list writes as two ("POURNAGHSHBAND" / "POUR NAGHSHBAND").
		for k := 3; k+3 <= len(q); k++ {
			l, okL := ix.lookup(q[:k])
			r, okR := ix.lookup(q[k:])
			if okL && okR {
				// Each half alone is part of the word; both together, as
				// the alignment pairs them, are all of it.
				add(l, partAgreement*float64(k)/float64(len(q)), "part")
				add(r, partAgreement*float64(len(q)-k)/float64(len(q)), "part")
			}
		}
	}
	stripped, _ := ix.byStrip.get(q)
	for _, id := range stripped {
		add(id, joinedAgreement, "joined")
	}
	if truncated && len(q) >= 3 {
		lo, _ := slices.BinarySearchFunc(ix.sorted, q, func(id uint32, q string) int { return strings.Compare(ix.tokens[id].text, q) })
		// The first 64 words with the prefix that live names hold.
		for i, seen := lo, 0; i < len(ix.sorted) && seen < 64; i++ {
			t := ix.tokens[ix.sorted[i]].text
			if !strings.HasPrefix(t, q) {
				break
			}
			if ix.df[ix.sorted[i]] == 0 {
				continue
			}
			seen++
			if t != q {
				add(ix.sorted[i], prefixAgreement, "prefix")
			}
		}
	}
	return out
}

// fuzzyAgreement is how much a query word counts as the listed word t it
// resembles, in [0,1]: nothing for spellings that share little (closeness
// at or under closeFloor), rising to 1 for equal words. A query word that
// is itself a listed word is more likely another name than a misspelling
// of this one (JOSE is not JORGE, HASAN not HOSSEIN), so it counts less
// unless the two spellings are very close. known reports whether a live
// name holds q.
func fuzzyAgreement(q, t string, known bool) float64 {
	c := spellingCloseness(q, t)
	if known {
		a := (c - knownFloor) / (1 - knownFloor)
		if c < knownExempt {
			a *= knownScale
		}
		return min(1, max(0, a))
	}
	return min(1, max(0, (c-closeFloor)/(1-closeFloor)))
}
