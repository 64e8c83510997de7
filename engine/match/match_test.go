package match

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/watchpost/watchpost/engine"
)

func bd(s string) engine.BirthDate {
	d, err := engine.ParseBirthDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func person(id string, names []string, dobs []string, nats []string, sex string, docs ...engine.Document) engine.Entry {
	e := engine.Entry{ID: id, Kind: engine.KindPerson, Nationalities: nats, Sex: sex, Documents: docs}
	for i, n := range names {
		k := engine.NameAlias
		if i == 0 {
			k = engine.NamePrimary
		}
		e.Names = append(e.Names, engine.Name{Value: n, Kind: k})
	}
	for _, d := range dobs {
		e.BirthDates = append(e.BirthDates, bd(d))
	}
	return e
}

// testEntries is a small list with realistic shape, padded with filler
// persons so that word rarity means something: MOHAMMED and ALI are common
// here as in real lists.
func testEntries() []engine.Entry {
	es := []engine.Entry{
		person("QDi.001", []string{"USAMA MUHAMMED AWAD BIN LADEN", "Osama bin Laden"}, []string{"1957-03-10"}, []string{"SAU"}, "M"),
		person("LYi.015", []string{"SAADI QADHAFI"}, []string{"1973-05-27"}, []string{"LBY"}, "M", engine.Document{Type: "P", Number: "014797", Country: "LBY"}),
		person("IQi.003", []string{"UDAY SADDAM HUSSEIN AL-TIKRITI", "عدي صدام حسين التكريتي"}, []string{"1964", "1967"}, []string{"IRQ"}, "M"),
		person("QDi.364", []string{"ISLAM SEIT-UMAROVICH ATABIEV", "Ислам Сеит-Умарович Атабиев"}, []string{"1983-09-29"}, []string{"RUS"}, "M"),
		person("QDi.316", []string{"IYAD AG GHALI"}, []string{"1958"}, []string{"MLI"}, "M"),
		person("TAi.079", []string{"MOHAMMAD SALIM HAQQANI"}, []string{"1960..1962"}, []string{"AFG"}, "M"),
		person("XX.1", []string{"ABDULRAHMAN YUSUF AL-ZAWAHIRI"}, []string{"1951-06-19"}, []string{"EGY"}, "M"),
		person("XX.2", []string{"ELENA PETROVA SMIRNOVA"}, []string{"~1970"}, []string{"RUS"}, "F"),
		person("XX.3", []string{"ALEXANDROS PAPADOPOULOS"}, []string{"1980-02-11"}, []string{"GRC"}, "M"),
		person("XX.4", []string{"MOHAMMED"}, nil, nil, ""),
		{ID: "ENT.1", Kind: engine.KindEntity, Names: []engine.Name{{Value: "AL-QAIDA", Kind: engine.NamePrimary}}},
	}
	given := []string{"MOHAMMED", "ALI", "AHMED", "HASSAN", "JOHN", "MARIA", "IVAN", "OMAR"}
	family := []string{"KHAN", "SMITH", "GARCIA", "IVANOV", "HUSSEIN", "ALI", "MOHAMMED", "RAHMAN", "NGUYEN", "OKAFOR"}
	for i := 0; i < 400; i++ {
		g := given[i%len(given)]
		f := family[(i/len(given))%len(family)]
		es = append(es, person(fmt.Sprintf("F%03d", i), []string{fmt.Sprintf("%s %s %s", g, fillerWord(i), f)}, nil, nil, ""))
	}
	return es
}

// fillerWord gives each filler person a distinct rare middle word.
func fillerWord(i int) string {
	const letters = "BCDFGKLMNPRSTVZ"
	b := []byte{letters[i%15], 'A', letters[(i/15)%15], 'E', letters[(i/225)%15], 'O'}
	return string(b)
}

func newTestScreener(t testing.TB, cfg Config) *Screener {
	t.Helper()
	b := NewBuilder()
	h := b.AddList(engine.ListInfo{Name: "test", Version: 3, Action: "refer"})
	for _, e := range testEntries() {
		b.Add(h, &e)
	}
	return NewScreener(b.Build(), nil, cfg)
}

func screen(t *testing.T, s *Screener, q engine.Query) []engine.Hit {
	t.Helper()
	hits, err := s.Screen(&q)
	if err != nil {
		t.Fatalf("Screen(%+v): %v", q, err)
	}
	return hits
}

func find(hits []engine.Hit, id string) *engine.Hit {
	for i := range hits {
		if hits[i].EntryID == id {
			return &hits[i]
		}
	}
	return nil
}

func TestScreenBehaviours(t *testing.T) {
	s := newTestScreener(t, Config{})
	cases := []struct {
		name    string
		q       engine.Query
		want    string      // entry id expected among the hits ("" = none expected)
		band    engine.Band // the band it must reach at least
		notWant string      // entry id that must not be a hit at all
	}{
		{"exact name", engine.Query{Name: "Saadi Qadhafi"}, "LYi.015", engine.BandMatch, ""},
		{"transliteration variant", engine.Query{Name: "Saadi Gaddafi", BirthDate: "1973-05-27"}, "LYi.015", engine.BandMatch, ""},
		{"word order free", engine.Query{Surname: "QADHAFI", GivenNames: "SAADI"}, "LYi.015", engine.BandMatch, ""},
		{"missing middle names with particle", engine.Query{Name: "Osama Laden", BirthDate: "1957-03-10"}, "QDi.001", engine.BandMatch, ""},
		{"alias of an entry", engine.Query{Name: "Osama bin Laden"}, "QDi.001", engine.BandMatch, ""},
		{"typos", engine.Query{Name: "Uday Sadam Husein al Tikriti"}, "IQi.003", engine.BandMatch, ""},
		{"glued particle", engine.Query{Name: "Abdul Rahman Yusuf Zawahiri", BirthDate: "1951-06-19"}, "XX.1", engine.BandMatch, ""},
		{"glued al", engine.Query{Name: "Abdulrahman Yousef Alzawahiri"}, "XX.1", engine.BandMatch, ""},
		{"cyrillic query", engine.Query{Name: "Ислам Атабиев", BirthDate: "1983-09-29"}, "QDi.364", engine.BandMatch, ""},
		{"arabic script list name", engine.Query{Name: "عدي صدام حسين", BirthDate: "1964"}, "IQi.003", engine.BandPossible, ""},
		{"greek query", engine.Query{Name: "Αλέξανδρος Παπαδόπουλος", BirthDate: "1980-02-11"}, "XX.3", engine.BandMatch, ""},
		{"MRZ truncation", engine.Query{Surname: "PAPADOPOUL", GivenNames: "ALEXANDROS", NameTruncated: true}, "XX.3", engine.BandMatch, ""},
		{"date range", engine.Query{Name: "Muhammad Salim Haqani", BirthDate: "1961-04-02"}, "TAi.079", engine.BandMatch, ""},
		{"approximate year", engine.Query{Name: "Elena Smirnova", BirthDate: "1971-08-30", Sex: "F"}, "XX.2", engine.BandPossible, ""},
		{"lone common name is not a match", engine.Query{Name: "Mohammed"}, "", "", "XX.4"},
		{"common two-word name is no hit", engine.Query{Name: "Mohammed Ali"}, "", "", ""},
		{"document alone", engine.Query{Name: "Someone Else", DocumentNumber: "014-797", DocumentCountry: "LBY"}, "LYi.015", engine.BandMatch, ""},
		{"entity names are not screened for travellers", engine.Query{Name: "Al Qaida"}, "", "", "ENT.1"},
		{"unrelated", engine.Query{Name: "Maria Garcia Lopez", BirthDate: "1985-11-02"}, "", "", "XX.2"},
		{"near miss: a given name of one listed person, the family name of another", engine.Query{Surname: "QADHAFI", GivenNames: "ELENA"}, "", "", "LYi.015"},
		{"near miss: the listed given names, another family name", engine.Query{Name: "Alexandros Smirnova"}, "", "", "XX.3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hits := screen(t, s, c.q)
			if c.notWant != "" && find(hits, c.notWant) != nil {
				t.Errorf("unexpected hit on %s: %+v", c.notWant, find(hits, c.notWant))
			}
			if c.want == "" {
				for _, h := range hits {
					if h.Band == engine.BandMatch {
						t.Errorf("unexpected match: %s %q score %.3f", h.EntryID, h.MatchedName, h.Score)
					}
				}
				return
			}
			h := find(hits, c.want)
			if h == nil {
				t.Fatalf("no hit on %s; hits: %+v", c.want, hits)
			}
			if c.band == engine.BandMatch && h.Band != engine.BandMatch {
				t.Errorf("hit on %s is %s (score %.3f), want match; explanation %+v", c.want, h.Band, h.Score, h.Explanation.Name)
			}
			if h.List != "test" || h.ListVersion != 3 || h.Action != "refer" {
				t.Errorf("hit carries list %q v%d action %q", h.List, h.ListVersion, h.Action)
			}
			if h.Score < 0 || h.Score > 1 {
				t.Errorf("score %v outside [0,1]", h.Score)
			}
		})
	}
}

