package accuracy

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/match"
)

// smallSources is a list of persons of two groups with roles, an alias
// pair and a few name words.
func smallSources() Sources {
	var src Sources
	names := []struct{ id, given, family, group string }{
		{"1", "Saadi", "QADHAFI", "LY"}, {"2", "Muammar Abu", "MINYAR", "LY"}, {"3", "Hamid Reza", "SOLEIMANI", "IR"},
		{"4", "Ali Akbar", "VELAYATI", "IR"}, {"5", "Mohammad", "JAVAD ZARIF", "IR"}, {"6", "Khalifa", "HAFTAR", "LY"},
		{"7", "Ahmad", "VAHIDI", "IR"}, {"8", "Abdullah", "SENUSSI", "LY"},
	}
	for _, n := range names {
		e := engine.Entry{ID: n.id, Kind: engine.KindPerson, Names: []engine.Name{{Value: n.given + " " + n.family, Kind: engine.NamePrimary}}}
		if n.id == "1" {
			e.Names = append(e.Names, engine.Name{Value: "Saadi GADDAFI", Kind: engine.NameAlias})
		}
		src.List = append(src.List, e)
		src.Persons = append(src.Persons, Person{ID: n.id, Given: strings.Fields(n.given), Family: strings.Fields(n.family), Group: n.group})
	}
	src.AliasPairs = []AliasPair{{EntryID: "1", Primary: "QADHAFI, Saadi", Alias: "GADDAFI, Saadi", Kind: "primary~aka"}}
	for i, w := range []string{"william", "paul", "thomas", "hiroshi", "brown", "pierre", "kenji", "saadi"} {
		src.Words = append(src.Words, Word{Latin: w, Count: 10 - i, Origin: "test"})
	}
	return src
}

func TestGenerateDeterministicAndLabelled(t *testing.T) {
	src := smallSources()
	sizes := Sizes{NearMiss: 10, Single: 5, TwoName: 5, Perturbed: 6, Aliases: 5}
	a, b := Generate(src, sizes, 7), Generate(src, sizes, 7)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two runs with one seed differ")
	}
	ids := map[string]bool{}
	for _, e := range src.List {
		ids[e.ID] = true
	}
	names := newNameIndex(newVariantIndex(src.List).names)
	for set, cases := range a.Cases {
		if len(cases) == 0 {
			t.Errorf("set %s is empty", set)
		}
		for _, c := range cases {
			if Positive(set) != (c.Want != "") || (c.Want != "" && !ids[c.Want]) {
				t.Errorf("%s case %+v: wrong label", set, c)
			}
			if (set == SetNearMiss || set == SetTwoName) && names.related(keyWords(c.Query.FullName())) {
				t.Errorf("%s case %q is a subset or superset of a listed name", set, c.Query.FullName())
			}
			if set == SetSingle && len(keyWords(c.Query.FullName())) != 1 {
				t.Errorf("single case %q is not one word", c.Query.FullName())
			}
		}
	}
}

func TestVariantsMakeNoNegatives(t *testing.T) {
	ix := newVariantIndex(smallSources().List)
	for _, c := range []struct {
		name string
		want bool
	}{
		{"Saadi QADHAFI", true},          // the listed name
		{"Saadi QADAHFI", true},          // a transposition
		{"QADHAFI Saadi", true},          // another order
		{"Hamid SOLEIMANI", true},        // a middle name left out
		{"Hamid Reza SOLEIMANI X", true}, // the listed name with one more
		{"Khalifa SOLEIMANI", false},     // a near miss
		{"Ahmad HAFTAR", false},
		{"Paul BROWN", false},
	} {
		if got := ix.derivable(c.name); got != c.want {
			t.Errorf("derivable(%q) = %v, want %v", c.name, got, c.want)
		}
	}
	if !ix.near("MUHAMMAD", "MOHAMMED") || !ix.near("QADAHFI", "QADHAFI") || ix.near("WADHAFI", "QADHAFI") {
		t.Error("near: want usual forms and keying errors past the first letter, not a changed first letter")
	}
}

func TestSetRoundTrip(t *testing.T) {
	set := Generate(smallSources(), Sizes{NearMiss: 5, Single: 3, TwoName: 3, Perturbed: 4, Aliases: 2}, 3)
	dir := t.TempDir()
	if err := set.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	back, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range Sets {
		if !reflect.DeepEqual(set.Cases[s], back.Cases[s]) && !(len(set.Cases[s]) == 0 && len(back.Cases[s]) == 0) {
			t.Errorf("set %s changed on the way: %v vs %v", s, set.Cases[s], back.Cases[s])
		}
	}
	if len(back.List) != len(set.List) || back.List[0].Names[1].Value != "Saadi GADDAFI" {
		t.Errorf("list changed on the way: %+v", back.List)
	}
}

func TestReportFiguresAndChart(t *testing.T) {
	r := &Report{Match: 0.8, Possible: 0.6, Outcomes: map[string][]Outcome{}}
	for i := 0; i < 100; i++ {
		score := float64(i) / 100
		r.Outcomes[SetPerturbed] = append(r.Outcomes[SetPerturbed], Outcome{Case: Case{Want: "x"}, Score: 1 - score/4, First: i%10 != 0})
		r.Outcomes[SetNearMiss] = append(r.Outcomes[SetNearMiss], Outcome{Score: score * 0.7})
		r.Outcomes[SetSingle] = append(r.Outcomes[SetSingle], Outcome{Score: score / 2})
	}
	if got := r.Share(SetNearMiss, 0.6); got < 0.13 || got > 0.15 {
		t.Errorf("near-miss share at 0.6 = %v, want 0.14", got)
	}
	if got := r.FirstShare(SetPerturbed, 0.6); got != 0.9 {
		t.Errorf("first share = %v, want 0.9", got)
	}
	m, p := r.Calibrate()
	if p != 0.70 || m != 0.70 {
		t.Errorf("Calibrate() = %v, %v; want 0.70, 0.70 (the first thresholds the near misses stay under)", m, p)
	}
	var buf bytes.Buffer
	if err := r.WriteSVG(&buf); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	d := xml.NewDecoder(strings.NewReader(svg))
	elems := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v", err)
		}
		if _, ok := tok.(xml.StartElement); ok {
			elems++
		}
	}
	if elems < 50 || !strings.Contains(svg, "possible 0.60") || !strings.Contains(svg, "match 0.80") {
		t.Errorf("chart has %d elements and no band label", elems)
	}
}

func TestEvaluateFindsWanted(t *testing.T) {
	set := &Set{List: smallSources().List, Cases: map[string][]Case{
		SetPerturbed: {{Query: engine.Query{Surname: "QADHAFI", GivenNames: "SAADI"}, Want: "1"}},
		SetAliases:   {{Query: engine.Query{Name: "Saadi GADDAFI"}, Want: "1"}},
		SetNearMiss:  {{Query: engine.Query{Name: "Khalifa SOLEIMANI"}}},
	}}
	r, err := Evaluate(set, match.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if o := r.Outcomes[SetPerturbed][0]; !o.First || o.Score < 0.9 {
		t.Errorf("exact name: %+v", o)
	}
	if o := r.Outcomes[SetNearMiss][0]; o.Score >= r.Possible {
		t.Errorf("near miss scored %v, at or over the possible band %v", o.Score, r.Possible)
	}
	var table strings.Builder
	if err := r.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), fmt.Sprintf("AT POSSIBLE (%.2f)", match.DefaultPossibleThreshold)) {
		t.Errorf("table: %s", table.String())
	}
}
