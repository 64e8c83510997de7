package match

import (
	"bytes"
	"cmp"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/normalize"
)

type pair struct {
	qi, tj int
	sim    float64
	how    string
}

// alignment is the word alignment of a query with one listed name, in
// buffers reused across the names of one screening.
type alignment struct {
	pairs      []pair
	qSim, tSim []float64
	qTo, tFrom []int
	qPart      []bool    // the query word aligned with part of itself (one half of a word the list writes as two)
	qInit      []bool    // the query word aligned by an initial (V for VLADIMIR, or VLADIMIR for V)
	qOpp, tOpp []float64 // how much each left-over word stands against the other name (see wordCost)
	qFree      []bool    // alignCompounds: the query words free to make a compound
	tFree      []bool    // the same for the listed words
	qText      []string  // alignCompounds: the query's words
	tText      []string  // the listed name's words
	explain    bool
	aligned    []engine.TokenMatch
	ends       []pairEnds // with explain: the words of each aligned pair
	// The pair similarities of one screening, memoised: memoAt[tid] is
	// where the query words' scores against indexed word tid start in
	// memo, valid when memoStamp[tid] is the screening's stamp.
	memoStamp, memoAt []uint32
	memo              []memoEntry
	stamp             uint32
}

func (a *alignment) reset(nq, nt int, explain bool) {
	a.pairs = a.pairs[:0]
	a.qSim = resize(a.qSim, nq)
	a.tSim = resize(a.tSim, nt)
	a.qTo = fill(a.qTo, nq, -1)
	a.tFrom = fill(a.tFrom, nt, -1)
	if cap(a.qPart) < nq {
		a.qPart = make([]bool, nq)
	}
	a.qPart = a.qPart[:nq]
	clear(a.qPart)
	if cap(a.qInit) < nq {
		a.qInit = make([]bool, nq)
	}
	a.qInit = a.qInit[:nq]
	clear(a.qInit)
	a.explain = explain
	a.aligned = nil
	a.ends = a.ends[:0]
}

// pairEnds are the query and list words of one aligned pair: one each,
// or two or three on one side for a word the other writes as several.
type pairEnds struct{ q, t [3]int }

func resize(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	s = s[:n]
	clear(s)
	return s
}

func fill(s []int, n, v int) []int {
	if cap(s) < n {
		s = make([]int, n)
	}
	s = s[:n]
	for i := range s {
		s[i] = v
	}
	return s
}

type memoEntry struct {
	ps   pairScore
	done bool
}

// memoFor returns the memo entry of query word i (of nq) against indexed
// word tid in this screening.
func (a *alignment) memoFor(tid uint32, i, nq int) *memoEntry {
	if a.memoStamp[tid] != a.stamp {
		a.memoStamp[tid] = a.stamp
		a.memoAt[tid] = uint32(len(a.memo))
		a.memo = append(a.memo, make([]memoEntry, nq)...)
	}
	return &a.memo[int(a.memoAt[tid])+i]
}

// newScreening forgets the memoised pairs of the previous screening.
func (a *alignment) newScreening() {
	a.memo = a.memo[:0]
	a.stamp++
	if a.stamp == 0 { // wrapped: stamps of long ago would look current
		clear(a.memoStamp)
		a.stamp = 1
	}
}

type pairScore struct {
	sim float64
	how string
}

// pairSim is how similar a query word is to an indexed word: as found by
// the index, or else compared directly when they could be the same word.
func (s *Screener) pairSim(q *queryToken, tid uint32) pairScore {
	for _, c := range q.cands {
		if c.id == tid {
			return pairScore{c.sim, c.how}
		}
	}
	t := s.ix.tokens[tid].text
	if q.scale == particleScale || s.ix.tokens[tid].scale == float32(particleScale) {
		return pairScore{} // AL is not ALI: a particle pairs with itself only
	}
	if (len(q.text) == 1) != (len(t) == 1) {
		if q.text[0] == t[0] {
			return pairScore{initialAgreement, "initial"}
		}
		return pairScore{}
	}
	if n := min(len(t), len(q.text)); n >= 2 && mayReach(q.text, t, q.letters, s.ix.tokens[tid].letters, similarGate(n)) && jaroWinkler(q.text, t) >= similarGate(n) {
		if a := fuzzyAgreement(q.text, t, q.known); a >= minTokenSim {
			return pairScore{a, "similar"}
		}
	}
	return pairScore{}
}