func TestBirthDateQualifies(t *testing.T) {
	s := newTestScreener(t, Config{})
	score := func(q engine.Query) (float64, string) {
		h := find(screen(t, s, q), "LYi.015")
		if h == nil {
			return 0, "no hit"
		}
		return h.Score, h.Explanation.BirthDate
	}
	none, _ := score(engine.Query{Name: "Saadi Gaddafi"})
	same, whySame := score(engine.Query{Name: "Saadi Gaddafi", BirthDate: "1973-05-27"})
	other, whyOther := score(engine.Query{Name: "Saadi Gaddafi", BirthDate: "1990-01-15"})
	if !(same > none && none > other) {
		t.Errorf("want same DOB (%.3f, %s) > no DOB (%.3f) > other DOB (%.3f, %s)", same, whySame, none, other, whyOther)
	}
	// Day and month swapped.
	b := NewBuilder()
	h := b.AddList(engine.ListInfo{Name: "t"})
	e := person("S1", []string{"KAROLINA WOZNIAK KOWALCZYK"}, []string{"1980-03-07"}, nil, "F")
	b.Add(h, &e)
	s2 := NewScreener(b.Build(), nil, Config{})
	hs := screen(t, s2, engine.Query{Name: "Karolina Wozniak Kowalczyk", BirthDate: "1980-07-03"})
	if len(hs) != 1 || hs[0].Explanation.BirthDate == "" || hs[0].Explanation.BirthDate[:3] != "day" {
		t.Errorf("swapped day and month: got %+v", hs)
	}
}

