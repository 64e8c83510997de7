package match

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/normalize"
)

// DocumentMatch is a row of a document-only list (stolen and lost travel
// documents) that holds a traveller's document number.
type DocumentMatch struct {
	List        string
	ListVersion uint64
	Action      string
	Document    engine.Document
}

// DocumentFinder looks document numbers up in document-only lists, which
// are too large to hold in memory. country "" matches any issuing state.
type DocumentFinder interface {
	LookupDocument(number, country string) ([]DocumentMatch, error)
}

// ErrEmptyQuery is returned for a traveller with neither a name nor a
// document number.
var ErrEmptyQuery = errors.New("query has neither a name nor a document number")

// Screener screens travellers against an Index and, optionally, against
// document-only lists. It is safe for concurrent use.
type Screener struct {
	ix    *Index
	docs  DocumentFinder
	cfg   Config
	pool  chan *scratch
	words *wordCache
}

// NewScreener returns a screener over ix; docs may be nil.
func NewScreener(ix *Index, docs DocumentFinder, cfg Config) *Screener {
	return &Screener{ix: ix, docs: docs, cfg: cfg.withDefaults(), pool: make(chan *scratch, 16), words: newWordCache()}
}

// With returns a screener over another edition of the index, with s's
// document lists and thresholds, taking over s's scratch memory.
func (s *Screener) With(ix *Index) *Screener {
	ns := NewScreener(ix, s.docs, s.cfg)
	ns.pool = s.pool // the scratch is reset after each screening; a large enough one serves any edition
	return ns
}

// HasDocuments reports whether the screener looks numbers up in
// document-only lists.
func (s *Screener) HasDocuments() bool { return s.docs != nil }

// Index returns the index the screener uses.
func (s *Screener) Index() *Index { return s.ix }

// Config returns the screener's thresholds with defaults filled in.
func (s *Screener) Config() Config { return s.cfg }

// Name scoring weights (see scoreName), chosen on the development set in
// engine/match/testdata/devset.
const (
	minInfo         = 1.2 // information a name match must carry to count fully (about two uncommon words)
	costDiffer      = 1.5 // cost per unit weight of a word standing against another, or of the agreement a pair lacks
	costMissing     = 0.6 // cost per unit weight of a word the other name simply lacks
	closeFloor      = 0.1 // spelling closeness at which a pair of words stops agreeing at all
	knownFloor      = 0.5 // the same when the query word is itself a listed word
	knownExempt     = 0.8 // spelling closeness from which a listed word is taken as a spelling of the other
	knownScale      = 0.5 // agreement left to a listed word aligned with another one less close than knownExempt
	oppositionFloor = 0.5 // the least a left-over name word stands against the other side's
	oneWordScale    = 0.8 // the most a one-word traveller's name can score, times its ratio
	endConflict     = 1.5 // how much a left-over first or last word stands against the other side's (1 = as any other)
)

// Scoring constants. Names give the score; the other features qualify it.
const (
	minTokenSim      = 0.15 // a word pair agreeing less than this is not aligned
	commonShare      = 200  // a word (with its variants) in more than 1/commonShare of the names is common
	minCommonDF      = 500
	maxQueryWords    = 32    // words of a name screened; more are ignored
	postingBudget    = 20000 // postings read to find candidate names, past the first word
	unknownWeight    = 0.8   // weight of a query word that no listed name has
	particleScale    = 0.1   // weight of al, bin, van… relative to the word's rarity
	titleScale       = 0.15  // weight of haji, mullah, dr, jr…
	kunyaScale       = 0.5   // weight of abu, abd
	initialScale     = 0.3   // weight of one-letter words
	joinedAgreement  = 0.95  // a word the other side writes as two, or with a glued particle
	prefixAgreement  = 0.95  // the cut last word of a name that filled its MRZ field
	initialAgreement = 0.9   // an initial and a name that starts with it, as far as the initial weighs
	partAgreement    = 0.45  // one half of a word the other side writes as two, times the half's share of its letters
	candidateFrac    = 0.3   // a name must cover this share of the query's weight to be scored

	dobExact      = 0.08
	dobSwapped    = 0.05
	dobCompatible = 0.04
	dobNear       = 0.0
	dobMismatch   = -0.15
	dobFarOff     = -0.30 // more than five years apart
	natSame       = 0.03
	natDiffers    = -0.05
	sexDiffers    = -0.15
	docExact      = 1.0
	docNoCountry  = 0.95
)