// mayReach reports whether the Jaro-Winkler similarity of a and b (whose
// letter sets are la and lb) can reach gate, from a bound that costs less
// than the similarity: no more letters can match than each word has of
// the other's letters, and the prefix bonus is at most the common prefix.
func mayReach(a, b string, la, lb uint32, gate float64) bool {
	// First a bound that needs no pass over the letters: each letter of a
	// that b lacks occurs in a at least once, and so on.
	if len(a) <= 64 && len(b) <= 64 && !jaroMayReach(len(a)-bits.OnesCount32(la&^lb), len(b)-bits.OnesCount32(lb&^la), a, b, gate) {
		return false
	}
	a, b = clip(a, 64), clip(b, 64) // as jaroWinkler compares them
	ma, mb := 0, 0
	for i := 0; i < len(a); i++ {
		ma += int(lb >> letterBit(a[i]) & 1)
	}
	for i := 0; i < len(b); i++ {
		mb += int(la >> letterBit(b[i]) & 1)
	}
	return jaroMayReach(ma, mb, a, b, gate)
}

// jaroMayReach reports whether the Jaro-Winkler similarity of a and b can
// reach gate when at most ma letters of a and mb of b can match.
func jaroMayReach(ma, mb int, a, b string, gate float64) bool {
	m := float64(min(ma, mb))
	if m <= 0 {
		return false
	}
	jaro := (m/float64(len(a)) + m/float64(len(b)) + 1) / 3
	p := 0
	for p < 4 && p < len(a) && p < len(b) && a[p] == b[p] {
		p++
	}
	return jaro+float64(p)*0.1*(1-jaro) >= gate
}

// letterBit is the bit of an upper-case letter or digit in a letter set
// (digits share bit 26).
func letterBit(c byte) uint32 {
	if c >= 'A' && c <= 'Z' {
		return uint32(c - 'A')
	}
	return 26
}

// letterSet is the set of a word's letters, for mayReach.
func letterSet(w string) uint32 {
	var m uint32
	for i := 0; i < len(w); i++ {
		m |= 1 << letterBit(w[i])
	}
	return m
}

// similarGate is the Jaro-Winkler similarity from which two words the
// index did not pair are compared letter by letter: long words that
// transliterations spell quite differently (HRYHORYAVICH, GRIGORIYEVICH)
// pass a lower gate than short ones.
func similarGate(shorter int) float64 {
	if shorter >= 7 {
		return 0.68
	}
	return 0.75
}