func TestSexAndNationalityQualify(t *testing.T) {
	s := newTestScreener(t, Config{})
	base := find(screen(t, s, engine.Query{Name: "Saadi Qadhafi"}), "LYi.015")
	nat := find(screen(t, s, engine.Query{Name: "Saadi Qadhafi", Nationality: "LBY"}), "LYi.015")
	otherNat := find(screen(t, s, engine.Query{Name: "Saadi Qadhafi", Nationality: "FRA"}), "LYi.015")
	sex := find(screen(t, s, engine.Query{Name: "Saadi Qadhafi", Sex: "F"}), "LYi.015")
	if base == nil || nat == nil || otherNat == nil {
		t.Fatal("missing hits")
	}
	if !(nat.Score >= base.Score && base.Score > otherNat.Score) {
		t.Errorf("nationality: same %.3f, none %.3f, other %.3f", nat.Score, base.Score, otherNat.Score)
	}
	if sex != nil && sex.Score >= base.Score {
		t.Errorf("sex differs but score %.3f >= %.3f", sex.Score, base.Score)
	}
}

func TestThresholdsConfigurable(t *testing.T) {
	q := engine.Query{Name: "Osama Laden"}
	loose := newTestScreener(t, Config{MatchThreshold: 0.5, PossibleThreshold: 0.3})
	strict := newTestScreener(t, Config{MatchThreshold: 1, PossibleThreshold: 0.999})
	h := find(screen(t, loose, q), "QDi.001")
	if h == nil || h.Band != engine.BandMatch {
		t.Errorf("loose thresholds: %+v", h)
	}
	if h := find(screen(t, strict, q), "QDi.001"); h != nil {
		t.Errorf("strict thresholds still hit: %+v", h)
	}
}

