package engine

import "testing"

// TestStrongest: a match outranks a possible hit wherever it stands; no
// hit is no band.
func TestStrongest(t *testing.T) {
	hit := func(b Band) Hit { return Hit{Band: b} }
	for _, c := range []struct {
		hits []Hit
		want Band
	}{
		{nil, ""},
		{[]Hit{hit(BandPossible)}, BandPossible},
		{[]Hit{hit(BandPossible), hit(BandMatch), hit(BandPossible)}, BandMatch},
		{[]Hit{hit(BandMatch)}, BandMatch},
		{[]Hit{hit(""), hit(BandPossible)}, BandPossible},
	} {
		if got := Strongest(c.hits); got != c.want {
			t.Errorf("Strongest(%v) = %q, want %q", c.hits, got, c.want)
		}
	}
}