// scoreName aligns the query's words with a listed name's words and
// returns the name score in [0,1], with its explanation when a.explain.
//
// The score weighs what the two names agree on against what stands
// between them, each word counted by its information (its rarity in the
// lists, particles and initials little):
//
//	score = agree / (agree + costs) × sqrt(min(1, information / minInfo))
//
// agree is the weight of the aligned words times how well each pair
// agrees (1 for the same word, less for another spelling). A pair spelt
// differently costs costDiffer × its weight × the agreement it lacks. A
// word without a counterpart costs costDiffer × its weight when the other
// name also has words left over (another name stands in its place: the
// traveller's given name is not the listed one's) and only costMissing ×
// its weight when it does not (a middle name left out); a first or last
// word facing another costs endConflict times more, as given and family
// names stand there. The last factor keeps names that agree only on
// common words (MOHAMMED ALI) low, and a one-word traveller's name under
// oneWordScale.
func (s *Screener) scoreName(qt []queryToken, nr *nameRec, a *alignment, explain bool) (float64, *engine.NameExplanation) {
	ix := s.ix
	a.reset(len(qt), len(nr.tokens), explain)
	for i := range qt {
		for j, tid := range nr.tokens {
			m := a.memoFor(tid, i, len(qt))
			if !m.done {
				m.ps, m.done = s.pairSim(&qt[i], tid), true
			}
			ps := m.ps
			if ps.sim >= minTokenSim {
				a.pairs = append(a.pairs, pair{i, j, ps.sim, ps.how})
			}
		}
	}
	slices.SortStableFunc(a.pairs, func(x, y pair) int { return cmp.Compare(y.sim, x.sim) })
	// Words written together on one side and apart on the other align
	// first, so the greedy pass cannot give away half of them.
	s.alignJoined(qt, nr, a)
	s.alignCompounds(qt, nr, a)
	for _, p := range a.pairs {
		if a.qTo[p.qi] >= 0 || a.tFrom[p.tj] >= 0 {
			continue
		}
		a.qTo[p.qi], a.tFrom[p.tj] = p.tj, p.qi
		a.qSim[p.qi], a.tSim[p.tj] = p.sim, p.sim
		a.qPart[p.qi] = p.how == "part"
		if p.how == "initial" {
			// An initial agrees with a whole name only as far as an
			// initial says anything: the whole name counts as much as
			// the initial weighs, the rest of it as a name left out.
			a.qInit[p.qi] = true
			wq, wt := qt[p.qi].weight, s.listWeight(nr.tokens[p.tj])
			if len(qt[p.qi].text) == 1 {
				a.tSim[p.tj] = p.sim * min(1, wq/wt)
			} else {
				a.qSim[p.qi] = p.sim * min(1, wt/wq)
			}
		}
		if explain {
			a.aligned = append(a.aligned, engine.TokenMatch{Query: qt[p.qi].text, List: ix.tokens[nr.tokens[p.tj]].text, How: p.how, Similarity: round3(p.sim),
				Weight: round3(s.listWeight(nr.tokens[p.tj]))})
			a.ends = append(a.ends, pairEnds{q: [3]int{p.qi, -1, -1}, t: [3]int{p.tj, -1, -1}})
		}
	}
	var aq, at, qLeft, tLeft float64
	named := 0 // query words that are names (not particles, titles or initials)
	for i := range qt {
		if len(qt[i].text) == 1 || qt[i].scale >= kunyaScale {
			named++
		}
		aq += qt[i].weight * a.qSim[i]
		if a.qTo[i] < 0 {
			qLeft += opposingWeight(qt[i].scale, qt[i].weight)
		}
	}
	for j, tid := range nr.tokens {
		w := s.listWeight(tid)
		at += w * a.tSim[j]
		if a.tFrom[j] < 0 {
			tLeft += opposingWeight(float64(ix.tokens[tid].scale), w)
		}
	}
	if aq == 0 || at == 0 {
		return 0, nil
	}
	// The part of each side's left-over words that faces left-over words
	// on the other side stands against the match; the rest is missing.
	opposed := min(qLeft, tLeft)
	qOpp, tOpp := shareOf(opposed, qLeft), shareOf(opposed, tLeft)
	// A first or last name word of each side left over means the names
	// differ where given and family names stand (MAHMOUD for ALI in front
	// of the same family name, AL-TIKRITI for AL-MUHAMMAD after the same
	// given names): that costs more than another word left over.
	qf, ql := endWords(len(qt), func(i int) float64 { return qt[i].scale })
	tf, tl := endWords(len(nr.tokens), func(j int) float64 { return float64(ix.tokens[nr.tokens[j]].scale) })
	ends := qf >= 0 && tf >= 0 && (a.qTo[qf] < 0 || a.qTo[ql] < 0) && (a.tFrom[tf] < 0 || a.tFrom[tl] < 0)
	a.qOpp = resize(a.qOpp, len(qt))
	a.tOpp = resize(a.tOpp, len(nr.tokens))
	var cost float64
	for i := range qt {
		a.qOpp[i] = qOpp
		if ends && a.qTo[i] < 0 && (i == qf || i == ql) {
			a.qOpp[i] = endConflict
		}
		cost += a.wordCost(qt[i].weight, a.qTo[i] >= 0, a.qSim[i], a.qOpp[i], a.qInit[i])
	}
	for j, tid := range nr.tokens {
		a.tOpp[j] = tOpp
		if ends && a.tFrom[j] < 0 && (j == tf || j == tl) {
			a.tOpp[j] = endConflict
		}
		cost += a.wordCost(s.listWeight(tid), a.tFrom[j] >= 0, a.tSim[j], a.tOpp[j], a.tFrom[j] >= 0 && a.qInit[a.tFrom[j]])
	}
	agree := (aq + at) / 2
	ratio := agree / (agree + cost)
	gate := 1.0
	// The information a match carries is what both sides agree on,
	// counted on the side where it is lower.
	if info := min(aq, at); info < minInfo {
		gate = math.Sqrt(info / minInfo)
	}
	if named < 2 {
		gate *= oneWordScale
	}
	score := ratio * gate
	if !explain {
		return score, nil
	}
	ex := &engine.NameExplanation{Score: round3(score), Aligned: a.aligned}
	norm := agree + cost
	addCost := func(word, side, why string, c float64) {
		if c >= 0.0005 {
			ex.Costs = append(ex.Costs, engine.NameCost{Word: word, Side: side, Why: why, Cost: round3(c)})
		}
	}
	for i := range qt {
		if a.qTo[i] < 0 {
			ex.UnmatchedQuery = append(ex.UnmatchedQuery, qt[i].text)
			addCost(qt[i].text, engine.NameSideQuery, leftOverWhy(a.qOpp[i], "listed name"), a.wordCost(qt[i].weight, false, 0, a.qOpp[i], false)/norm)
		}
	}
	for j, tid := range nr.tokens {
		if a.tFrom[j] < 0 {
			ex.UnmatchedList = append(ex.UnmatchedList, ix.tokens[tid].text)
			addCost(ix.tokens[tid].text, engine.NameSideList, leftOverWhy(a.tOpp[j], "traveller's name"), a.wordCost(s.listWeight(tid), false, 0, a.tOpp[j], false)/norm)
		}
	}
	for k, m := range a.aligned {
		e, c := a.ends[k], 0.0
		part, initial := false, false
		for _, i := range e.q {
			if i >= 0 {
				part, initial = part || a.qPart[i], initial || a.qInit[i]
			}
		}
		for _, i := range e.q {
			if i >= 0 {
				c += a.wordCost(qt[i].weight, true, a.qSim[i], 0, initial)
			}
		}
		for _, j := range e.t {
			if j >= 0 {
				c += a.wordCost(s.listWeight(nr.tokens[j]), true, a.tSim[j], 0, initial)
			}
		}
		why := "spelt differently (" + m.How + ")"
		switch {
		case part:
			why = "part of a longer word"
		case initial:
			why = "an initial for a name"
		}
		addCost(m.Query, "", why+": "+m.Query+" for "+m.List, c/norm)
	}
	if gate < 1 {
		why := "little information: the words that agree are common"
		if named < 2 {
			why = "little information: the traveller's name is one word"
		}
		addCost("", "", why, ratio*(1-gate))
	}
	return score, ex
}