func TestDeterministicAndExplained(t *testing.T) {
	s := newTestScreener(t, Config{})
	q := engine.Query{Name: "Mohammed Hussein Ali Khan", BirthDate: "1970"}
	first := screen(t, s, q)
	for i := 0; i < 20; i++ {
		again := screen(t, newTestScreener(t, Config{}), q)
		if !reflect.DeepEqual(first, again) {
			t.Fatalf("run %d differs:\n%+v\n%+v", i, first, again)
		}
	}
	for _, h := range screen(t, s, engine.Query{Name: "Uday Saddam Hussein"}) {
		if h.Explanation.Name == nil || len(h.Explanation.Name.Aligned) == 0 || h.MatchedName == "" {
			t.Errorf("hit %s lacks a name explanation: %+v", h.EntryID, h)
		}
	}
}

func TestQueryErrors(t *testing.T) {
	s := newTestScreener(t, Config{})
	for _, q := range []engine.Query{{}, {Name: "  "}, {Name: "X", BirthDate: "1973-13-01"}, {Name: "X", BirthDate: "73"}} {
		if _, err := s.Screen(&q); err == nil {
			t.Errorf("Screen(%+v): want an error", q)
		}
	}
}

// TestRetrievalIsSelective checks that a query touches only the names
// sharing a word (or a word's variant) with it, never the whole list.
func TestRetrievalIsSelective(t *testing.T) {
	s := newTestScreener(t, Config{})
	sc := s.getScratch()
	s.putScratch(sc)
	byEntry := map[uint32]*engine.Hit{}
	s.screenName([]string{"SAADI", "QADHAFI"}, false, &querySide{}, byEntry)
	sc = s.getScratch()
	defer s.putScratch(sc)
	if len(sc.touched) != 0 {
		t.Fatalf("scratch not reset: %d touched", len(sc.touched))
	}
	// Count touched names directly.
	touched := 0
	for _, c := range s.candidates("QADHAFI", false, false, nil) {
		touched += len(s.ix.post[c.id])
	}
	if _, names := s.ix.Size(); touched == 0 || touched > names/20 {
		t.Errorf("QADHAFI touches %d of %d names", touched, names)
	}
}

// TestExplanationCosts checks that a hit's name explanation names the
// words without a counterpart and the differently spelt ones, with what
// each cost, and that the costs account for the whole shortfall.
func TestExplanationCosts(t *testing.T) {
	s := newTestScreener(t, Config{})
	h := find(screen(t, s, engine.Query{Name: "Saadi Muammar Gadafi"}), "LYi.015")
	if h == nil || h.Explanation.Name == nil {
		t.Fatalf("no explained hit on LYi.015: %+v", h)
	}
	n := h.Explanation.Name
	if !reflect.DeepEqual(n.UnmatchedQuery, []string{"MUAMMAR"}) {
		t.Errorf("unmatched query words %v, want [MUAMMAR]", n.UnmatchedQuery)
	}
	var missing, spelt *engine.NameCost
	total := 0.0
	for i := range n.Costs {
		c := &n.Costs[i]
		total += c.Cost
		switch {
		case c.Word == "MUAMMAR" && c.Side == engine.NameSideQuery:
			missing = c
		case c.Word == "GADAFI":
			spelt = c
		}
	}
	if missing == nil || missing.Cost <= 0 || missing.Why == "" {
		t.Errorf("no cost for the unmatched MUAMMAR: %+v", n.Costs)
	}
	if spelt == nil || spelt.Cost <= 0 {
		t.Errorf("no cost for GADAFI spelt for QADHAFI: %+v", n.Costs)
	}
	if d := total - (1 - n.Score); d > 0.005 || d < -0.005 {
		t.Errorf("costs add up to %.3f, want 1 - score = %.3f: %+v", total, 1-n.Score, n.Costs)
	}
	exact := find(screen(t, s, engine.Query{Name: "Saadi Qadhafi"}), "LYi.015")
	if exact == nil || len(exact.Explanation.Name.Costs) != 0 || exact.Explanation.Name.Score != 1 {
		t.Errorf("the listed name itself: %+v", exact)
	}
}

