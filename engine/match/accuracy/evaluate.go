package accuracy

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/match"
)

// SweepFloor is the lowest threshold an evaluation can report on: cases
// are screened with the possible band lowered to it, so that every score
// at or above it is known.
const SweepFloor = 0.5

// Outcome is what screening one case gave.
type Outcome struct {
	Case
	// Score is, for a positive, the score of the wanted entry (0 when it
	// is not among the hits); for a negative, the best score of any hit.
	Score float64
	// First reports, for a positive, whether the wanted entry is the
	// first hit.
	First bool
	// Top is the first hit, if any.
	Top *engine.Hit
	// Hit is, for a positive, the wanted entry's hit, if any.
	Hit *engine.Hit
}

// Report is an evaluation: every case's outcome, by set, and the
// thresholds the bands had.
type Report struct {
	Match, Possible float64
	Outcomes        map[string][]Outcome
}

// Evaluate screens every case of set with the matcher configured as cfg
// (its thresholds as bands, the possible band lowered to SweepFloor so
// that other thresholds can be read off too). Aliases are screened
// against the primary names alone, everything else against the whole list.
func Evaluate(set *Set, cfg match.Config) (*Report, error) {
	full := NewScreener(set.List, false, cfg)
	primary := NewScreener(set.List, true, cfg)
	r := &Report{Match: cfg.MatchThreshold, Possible: cfg.PossibleThreshold, Outcomes: make(map[string][]Outcome)}
	if r.Match == 0 {
		r.Match = match.DefaultMatchThreshold
	}
	if r.Possible == 0 {
		r.Possible = match.DefaultPossibleThreshold
	}
	for _, name := range Sets {
		s := full
		if name == SetAliases {
			s = primary
		}
		out := make([]Outcome, 0, len(set.Cases[name]))
		for _, c := range set.Cases[name] {
			o, err := screenCase(s, c)
			if err != nil {
				return nil, fmt.Errorf("%s case %q: %w", name, c.Query.FullName(), err)
			}
			out = append(out, o)
		}
		r.Outcomes[name] = out
	}
	return r, nil
}

// NewScreener indexes a list for evaluation (primaryOnly: only each
// entry's first name) and screens at the sweep floor.
func NewScreener(list []engine.Entry, primaryOnly bool, cfg match.Config) *match.Screener {
	b := match.NewBuilder()
	b.Grow(len(list))
	h := b.AddList(engine.ListInfo{Name: "devset", Version: 1})
	for i := range list {
		e := list[i]
		if primaryOnly && len(e.Names) > 1 {
			e.Names = e.Names[:1]
		}
		b.Add(h, &e)
	}
	sweep := cfg
	if sweep.PossibleThreshold == 0 || sweep.PossibleThreshold > SweepFloor {
		sweep.PossibleThreshold = SweepFloor
	}
	if sweep.MatchThreshold == 0 {
		sweep.MatchThreshold = match.DefaultMatchThreshold
	}
	return match.NewScreener(b.Build(), nil, sweep)
}

func screenCase(s *match.Screener, c Case) (Outcome, error) {
	q := c.Query
	hits, err := s.Screen(&q)
	if errors.Is(err, match.ErrEmptyQuery) {
		return Outcome{Case: c}, nil
	}
	if err != nil {
		return Outcome{}, err
	}
	o := Outcome{Case: c}
	if len(hits) > 0 {
		o.Top = &hits[0]
	}
	if c.Want == "" {
		if o.Top != nil {
			o.Score = o.Top.Score
		}
		return o, nil
	}
	for i, h := range hits {
		if h.EntryID == c.Want {
			o.Score, o.First, o.Hit = h.Score, i == 0, &hits[i]
			break
		}
	}
	return o, nil
}

// Share is the share of a set's cases scoring at least th: recall for a
// positive set, the false-alert rate for a negative one.
func (r *Report) Share(set string, th float64) float64 {
	return r.share(set, func(o *Outcome) bool { return o.Score >= th })
}

// FirstShare is the share of a positive set's cases whose wanted entry is
// the first hit and scores at least th.
func (r *Report) FirstShare(set string, th float64) float64 {
	return r.share(set, func(o *Outcome) bool { return o.First && o.Score >= th })
}

// Count is the number of a set's cases scoring at least th, and of cases.
func (r *Report) Count(set string, th float64) (n, of int) {
	for i := range r.Outcomes[set] {
		if r.Outcomes[set][i].Score >= th {
			n++
		}
	}
	return n, len(r.Outcomes[set])
}

func (r *Report) share(set string, ok func(*Outcome) bool) float64 {
	os := r.Outcomes[set]
	if len(os) == 0 {
		return 0
	}
	n := 0
	for i := range os {
		if ok(&os[i]) {
			n++
		}
	}
	return float64(n) / float64(len(os))
}

// Worst returns up to n outcomes of a set that fail at threshold th: the
// positives scoring lowest below it, the negatives scoring highest at or
// above it.
func (r *Report) Worst(set string, th float64, n int) []Outcome {
	var out []Outcome
	for _, o := range r.Outcomes[set] {
		if Positive(set) == (o.Score < th) {
			out = append(out, o)
		}
	}
	slices.SortStableFunc(out, func(a, b Outcome) int {
		if Positive(set) {
			return cmp.Compare(a.Score, b.Score)
		}
		return cmp.Compare(b.Score, a.Score)
	})
	return out[:min(n, len(out))]
}
