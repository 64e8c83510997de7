package importer

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/engine"
)

func collect(t *testing.T, read func(emit func(*engine.Entry) error) error) ([]*engine.Entry, error) {
	t.Helper()
	var got []*engine.Entry
	err := read(func(e *engine.Entry) error {
		if err := e.Validate(); err != nil {
			t.Errorf("emitted invalid entry: %v", err)
		}
		got = append(got, e)
		return nil
	})
	return got, err
}

var nativeWant = []*engine.Entry{
	{
		ID: "N-1", Kind: engine.KindPerson,
		Names: []engine.Name{
			{Value: "Ivan PETROV", Kind: engine.NamePrimary},
			{Value: "Ivan PETROFF", Kind: engine.NameAlias},
			{Value: "Vanya", Kind: engine.NameAlias, Quality: engine.QualityLow},
		},
		BirthDates:    []engine.BirthDate{{Year: 1970, Month: 3, Day: 1}, {Year: 1968, ToYear: 1971, Approx: true}},
		Nationalities: []string{"RUS", "DEU"},
		Sex:           "M",
		Documents: []engine.Document{
			{Type: "P", Number: "AB123456", Country: "RUS"},
			{Type: "I", Number: "T22000129", Country: "DEU"},
		},
		Programs: []string{"national", "border"},
		Remarks:  "refer to secondary, \"armed\"",
	},
	{
		ID: "N-2", Kind: engine.KindEntity,
		Names: []engine.Name{{Value: "ACME TRADING LLC", Kind: engine.NamePrimary}},
	},
}

const nativeCSV = "\uFEFFid,kind,name,aliases,birth_dates,nationalities,sex,documents,programs,remarks\n" +
	"N-1,person,Ivan  PETROV,Ivan PETROFF;,1970-03-01;~1968..1971,RUS;Germany,m,P:AB123456:RUS;I:T22000129:D,national;border,\"refer to secondary, \"\"armed\"\"\"\n" +
	"\n" +
	"N-2,entity,ACME TRADING LLC,,,,,,,\n"

