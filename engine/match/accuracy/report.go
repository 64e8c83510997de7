package accuracy

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"
)

// Target is one figure the matcher must reach on the development set.
type Target struct {
	Set   string
	What  string  // "possible" or "match": the share of cases at or above that band; "first": the wanted entry first at possible
	Limit float64 // the target: a floor for a positive set, a ceiling for a negative one
	// Floor, when not zero, is the regression bound used instead of Limit
	// for a target not yet met: the figure must not fall below it.
	Floor float64
}

// Targets are the accuracy targets of the screening bands.
var Targets = []Target{
	{Set: SetNearMiss, What: "possible", Limit: 0.01},
	{Set: SetNearMiss, What: "match", Limit: 0.002},
	{Set: SetSingle, What: "possible", Limit: 0.005},
	{Set: SetSingle, What: "match", Limit: 0},
	{Set: SetTwoName, What: "possible", Limit: 0.005},
	{Set: SetPerturbed, What: "possible", Limit: 0.98},
	{Set: SetPerturbed, What: "first", Limit: 0.97},
	{Set: SetAliases, What: "possible", Limit: 0.80, Floor: 0.74},
}

// Figure returns the figure a target speaks of.
func (r *Report) Figure(t Target) float64 {
	switch t.What {
	case "match":
		return r.Share(t.Set, r.Match)
	case "first":
		return r.FirstShare(t.Set, r.Possible)
	}
	return r.Share(t.Set, r.Possible)
}

// Met reports whether the report reaches a target, and whether it at
// least holds the target's regression floor.
func (r *Report) Met(t Target) (met, holds bool) {
	v := r.Figure(t)
	if Positive(t.Set) {
		met = v >= t.Limit
		return met, met || (t.Floor > 0 && v >= t.Floor)
	}
	return v <= t.Limit, v <= t.Limit
}

// Calibrate chooses band thresholds on a 0.01 grid from the report's
// scores: possible is the lowest at which near misses stay under four
// fifths of their possible target and single names under four fifths of
// theirs; match the lowest at which near misses stay under half their
// match target and no single name scores. The margins keep the bands on
// the right side of the targets for lists a little unlike the set.
func (r *Report) Calibrate() (match, possible float64) {
	lim := func(set, what string) float64 {
		for _, t := range Targets {
			if t.Set == set && t.What == what {
				return t.Limit
			}
		}
		return 0
	}
	possible, match = math.NaN(), math.NaN()
	for i := int(math.Ceil(SweepFloor * 100)); i <= 100; i++ {
		th := float64(i) / 100
		if math.IsNaN(possible) && r.Share(SetNearMiss, th) <= 0.8*lim(SetNearMiss, "possible") && r.Share(SetSingle, th) <= 0.8*lim(SetSingle, "possible") {
			possible = th
		}
		if math.IsNaN(match) && r.Share(SetNearMiss, th) <= 0.5*lim(SetNearMiss, "match") && r.Share(SetSingle, th) == 0 {
			match = th
		}
	}
	return match, possible
}

// WriteTable writes the figures at the report's bands, each set against
// its targets, as an aligned text table.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "SET\tCASES\tAT POSSIBLE (%.2f)\tAT MATCH (%.2f)\tFIRST HIT\tTARGET\n", r.Possible, r.Match)
	for _, s := range Sets {
		first := ""
		if Positive(s) {
			first = pct(r.FirstShare(s, r.Possible))
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", s, len(r.Outcomes[s]), pct(r.Share(s, r.Possible)), pct(r.Share(s, r.Match)), first, r.targetText(s))
	}
	return tw.Flush()
}

// targetText lists a set's targets and whether each is met.
func (r *Report) targetText(set string) string {
	out := ""
	for _, t := range Targets {
		if t.Set != set {
			continue
		}
		if out != "" {
			out += "; "
		}
		op := "<="
		if Positive(set) {
			op = ">="
		}
		met, holds := r.Met(t)
		state := "met"
		switch {
		case !holds:
			state = "FAILED"
		case !met:
			state = fmt.Sprintf("not met (floor %s)", pct(t.Floor))
		}
		out += fmt.Sprintf("%s %s %s %s", t.What, op, pct(t.Limit), state)
	}
	return out
}

// WriteSweep writes, for thresholds from SweepFloor to 1 in steps of
// 0.02, each set's share at or above it.
func (r *Report) WriteSweep(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "THRESHOLD\t")
	for _, s := range Sets {
		fmt.Fprintf(tw, "%s\t", s)
	}
	fmt.Fprintln(tw)
	for i := int(math.Ceil(SweepFloor * 100)); i <= 100; i += 2 {
		th := float64(i) / 100
		fmt.Fprintf(tw, "%.2f\t", th)
		for _, s := range Sets {
			fmt.Fprintf(tw, "%s\t", pct(r.Share(s, th)))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

func pct(v float64) string {
	switch {
	case v == 0:
		return "0 %"
	case v < 0.01:
		return fmt.Sprintf("%.2f %%", 100*v)
	}
	return fmt.Sprintf("%.1f %%", 100*v)
}
