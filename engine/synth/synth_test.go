package synth

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/engine"
)

func collectPersons(t testing.TB, seed uint64, n int) []*engine.Entry {
	t.Helper()
	var out []*engine.Entry
	if err := Persons(seed, n, func(e *engine.Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPersonsDeterministic(t *testing.T) {
	a := collectPersons(t, 1, 3000)
	b := collectPersons(t, 1, 3000)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different persons")
	}
	c := collectPersons(t, 2, 3000)
	same := 0
	for i := range a {
		if a[i].PrimaryName() == c[i].PrimaryName() {
			same++
		}
	}
	if same > 100 {
		t.Fatalf("seeds 1 and 2 agree on %d of %d names", same, len(a))
	}
	// A list is a prefix of a longer list from the same seed.
	if p := collectPersons(t, 1, 100); !reflect.DeepEqual(p, a[:100]) {
		t.Fatal("Persons(seed, 100) is not a prefix of Persons(seed, 3000)")
	}
}

func TestPersonsStopOnError(t *testing.T) {
	stop := errors.New("stop")
	n := 0
	err := Persons(1, 100, func(*engine.Entry) error {
		n++
		if n == 5 {
			return stop
		}
		return nil
	})
	if err != stop || n != 5 {
		t.Fatalf("err %v after %d entries, want stop after 5", err, n)
	}
}

func TestPersonsValid(t *testing.T) {
	const n = 20000
	es := collectPersons(t, 7, n)
	prec := map[engine.DatePrecision]int{}
	var aliases, low, docs int
	ids := map[string]bool{}
	for i, e := range es {
		if err := e.Validate(); err != nil {
			t.Fatal(err)
		}
		if want := seqID("SYN-", i+1); e.ID != want || len(want) != 11 {
			t.Fatalf("id %q, want %q", e.ID, want)
		}
		if ids[e.ID] {
			t.Fatalf("duplicate id %q", e.ID)
		}
		ids[e.ID] = true
		if e.Kind != engine.KindPerson || len(e.Names) < 1 || len(e.Names) > 4 {
			t.Fatalf("%s: kind %q with %d names", e.ID, e.Kind, len(e.Names))
		}
		if e.Names[0].Kind != engine.NamePrimary {
			t.Fatalf("%s: first name is %q", e.ID, e.Names[0].Kind)
		}
		seen := map[string]bool{}
		for _, nm := range e.Names {
			if nm.Value != strings.TrimSpace(nm.Value) || strings.Contains(nm.Value, "  ") || nm.Value == "" {
				t.Fatalf("%s: badly spaced name %q", e.ID, nm.Value)
			}
			if nm.Value != strings.ToUpper(nm.Value) {
				t.Fatalf("%s: name %q not upper case", e.ID, nm.Value)
			}
			if seen[nm.Value] {
				t.Fatalf("%s: name %q repeated", e.ID, nm.Value)
			}
			seen[nm.Value] = true
			if nm.Kind == engine.NameAlias {
				aliases++
				if nm.Quality == engine.QualityLow {
					low++
				}
			}
		}
		if len(e.BirthDates) == 0 {
			prec[engine.PrecisionNone]++
		} else {
			prec[e.BirthDates[0].Precision()]++
		}
		for _, d := range e.BirthDates {
			back, err := engine.ParseBirthDate(d.String())
			if err != nil || back != d {
				t.Fatalf("%s: birth date %+v does not round-trip: %v", e.ID, d, err)
			}
		}
		if len(e.Nationalities) < 1 || len(e.Nationalities) > 2 {
			t.Fatalf("%s: %d nationalities", e.ID, len(e.Nationalities))
		}
		for _, c := range e.Nationalities {
			if len(c) != 3 || strings.ToUpper(c) != c {
				t.Fatalf("%s: nationality %q", e.ID, c)
			}
		}
		if e.Sex != "" && e.Sex != "M" && e.Sex != "F" {
			t.Fatalf("%s: sex %q", e.ID, e.Sex)
		}
		if len(e.Documents) > 2 || len(e.Programs) == 0 {
			t.Fatalf("%s: %d documents, %d programmes", e.ID, len(e.Documents), len(e.Programs))
		}
		for _, d := range e.Documents {
			docs++
			if engine.DocumentKey(d.Number) != d.Number || len(d.Number) < 8 || d.Country == "" {
				t.Fatalf("%s: document %+v", e.ID, d)
			}
		}
	}
	share := func(p engine.DatePrecision) float64 { return float64(prec[p]) / n }
	for p, want := range map[engine.DatePrecision]float64{
		engine.PrecisionDay: 0.70, engine.PrecisionYear: 0.15,
		engine.PrecisionRange: 0.10, engine.PrecisionNone: 0.05,
	} {
		if got := share(p); math.Abs(got-want) > 0.02 {
			t.Errorf("precision %v: share %.3f, want about %.2f", p, got, want)
		}
	}
	if aliases < n/2 || low < aliases/20 {
		t.Errorf("%d aliases (%d low quality) in %d persons", aliases, low, n)
	}
	if docs < n/2 {
		t.Errorf("%d documents in %d persons", docs, n)
	}
}

func TestTokenSkew(t *testing.T) {
	const n = 100000
	g := newPersonGen(3)
	surnames := map[string]int{}
	tokens := map[string]int{}
	for i := range n {
		e, p := g.at(i)
		surnames[p.surname()]++
		for _, w := range strings.Fields(e.PrimaryName()) {
			tokens[w]++
		}
	}
	top, topN := "", 0
	for s, c := range surnames {
		if c > topN {
			top, topN = s, c
		}
	}
	if topN*100 <= n {
		t.Errorf("commonest surname %s covers %d of %d persons, want > 1%%", top, topN, n)
	}
	if len(tokens) <= 1000 {
		t.Errorf("%d distinct name words in %d persons, want > 1000", len(tokens), n)
	}
	// A long tail: many words are rare.
	rare := 0
	for _, c := range tokens {
		if c*10000 < n {
			rare++
		}
	}
	if rare < len(tokens)/3 {
		t.Errorf("only %d of %d words are rare", rare, len(tokens))
	}
	t.Logf("commonest surname %s %.2f%%; %d distinct words, %d rare", top, 100*float64(topN)/n, len(tokens), rare)
}

func TestNoNumberedNames(t *testing.T) {
	for _, e := range collectPersons(t, 11, 5000) {
		for _, nm := range e.Names {
			if strings.ContainsAny(nm.Value, "0123456789") {
				t.Fatalf("%s: name %q has digits", e.ID, nm.Value)
			}
		}
	}
}

func TestDocumentsUnique(t *testing.T) {
	n := 1000000
	if testing.Short() {
		n = 100000
	}
	seen := make(map[string]struct{}, n)
	i := 0
	states := map[string]int{}
	err := Documents(42, n, func(d *engine.Document) error {
		key := d.Country + "|" + engine.DocumentKey(d.Number)
		if _, dup := seen[key]; dup {
			t.Fatalf("row %d: duplicate document %s", i, key)
		}
		seen[key] = struct{}{}
		states[d.Country]++
		if i%97 == 0 {
			if num, c := DocumentQuery(42, i); num != d.Number || c != d.Country {
				t.Fatalf("DocumentQuery(42, %d) = %s %s, row is %s %s", i, num, c, d.Number, d.Country)
			}
		}
		if d.Type != "P" && d.Type != "I" || d.Note == "" {
			t.Fatalf("row %d: %+v", i, d)
		}
		i++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Fatalf("%d rows, want %d", i, n)
	}
	if states["USA"] < states["NPL"]*10 || len(states) < 40 {
		t.Errorf("issuing states not skewed: %d states, USA %d, NPL %d", len(states), states["USA"], states["NPL"])
	}
}

func TestDocumentsDeterministic(t *testing.T) {
	get := func(seed uint64) []engine.Document {
		var out []engine.Document
		if err := Documents(seed, 2000, func(d *engine.Document) error {
			out = append(out, *d)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	a, b, c := get(5), get(5), get(6)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different documents")
	}
	same := 0
	for i := range a {
		if a[i].Number == c[i].Number {
			same++
		}
	}
	if same > 10 {
		t.Fatalf("seeds 5 and 6 agree on %d numbers", same)
	}
	for i := range a {
		if num, country := DocumentQuery(5, i); num != a[i].Number || country != a[i].Country {
			t.Fatalf("DocumentQuery(5, %d) = %s %s, want %s %s", i, num, country, a[i].Number, a[i].Country)
		}
	}
	if err := Documents(5, MaxDocuments+1, func(*engine.Document) error { return nil }); err == nil {
		t.Fatal("no error for more than MaxDocuments rows")
	}
}

func TestShapesHoldMaxDocuments(t *testing.T) {
	for c, s := range shapes {
		if shapeCap(s) < MaxDocuments {
			t.Errorf("%q: shape %s holds %d numbers", c, s, shapeCap(s))
		}
	}
}

func TestFeistelIsPermutation(t *testing.T) {
	g := docGenFor(9)
	seen := make([]bool, MaxDocuments)
	// Bijective by construction; check a spread-out sample of a million.
	step := 61
	for i := 0; i < MaxDocuments; i += step {
		p := g.permute(uint64(i))
		if p >= MaxDocuments || seen[p] {
			t.Fatalf("permute(%d) = %d repeats or overflows", i, p)
		}
		seen[p] = true
	}
}

func TestTravellers(t *testing.T) {
	list := collectPersons(t, 1, 2000)
	hits := make([]engine.Entry, len(list))
	for i, e := range list {
		hits[i] = *e
	}
	byID := map[string]*engine.Entry{}
	for i := range hits {
		byID[hits[i].ID] = &hits[i]
	}
	const n = 20000
	qs := Travellers(9, n, hits, 0.1)
	if len(qs) != n {
		t.Fatalf("%d travellers, want %d", len(qs), n)
	}
	if !reflect.DeepEqual(qs, Travellers(9, n, hits, 0.1)) {
		t.Fatal("same seed gave different travellers")
	}
	other := Travellers(10, 100, hits, 0.1)
	same := 0
	for i := range other {
		if other[i].FullName() == qs[i].FullName() {
			same++
		}
	}
	if same > 10 {
		t.Fatalf("seeds 9 and 10 agree on %d of 100 travellers", same)
	}
	derived, sharing, exactDates := 0, 0, 0
	for i := range qs {
		q := &qs[i]
		if q.FullName() == "" || q.BirthDate == "" {
			t.Fatalf("traveller %+v lacks name or date", q)
		}
		d, err := engine.ParseBirthDate(q.BirthDate)
		if err != nil || d.Precision() != engine.PrecisionDay {
			t.Fatalf("traveller %s: birth date %q (%v)", q.ID, q.BirthDate, err)
		}
		id, ok := TravellerSource(q)
		if !ok {
			continue
		}
		derived++
		e := byID[id]
		if e == nil {
			t.Fatalf("traveller %s derived from unknown %q", q.ID, id)
		}
		listed := map[string]bool{}
		for _, nm := range e.Names {
			for _, w := range strings.Fields(nm.Value) {
				listed[w] = true
			}
		}
		for _, w := range strings.Fields(q.FullName()) {
			if listed[w] {
				sharing++
				break
			}
		}
		if len(e.BirthDates) == 1 && e.BirthDates[0].Precision() == engine.PrecisionDay && !e.BirthDates[0].Approx {
			if q.BirthDate != e.BirthDates[0].String() {
				t.Errorf("traveller %s born %s, listed %s", q.ID, q.BirthDate, e.BirthDates[0])
			}
			exactDates++
		}
	}
	if rate := float64(derived) / n; math.Abs(rate-0.1) > 0.01 {
		t.Errorf("hit rate %.3f, want about 0.1", rate)
	}
	if sharing*100 < derived*95 {
		t.Errorf("only %d of %d derived travellers share a word with their entry", sharing, derived)
	}
	if exactDates == 0 {
		t.Error("no derived traveller checked against an exact listed date")
	}
	for _, rate := range []float64{0, 1} {
		d := 0
		for _, q := range Travellers(3, 500, hits, rate) {
			if _, ok := TravellerSource(&q); ok {
				d++
			}
		}
		if d != int(rate*500) {
			t.Errorf("hit rate %v: %d of 500 derived", rate, d)
		}
	}
	if qs := Travellers(3, 50, nil, 1); len(qs) != 50 {
		t.Errorf("no hits: %d travellers", len(qs))
	}
}

func TestVariantsRealistic(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"MOHAMMED", "MUHAMMAD"}, {"AL-ZAHRANI", "AZ-ZAHRANI"}, {"ABDUL RAHMAN", "ABDULRAHMAN"},
		{"SERGEYEVICH", "SERGEEVICH"}, {"ZHANG", "CHANG"}, {"PARK", "PAK"},
	} {
		if indexOf(variants[tc.a], tc.b) < 0 {
			t.Errorf("%s has no variant %s: %v", tc.a, tc.b, variants[tc.a])
		}
	}
	for _, tc := range []struct{ m, f string }{{"IVANOV", "IVANOVA"}, {"ZHUKOVSKIY", "ZHUKOVSKAYA"}, {"SHEVCHENKO", "SHEVCHENKO"}} {
		var got string
		for _, c := range cultures {
			for k, p := range c.sur.parts {
				if p.forms[0] == tc.m && c.surF != nil {
					got = c.surF[k].forms[0]
				}
			}
		}
		if got != tc.f {
			t.Errorf("female of %s = %q, want %s", tc.m, got, tc.f)
		}
	}
}

func TestSample(t *testing.T) {
	for _, e := range collectPersons(t, 2026, 12) {
		var al []string
		for _, n := range e.Names[1:] {
			al = append(al, n.Value+"("+n.Quality+")")
		}
		var dob string
		if len(e.BirthDates) > 0 {
			dob = e.BirthDates[0].String()
		}
		t.Logf("%s %-45s %-12s %v %v aka %v", e.ID, e.PrimaryName(), dob, e.Nationalities, e.Documents, al)
	}
	hits := []engine.Entry{}
	for _, e := range collectPersons(t, 2026, 5) {
		hits = append(hits, *e)
	}
	for _, q := range Travellers(2026, 8, hits, 0.5) {
		t.Logf("%+v", q)
	}
	for i := range 5 {
		n, c := DocumentQuery(2026, i)
		t.Logf("doc %d: %s %s", i, n, c)
	}
}

func BenchmarkPersons(b *testing.B) {
	benchGenerate(b, 100000, "ns/person", func(n int) error {
		return Persons(1, n, func(*engine.Entry) error { return nil })
	})
}

func BenchmarkDocuments(b *testing.B) {
	benchGenerate(b, 1000000, "ns/doc", func(n int) error {
		return Documents(1, n, func(*engine.Document) error { return nil })
	})
}

// benchGenerate times gen making n records and reports the time per
// record as unit.
func benchGenerate(b *testing.B, n int, unit string, gen func(n int) error) {
	b.ReportAllocs()
	for b.Loop() {
		if err := gen(n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), unit)
}

func BenchmarkTravellers(b *testing.B) {
	var hits []engine.Entry
	_ = Persons(1, 1000, func(e *engine.Entry) error { hits = append(hits, *e); return nil })
	for b.Loop() {
		Travellers(2, 10000, hits, 0.05)
	}
}

func BenchmarkDocumentQuery(b *testing.B) {
	i := 0
	for b.Loop() {
		DocumentQuery(1, i)
		i++
	}
}