func TestReadCSV(t *testing.T) {
	got, err := collect(t, func(emit func(*engine.Entry) error) error {
		return ReadCSV(strings.NewReader(nativeCSV), "n.csv", emit)
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []*engine.Entry{nativeWant[0], nativeWant[1]}
	w0 := *want[0]
	w0.Names = w0.Names[:2] // the CSV form has no alias quality
	want[0] = &w0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%+v\n%+v\nwant\n%+v\n%+v", got[0], got[1], want[0], want[1])
	}

	// Columns in any order, optional ones left out, kind defaults to person.
	got, err = collect(t, func(emit func(*engine.Entry) error) error {
		return ReadCSV(strings.NewReader("name,id\nAnna,7\n"), "n.csv", emit)
	})
	if err != nil || len(got) != 1 || got[0].ID != "7" || got[0].Kind != engine.KindPerson || got[0].PrimaryName() != "Anna" {
		t.Errorf("got %+v, %v", got, err)
	}
}

func TestReadCSVErrors(t *testing.T) {
	const h = "id,name,kind,birth_dates,nationalities,sex,documents\n"
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", "n.csv:1: empty file"},
		{"unknown column", "id,name,colour,weight\n", `n.csv:1: header: unknown columns "colour", "weight"`},
		{"duplicate column", "id,name,id\n", `n.csv:1: header: column "id" given twice`},
		{"missing name column", "id,kind\n", `n.csv:1: header: required column "name" missing`},
		{"no id", h + "1,A,,,,,\n ,B,,,,,\n", "n.csv:3: id: record has no id"},
		{"no name", h + "1,A,,,,,\n2, ,,,,,\n", `n.csv:3: name: record "2" has no name`},
		{"bad kind", h + "1,A,vessel,,,,\n", `n.csv:2: kind: kind "vessel"`},
		{"bad date", h + "1,A,,1960-13-01,,,\n", "n.csv:2: birth_dates: birth date \"1960-13-01\""},
		{"bad country", h + "1,A,,,Atlantis,,\n", `n.csv:2: nationalities: unknown country "Atlantis"`},
		{"bad sex", h + "1,A,,,,Q,\n", `n.csv:2: sex: sex "Q"`},
		{"bad document", h + "1,A,,,,,P:1:2:3\n", `n.csv:2: documents: document "P:1:2:3"`},
		{"document country", h + "1,A,,,,,P:1:ZZZ\n", `n.csv:2: documents: document "1": unknown country "ZZZ"`},
		{"document no number", h + "1,A,,,,,P::DEU\n", "n.csv:2: documents: document has no number"},
		{"field count", h + "1,A,,,,,\n2,B\n", "n.csv:3: wrong number of fields"},
		{"bad quote", h + "1,\"A\"x,,,,,\n", "n.csv:2: extraneous or missing"},
		{"invalid utf-8", h + "1,A\xff,,,,,\n", "n.csv:2: name: invalid UTF-8"},
		{"duplicate id", h + "1,A,,,,,\n2,B,,,,,\n1,C,,,,,\n", `n.csv:4: id: duplicate id "1" (first on line 2)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := collect(t, func(emit func(*engine.Entry) error) error {
				return ReadCSV(strings.NewReader(c.in), "n.csv", emit)
			})
			wantError(t, err, c.want)
		})
	}
}

const nativeJSONL = "\uFEFF" + `{"id":"N-1","kind":"person","name":"Ivan PETROV","aliases":["Ivan PETROFF",{"value":"Vanya","quality":"low"}],"birth_dates":["1970-03-01","~1968..1971"],"nationalities":["RUS","DE"],"sex":"M","documents":[{"type":"P","number":"AB123456","country":"RUS"},{"type":"I","number":"T22000129","country":"DEU"}],"programs":["national","border"],"remarks":"refer to secondary, \"armed\""}

   
{"id":"N-2","kind":"entity","name":"ACME TRADING LLC"}
`

func TestReadJSONL(t *testing.T) {
	got, err := collect(t, func(emit func(*engine.Entry) error) error {
		return ReadJSONL(strings.NewReader(nativeJSONL), "n.jsonl", emit)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, nativeWant) {
		t.Errorf("got\n%+v\n%+v\nwant\n%+v\n%+v", got[0], got[1], nativeWant[0], nativeWant[1])
	}
}

func TestReadJSONLErrors(t *testing.T) {
	const ok = `{"id":"1","name":"A"}` + "\n"
	cases := []struct {
		name, in, want string
	}{
		{"unknown field", ok + `{"id":"2","name":"B","colour":"red"}`, `n.jsonl:2: invalid JSON record: json: unknown field "colour"`},
		{"unknown alias field", ok + `{"id":"2","name":"B","aliases":[{"value":"x","q":1}]}`, `n.jsonl:2: invalid JSON record`},
		{"bad alias quality", ok + `{"id":"2","name":"B","aliases":[{"value":"x","quality":"meh"}]}`, `n.jsonl:2: aliases: alias "x": quality "meh"`},
		{"syntax", ok + `{"id":"2",`, "n.jsonl:2: invalid JSON record"},
		{"trailing", ok + `{"id":"2","name":"B"} {}`, "n.jsonl:2: invalid JSON record: data after the object"},
		{"array", ok + `[1]`, "n.jsonl:2: invalid JSON record"},
		{"wrong type", ok + `{"id":2,"name":"B"}`, "n.jsonl:2: invalid JSON record"},
		{"no id", ok + `{"name":"B"}`, "n.jsonl:2: id: record has no id"},
		{"null", ok + `null`, "n.jsonl:2: invalid JSON record: want an object"},
		{"no name", "\n" + ok + `{"id":"2"}`, `n.jsonl:3: name: record "2" has no name`},
		{"bad date", ok + `{"id":"2","name":"B","birth_dates":["circa 1960"]}`, `n.jsonl:2: birth_dates: birth date "circa 1960"`},
		{"bad document", ok + `{"id":"2","name":"B","documents":[{"type":"P","country":"DEU"}]}`, "n.jsonl:2: documents: document has no number"},
		{"invalid utf-8", ok + "{\"id\":\"2\",\"name\":\"B\xff\"}", "n.jsonl:2: invalid UTF-8"},
		{"duplicate id", ok + ok, `n.jsonl:2: id: duplicate id "1" (first on line 1)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := collect(t, func(emit func(*engine.Entry) error) error {
				return ReadJSONL(strings.NewReader(c.in), "n.jsonl", emit)
			})
			wantError(t, err, c.want)
		})
	}
}

