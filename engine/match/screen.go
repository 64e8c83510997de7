package match

import (
	"cmp"
	"container/heap"
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
	ix   *Index
	docs DocumentFinder
	cfg  Config
	pool chan *scratch
}

// NewScreener returns a screener over ix; docs may be nil.
func NewScreener(ix *Index, docs DocumentFinder, cfg Config) *Screener {
	return &Screener{ix: ix, docs: docs, cfg: cfg.withDefaults(), pool: make(chan *scratch, 16)}
}

// Index returns the index the screener uses.
func (s *Screener) Index() *Index { return s.ix }

// Config returns the screener's thresholds with defaults filled in.
func (s *Screener) Config() Config { return s.cfg }

// Scoring constants. Names give the score; the other features qualify it.
const (
	minTokenSim   = 0.75 // a word pair below this is not aligned
	unknownWeight = 0.8  // weight of a query word that no listed name has
	coverMix      = 0.7  // share of the better-covered side in the name score
	particleScale = 0.1  // weight of al, bin, van… relative to the word's rarity
	kunyaScale    = 0.5  // weight of abu, abd
	initialScale  = 0.3  // weight of one-letter words
	minInfo       = 1.2  // rarity that a name match must carry to count fully (about two uncommon words)
	candidateFrac = 0.3  // a name must cover this share of the query's weight to be scored
	commonShare   = 50   // a word in more than 1/commonShare of the names is "common"
	minCommonDF   = 2000

	dobExact      = 0.08
	dobSwapped    = 0.05
	dobCompatible = 0.04
	dobNear       = 0.0
	dobMismatch   = -0.20
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
	text   string
	weight float64
	cands  []candToken
}

type scratch struct {
	acc     []float32
	contrib []float32
	stamp   []int32
	touched []uint32
}

func (s *Screener) getScratch() *scratch {
	select {
	case sc := <-s.pool:
		return sc
	default:
	}
	n := len(s.ix.names)
	return &scratch{acc: make([]float32, n), contrib: make([]float32, n), stamp: make([]int32, n)}
}

func (s *Screener) putScratch(sc *scratch) {
	for _, n := range sc.touched {
		sc.acc[n], sc.contrib[n], sc.stamp[n] = 0, 0, 0
	}
	sc.touched = sc.touched[:0]
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
	name := q.FullName()
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
	}
	return 1
}

