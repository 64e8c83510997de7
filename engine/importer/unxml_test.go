package importer

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/engine"
)

func readUNFixture(t *testing.T) map[string]*engine.Entry {
	t.Helper()
	f, err := os.Open("testdata/un_excerpt.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make(map[string]*engine.Entry)
	var order []string
	err = ReadUNXML(f, "un_excerpt.xml", func(e *engine.Entry) error {
		if err := e.Validate(); err != nil {
			t.Errorf("emitted invalid entry: %v", err)
		}
		got[e.ID] = e
		order = append(order, e.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"CDi.004", "CFi.009", "QDi.020", "QDi.360", "SDi.001", "TAi.011", "TAi.025", "CDe.001", "QDe.004"}
	if !reflect.DeepEqual(order, want) {
		t.Fatalf("emitted %v, want %v", order, want)
	}
	return got
}

func TestReadUNXML(t *testing.T) {
	got := readUNFixture(t)
	cases := []struct {
		id   string
		want engine.Entry
	}{
		{"TAi.011", engine.Entry{
			ID: "TAi.011", Kind: engine.KindPerson,
			Names: []engine.Name{
				{Value: "AKHTAR MOHAMMAD MANSOUR SHAH MOHAMMED", Kind: engine.NamePrimary},
				{Value: "Akhtar Mohammad Mansour Khan Muhammad", Kind: engine.NameAlias, Quality: engine.QualityGood},
				{Value: "Akhtar Muhammad Mansoor", Kind: engine.NameAlias, Quality: engine.QualityGood},
				{Value: "Akhtar Mohammad Mansoor", Kind: engine.NameAlias, Quality: engine.QualityGood},
				{Value: "Naib Imam", Kind: engine.NameAlias, Quality: engine.QualityLow},
				{Value: "اختر محمد منصور شاه محمد", Kind: engine.NameOriginal},
			},
			BirthDates:    []engine.BirthDate{{Year: 1960, Approx: true}, {Year: 1966}},
			Nationalities: []string{"AFG"},
			Documents:     []engine.Document{{Type: "P", Number: "SE-011697", Country: "AFG", Note: "expired on 23 Feb. 2000"}},
			Programs:      []string{"Taliban"},
		}},
		{"TAi.025", engine.Entry{
			ID: "TAi.025", Kind: engine.KindPerson,
			Names: []engine.Name{
				{Value: "ABDUL RAUF KHADEM", Kind: engine.NamePrimary},
				{Value: "Mullah Abdul Rauf Aliza", Kind: engine.NameAlias, Quality: engine.QualityGood},
				{Value: "عبدالروف خادم", Kind: engine.NameOriginal},
			},
			BirthDates:    []engine.BirthDate{{Year: 1958, ToYear: 1963}, {Year: 1970, Approx: true}},
			Nationalities: []string{"AFG"},
			Programs:      []string{"Taliban"},
		}},
		{"QDi.020", engine.Entry{
			ID: "QDi.020", Kind: engine.KindPerson,
			Names: []engine.Name{
				{Value: "MOHAMMAD HAMDI MOHAMMAD SADIQ AL-AHDAL", Kind: engine.NamePrimary},
				{Value: "Al-Hamati, Muhammad", Kind: engine.NameAlias, Quality: engine.QualityGood},
				{Value: "Muhammad Muhammad Abdullah Al-Ahdal", Kind: engine.NameAlias, Quality: engine.QualityGood},
				{Value: "Mohamed Mohamed Abdullah Al-Ahdal", Kind: engine.NameAlias, Quality: engine.QualityGood},
				{Value: "Abu Asim Al-Makki", Kind: engine.NameAlias, Quality: engine.QualityLow},
				{Value: "Ahmed", Kind: engine.NameAlias, Quality: engine.QualityLow},
				{Value: "محمد حمدي محمد صادق الأهدل", Kind: engine.NameOriginal},
			},
			BirthDates:    []engine.BirthDate{{Year: 1971, Month: 11, Day: 19}},
			Nationalities: []string{"YEM"},
			Documents: []engine.Document{
				{Type: "P", Number: "541939", Country: "YEM", Note: "in the name of Muhammad Muhammad Abdullah Al-Ahdal"},
				{Type: "I", Number: "216040", Note: "Yemeni identity card number"},
			},
			Programs: []string{"Al-Qaida"},
		}},
		{"QDi.360", engine.Entry{
			ID: "QDi.360", Kind: engine.KindPerson,
			Names: []engine.Name{
				{Value: "SALLY-ANNE FRANCES JONES", Kind: engine.NamePrimary},
				{Value: "Umm Hussain al-Britani", Kind: engine.NameAlias, Quality: engine.QualityLow},
				{Value: "Sakinah Hussain", Kind: engine.NameAlias, Quality: engine.QualityLow},
			},
			BirthDates:    []engine.BirthDate{{Year: 1968, Month: 11, Day: 17}},
			Nationalities: []string{"GBR"},
			Sex:           "F",
			Documents:     []engine.Document{{Type: "P", Number: "519408086", Country: "GBR", Note: "expires on 23 Sep. 2023"}},
			Programs:      []string{"Al-Qaida"},
		}},
		{"CDe.001", engine.Entry{
			ID: "CDe.001", Kind: engine.KindEntity,
			Names: []engine.Name{
				{Value: "ADF", Kind: engine.NamePrimary},
				{Value: "Allied Democratic Forces", Kind: engine.NameAlias},
				{Value: "Forces Démocratiques Alliées-Armée Nationale de Libération de l’Ouganda", Kind: engine.NameAlias},
				{Value: "ADF/NALU", Kind: engine.NameAlias},
				{Value: "NALU", Kind: engine.NameAlias},
			},
			Programs: []string{"DRC"},
		}},
	}
	for _, c := range cases {
		e := got[c.id]
		if e == nil {
			t.Errorf("%s not emitted", c.id)
			continue
		}
		if e.Remarks == "" {
			t.Errorf("%s: no remarks", c.id)
		}
		g := *e
		g.Remarks = ""
		if !reflect.DeepEqual(g, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.id, g, c.want)
		}
	}

	// A DOB given only as a NOTE ("Nov. 1973") is read as a month.
	if d := got["CDi.004"].BirthDates; len(d) != 1 || d[0] != (engine.BirthDate{Year: 1973, Month: 11}) {
		t.Errorf("CDi.004 birth dates %v, want [1973-11]", d)
	}
	// NATIONALITY "na" means not given.
	if n := got["SDi.001"].Nationalities; len(n) != 0 {
		t.Errorf("SDi.001 nationalities %v, want none", n)
	}
	if !strings.HasPrefix(got["QDi.020"].Remarks, "Responsible for the finances of Al-Qa’ida (QDe.004) in Yemen.") {
		t.Errorf("QDi.020 remarks %q", got["QDi.020"].Remarks)
	}
	if o := got["QDe.004"].Names; o[len(o)-1] != (engine.Name{Value: "القاعدة", Kind: engine.NameOriginal}) {
		t.Errorf("QDe.004 names %v", o)
	}
}

const unHead = `<?xml version="1.0" encoding="UTF-8"?>
<CONSOLIDATED_LIST dateGenerated="2026-02-27T00:00:09.554Z">
<INDIVIDUALS>
`

func TestReadUNXMLErrors(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want string // substring of the error
	}{
		{"empty", "", "u.xml: no CONSOLIDATED_LIST root"},
		{"wrong root", "<?xml version=\"1.0\"?>\n<sdnList>\n</sdnList>", "u.xml:2: sdnList: root element is not CONSOLIDATED_LIST"},
		{"no reference", unHead + "<INDIVIDUAL>\n<FIRST_NAME>A</FIRST_NAME>\n</INDIVIDUAL>\n</INDIVIDUALS></CONSOLIDATED_LIST>", "u.xml:4: INDIVIDUAL: entry has no id"},
		{"no name", unHead + "<INDIVIDUAL><REFERENCE_NUMBER> QDi.1 </REFERENCE_NUMBER></INDIVIDUAL>\n</INDIVIDUALS></CONSOLIDATED_LIST>", "u.xml:4: INDIVIDUAL QDi.1: entry \"QDi.1\" has no name"},
		{"duplicate", unHead + "<INDIVIDUAL><REFERENCE_NUMBER>Q.1</REFERENCE_NUMBER><FIRST_NAME>A</FIRST_NAME></INDIVIDUAL>\n" +
			"<INDIVIDUAL><REFERENCE_NUMBER>Q.1</REFERENCE_NUMBER><FIRST_NAME>B</FIRST_NAME></INDIVIDUAL>\n</INDIVIDUALS></CONSOLIDATED_LIST>",
			"u.xml:5: INDIVIDUAL Q.1: duplicate REFERENCE_NUMBER \"Q.1\" (first on line 4)"},
		{"malformed", unHead + "<INDIVIDUAL><REFERENCE_NUMBER>Q.1</REFERENCE_NUMBER>\n<FIRST_NAME>A</SECOND_NAME></INDIVIDUAL>", "u.xml:5: INDIVIDUAL: malformed XML"},
		{"truncated", unHead + "<INDIVIDUAL><REFERENCE_NUMBER>Q.1</REFERENCE_NUMBER><FIRST_NAME>A</FIRST_NAME></INDIVIDUAL>\n", "u.xml:5: malformed XML"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := 0
			err := ReadUNXML(strings.NewReader(c.in), "u.xml", func(*engine.Entry) error { n++; return nil })
			wantError(t, err, c.want)
		})
	}
}

func TestReadUNXMLEmitError(t *testing.T) {
	stop := errors.New("stop")
	f, err := os.Open("testdata/un_excerpt.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	err = ReadUNXML(f, "x.xml", func(*engine.Entry) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("got %v after %d entries, want stop after 1", err, n)
	}
}

func BenchmarkReadUNXML(b *testing.B) {
	data, err := os.ReadFile("testdata/un_excerpt.xml")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := ReadUNXML(strings.NewReader(string(data)), "x.xml", func(*engine.Entry) error { return nil }); err != nil {
			b.Fatal(err)
		}
	}
}

func TestNumberInProse(t *testing.T) {
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"Russian foreign travel passport number 620169661", "620169661", true},
		{"Counterfeit Danish driving licence number 20645897.", "20645897", true},
		{"H 236483", "", false},
		{"AB850901", "", false},
		{"issued in Kabul, no number", "", false},
	} {
		got, ok := numberInProse(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("numberInProse(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
