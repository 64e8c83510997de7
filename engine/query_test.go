package engine

import (
	"strings"
	"testing"
)

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

func TestCapName(t *testing.T) {
	long := strings.Repeat("MOHAMMEDALIHASSAN", 1<<16)
	words := strings.Repeat("ANNA ", 20)
	for _, tc := range []struct {
		in, want string
		cut      bool
	}{
		{"Anna Maria Eriksson", "Anna Maria Eriksson", false},
		{"", "", false},
		{long, long[:MaxNameChars], true},
		{strings.Repeat("É", 300), strings.Repeat("É", MaxNameChars), true},
		{words, strings.TrimSpace(strings.Repeat("ANNA ", MaxNameTokens)), true},
		{strings.Repeat("ANNA ", MaxNameTokens), strings.Repeat("ANNA ", MaxNameTokens), false},
		{"  A  B\tC ", "  A  B\tC ", false},
	} {
		got, cut := CapName(tc.in)
		if got != tc.want || cut != tc.cut {
			t.Errorf("CapName(%.40q…) = %.40q…, %v; want %.40q…, %v", tc.in, got, cut, tc.want, tc.cut)
		}
	}
}
