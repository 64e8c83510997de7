package match

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/watchpost/watchpost/engine"
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
	explain    bool
	aligned    []engine.TokenMatch
	memo       map[uint64]pairScore // (query word, indexed word) → similarity, for one screening
}

func (a *alignment) reset(nq, nt int, explain bool) {
	a.pairs = a.pairs[:0]
	a.qSim = resize(a.qSim, nq)
	a.tSim = resize(a.tSim, nt)
	a.qTo = fill(a.qTo, nq, -1)
	a.tFrom = fill(a.tFrom, nt, -1)
	a.explain = explain
	a.aligned = nil
}

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
	if min(len(t), len(q.text)) >= 4 {
		if jw := jaroWinkler(q.text, t); jw >= 0.80 {
			// Words of quite different lengths are rarely one name.
			return pairScore{jw * 0.95, "similar"}
		}
	}
	return pairScore{}
}

// scoreName aligns the query's words with a listed name's words and
// returns the name score in [0,1], with its explanation when a.explain.
func (s *Screener) scoreName(qt []queryToken, nr *nameRec, a *alignment, explain bool) (float64, *engine.NameExplanation) {
	ix := s.ix
	a.reset(len(qt), len(nr.tokens), explain)
	for i := range qt {
		for j, tid := range nr.tokens {
			key := uint64(i)<<32 | uint64(tid)
			ps, ok := a.memo[key]
			if !ok {
				ps = s.pairSim(&qt[i], tid)
				a.memo[key] = ps
			}
			if ps.sim >= minTokenSim {
				a.pairs = append(a.pairs, pair{i, j, ps.sim, ps.how})
			}
		}
	}
	slices.SortStableFunc(a.pairs, func(x, y pair) int { return cmp.Compare(y.sim, x.sim) })
	// Words written together on one side and apart on the other align
	// first, so the greedy pass cannot give away half of them.
	s.alignJoined(qt, nr, a)
	for _, p := range a.pairs {
		if a.qTo[p.qi] >= 0 || a.tFrom[p.tj] >= 0 {
			continue
		}
		a.qTo[p.qi], a.tFrom[p.tj] = p.tj, p.qi
		a.qSim[p.qi], a.tSim[p.tj] = p.sim, p.sim
		if explain {
			a.aligned = append(a.aligned, engine.TokenMatch{Query: qt[p.qi].text, List: ix.tokens[nr.tokens[p.tj]].text, How: p.how, Similarity: round3(p.sim),
				Weight: round3(float64(ix.tokens[nr.tokens[p.tj]].weight) * tokenScale(ix.tokens[nr.tokens[p.tj]].text))})
		}
	}
	var qAll, qGot, tAll, tGot float64
	for i := range qt {
		qAll += qt[i].weight
		qGot += qt[i].weight * a.qSim[i]
	}
	for j, tid := range nr.tokens {
		t := &ix.tokens[tid]
		w := float64(t.weight) * tokenScale(t.text)
		tAll += w
		tGot += w * a.tSim[j]
	}
	if qAll == 0 || tAll == 0 {
		return 0, nil
	}
	covQ, covT := qGot/qAll, tGot/tAll
	// The better-covered side counts most, so a name with a middle name
	// missing on one side still scores well; the other side keeps a long
	// query from matching a short listed name on one word.
	score := coverMix*max(covQ, covT) + (1-coverMix)*min(covQ, covT)
	// The information a match carries is what both sides agree on: the
	// rarity of the aligned words, counted on the side where it is lower.
	if info := min(qGot, tGot); info < minInfo {
		score *= math.Sqrt(info / minInfo)
	}
	if !explain {
		return score, nil
	}
	ex := &engine.NameExplanation{Score: round3(score), Aligned: a.aligned}
	for i := range qt {
		if a.qTo[i] < 0 {
			ex.UnmatchedQuery = append(ex.UnmatchedQuery, qt[i].text)
		}
	}
	for j, tid := range nr.tokens {
		if a.tFrom[j] < 0 {
			ex.UnmatchedList = append(ex.UnmatchedList, ix.tokens[tid].text)
		}
	}
	return score, ex
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
				a.qSim[i], a.qSim[i+1], a.tSim[j] = 0.95, 0.95, 0.95
				if a.explain {
					a.aligned = append(a.aligned, engine.TokenMatch{Query: x + " " + y, List: t, How: "joined", Similarity: 0.95, Weight: round3(float64(ix.tokens[tid].weight))})
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
				a.tSim[j], a.tSim[j+1], a.qSim[i] = 0.95, 0.95, 0.95
				if a.explain {
					a.aligned = append(a.aligned, engine.TokenMatch{Query: q, List: x + " " + y, How: "joined", Similarity: 0.95, Weight: round3(float64(ix.tokens[nr.tokens[j]].weight))})
				}
				break
			}
		}
	}
}