// wordCost is what one word of a name comparison costs, counted on its
// side (a pair's cost is split between its two words). A name paired with
// an initial costs what the initial leaves unsaid, as a name left out.
//
// opposed is how much a left-over word stands against the other name's
// words: 0 for a name the other simply lacks, 1 for a word facing other
// left-over words, endConflict for a first or last word facing another.
func (a *alignment) wordCost(w float64, aligned bool, sim float64, opposed float64, initial bool) float64 {
	if aligned {
		if initial {
			return 0.5 * costMissing * w * (1 - sim)
		}
		return 0.5 * costDiffer * w * (1 - sim)
	}
	return 0.5 * w * (costDiffer*opposed + costMissing*max(0, 1-opposed))
}

// endWords returns the first and the last of n words that is a name (not a
// particle, title or initial), or -1, -1.
func endWords(n int, scale func(int) float64) (first, last int) {
	first, last = -1, -1
	for i := 0; i < n; i++ {
		if scale(i) >= kunyaScale {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	return first, last
}

// opposingWeight is how much a left-over word (of the given tokenScale)
// stands against the other name's left-over words: its weight, but at
// least oppositionFloor for any word but a particle, so that a common
// given name, a title or an initial in place of a rare name is still
// another word there.
func opposingWeight(scale, w float64) float64 {
	if scale >= titleScale {
		return max(w, oppositionFloor)
	}
	return w
}

func shareOf(x, of float64) float64 {
	if of <= 0 {
		return 0
	}
	return x / of
}

func leftOverWhy(opposed float64, other string) string {
	if opposed > 1 {
		return "no counterpart: the " + other + " has another name at this end"
	}
	if opposed >= 0.5 {
		return "no counterpart: the " + other + " has another word in its place"
	}
	return "no counterpart: not in the " + other
}

// listWeight is the weight of a listed word: its rarity, scaled down for
// particles and initials.
func (s *Screener) listWeight(tid uint32) float64 {
	return float64(s.ix.weight[tid]) * float64(s.ix.tokens[tid].scale)
}

// alignJoined pairs two adjacent unaligned words on one side with one
// unaligned word on the other when they are the same word written apart
// ("POUR NAGHSHBAND" / "POURNAGHSHBAND", "BIN LADEN" / "BINLADEN").
func (s *Screener) alignJoined(qt []queryToken, nr *nameRec, a *alignment) {
	ix := s.ix
	for i := 0; i+1 < len(qt); i++ {
		if a.qTo[i] >= 0 || a.qTo[i+1] >= 0 {
			continue
		}
		x, y := qt[i].text, qt[i+1].text
		for j, tid := range nr.tokens {
			t := ix.tokens[tid].text
			if a.tFrom[j] < 0 && len(t) == len(x)+len(y) && strings.HasPrefix(t, x) && strings.HasSuffix(t, y) {
				a.qTo[i], a.qTo[i+1], a.tFrom[j] = j, j, i
				a.qSim[i], a.qSim[i+1], a.tSim[j] = joinedAgreement, joinedAgreement, joinedAgreement
				if a.explain {
					a.aligned = append(a.aligned, engine.TokenMatch{Query: x + " " + y, List: t, How: "joined", Similarity: joinedAgreement, Weight: round3(s.listWeight(tid))})
					a.ends = append(a.ends, pairEnds{q: [3]int{i, i + 1, -1}, t: [3]int{j, -1, -1}})
				}
				break
			}
		}
	}
	for j := 0; j+1 < len(nr.tokens); j++ {
		if a.tFrom[j] >= 0 || a.tFrom[j+1] >= 0 {
			continue
		}
		x, y := ix.tokens[nr.tokens[j]].text, ix.tokens[nr.tokens[j+1]].text
		for i := range qt {
			q := qt[i].text
			if a.qTo[i] < 0 && len(q) == len(x)+len(y) && strings.HasPrefix(q, x) && strings.HasSuffix(q, y) {
				a.tFrom[j], a.tFrom[j+1], a.qTo[i] = i, i, j
				a.tSim[j], a.tSim[j+1], a.qSim[i] = joinedAgreement, joinedAgreement, joinedAgreement
				if a.explain {
					a.aligned = append(a.aligned, engine.TokenMatch{Query: q, List: x + " " + y, How: "joined", Similarity: joinedAgreement, Weight: round3(s.listWeight(nr.tokens[j]))})
					a.ends = append(a.ends, pairEnds{q: [3]int{i, -1, -1}, t: [3]int{j, j + 1, -1}})
				}
				break
			}
		}
	}
}

// Compounds written together or apart with another spelling: two or three
// adjacent words on one side (one may be an Arabic article, which a glued
// spelling assimilates: NASR AL DIN, NASREDDINE; AL DIN, EDDIN) and one
// word on the other.
const (
	compoundCloseness = 0.85 // the least spelling closeness of the glued words and the word
	compoundMaxWords  = 3
)

// alignCompounds pairs, among the words still unaligned, a run of two or
// three adjacent words on one side with one word on the other when the
// run glued together is a close spelling of that word (SEYED ALHOSSEINI /
// SEYEDOLHOSEINI, SAFI AL DIN / SAFIEDDINE), and the pairing agrees more
// than any pair those words could make alone. The words of the run agree
// as much as the spellings do, times joinedAgreement.
func (s *Screener) alignCompounds(qt []queryToken, nr *nameRec, a *alignment) {
	ix := s.ix
	// The words free for a compound: unaligned, and without a pair as good
	// as a compound can be (it agrees at most joinedAgreement).
	a.qFree = slices.Grow(a.qFree[:0], len(qt))[:len(qt)]
	a.tFree = slices.Grow(a.tFree[:0], len(nr.tokens))[:len(nr.tokens)]
	for i := range a.qFree {
		a.qFree[i] = a.qTo[i] < 0
	}
	for j := range a.tFree {
		a.tFree[j] = a.tFrom[j] < 0
	}
	for _, p := range a.pairs {
		if p.sim >= joinedAgreement {
			a.qFree[p.qi], a.tFree[p.tj] = false, false
		}
	}
	nq, nt := 0, 0
	for _, f := range a.qFree {
		nq += boolInt(f)
	}
	for _, f := range a.tFree {
		nt += boolInt(f)
	}
	if nq == 0 || nt == 0 || (nq < 2 && nt < 2) {
		return
	}
	a.qText = a.qText[:0]
	for i := range qt {
		a.qText = append(a.qText, qt[i].text)
	}
	a.tText = a.tText[:0]
	for _, tid := range nr.tokens {
		a.tText = append(a.tText, ix.tokens[tid].text)
	}
	var buf [64]byte
	// Runs on the query side against one listed word, then the reverse.
	for side := 0; side < 2; side++ {
		run, one, runFree, oneFree := a.qText, a.tText, a.qFree, a.tFree
		if side == 1 {
			run, one, runFree, oneFree = a.tText, a.qText, a.tFree, a.qFree
		}
		for i := 0; i+1 < len(run); i++ {
			for n := 2; n <= compoundMaxWords && i+n <= len(run); n++ {
				if !runFree[i+n-1] || (n == 2 && !runFree[i]) {
					break
				}
				if normalize.IsParticle(run[i+n-1]) {
					continue // an article belongs to the word after it (NASR AL is not NASRALLAH)
				}
				for assim := 0; assim < 2; assim++ {
					rl, first := runLen(run[i:i+n], assim == 1)
					if rl < 0 {
						continue
					}
					var glued []byte
					var gs string
					for j, w := range one {
						if !oneFree[j] || w[0] != first || abs(len(w)-rl) > 3 {
							continue
						}
						if glued == nil {
							var ok bool
							if glued, ok = glueRun(buf[:0], run[i:i+n], assim == 1); !ok {
								break
							}
						}
						if !endsAlike(w, glued) || consonantAfterFirst(w) != consonantAfterFirst(glued) || !closeEnough(glued, w) {
							continue // the compound does not start or end as the word does, or is too far off
						}
						if gs == "" {
							gs = string(glued)
						}
						c := spellingCloseness(gs, w)
						if c < compoundCloseness {
							continue
						}
						sim := joinedAgreement * (c - closeFloor) / (1 - closeFloor)
						qs, ts := []int{j}, make([]int, 0, n)
						for k := i; k < i+n; k++ {
							ts = append(ts, k)
						}
						if side == 0 {
							qs, ts = ts, qs
						}
						if a.bestPair(qs, true) >= sim || a.bestPair(ts, false) >= sim {
							continue
						}
						s.alignRun(qt, nr, a, qs, ts, sim)
						for _, k := range qs {
							a.qFree[k] = false
						}
						for _, k := range ts {
							a.tFree[k] = false
						}
						goto next
					}
				}
			}
		next:
		}
	}
}

// endsAlike reports whether two spellings end in the same letter, a final
// E or other vowel that one of them adds aside (NASRALDINE, NASR AL DIN).
func endsAlike(a string, b []byte) bool {
	x, y := a[len(a)-1], b[len(b)-1]
	switch {
	case x == y:
		return true
	case isVowel(x) && len(a) > 1 && !isVowel(y):
		return a[len(a)-2] == y
	case isVowel(y) && len(b) > 1 && !isVowel(x):
		return b[len(b)-2] == x
	}
	return false
}

// consonantAfterFirst is the first consonant after a word's first
// letter (0 for none): spellings of one word start with the same letter
// and, their vowels aside, the same next consonant.
func consonantAfterFirst[S string | []byte](w S) byte {
	for i := 1; i < len(w); i++ {
		if !isVowel(w[i]) {
			return w[i]
		}
	}
	return 0
}

// runLen is the length and the first letter of glueRun's result; the
// length is -1 when glueRun would find nothing to assimilate.
func runLen(run []string, assim bool) (int, byte) {
	l, found, first := 0, false, run[0][0]
	for k, t := range run {
		if k < len(run)-1 && assim && isArticle(t) {
			l += 2
			found = true
			if k == 0 {
				first = 'E'
			}
		} else {
			l += len(t)
		}
	}
	if assim && !found {
		return -1, 0
	}
	return l, first
}

func isArticle(t string) bool { return t == "AL" || t == "EL" || t == "UL" }

// closeEnough reports whether the spelling closeness of a and b can reach
// compoundCloseness, from a bound that costs less than the closeness: an
// insertion or deletion (at least costDouble) evens the two words' letter
// counts by one, a replacement (at least costVowel) by two. Words the
// closeness rewrites first (X, Q) or clips pass.
func closeEnough(a []byte, b string) bool {
	if len(a) > 32 || len(b) > 32 || bytes.IndexAny(a, "XQ") >= 0 || strings.IndexAny(b, "XQ") >= 0 {
		return true
	}
	var n [27]int8
	for _, c := range a {
		n[letterBit(c)]++
	}
	for i := 0; i < len(b); i++ {
		n[letterBit(b[i])]--
	}
	apart := 0
	for _, k := range n {
		apart += abs(int(k))
	}
	return min(costDouble, costVowel/2)*float64(apart) <= (1-compoundCloseness)*float64(max(len(a), len(b)))
}

// glueRun writes the words of a run together, an Arabic article before
// the last word as written (NASRALDIN, ALDIN) or, with assim, as a glued
// spelling assimilates it to the next word's first letter (NASREDDIN,
// EDDIN). ok is false when assim is asked and the run has no such
// article, or the result does not fit buf.
func glueRun(buf []byte, run []string, assim bool) ([]byte, bool) {
	found := false
	for k, t := range run {
		if k < len(run)-1 && assim && isArticle(t) {
			found = true
			buf = append(buf, 'E', run[k+1][0])
			continue
		}
		buf = append(buf, t...)
	}
	return buf, (found || !assim) && len(buf) <= 64
}

// bestPair is the best similarity of any word pair the query words qs (or
// the listed words, !query) could make.
func (a *alignment) bestPair(words []int, query bool) float64 {
	best := 0.0
	for _, p := range a.pairs {
		w := p.tj
		if query {
			w = p.qi
		}
		if slices.Contains(words, w) {
			best = max(best, p.sim)
		}
	}
	return best
}

// alignRun aligns query words qs with listed words ts (one side holds a
// single word), each at agreement sim.
func (s *Screener) alignRun(qt []queryToken, nr *nameRec, a *alignment, qs, ts []int, sim float64) {
	ix := s.ix
	for _, i := range qs {
		a.qTo[i], a.qSim[i] = ts[0], sim
	}
	for _, j := range ts {
		a.tFrom[j], a.tSim[j] = qs[0], sim
	}
	if !a.explain {
		return
	}
	e := pairEnds{q: [3]int{-1, -1, -1}, t: [3]int{-1, -1, -1}}
	var qw, tw []string
	for k, i := range qs {
		e.q[k] = i
		qw = append(qw, qt[i].text)
	}
	heaviest := 0.0
	for k, j := range ts {
		e.t[k] = j
		tw = append(tw, ix.tokens[nr.tokens[j]].text)
		heaviest = max(heaviest, s.listWeight(nr.tokens[j]))
	}
	a.aligned = append(a.aligned, engine.TokenMatch{Query: strings.Join(qw, " "), List: strings.Join(tw, " "), How: "joined", Similarity: round3(sim), Weight: round3(heaviest)})
	a.ends = append(a.ends, e)
}