type candToken struct {
	id  uint32
	sim float64
	how string
}

type queryToken struct {
	text    string
	weight  float64
	scale   float64 // tokenScale of the text
	letters uint32  // letterSet of the text
	known   bool    // a live name holds the text
	cands   []candToken
}

type scratch struct {
	qt        []queryToken
	slots     []slot   // by name id
	dense     []uint64 // by name id: last listed word's id, query words seen, last query word
	touched   []uint32
	sel       []uint32
	order     []int
	later     []laterCredit
	laterMark []bool // by token id: a candidate word of a later query word
	align     alignment
}

// slot is the running tally of one name during a screening, kept in one
// place so that crediting a name touches one cache line.
type slot struct {
	acc     float32 // weight of the query covered so far (an upper bound)
	contrib float32 // contribution of the query word last credited
	stamp   int32   // that query word, 1-based; 0 = not touched
	count   uint8   // query words credited
	touched bool
}

type laterCredit struct {
	tok   uint32
	stamp int32
	v     float32
}

func (s *Screener) getScratch() *scratch {
	n := len(s.ix.names)
	nt := len(s.ix.tokens)
	for len(s.pool) > 0 {
		select {
		case sc := <-s.pool:
			if len(sc.slots) >= n && len(sc.laterMark) >= nt {
				return sc
			}
			// From an edition before deltas grew the index: dropped.
		default:
		}
	}
	// Room for the names and words of a few deltas: the screeners of
	// later editions (With) take the scratch over.
	n, nt = n+n/8, nt+nt/8
	return &scratch{slots: make([]slot, n), align: alignment{memoStamp: make([]uint32, nt), memoAt: make([]uint32, nt), stamp: 1}, laterMark: make([]bool, nt)}
}

func (s *Screener) putScratch(sc *scratch) {
	for _, n := range sc.touched {
		sc.slots[n] = slot{}
	}
	sc.touched = sc.touched[:0]
	sc.align.newScreening()
	select {
	case s.pool <- sc:
	default:
	}
}

// Screen returns the hits for one traveller, best first. Results are
// deterministic: equal scores are ordered by list and entry id.
func (s *Screener) Screen(q *engine.Query) ([]engine.Hit, error) {
	dob, err := engine.ParseBirthDate(q.BirthDate)
	if err != nil {
		return nil, err
	}
	if dob.Approx || dob.Precision() == engine.PrecisionRange {
		return nil, fmt.Errorf("birth date %q: a traveller's birth date is YYYY-MM-DD, YYYY-MM or YYYY", q.BirthDate)
	}
	name, _ := engine.CapName(q.FullName()) // the doors report the cut
	docKey := engine.DocumentKey(q.DocumentNumber)
	if strings.TrimSpace(name) == "" && docKey == "" {
		return nil, ErrEmptyQuery
	}
	qs := querySide{dob: dob, nat: strings.ToUpper(strings.TrimSpace(q.Nationality)), sex: normSex(q.Sex)}
	byEntry := make(map[uint32]*engine.Hit)
	var hits []engine.Hit
	if toks := normalize.Tokens(name); len(toks) > 0 {
		s.screenName(toks, q.NameTruncated, &qs, byEntry)
	}
	if docKey != "" {
		country := strings.ToUpper(strings.TrimSpace(q.DocumentCountry))
		s.screenEntryDocuments(docKey, country, &qs, byEntry)
		if s.docs != nil {
			found, err := s.docs.LookupDocument(q.DocumentNumber, country)
			if err != nil {
				return nil, fmt.Errorf("look up document: %w", err)
			}
			for _, d := range found {
				hits = append(hits, s.documentListHit(d, country))
			}
		}
	}
	for _, h := range byEntry {
		if h.Score >= s.cfg.PossibleThreshold {
			h.Band = s.band(h.Score)
			hits = append(hits, *h)
		}
	}
	slices.SortFunc(hits, func(a, b engine.Hit) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := strings.Compare(a.List, b.List); c != 0 {
			return c
		}
		return strings.Compare(a.EntryID, b.EntryID)
	})
	if len(hits) > s.cfg.MaxHits {
		hits = hits[:s.cfg.MaxHits]
	}
	return hits, nil
}

