package mrz

import (
	"encoding/json"
	"strings"
	"testing"
)

func FuzzMRZ(f *testing.F) {
	cases, err := readCases("testdata/mrz_cases.jsonl")
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		f.Add(strings.Join(c.Lines, "\n"))
	}
	f.Add(strings.Join(td3Specimen, "\r\n") + "\r\n\r\n" + strings.Join(td1Specimen, "\n"))
	f.Add("")
	f.Add("\n\n<\n")
	f.Fuzz(func(t *testing.T, text string) {
		rec, err := testParser.Parse(text)
		if len(text) > MaxText && err == nil {
			t.Fatalf("accepted %d bytes", len(text))
		}
		if err == nil {
			checkRecord(t, rec)
		} else if rec != nil {
			t.Fatalf("record and error: %v", err)
		}
		res, err := testParser.ParseAll(text)
		if err != nil {
			t.Fatal(err)
		}
		if len(res) > strings.Count(text, "\n")+strings.Count(text, "\r")+1 {
			t.Fatalf("%d results", len(res))
		}
		for _, r := range res {
			if (r.Record == nil) == (r.Err == nil) {
				t.Fatalf("result %+v", r)
			}
			if r.Record != nil {
				checkRecord(t, r.Record)
			}
		}
	})
}

// checkRecord checks what every parsed record must satisfy.
func checkRecord(t *testing.T, rec *Record) {
	t.Helper()
	if rec.Valid != (len(rec.Errors) == 0) {
		t.Fatalf("valid %v with errors %q", rec.Valid, rec.Errors)
	}
	want := map[Format]int{TD1: 4, TD2: 4, TD3: 5, MRVA: 3, MRVB: 3}[rec.Format]
	if len(rec.Checks) != want {
		t.Fatalf("%s with %d checks", rec.Format, len(rec.Checks))
	}
	for _, c := range rec.Checks {
		if !c.OK && !namesField(rec.Errors, c.Field) {
			t.Fatalf("failed check %+v not in errors %q", c, rec.Errors)
		}
	}
	switch rec.Sex {
	case "M", "F", "X":
	case "":
		if !namesField(rec.Errors, "sex") {
			t.Fatalf("no sex and no error: %q", rec.Errors)
		}
	default:
		t.Fatalf("sex %q", rec.Sex)
	}
	for _, d := range []string{rec.BirthDate, rec.ExpiryDate} {
		if n := len(d); n != 0 && n != 4 && n != 7 && n != 10 {
			t.Fatalf("date %q", d)
		}
	}
	if _, err := json.Marshal(rec); err != nil {
		t.Fatal(err)
	}
	_ = rec.Query()
}