// candidates finds the indexed words a query word may stand for, with how
// similar each is.
//
// inner marks a lookup of part of a word, which is not split again.
func (s *Screener) candidates(q string, truncated, inner bool, out []candToken) []candToken {
	ix := s.ix
	add := func(id uint32, sim float64, how string) {
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
	if id, ok := ix.byText[q]; ok {
		add(id, 1, "exact")
	}
	qVowel := isVowel(q[0])
	if sk := normalize.Skeleton(q); len(sk) >= 2 {
		for _, id := range ix.bySkel[sk] {
			t := &ix.tokens[id]
			if t.vowelStart == qVowel && t.text != q {
				add(id, 0.80+0.15*jaroWinkler(q, t.text), "variant")
			}
		}
	} else if len(q) <= shortWord {
		for _, id := range ix.bySkel[sk] {
			t := &ix.tokens[id]
			if len(t.text) <= shortWord && t.text != q {
				add(id, 0.75+0.1*jaroWinkler(q, t.text), "variant")
			}
		}
	}
	if len(q) >= minDeleteLen-1 {
		var buf [64]byte
		lookup := func(key []byte) {
			for _, id := range ix.byDel[string(key)] {
				t := &ix.tokens[id]
				if t.text == q {
					continue
				}
				jw := jaroWinkler(q, t.text)
				switch {
				case withinOneEdit(q, t.text):
					add(id, min(0.95, max(0.88, jw)), "typo")
				case jw >= 0.88:
					add(id, 0.95*jw, "typo")
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
					add(c.id, 0.97*c.sim, "joined")
				}
			}
		}
		// A word the list writes as two ("POURNAGHSHBAND" / "POUR NAGHSHBAND").
		for k := 3; k+3 <= len(q); k++ {
			l, okL := ix.byText[q[:k]]
			r, okR := ix.byText[q[k:]]
			if okL && okR {
				add(l, 0.95, "joined")
				add(r, 0.95, "joined")
			}
		}
	}
	for _, id := range ix.byStrip[q] {
		add(id, 0.95, "joined")
	}
	if truncated && len(q) >= 3 {
		lo, _ := slices.BinarySearchFunc(ix.sorted, q, func(id uint32, q string) int { return strings.Compare(ix.tokens[id].text, q) })
		for i := lo; i < len(ix.sorted) && i < lo+64; i++ {
			t := ix.tokens[ix.sorted[i]].text
			if !strings.HasPrefix(t, q) {
				break
			}
			if t != q {
				add(ix.sorted[i], 0.95, "prefix")
			}
		}
	}
	return out
}

func (s *Screener) screenName(toks []string, truncated bool, qs *querySide, byEntry map[uint32]*engine.Hit) {
	ix := s.ix
	if len(ix.names) == 0 {
		return
	}
	qt := make([]queryToken, len(toks))
	common := max(int32(minCommonDF), int32(len(ix.names)/commonShare))
	rare := 0
	for i, t := range toks {
		qt[i].text = t
		qt[i].cands = s.candidates(t, truncated && i == len(toks)-1, false, nil)
		// The query word weighs what its best-matching indexed word
		// weighs; a word found nowhere weighs as a rare word.
		w, best, hasRare := unknownWeight, -1.0, false
		for _, c := range qt[i].cands {
			tk := &ix.tokens[c.id]
			if c.sim > best {
				best, w = c.sim, float64(tk.weight)
			}
			if tk.df <= common {
				hasRare = true
			}
		}
		qt[i].weight = w * tokenScale(t)
		if hasRare {
			rare++
		}
	}
	// Two query words the list writes as one ("MOZAFFARI NIA" / "MOZAFFARINIA").
	for i := 0; i+1 < len(qt); i++ {
		if id, ok := ix.byText[toks[i]+toks[i+1]]; ok {
			qt[i].cands = append(qt[i].cands, candToken{id: id, sim: 0.95, how: "joined"})
			qt[i+1].cands = append(qt[i+1].cands, candToken{id: id, sim: 0.95, how: "joined"})
			if w := float64(ix.tokens[id].weight); w > qt[i+1].weight {
				qt[i+1].weight = w * tokenScale(toks[i+1])
			}
		}
	}
	total := 0.0
	for _, q := range qt {
		total += q.weight
	}
	sc := s.getScratch()
	defer s.putScratch(sc)
	for qi, q := range qt {
		stamp := int32(qi + 1)
		for _, c := range q.cands {
			if ix.tokens[c.id].df > common && rare >= 2 {
				continue // common words only add to names that rarer words found
			}
			v := float32(q.weight * c.sim)
			for _, n := range ix.post[c.id] {
				switch {
				case sc.stamp[n] == 0:
					sc.touched = append(sc.touched, n)
					sc.stamp[n], sc.contrib[n] = stamp, v
					sc.acc[n] += v
				case sc.stamp[n] != stamp:
					sc.stamp[n], sc.contrib[n] = stamp, v
					sc.acc[n] += v
				case v > sc.contrib[n]:
					sc.acc[n] += v - sc.contrib[n]
					sc.contrib[n] = v
				}
			}
		}
	}
	floor := float32(candidateFrac * total)
	h := &candHeap{}
	for _, n := range sc.touched {
		a := sc.acc[n]
		if a < floor {
			continue
		}
		if !s.cfg.IncludeEntities && ix.entries[ix.names[n].entry].kind != engine.KindPerson {
			continue
		}
		if h.Len() < s.cfg.MaxCandidates {
			heap.Push(h, cand{n, a})
		} else if a > (*h)[0].acc || (a == (*h)[0].acc && n < (*h)[0].name) {
			(*h)[0] = cand{n, a}
			heap.Fix(h, 0)
		}
	}
	for _, c := range *h {
		nr := &ix.names[c.name]
		nameScore, expl := s.scoreName(qt, truncated, nr)
		if nameScore < s.cfg.PossibleThreshold-0.25 {
			continue
		}
		e := &ix.entries[nr.entry]
		score, ex := qualify(nameScore, qs, e)
		ex.Name = expl
		if prev, ok := byEntry[nr.entry]; ok && prev.Score >= score {
			continue
		}
		byEntry[nr.entry] = &engine.Hit{
			List:        ix.lists[e.list].info.Name,
			ListVersion: ix.lists[e.list].info.Version,
			EntryID:     e.id,
			Score:       round3(score),
			MatchedName: nr.display,
			Action:      ix.lists[e.list].info.Action,
			Explanation: ex,
		}
	}
}

type cand struct {
	name uint32
	acc  float32
}

// candHeap is a min-heap on acc (ties: larger name id first out), so the
// root is the weakest kept candidate.
type candHeap []cand

func (h candHeap) Len() int { return len(h) }
func (h candHeap) Less(i, j int) bool {
	if h[i].acc != h[j].acc {
		return h[i].acc < h[j].acc
	}
	return h[i].name > h[j].name
}
func (h candHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candHeap) Push(x any)   { *h = append(*h, x.(cand)) }
func (h *candHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type pair struct {
	qi, tj int
	sim    float64
	how    string
}

// scoreName aligns the query's words with a listed name's words and
// returns the name score in [0,1] with its explanation.
func (s *Screener) scoreName(qt []queryToken, truncated bool, nr *nameRec) (float64, *engine.NameExplanation) {
	ix := s.ix
	var pairs []pair
	for i := range qt {
		for j, tid := range nr.tokens {
			sim, how := 0.0, ""
			for _, c := range qt[i].cands {
				if c.id == tid {
					sim, how = c.sim, c.how
					break
				}
			}
			if sim == 0 {
				t := ix.tokens[tid].text
				if jw := jaroWinkler(qt[i].text, t); jw >= 0.80 && min(len(t), len(qt[i].text)) >= 4 {
					sim, how = jw*0.95, "similar"
				}
			}
			if sim >= minTokenSim {
				pairs = append(pairs, pair{i, j, sim, how})
			}
		}
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return cmp.Compare(b.sim, a.sim) })
	qSim := make([]float64, len(qt))
	qTo := make([]int, len(qt))
	tSim := make([]float64, len(nr.tokens))
	tFrom := make([]int, len(nr.tokens))
	for i := range qTo {
		qTo[i] = -1
	}
	for j := range tFrom {
		tFrom[j] = -1
	}
	// Words written together on one side and apart on the other align
	// first, so the greedy pass cannot give away half of them.
	aligned := s.alignJoined(qt, nr, qTo, tFrom, qSim, tSim, nil)
	for _, p := range pairs {
		if qTo[p.qi] >= 0 || tFrom[p.tj] >= 0 {
			continue
		}
		qTo[p.qi], tFrom[p.tj] = p.tj, p.qi
		qSim[p.qi], tSim[p.tj] = p.sim, p.sim
		aligned = append(aligned, engine.TokenMatch{Query: qt[p.qi].text, List: ix.tokens[nr.tokens[p.tj]].text, How: p.how, Similarity: round3(p.sim)})
	}
	tWeight := func(j int) float64 {
		t := &ix.tokens[nr.tokens[j]]
		return float64(t.weight) * tokenScale(t.text)
	}
	var qAll, qGot, tAll, tGot float64
	for i := range qt {
		qAll += qt[i].weight
		qGot += qt[i].weight * qSim[i]
	}
	for j := range nr.tokens {
		w := tWeight(j)
		tAll += w
		tGot += w * tSim[j]
	}
	// The information a match carries is what both sides agree on: the
	// rarity of the aligned words, counted on the side where it is lower.
	info := min(qGot, tGot)
	for k := range aligned {
		for j := range nr.tokens {
			if tFrom[j] >= 0 && ix.tokens[nr.tokens[j]].text == aligned[k].List {
				aligned[k].Weight = round3(tWeight(j))
				break
			}
		}
	}
	if qAll == 0 || tAll == 0 {
		return 0, nil
	}
	covQ, covT := qGot/qAll, tGot/tAll
	// The better-covered side counts most, so a name with a middle name
	// missing on one side still scores well; the other side keeps a long
	// query from matching a short listed name on one word.
	score := coverMix*max(covQ, covT) + (1-coverMix)*min(covQ, covT)
	if info < minInfo {
		score *= math.Sqrt(info / minInfo)
	}
	ex := &engine.NameExplanation{Score: round3(score), Aligned: aligned}
	for i := range qt {
		if qTo[i] < 0 {
			ex.UnmatchedQuery = append(ex.UnmatchedQuery, qt[i].text)
		}
	}
	for j, tid := range nr.tokens {
		if tFrom[j] < 0 {
			ex.UnmatchedList = append(ex.UnmatchedList, ix.tokens[tid].text)
		}
	}
	return score, ex
}

// alignJoined pairs two adjacent unaligned words on one side with one
// unaligned word on the other when they are the same word written apart
// ("ABDUL RAHMAN" / "ABDULRAHMAN", "BIN LADEN" / "BINLADEN").
func (s *Screener) alignJoined(qt []queryToken, nr *nameRec, qTo, tFrom []int, qSim, tSim []float64, aligned []engine.TokenMatch) []engine.TokenMatch {
	ix := s.ix
	for i := 0; i+1 < len(qt); i++ {
		if qTo[i] >= 0 || qTo[i+1] >= 0 {
			continue
		}
		joined := qt[i].text + qt[i+1].text
		for j, tid := range nr.tokens {
			if tFrom[j] < 0 && ix.tokens[tid].text == joined {
				qTo[i], qTo[i+1], tFrom[j] = j, j, i
				qSim[i], qSim[i+1], tSim[j] = 0.95, 0.95, 0.95
				aligned = append(aligned, engine.TokenMatch{Query: qt[i].text + " " + qt[i+1].text, List: joined, How: "joined", Similarity: 0.95})
				break
			}
		}
	}
	for j := 0; j+1 < len(nr.tokens); j++ {
		if tFrom[j] >= 0 || tFrom[j+1] >= 0 {
			continue
		}
		a, b := ix.tokens[nr.tokens[j]].text, ix.tokens[nr.tokens[j+1]].text
		for i := range qt {
			if qTo[i] < 0 && qt[i].text == a+b {
				tFrom[j], tFrom[j+1], qTo[i] = i, i, j
				tSim[j], tSim[j+1], qSim[i] = 0.95, 0.95, 0.95
				aligned = append(aligned, engine.TokenMatch{Query: qt[i].text, List: a + " " + b, How: "joined", Similarity: 0.95})
				break
			}
		}
	}
	return aligned
}

// qualify adjusts a name score by birth date, nationality and sex, and
// explains each.
func qualify(nameScore float64, qs *querySide, e *entryRec) (float64, engine.Explanation) {
	var ex engine.Explanation
	score := nameScore
	adj, why := dobRelation(qs.dob, e.birthDates)
	score += adj
	ex.BirthDate = why
	switch {
	case qs.nat == "" || len(e.nats) == 0:
		ex.Nationality = "not compared"
	case slices.Contains(e.nats, qs.nat):
		score += natSame
		ex.Nationality = "same (" + qs.nat + ")"
	default:
		score += natDiffers
		ex.Nationality = "differs (" + qs.nat + " vs listed " + strings.Join(e.nats, ", ") + ")"
	}
	switch {
	case qs.sex == "" || e.sex == "":
		ex.Sex = "not compared"
	case qs.sex == e.sex:
		ex.Sex = "same"
	default:
		score += sexDiffers
		ex.Sex = "differs (" + qs.sex + " vs listed " + e.sex + ")"
	}
	return min(1, max(0, score)), ex
}

// dobRelation compares a traveller's birth date with an entry's, each at
// the precision it has, and returns the score adjustment and the relation.
func dobRelation(q engine.BirthDate, listed []engine.BirthDate) (float64, string) {
	if q.IsZero() || len(listed) == 0 {
		return 0, "not compared"
	}
	bestAdj, bestWhy := math.Inf(-1), ""
	for _, d := range listed {
		adj, why := dobPair(q, d)
		if adj > bestAdj {
			bestAdj, bestWhy = adj, why
		}
	}
	return bestAdj, bestWhy
}

func dobPair(q, d engine.BirthDate) (float64, string) {
	ls := d.String()
	switch d.Precision() {
	case engine.PrecisionRange:
		if q.Year >= d.Year-boolInt(d.Approx) && q.Year <= d.ToYear+boolInt(d.Approx) {
			return dobCompatible, "within listed range " + ls
		}
		if q.Year >= d.Year-2 && q.Year <= d.ToYear+2 {
			return dobNear, "near listed range " + ls
		}
		return dobMismatch, fmt.Sprintf("differs (%d outside listed %s)", q.Year, ls)
	case engine.PrecisionDay:
		if q.Precision() == engine.PrecisionDay {
			switch {
			case q.Year == d.Year && q.Month == d.Month && q.Day == d.Day:
				if d.Month == 1 && d.Day == 1 {
					return dobCompatible, "same (listed " + ls + ", possibly a 1 January placeholder)"
				}
				return dobExact, "same date (" + ls + ")"
			case q.Year == d.Year && q.Month == d.Day && q.Day == d.Month:
				return dobSwapped, "day and month swapped (listed " + ls + ")"
			case q.Year == d.Year && d.Month == 1 && d.Day == 1:
				return dobCompatible, "same year (listed " + ls + " looks like a 1 January placeholder)"
			case q.Year == d.Year:
				return dobNear, "same year, other day (listed " + ls + ")"
			}
		} else if q.Year == d.Year && (q.Month == 0 || q.Month == d.Month) {
			return dobCompatible, "compatible (listed " + ls + ")"
		}
	case engine.PrecisionMonth:
		if q.Year == d.Year && (q.Month == 0 || q.Month == d.Month) {
			return dobCompatible, "same month (listed " + ls + ")"
		}
	default: // year
		if q.Year == d.Year {
			return dobCompatible, "same year (listed " + ls + ")"
		}
	}
	dy := abs(q.Year - d.Year)
	switch {
	case d.Approx && dy <= 2:
		return dobCompatible, "within approximate listed " + ls
	case dy <= 1:
		return dobNear, fmt.Sprintf("close (%d vs listed %s)", q.Year, ls)
	}
	return dobMismatch, fmt.Sprintf("differs (%d vs listed %s)", q.Year, ls)
}

// screenEntryDocuments adds hits for entries that list the traveller's
// document number: an exact key, a strong hit on its own.
func (s *Screener) screenEntryDocuments(key, country string, qs *querySide, byEntry map[uint32]*engine.Hit) {
	ix := s.ix
	for _, d := range ix.docs[key] {
		if country != "" && d.country != "" && !strings.EqualFold(country, d.country) {
			continue
		}
		score, why := docExact, "same number and issuing state"
		if country == "" || d.country == "" {
			score, why = docNoCountry, "same number (issuing state not compared)"
		}
		why = fmt.Sprintf("%s: %s %s", why, docLabel(d.typ), d.number)
		e := &ix.entries[d.entry]
		if h, ok := byEntry[d.entry]; ok {
			h.Score = max(h.Score, score)
			h.Explanation.Document = why
			continue
		}
		_, ex := qualify(0, qs, e)
		ex.Document = why
		byEntry[d.entry] = &engine.Hit{
			List:        ix.lists[e.list].info.Name,
			ListVersion: ix.lists[e.list].info.Version,
			EntryID:     e.id,
			Score:       score,
			Action:      ix.lists[e.list].info.Action,
			Explanation: ex,
		}
	}
}

func (s *Screener) documentListHit(d DocumentMatch, country string) engine.Hit {
	score, why := docExact, "same number and issuing state"
	if country == "" || d.Document.Country == "" {
		score, why = docNoCountry, "same number (issuing state not compared)"
	}
	return engine.Hit{
		List:        d.List,
		ListVersion: d.ListVersion,
		EntryID:     documentEntryID(d.Document),
		Score:       score,
		Band:        s.band(score),
		Action:      d.Action,
		Explanation: engine.Explanation{Document: fmt.Sprintf("%s: %s %s", why, docLabel(d.Document.Type), d.Document.Number)},
	}
}

// documentEntryID names a document-list row: TYPE/NUMBER/COUNTRY.
func documentEntryID(d engine.Document) string {
	return d.Type + "/" + engine.DocumentKey(d.Number) + "/" + d.Country
}

func docLabel(t string) string {
	switch strings.ToUpper(t) {
	case "P":
		return "passport"
	case "I", "ID":
		return "identity card"
	case "V":
		return "visa"
	case "":
		return "document"
	}
	return t
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