func (s *Screener) band(score float64) engine.Band {
	if score >= s.cfg.MatchThreshold {
		return engine.BandMatch
	}
	return engine.BandPossible
}

type querySide struct {
	dob engine.BirthDate
	nat string
	sex string
}

func normSex(s string) string {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "M", "MALE":
		return "M"
	case "F", "FEMALE":
		return "F"
	}
	return ""
}

// tokenScale is the share of a word's rarity that counts: particles and
// initials say little about who someone is.
func tokenScale(t string) float64 {
	switch {
	case len(t) == 1:
		return initialScale
	case t == "ABU" || t == "ABD" || t == "ABOU":
		return kunyaScale
	case normalize.IsParticle(t):
		return particleScale
	case normalize.IsTitle(t):
		return titleScale
	}
	return 1
}

func (s *Screener) screenName(toks []string, truncated bool, qs *querySide, byEntry map[uint32]*engine.Hit) {
	ix := s.ix
	if ix.live == 0 {
		return
	}
	if len(toks) > maxQueryWords {
		toks = toks[:maxQueryWords]
	}
	sc := s.getScratch()
	defer s.putScratch(sc)
	qt := slices.Grow(sc.qt[:0], len(toks))[:len(toks)]
	clear(qt)
	sc.qt = qt
	for i, t := range toks {
		qt[i].text = t
		if truncated && i == len(toks)-1 {
			qt[i].cands = s.candidates(t, true, false, nil)
		} else if c, ok := s.words.get(t); ok {
			qt[i].cands = c
		} else {
			qt[i].cands = s.words.put(t, s.candidates(t, false, false, nil))
		}
		// The query word weighs what its best-matching indexed word
		// weighs (the heaviest of equally good ones, so that the order in
		// which words were indexed does not matter); a word found nowhere
		// weighs as a rare word.
		w, best := unknownWeight, -1.0
		for _, c := range qt[i].cands {
			if cw := float64(ix.weight[c.id]); c.sim > best || (c.sim == best && cw > w) {
				best, w = c.sim, cw
			}
		}
		qt[i].scale = tokenScale(t)
		qt[i].letters = letterSet(t)
		// candidates enters the word itself first when a live name holds it.
		qt[i].known = len(qt[i].cands) > 0 && qt[i].cands[0].how == "exact"
		qt[i].weight = w * qt[i].scale
	}
	// Two query words the list writes as one ("MOZAFFARI NIA" / "MOZAFFARINIA").
	for i := 0; i+1 < len(qt); i++ {
		if id, ok := ix.lookup(toks[i] + toks[i+1]); ok {
			qt[i].cands = append(qt[i].cands, candToken{id: id, sim: joinedAgreement, how: "joined"})
			qt[i+1].cands = append(qt[i+1].cands, candToken{id: id, sim: joinedAgreement, how: "joined"})
			if w := float64(ix.weight[id]); w > qt[i+1].weight {
				qt[i+1].weight = w * qt[i+1].scale
			}
		}
	}
	total := 0.0
	for _, q := range qt {
		total += q.weight
	}
	// A name is scored only if its words cover enough of the query's
	// weight: a share of it, and at least what the information scaling
	// lets reach the possible band with the best birth date and
	// nationality bonus (score <= sqrt(acc/minInfo) below minInfo).
	reach := max(0, s.cfg.PossibleThreshold-dobExact-natSame)
	floor := max(candidateFrac*total, minInfo*reach*reach)
	// Exact pruning: the costliest words (longest posting lists) whose
	// weights together stay under the floor cannot find a qualifying name
	// on their own, so only the other words' postings introduce names;
	// the costly words then only add to the names found.
	order := sc.order[:0]
	for qi := range qt {
		if qt[qi].scale == 1 || len(qt) == 1 {
			order = append(order, qi)
		}
	}
	cost := func(qi int) int {
		c := 0
		for _, ct := range qt[qi].cands {
			c += len(ix.post[ct.id])
		}
		return c
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(cost(a), cost(b)) })
	split, tail := len(order), 0.0
	for split > 0 && tail+qt[order[split-1]].weight < floor {
		split--
		tail += qt[order[split]].weight
	}
	// Heuristic on top: when two words of ordinary frequency find the
	// names, words common in the lists (MOHAMMED, ALI) only add to them.
	common := max(minCommonDF, ix.live/commonShare)
	rare := 0
	for _, qi := range order[:split] {
		if cost(qi) <= common {
			rare++
		}
	}
	for rare >= 2 && split > 0 && cost(order[split-1]) > common {
		split--
	}
	// Bounded work. When the cheapest words already make a long read,
	// the name is made of words common in the lists; then a candidate
	// must hold at least two of the query's words (one common word says
	// little about who someone is), and past a budget of postings, further
	// words only add to the names already found.
	spent := 0
	for i, qi := range order[:split] {
		if i >= 2 && spent+cost(qi) > postingBudget {
			split = i
			break
		}
		spent += cost(qi)
	}
	dense := spent > postingBudget && split >= 2
	sel := sc.sel[:0]
	if dense {
		// Names made of words common in the lists: count, in a compact
		// array that stays in cache, which names hold two or more of the
		// words, and score only those. Their tallies are then computed
		// from all the query's words, as for later words below.
		d := sc.dense
		if len(d) < len(ix.names) {
			d = make([]uint64, len(ix.names))
			sc.dense = d
		}
		for _, qi := range order[:split] {
			st := uint64(qi + 1)
			for _, c := range qt[qi].cands {
				tok := uint64(c.id) << 32
				for _, n := range ix.post[c.id] {
					x := d[n]
					if x&0xff == st || (x != 0 && x&^0xffffffff == tok) {
						// This word again (another of its variants), or
						// another query word on the same listed word
						// (MOHAMMED for both MOHAMMAD and MOHAMMADI).
						continue
					}
					cnt := (x>>8)&0xff + 1
					d[n] = tok | cnt<<8 | st
					if cnt == 2 {
						sel = append(sel, n)
					}
				}
			}
		}
		clear(d)
		for _, n := range sel {
			sc.credit(n, 0, 0) // enter the name in the tally, to be reset after
		}
		split = 0 // every word is credited below, name by name
	} else {
		for _, qi := range order[:split] {
			q := &qt[qi]
			stamp := int32(qi + 1)
			for _, c := range q.cands {
				v := float32(q.weight * c.sim)
				for _, n := range ix.post[c.id] {
					sc.credit(n, stamp, v)
				}
			}
		}
		sel = append(sel, sc.touched...)
	}
	// Rank candidates by the weight they cover, lifted when the birth
	// year agrees: in a large list many namesakes cover the same weight.
	lift := float32(0.1 * total)
	h := &candHeap{ix: ix}
	rank := func(n uint32) {
		a := sc.slots[n].acc
		if float64(a) < floor {
			return
		}
		full := h.Len() >= s.cfg.MaxCandidates
		if full && a+lift < h.c[0].acc {
			return // weaker than every kept one even with the lift: no need to read the name
		}
		nr := &ix.names[n]
		if !s.cfg.IncludeEntities && !nr.person {
			return
		}
		if qs.dob.Year != 0 && (!full || a+lift >= h.c[0].acc) && ix.entries[nr.entry].birthYearAgrees(qs.dob.Year) {
			a += lift
		}
		if !full {
			h.push(cand{n, a})
		} else if c := (cand{n, a}); h.weaker(h.c[0], c) {
			h.c[0] = c
			h.down(0)
		}
	}
	if split < len(order) {
		// The remaining words' candidate words, looked up for each word of
		// each name found, and the name ranked while it is at hand. A name
		// that cannot reach the floor even with all of them is skipped, and
		// so is one that could not enter the full ranking.
		laterTotal := 0.0
		for _, qi := range order[split:] {
			laterTotal += qt[qi].weight
		}
		later := sc.later[:0]
		for _, qi := range order[split:] {
			for _, c := range qt[qi].cands {
				later = append(later, laterCredit{tok: c.id, stamp: int32(qi + 1), v: float32(qt[qi].weight * c.sim)})
				sc.laterMark[c.id] = true
			}
		}
		var best [maxQueryWords + 1]float32
		for _, n := range sel {
			a := float64(sc.slots[n].acc)
			if a+laterTotal < floor {
				continue
			}
			// The margin covers the rounding of the float32 tallies.
			if h.Len() >= s.cfg.MaxCandidates && a+laterTotal+float64(lift)+1e-3 < float64(h.c[0].acc) {
				continue
			}
			for _, t := range ix.names[n].tokens {
				if !sc.laterMark[t] {
					continue
				}
				for _, lc := range later {
					if lc.tok == t {
						best[lc.stamp] = max(best[lc.stamp], lc.v)
					}
				}
			}
			for _, qi := range order[split:] {
				if v := best[qi+1]; v > 0 {
					sc.slots[n].acc += v
					best[qi+1] = 0
				}
			}
			rank(n)
		}
		for _, lc := range later {
			sc.laterMark[lc.tok] = false
		}
		sc.later = later
	} else {
		for _, n := range sel {
			rank(n)
		}
	}
	sc.sel = sel
	sc.order = order
	type best struct {
		name  uint32
		score float64
	}
	// Each entry's best name among the candidates, in a slice: there are
	// at most MaxCandidates.
	type keptHit struct {
		entry uint32
		best
	}
	ranked := make([]keptHit, 0, len(h.c))
	for _, c := range h.c {
		nr := &ix.names[c.name]
		nameScore, _ := s.scoreName(qt, nr, &sc.align, false)
		if nameScore < s.cfg.PossibleThreshold-0.25 {
			continue
		}
		score, _ := qualify(nameScore, qs, &ix.entries[nr.entry], false)
		k := slices.IndexFunc(ranked, func(k keptHit) bool { return k.entry == nr.entry })
		if k < 0 {
			ranked = append(ranked, keptHit{nr.entry, best{c.name, score}})
			continue
		}
		if prev := ranked[k].best; prev.score > score || (prev.score == score && prev.name < c.name) {
			continue
		}
		ranked[k].best = best{c.name, score}
	}
	// Explain only the hits that can be returned.
	ranked = slices.DeleteFunc(ranked, func(k keptHit) bool { return k.score < s.cfg.PossibleThreshold })
	slices.SortFunc(ranked, func(x, y keptHit) int {
		if c := cmp.Compare(y.score, x.score); c != 0 {
			return c
		}
		return ix.compareEntries(x.entry, y.entry)
	})
	if len(ranked) > s.cfg.MaxHits {
		ranked = ranked[:s.cfg.MaxHits]
	}
	for _, k := range ranked {
		entry, b := k.entry, k.best
		nr := &ix.names[b.name]
		e := &ix.entries[entry]
		nameScore, nameEx := s.scoreName(qt, nr, &sc.align, true)
		_, ex := qualify(nameScore, qs, e, true)
		ex.Name = nameEx
		byEntry[entry] = &engine.Hit{
			List:        ix.lists[e.list].info.Name,
			ListVersion: ix.lists[e.list].info.Version,
			EntryID:     e.id,
			Score:       round3(b.score),
			MatchedName: nr.display,
			Action:      ix.lists[e.list].info.Action,
			Explanation: ex,
		}
	}
}