func TestReadDocsCSV(t *testing.T) {
	in := "\uFEFFnumber,country,type,note\nAB123456,DEU,P,stolen 2024\n X 1 ,D,,\nC3,,I,\n"
	var got []engine.Document
	err := ReadDocsCSV(strings.NewReader(in), "d.csv", func(d *engine.Document) error { got = append(got, *d); return nil })
	if err != nil {
		t.Fatal(err)
	}
	want := []engine.Document{
		{Number: "AB123456", Country: "DEU", Type: "P", Note: "stolen 2024"},
		{Number: "X 1", Country: "DEU"},
		{Number: "C3", Type: "I"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	// Emitted documents stay valid after later rows (no reuse).
	var ptrs []*engine.Document
	big := "number,country\n" + strings.Repeat("N1,FRA\nN2,ITA\n", docSlab)
	if err := ReadDocsCSV(strings.NewReader(big), "d.csv", func(d *engine.Document) error { ptrs = append(ptrs, d); return nil }); err != nil {
		t.Fatal(err)
	}
	for i, d := range ptrs {
		if want := [2]string{"N1", "N2"}[i%2]; d.Number != want {
			t.Fatalf("document %d: %q, want %q", i, d.Number, want)
		}
	}
}

func TestReadDocsCSVErrors(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"empty", "", "d.csv:1: empty file"},
		{"unknown column", "number,country,colour\n", `d.csv:1: header: unknown columns "colour"`},
		{"no number column", "country,type\n", `d.csv:1: header: required column "number" missing`},
		{"no number", "number,country\nA,DEU\n ,DEU\n", "d.csv:3: number: document has no number"},
		{"bad country", "number,country\nA,DEU\nB,Atlantis\n", `d.csv:3: country: unknown country "Atlantis"`},
		{"field count", "number,country\nA,DEU\nB\n", "d.csv:3: wrong number of fields"},
		{"invalid utf-8", "number,country,type\nA,DEU,P\nB\xff,DEU,P\n", "d.csv:3: number: invalid UTF-8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ReadDocsCSV(strings.NewReader(c.in), "d.csv", func(*engine.Document) error { return nil })
			wantError(t, err, c.want)
		})
	}
}

func TestTruncateRemarks(t *testing.T) {
	long := strings.Repeat("é", MaxRemarks) // 2 bytes a rune
	got := truncateRemarks(long)
	if len(got) > MaxRemarks || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "éé") {
		t.Errorf("len %d, suffix %q", len(got), got[len(got)-6:])
	}
	if got := truncateRemarks("  short \n"); got != "short" {
		t.Errorf("got %q", got)
	}
}

func TestErrorFormat(t *testing.T) {
	base := errors.New("boom")
	cases := []struct {
		e    *Error
		want string
	}{
		{&Error{File: "sdn.csv", Line: 1234, Err: base}, "sdn.csv:1234: boom"},
		{&Error{File: "un.xml", Line: 7, Element: "INDIVIDUAL QDi.1", Err: base}, "un.xml:7: INDIVIDUAL QDi.1: boom"},
		{&Error{File: "sdn.csv", Err: base}, "sdn.csv: boom"},
	}
	for _, c := range cases {
		if got := c.e.Error(); got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
		if !errors.Is(c.e, base) {
			t.Errorf("%v does not unwrap to its cause", c.e)
		}
	}
}

// mustBeValid is an emit that fails the fuzz test on an invalid entry.
func mustBeValid(t *testing.T) func(*engine.Entry) error {
	return func(e *engine.Entry) error {
		if err := e.Validate(); err != nil {
			t.Fatalf("emitted invalid entry %+v: %v", e, err)
		}
		return nil
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add(nativeCSV)
	f.Add("id,name\n1,A\n")
	f.Add("id,name,documents,birth_dates\n1,A,P:1:DEU;x,~1960..1950\n")
	f.Add("id,name\n\"1\nA")
	f.Fuzz(func(t *testing.T, in string) {
		ReadCSV(strings.NewReader(in), "f.csv", mustBeValid(t))
	})
}

func FuzzReadJSONL(f *testing.F) {
	f.Add(nativeJSONL)
	f.Add(`{"id":"1","name":"A","aliases":[{"value":"b"}]}`)
	f.Add(`{"id":"1","name":"A","documents":[{}]}`)
	f.Add("{\n")
	f.Fuzz(func(t *testing.T, in string) {
		ReadJSONL(strings.NewReader(in), "f.jsonl", mustBeValid(t))
	})
}

func docsBuffer(n int) []byte {
	var b bytes.Buffer
	b.WriteString("number,country,type\n")
	countries := []string{"DEU", "FRA", "GBR", "USA", "RUS"}
	for i := range n {
		fmt.Fprintf(&b, "X%08d,%s,P\n", i, countries[i%len(countries)])
	}
	return b.Bytes()
}

func BenchmarkReadDocsCSV(b *testing.B) {
	data := docsBuffer(100_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		if err := ReadDocsCSV(bytes.NewReader(data), "d.csv", func(*engine.Document) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		if n != 100_000 {
			b.Fatalf("%d rows", n)
		}
	}
}

// wantError fails the test unless err is an *Error that names the file
// and whose text contains want.
func wantError(t *testing.T, err error, want string) {
	t.Helper()
	var ie *Error
	if !errors.As(err, &ie) || ie.File == "" {
		t.Fatalf("got %v, want an *Error naming the file", err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("got %q, want it to contain %q", err, want)
	}
}
