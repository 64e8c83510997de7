package country

import (
	"os"
	"strings"
	"testing"
)

func TestAlpha3(t *testing.T) {
	cases := []struct {
		in   string
		want string
	}{
		{"DEU", "DEU"},
		{"deu", "DEU"},
		{"DE", "DEU"},
		{"D", "DEU"},
		{"D<<", "DEU"},
		{"Democratic Republic of the Congo", "COD"},
		{"Congo, Democratic Republic of the", "COD"},
		{"Congo", "COG"},
		{"Iran (Islamic Republic of)", "IRN"},
		{"Syrian Arab Republic", "SYR"},
		{"Syria.", "SYR"},
		{"Russian Federation", "RUS"},
		{"Russia", "RUS"},
		{"United Kingdom of Great Britain and Northern Ireland", "GBR"},
		{"Viet Nam", "VNM"},
		{"Vietnam", "VNM"},
		{"Korea, North", "PRK"},
		{"Democratic People's Republic of Korea", "PRK"},
		{"Democratic People’s Republic of Korea", "PRK"},
		{"Korea, South", "KOR"},
		{"Türkiye", "TUR"},
		{"TURKIYE", "TUR"},
		{"Turkey", "TUR"},
		{"Palestine", "PSE"},
		{"State of Palestine", "PSE"},
		{"Palestinian", "PSE"},
		{"Kosovo", "XKX"},
		{"XK", "XKX"},
		{"RKS", "XKX"},
		{"Côte d'Ivoire", "CIV"},
		{"Curaçao", "CUW"},
		{"Burma", "MMR"},
		{"Macau", "MAC"},
		{"Man, Isle of", "IMN"},
		{"Virgin Islands, British", "VGB"},
		{"Macedonia, The Former Yugoslav Republic of", "MKD"},
		{"GBD", "GBR"},
		{"GBN", "GBR"},
		{"GBO", "GBR"},
		{"GBP", "GBR"},
		{"GBS", "GBR"},
		{"UNO", "UNO"},
		{"UNA", "UNA"},
		{"UNK", "UNK"},
		{"XXA", "XXA"},
		{"XXB", "XXB"},
		{"XXC", "XXC"},
		{"XXX", "XXX"},
		{"  united states of america. ", "USA"},
		{"former Soviet Union", "SUN"},
	}
	for _, c := range cases {
		got, ok := Alpha3(c.in)
		if !ok || got != c.want {
			t.Errorf("Alpha3(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}

func TestAlpha3Unknown(t *testing.T) {
	for _, in := range []string{"", "  ", "Atlantis", "ZZZ", "Q", "..."} {
		if got, ok := Alpha3(in); ok {
			t.Errorf("Alpha3(%q) = %q, true; want not found", in, got)
		}
	}
}

func TestTable(t *testing.T) {
	if len(conflicts) > 0 {
		t.Fatalf("names or codes given to two countries: %v", conflicts)
	}
	// 249 ISO 3166-1 countries plus XKX.
	if got, want := Count(), 250; got != want {
		t.Errorf("Count() = %d, want %d", got, want)
	}
	for a3, in := range byAlpha3 {
		if got, ok := Alpha3(a3); !ok || got != a3 {
			t.Errorf("Alpha3(%q) = %q, %v", a3, got, ok)
		}
		if in.alpha2 != "" {
			if got, ok := Alpha3(in.alpha2); !ok || got != a3 {
				t.Errorf("Alpha3(%q) = %q, want %q", in.alpha2, got, a3)
			}
			if got, ok := Alpha3(in.name); !ok || got != a3 {
				t.Errorf("Alpha3(%q) = %q, want %q", in.name, got, a3)
			}
		}
	}
	if n, ok := Name("deu"); !ok || n != "Germany" {
		t.Errorf("Name(deu) = %q, %v", n, ok)
	}
	if a2, ok := Alpha2("GBR"); !ok || a2 != "GB" {
		t.Errorf("Alpha2(GBR) = %q, %v", a2, ok)
	}
	if _, ok := Alpha2("XXA"); ok {
		t.Errorf("Alpha2(XXA) found, want none")
	}
}

// TestListValues resolves every distinct country value of the UN list
// (nationalities, document issuers) and of OFAC SDN remarks. The UN value
// "na" resolves to Namibia here; the UN importer treats it as "not given".
func TestListValues(t *testing.T) {
	for _, f := range []string{"un_nationalities.txt", "un_document_countries.txt", "ofac_countries.txt"} {
		b, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, v := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			n++
			if _, ok := Alpha3(v); !ok {
				t.Errorf("%s: %q does not resolve", f, v)
			}
		}
		if n < 40 {
			t.Errorf("%s: only %d values", f, n)
		}
	}
}

func BenchmarkAlpha3(b *testing.B) {
	for b.Loop() {
		Alpha3("Congo, Democratic Republic of the")
	}
}