// TestSpellingCloseness checks the ordering the scorer relies on:
// transliteration and keying variants of a name are closer than two
// different names that share letters, and a changed first letter costs.
func TestSpellingCloseness(t *testing.T) {
	if c := spellingCloseness("QADHAFI", "QADHAFI"); c != 1 {
		t.Errorf("equal words: %v", c)
	}
	close := [][2]string{{"MOHAMMED", "MUHAMMAD"}, {"QADHAFI", "QADAHFI"}, {"ALEXANDER", "ALEKSANDR"}, {"YOUSSEF", "YOSEF"}, {"MEDVEDCHUK", "MIDVEDCHUK"}, {"FLADIMIR", "VLADIMIR"}, {"SADEGH", "SADEQ"}, {"BAQERI", "BAGHERI"}}
	far := [][2]string{{"JOSE", "JORGE"}, {"AMIR", "DAMIR"}, {"LAURO", "MAURO"}, {"MAHMOUD", "MOHAMMED"}}
	for _, p := range close {
		if c := spellingCloseness(p[0], p[1]); c < 0.85 {
			t.Errorf("%s/%s: closeness %.3f, want >= 0.85 for one name spelt two ways", p[0], p[1], c)
		}
	}
	for _, p := range far {
		if c := spellingCloseness(p[0], p[1]); c > 0.75 {
			t.Errorf("%s/%s: closeness %.3f, want <= 0.75 for two names", p[0], p[1], c)
		}
	}
	if a, b := spellingCloseness("QADHAFI", "QADHAFY"), spellingCloseness("QADHAFI", "WADHAFI"); a <= b {
		t.Errorf("a changed last letter (%.3f) should cost less than a changed first letter (%.3f)", a, b)
	}
}

// TestCompoundsWrittenApart checks that a name written as one word on one
// side and as two or three (with an Arabic article between, which a glued
// spelling assimilates) on the other is found, with the pairing shown,
// and that a glued word is not paired with a run ending in an article
// (NASRALLAH with NASR AL).
func TestCompoundsWrittenApart(t *testing.T) {
	b := NewBuilder()
	h := b.AddList(engine.ListInfo{Name: "test", Version: 1})
	es := append(testEntries(),
		person("C.1", []string{"Ghazi NASR AL DIN"}, nil, nil, "M"),
		person("C.2", []string{"Akbar SEYED ALHOSSEINI"}, nil, nil, "M"),
		person("C.3", []string{"Hashem SAFIEDDINE"}, nil, nil, "M"),
		person("C.4", []string{"Kamal EDDIN TUMA"}, nil, nil, "M"))
	for _, e := range es {
		b.Add(h, &e)
	}
	s := NewScreener(b.Build(), nil, Config{})
	for _, c := range []struct {
		q    engine.Query
		want string
		list string // the listed words the explanation pairs as one
	}{
		{engine.Query{Surname: "NASSEREDDINE", GivenNames: "Ghazi"}, "C.1", "NASR AL DIN"},
		{engine.Query{Surname: "NASRALDINE", GivenNames: "Ghazi"}, "C.1", "NASR AL DIN"},
		{engine.Query{Surname: "SEYEDOLHOSEINI", GivenNames: "Akbar"}, "C.2", "SEYED ALHOSSEINI"},
		{engine.Query{Surname: "SAFI AL-DIN", GivenNames: "Hashem"}, "C.3", "SAFIEDDINE"},
		{engine.Query{Surname: "TU'MA", GivenNames: "Kamal al-Din"}, "C.4", "AL DIN"},
	} {
		hit := find(screen(t, s, c.q), c.want)
		if hit == nil {
			t.Errorf("%s %s: no hit on %s", c.q.GivenNames, c.q.Surname, c.want)
			continue
		}
		joined := false
		for _, m := range hit.Explanation.Name.Aligned {
			joined = joined || (m.How == "joined" && (m.List == c.list || m.Query == c.list))
		}
		if !joined {
			t.Errorf("%s %s: the explanation does not pair %q as one word: %+v", c.q.GivenNames, c.q.Surname, c.list, hit.Explanation.Name.Aligned)
		}
	}
	if hit := find(screen(t, s, engine.Query{Surname: "NASRALLAH", GivenNames: "Ghazi"}), "C.1"); hit != nil {
		for _, m := range hit.Explanation.Name.Aligned {
			if m.How == "joined" {
				t.Errorf("NASRALLAH paired with %q as one word", m.List)
			}
		}
	}
}
