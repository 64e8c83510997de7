package importer

import (
	"testing"

	"github.com/watchpost/watchpost/engine"
)

func TestParseLooseDate(t *testing.T) {
	cases := []struct {
		in   string
		want engine.BirthDate
		ok   bool
	}{
		{"01 Jan 1960", engine.BirthDate{Year: 1960, Month: 1, Day: 1}, true},
		{"1 Jan 1960.", engine.BirthDate{Year: 1960, Month: 1, Day: 1}, true},
		{"1960", engine.BirthDate{Year: 1960}, true},
		{"Jan 1960", engine.BirthDate{Year: 1960, Month: 1}, true},
		{"August 1961 ", engine.BirthDate{Year: 1961, Month: 8}, true},
		{"Nov. 1973", engine.BirthDate{Year: 1973, Month: 11}, true},
		{"circa 1965", engine.BirthDate{Year: 1965, Approx: true}, true},
		{"circa 01 Jul 1965", engine.BirthDate{Year: 1965, Month: 7, Day: 1, Approx: true}, true},
		{"Approximately 1958", engine.BirthDate{Year: 1958, Approx: true}, true},
		{"1960-1962", engine.BirthDate{Year: 1960, ToYear: 1962}, true},
		{"circa 1979-1982", engine.BirthDate{Year: 1979, ToYear: 1982, Approx: true}, true},
		{"1958 to 1960", engine.BirthDate{Year: 1958, ToYear: 1960}, true},
		{"1 Jan 1960 to 31 Dec 1962", engine.BirthDate{Year: 1960, ToYear: 1962}, true},
		{"01 Oct 1970 to 31 Oct 1970", engine.BirthDate{Year: 1970, Month: 10}, true},
		{"01 Jan 1970 to 31 Dec 1970", engine.BirthDate{Year: 1970}, true},
		{"03 Mar 1970 to 03 Mar 1970", engine.BirthDate{Year: 1970, Month: 3, Day: 3}, true},
		{"Mar 1980 to Feb 1981", engine.BirthDate{Year: 1980, ToYear: 1981}, true},
		{"1979-03-03", engine.BirthDate{Year: 1979, Month: 3, Day: 3}, true},
		{"", engine.BirthDate{}, false},
		{"circa", engine.BirthDate{}, false},
		{"31 Feb 1960", engine.BirthDate{}, false},
		{"1962 to 1960", engine.BirthDate{}, false},
		{"1962-1960", engine.BirthDate{}, false},
		{"24/06/1402 (Hijri Calendar)", engine.BirthDate{}, false},
		{"30-35 years old", engine.BirthDate{}, false},
		{"Foo 1960", engine.BirthDate{}, false},
		{"0960", engine.BirthDate{}, false},
	}
	for _, c := range cases {
		got, ok := parseLooseDate(c.in)
		if ok != c.ok || got != c.want {
			t.Errorf("parseLooseDate(%q) = %v, %v; want %v, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