// credit adds query word stamp's contribution v to name n, counting each
// query word once per name (its best-matching word).
func (sc *scratch) credit(n uint32, stamp int32, v float32) {
	sl := &sc.slots[n]
	switch {
	case !sl.touched:
		sc.touched = append(sc.touched, n)
		*sl = slot{acc: v, contrib: v, stamp: stamp, count: 1, touched: true}
	case sl.stamp != stamp:
		sl.stamp, sl.contrib = stamp, v
		sl.acc += v
		sl.count++
	case v > sl.contrib:
		sl.acc += v - sl.contrib
		sl.contrib = v
	}
}

// birthYearAgrees reports whether a birth year fits any listed date
// within a year (or its range).
func birthYearAgrees(y int, listed []engine.BirthDate) bool {
	for _, d := range listed {
		hi := d.Year
		if d.ToYear > hi {
			hi = d.ToYear
		}
		if y >= d.Year-1 && y <= hi+1 {
			return true
		}
	}
	return false
}

type cand struct {
	name uint32
	acc  float32
}

// candHeap is a min-heap on acc, so the root is the weakest kept
// candidate. Ties go by list, entry id and the name's place in its entry
// (the later is the weaker), never by the order names were indexed in, so
// that an index updated in place keeps the candidates a fresh build keeps.
type candHeap struct {
	c  []cand
	ix *Index
}

