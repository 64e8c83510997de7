package importer

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/watchpost/watchpost/engine"
)

func readOFACDir(t *testing.T, dir string) (map[string]*engine.Entry, []string) {
	t.Helper()
	got := make(map[string]*engine.Entry)
	var order []string
	err := ReadOFAC(os.DirFS(dir), func(e *engine.Entry) error {
		if err := e.Validate(); err != nil {
			t.Errorf("emitted invalid entry: %v", err)
		}
		if got[e.ID] != nil {
			t.Errorf("%s emitted twice", e.ID)
		}
		got[e.ID] = e
		order = append(order, e.ID)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return got, order
}

func TestReadOFAC(t *testing.T) {
	got, order := readOFACDir(t, "testdata/ofac")
	if len(order) != 30 || order[0] != "36" || order[29] != "28263" {
		t.Fatalf("emitted %d entries %v, want the 30 sdn.csv rows in file order", len(order), order)
	}
	cases := []struct {
		id   string
		want engine.Entry
	}{
		{"306", engine.Entry{
			ID: "306", Kind: engine.KindEntity,
			Names: []engine.Name{
				{Value: "BANCO NACIONAL DE CUBA", Kind: engine.NamePrimary},
				{Value: "NATIONAL BANK OF CUBA", Kind: engine.NameAlias},
				{Value: "BNC", Kind: engine.NameAlias, Quality: engine.QualityLow},
			},
			Programs: []string{"CUBA"},
			Remarks:  "a.k.a. 'BNC'.",
		}},
		{"4234", engine.Entry{
			ID: "4234", Kind: engine.KindEntity,
			Names:    []engine.Name{{Value: "HERMANN", Kind: engine.NamePrimary}},
			Programs: []string{"CUBA"},
		}},
		{"4106", engine.Entry{
			ID: "4106", Kind: engine.KindPerson,
			Names: []engine.Name{
				{Value: "Helmer HERRERA BUITRAGO", Kind: engine.NamePrimary},
				{Value: "PACHO", Kind: engine.NameAlias, Quality: engine.QualityLow},
				{Value: "H7", Kind: engine.NameAlias, Quality: engine.QualityLow},
			},
			BirthDates: []engine.BirthDate{{Year: 1951, Month: 8, Day: 24}, {Year: 1951, Month: 7, Day: 5}},
			Documents: []engine.Document{
				{Type: "I", Number: "16247821", Country: "COL"},
				{Type: "P", Number: "J287011", Country: "COL"},
			},
			Programs: []string{"SDNT"},
			Remarks:  "DOB 24 Aug 1951; alt. DOB 05 Jul 1951; Cedula No. 16247821 (Colombia); Passport J287011 (Colombia); a.k.a. 'PACHO'; a.k.a. 'H7'.",
		}},
		{"6944", engine.Entry{
			ID: "6944", Kind: engine.KindPerson,
			Names:         []engine.Name{{Value: "Sa'd Abdullah Hussein AL-SHARIF", Kind: engine.NamePrimary}},
			BirthDates:    []engine.BirthDate{{Year: 1969}, {Year: 1963}, {Year: 1964, Month: 2, Day: 11}},
			Nationalities: []string{"SAU"},
			Documents: []engine.Document{
				{Type: "P", Number: "B 960789"},
				{Type: "P", Number: "G 649385", Note: "issued 08 Sep 2006 expires 17 Jul 2011"},
			},
			Programs: []string{"SDGT"},
			Remarks:  "DOB 1969; alt. DOB 1963; alt. DOB 11 Feb 1964; POB Al-Medinah, Saudi Arabia; nationality Saudi Arabia; Passport B 960789; alt. Passport G 649385 issued 08 Sep 2006 expires 17 Jul 2011.",
		}},
	}
	for _, c := range cases {
		e := got[c.id]
		if e == nil {
			t.Errorf("%s not emitted", c.id)
			continue
		}
		if !reflect.DeepEqual(*e, c.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.id, *e, c.want)
		}
	}

	checks := []struct {
		id    string
		check func(e *engine.Entry) bool
		what  string
	}{
		{"7782", func(e *engine.Entry) bool {
			return reflect.DeepEqual(e.BirthDates, []engine.BirthDate{{Year: 1951, Approx: true}})
		}, "DOB circa 1951"},
		{"6862", func(e *engine.Entry) bool {
			return reflect.DeepEqual(e.BirthDates, []engine.BirthDate{{Year: 1938, Month: 9}})
		}, "DOB Sep 1938"},
		{"15496", func(e *engine.Entry) bool {
			return reflect.DeepEqual(e.BirthDates, []engine.BirthDate{{Year: 1929, ToYear: 1930}})
		}, "DOB 1929 to 1930"},
		{"15962", func(e *engine.Entry) bool {
			return reflect.DeepEqual(e.BirthDates, []engine.BirthDate{{Year: 1961, ToYear: 1962}})
		}, "DOB 01 Jan 1961 to 31 Dec 1962"},
		{"11748", func(e *engine.Entry) bool {
			return reflect.DeepEqual(e.BirthDates, []engine.BirthDate{{Year: 1979, ToYear: 1982, Approx: true}, {Year: 1982}})
		}, "DOB circa 1979-1982; alt. DOB 1982"},
		{"7940", func(e *engine.Entry) bool { return reflect.DeepEqual(e.Nationalities, []string{"PSE"}) }, "nationality possibly Palestinian"},
		{"16713", func(e *engine.Entry) bool { return reflect.DeepEqual(e.Nationalities, []string{"CPV", "GNB"}) }, "Cabo Verde. Previously Cape Verde."},
		{"6915", func(e *engine.Entry) bool { return reflect.DeepEqual(e.Nationalities, []string{"EGY"}) }, "citizen Egypt"},
		{"12610", func(e *engine.Entry) bool { return e.Sex == "F" }, "Gender Female"},
		{"10481", func(e *engine.Entry) bool {
			return reflect.DeepEqual(e.Documents, []engine.Document{{Type: "P", Number: "008827", Country: "IRN", Note: "diplomatic; issued 1999"}}) &&
				reflect.DeepEqual(e.Programs, []string{"SDGT", "SYRIA", "NPWMD", "IRGC", "IFSR"})
		}, "Diplomatic Passport; programs"},
		{"10851", func(e *engine.Entry) bool { return e.PrimaryName() == "Feliciano Semborio DELOS REYES Jr." }, "name suffix"},
		{"28263", func(e *engine.Entry) bool {
			last := e.Names[len(e.Names)-1]
			return last == (engine.Name{Value: "snowsjohn", Kind: engine.NameAlias, Quality: engine.QualityLow}) &&
				strings.HasSuffix(e.Remarks, "a.k.a. 'snowsjohn'; Linked To: LAZARUS GROUP.") &&
				reflect.DeepEqual(e.Documents, []engine.Document{{Type: "I", Number: "321284198607120616", Country: "CHN"}})
		}, "sdn_comments.csv overflow appended before parsing"},
		{"12300", func(e *engine.Entry) bool {
			return strings.HasSuffix(e.Remarks, "Linked To: R D I S.A.") && strings.Contains(e.Remarks, "S.A.S.; Linked To: RED MUNDIAL")
		}, "sdn_comments.csv overflow appended without separator"},
	}
	for _, c := range checks {
		if e := got[c.id]; e == nil || !c.check(e) {
			t.Errorf("%s (%s): got %+v", c.id, c.what, e)
		}
	}
}

func TestReadOFACLatin1(t *testing.T) {
	fsys := fstest.MapFS{
		"sdn.csv": {Data: []byte("1,\"MU\xd1OZ, Jos\xe9\",\"individual\",\"SDNT\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"DOB 1960; Passport X1 issued 2001 (Espa\xf1a)\"\r\n")},
	}
	var got *engine.Entry
	if err := ReadOFAC(fsys, func(e *engine.Entry) error { got = e; return nil }); err != nil {
		t.Fatal(err)
	}
	if got.PrimaryName() != "José MUÑOZ" {
		t.Errorf("name %q, want José MUÑOZ", got.PrimaryName())
	}
	if want := []engine.Document{{Type: "P", Number: "X1", Country: "ESPAÑA", Note: "issued 2001"}}; !reflect.DeepEqual(got.Documents, want) {
		t.Errorf("documents %+v, want %+v", got.Documents, want)
	}
}

func TestReadOFACErrors(t *testing.T) {
	good, err := os.ReadFile("testdata/ofac/sdn.csv")
	if err != nil {
		t.Fatal(err)
	}
	invalid := func(name string) []byte {
		b, err := os.ReadFile("testdata/ofac_invalid/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	sdnRow := "1,\"A\",-0- ,\"P\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n"
	cases := []struct {
		name string
		fsys fstest.MapFS
		want string
	}{
		{"invalid set alt.csv", fstest.MapFS{"sdn.csv": {Data: invalid("sdn.csv")}, "alt.csv": {Data: invalid("alt.csv")}},
			"alt.csv:5: wrong number of fields: got 1, want 5"},
		{"invalid set sdn.csv", fstest.MapFS{"sdn.csv": {Data: invalid("sdn.csv")}},
			"sdn.csv:5: wrong number of fields: got 1, want 12"},
		{"invalid set add.csv", fstest.MapFS{"sdn.csv": {Data: good}, "add.csv": {Data: invalid("add.csv")}},
			"add.csv:7: wrong number of fields: got 1, want 6"},
		{"no sdn.csv", fstest.MapFS{"alt.csv": {Data: []byte("")}}, "sdn.csv: open:"},
		{"no ent_num", fstest.MapFS{"sdn.csv": {Data: []byte(sdnRow + " ,\"B\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n")}},
			"sdn.csv:2: record has no ent_num"},
		{"no name", fstest.MapFS{"sdn.csv": {Data: []byte(sdnRow + "2,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n")}},
			"sdn.csv:2: entry \"2\" has no name"},
		{"duplicate", fstest.MapFS{"sdn.csv": {Data: []byte(sdnRow + sdnRow)}},
			"sdn.csv:2: duplicate ent_num 1 (first on line 1)"},
		{"bad quote", fstest.MapFS{"sdn.csv": {Data: []byte(sdnRow + "2,\"B\"x,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- \n")}},
			"sdn.csv:2: extraneous or missing \" in quoted-field"},
		{"bad alt ent_num", fstest.MapFS{"sdn.csv": {Data: []byte(sdnRow)}, "alt.csv": {Data: []byte("1,2,\"aka\",\"X\",-0- \nx,3,\"aka\",\"Y\",-0- \n")}},
			"alt.csv:2: ent_num \"x\" is not a number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ReadOFAC(c.fsys, func(*engine.Entry) error { return nil })
			wantError(t, err, c.want)
		})
	}
}