// weaker reports whether a ranks below b.
func (h *candHeap) weaker(a, b cand) bool {
	if a.acc != b.acc {
		return a.acc < b.acc
	}
	return h.ix.compareNames(a.name, b.name) > 0
}

func (h *candHeap) Len() int { return len(h.c) }

// push adds c, and down restores the order below i after h.c[i] grew:
// the sift steps of container/heap, without its interface calls and the
// boxing of each candidate.
func (h *candHeap) push(c cand) {
	h.c = append(h.c, c)
	for j := len(h.c) - 1; j > 0; {
		i := (j - 1) / 2
		if i == j || !h.weaker(h.c[j], h.c[i]) {
			break
		}
		h.c[i], h.c[j] = h.c[j], h.c[i]
		j = i
	}
}

func (h *candHeap) down(i int) {
	n := len(h.c)
	for {
		j := 2*i + 1
		if j >= n || j < 0 {
			return
		}
		if j2 := j + 1; j2 < n && h.weaker(h.c[j2], h.c[j]) {
			j = j2
		}
		if !h.weaker(h.c[j], h.c[i]) {
			return
		}
		h.c[i], h.c[j] = h.c[j], h.c[i]
		i = j
	}
}

// compareEntries orders entries by list, then id.
func (ix *Index) compareEntries(a, b uint32) int {
	x, y := &ix.entries[a], &ix.entries[b]
	if c := cmp.Compare(x.list, y.list); c != 0 {
		return c
	}
	return strings.Compare(x.id, y.id)
}

// compareNames orders names by entry (compareEntries), then by their
// place among the entry's names.
func (ix *Index) compareNames(a, b uint32) int {
	ea, eb := ix.names[a].entry, ix.names[b].entry
	if ea == eb {
		return cmp.Compare(a, b)
	}
	return ix.compareEntries(ea, eb)
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
