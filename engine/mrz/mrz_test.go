package mrz

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
)

// ICAO Doc 9303 specimens (Part 4, 5, 6 Appendix A).
var (
	td3Specimen = []string{
		"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
		"L898902C36UTO7408122F1204159ZE184226B<<<<<10",
	}
	td1Specimen = []string{
		"I<UTOD231458907<<<<<<<<<<<<<<<",
		"7408122F1204159UTO<<<<<<<<<<<6",
		"ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
	}
	td2Specimen = []string{
		"I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
		"D231458907UTO7408122F1204159<<<<<<<6",
	}
	mrvaSpecimen = []string{
		"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
		"L8988901C4XXX4009078F96121096ZE184226B<<<<<<",
	}
)

func mustParse(t *testing.T, lines ...string) *Record {
	t.Helper()
	rec, err := testParser.Parse(strings.Join(lines, "\n"))
	if err != nil {
		t.Fatalf("Parse(%q): %v", lines, err)
	}
	return rec
}

// seal recomputes every check digit of an MRZ (except filler ones) so tests
// can build documents field by field.
func seal(lines ...string) []string {
	var st state
	w := len(lines[0])
	for i, line := range lines {
		copy(st.buf[i*w:], line)
	}
	switch {
	case len(lines) == 3:
		st.l = &layouts[0]
	case w == 36 && lines[0][0] == 'V':
		st.l = &layouts[4]
	case w == 36:
		st.l = &layouts[1]
	case lines[0][0] == 'V':
		st.l = &layouts[3]
	default:
		st.l = &layouts[2]
	}
	l := st.l
	for _, f := range []struct {
		s  span
		cd int
	}{{l.docNum, l.docCD}, {l.birth, l.birthCD}, {l.expiry, l.expiryCD}, {l.opt1, l.opt1CD}} {
		if f.cd >= 0 && st.buf[f.cd] != '<' {
			st.buf[f.cd] = checkSpans(&st.buf, f.s)
		}
	}
	if l.composite >= 0 {
		st.buf[l.composite] = checkSpans(&st.buf, l.comp...)
	}
	out := make([]string, len(lines))
	for i := range lines {
		out[i] = string(st.buf[i*w : (i+1)*w])
	}
	return out
}

// with returns lines with line i (0-based) changed to s at column col
// (1-based).
func with(lines []string, i, col int, s string) []string {
	out := slices.Clone(lines)
	out[i] = out[i][:col-1] + s + out[i][col-1+len(s):]
	return out
}

func hasError(rec *Record, field string) bool { return namesField(rec.Errors, field) }

func TestSpecimens(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  Record
	}{
		{"TD3", td3Specimen, Record{Format: TD3, DocumentCode: "P", IssuingState: "UTO", Surname: "ERIKSSON",
			GivenNames: "ANNA MARIA", DocumentNumber: "L898902C3", Nationality: "UTO", BirthDate: "1974-08-12",
			Sex: "F", ExpiryDate: "2012-04-15", OptionalData: "ZE184226B"}},
		{"TD1", td1Specimen, Record{Format: TD1, DocumentCode: "I", IssuingState: "UTO", Surname: "ERIKSSON",
			GivenNames: "ANNA MARIA", DocumentNumber: "D23145890", Nationality: "UTO", BirthDate: "1974-08-12",
			Sex: "F", ExpiryDate: "2012-04-15"}},
		{"TD2", td2Specimen, Record{Format: TD2, DocumentCode: "I", IssuingState: "UTO", Surname: "ERIKSSON",
			GivenNames: "ANNA MARIA", DocumentNumber: "D23145890", Nationality: "UTO", BirthDate: "1974-08-12",
			Sex: "F", ExpiryDate: "2012-04-15"}},
		{"MRVA", mrvaSpecimen, Record{Format: MRVA, DocumentCode: "V", IssuingState: "UTO", Surname: "ERIKSSON",
			GivenNames: "ANNA MARIA", DocumentNumber: "L8988901C", Nationality: "XXX", BirthDate: "1940-09-07",
			Sex: "F", ExpiryDate: "1996-12-10", OptionalData: "6ZE184226B"}},
		{"MRVB", []string{"V<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "L8988901C4XXX4009078F9612109<<<<<<<<"},
			Record{Format: MRVB, DocumentCode: "V", IssuingState: "UTO", Surname: "ERIKSSON",
				GivenNames: "ANNA MARIA", DocumentNumber: "L8988901C", Nationality: "XXX", BirthDate: "1940-09-07",
				Sex: "F", ExpiryDate: "1996-12-10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := mustParse(t, tc.lines...)
			if !rec.Valid || len(rec.Repairs) != 0 || len(rec.Quirks) != 0 {
				t.Errorf("valid %v, errors %q, repairs %v, quirks %q", rec.Valid, rec.Errors, rec.Repairs, rec.Quirks)
			}
			got := *rec
			got.Valid, got.Checks, got.Errors, got.Repairs, got.Quirks = false, nil, nil, nil, nil
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
			wantChecks := map[Format]int{TD1: 4, TD2: 4, TD3: 5, MRVA: 3, MRVB: 3}[tc.want.Format]
			if len(rec.Checks) != wantChecks {
				t.Errorf("%d checks, want %d: %+v", len(rec.Checks), wantChecks, rec.Checks)
			}
		})
	}
}

func TestLayoutErrors(t *testing.T) {
	td3 := strings.Join(td3Specimen, "\n")
	for _, tc := range []struct {
		name      string
		text      string
		line, col int
		msg       string
	}{
		{"empty", " \n\r\n ", 0, 0, "no MRZ lines"},
		{"one line", td3Specimen[0], 0, 0, "1 line(s)"},
		{"four lines", td3 + "\n" + td3, 0, 0, "more than 3 lines"},
		{"TD1 line 1 short", "IDD<<T220001293<<<<<<<<<<<<<<\n" + strings.Join(td1Specimen[1:], "\n"), 1, 0, "length 29, want 30"},
		{"TD1 line 3 long", strings.Join(td1Specimen, "\n") + "<", 3, 0, "length 31, want 30"},
		{"TD3 line 2 short", td3Specimen[0] + "\n" + td3Specimen[1][:43], 2, 0, "length 43, want 44"},
		{"two lines of 50", strings.Repeat("<", 50) + "\n" + strings.Repeat("<", 50), 1, 0, "length 50, want 36 (TD2, MRV-B) or 44"},
		{"TD2 against TD3 length", td2Specimen[0] + "\n" + td3Specimen[1], 2, 0, "length 44, want 36"},
		{"question mark", td3Specimen[0] + "\n" + "L898902C36UTO74081?2F1204159ZE184226B<<<<<10", 2, 19, "invalid character '?'"},
		{"lower case", strings.ToLower(td3Specimen[0]) + "\n" + td3Specimen[1], 1, 1, "invalid character 'p'"},
		{"non-ASCII", "P<UTOERIKSSÖN<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n" + td3Specimen[1], 1, 12, "invalid character 'Ö'"},
		{"space inside", "P<UTOERIKSSON  ANNA<MARIA<<<<<<<<<<<<<<<<<<<\n" + td3Specimen[1], 1, 14, "invalid character ' '"},
		{"too long", strings.Repeat("<", MaxText+1), 0, 0, "more than 4096"},
		{"two records", td3 + "\n\n" + td3, 0, 0, "use ParseAll"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := testParser.Parse(tc.text)
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("got %+v, %v; want a *FormatError", rec, err)
			}
			if fe.Line != tc.line || fe.Column != tc.col || !strings.Contains(fe.Msg, tc.msg) {
				t.Errorf("got line %d column %d %q; want line %d column %d %q", fe.Line, fe.Column, fe.Msg, tc.line, tc.col, tc.msg)
			}
		})
	}
}

func TestForgivingInput(t *testing.T) {
	want := mustParse(t, td3Specimen...)
	a, b := td3Specimen[0], td3Specimen[1]
	for name, text := range map[string]string{
		"CRLF":              a + "\r\n" + b + "\r\n",
		"trailing spaces":   a + "   \n" + b + " \t",
		"blank lines round": "\n\n  \r\n" + a + "\n" + b + "\n\n\n",
		"indented":          "   " + a + "\n\t" + b,
		"lone CR":           a + "\r" + b + "\r",
	} {
		got, err := testParser.Parse(text)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v, %v", name, got, err)
		}
	}
}

func TestParseAll(t *testing.T) {
	text := strings.Join([]string{
		td3Specimen[0], td3Specimen[1], "", "", // lines 1-4
		td1Specimen[0], td1Specimen[1], td1Specimen[2], "  ", // 5-8
		td3Specimen[0], td3Specimen[1][:40], "", // 9-11
		td2Specimen[0], td2Specimen[1], td2Specimen[0], td2Specimen[1], "", // 12-16
		"L898902C36UTO7408122F1204159ZE184226B<<<<<11", "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", // 17-18 (swapped lines)
	}, "\r\n")
	res, err := testParser.ParseAll(text)
	if err != nil {
		t.Fatal(err)
	}
	type summary struct {
		line   int
		format Format
		valid  bool
		err    string
	}
	var got []summary
	for _, r := range res {
		s := summary{line: r.Line}
		if r.Err != nil {
			s.err = r.Err.Error()
		} else {
			s.format, s.valid = r.Record.Format, r.Record.Valid
		}
		got = append(got, s)
	}
	want := []summary{
		{line: 1, format: TD3, valid: true},
		{line: 5, format: TD1, valid: true},
		{line: 9, err: "mrz: line 2: length 40, want 44"},
		{line: 12, err: "mrz: more than 3 lines; an MRZ has 2 or 3"},
		{line: 17, format: TD3, valid: false},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	js, err := json.Marshal(res[2:4])
	if err != nil || !strings.Contains(string(js), `"line":9,"error":"mrz: line 2: length 40, want 44"`) {
		t.Errorf("JSON %s, %v", js, err)
	}
	if _, err := testParser.ParseAll(strings.Repeat("<", MaxBatchText+1)); err == nil {
		t.Error("ParseAll of more than MaxBatchText: no error")
	}
	if res, err := ParseAll(""); err != nil || len(res) != 0 {
		t.Errorf("ParseAll(\"\") = %v, %v", res, err)
	}
}

func TestCentury(t *testing.T) {
	at := func(y int, m time.Month, d int) Parser {
		return Parser{Clock: clocktest.NewAt(time.Date(y, m, d, 10, 0, 0, 0, time.UTC))}
	}
	td3 := func(birth, expiry string) []string {
		return seal(with(with(td3Specimen, 1, 14, birth), 1, 22, expiry)...)
	}
	for _, tc := range []struct {
		name          string
		p             Parser
		birth, expiry string
		wantB, wantE  string
		errField      string
	}{
		{"specimen", at(2026, 3, 1), "740812", "120415", "1974-08-12", "2012-04-15", ""},
		{"expiry 70 is 2070", at(2026, 3, 1), "800101", "700601", "1980-01-01", "2070-06-01", ""},
		{"expiry 67 is 2067", at(2026, 3, 1), "760105", "670411", "1976-01-05", "2067-04-11", ""},
		{"expiry 81 is 1981 in 2026", at(2026, 3, 1), "460913", "810913", "1946-09-13", "1981-09-13", ""},
		{"expiry 81 is 2081 in 2040", at(2040, 1, 1), "460913", "810913", "1946-09-13", "2081-09-13", ""},
		{"expiry 75 is 2075, 76 is 1976", at(2026, 3, 1), "500101", "751231", "1950-01-01", "2075-12-31", ""},
		{"window lower bound", at(2026, 3, 1), "500101", "760101", "1950-01-01", "1976-01-01", ""},
		{"expiry before birth moves on a century", at(2026, 3, 1), "950101", "800101", "1995-01-01", "2080-01-01", ""},
		{"birth today is this century", at(2026, 3, 1), "260301", "360301", "2026-03-01", "2036-03-01", ""},
		{"birth tomorrow is last century", at(2026, 3, 1), "260302", "360301", "1926-03-02", "2036-03-01", ""},
		{"birth 19 is 2019", at(2026, 3, 1), "190101", "290101", "2019-01-01", "2029-01-01", ""},
		{"birth 34 is 1934", at(2026, 3, 1), "340712", "950712", "1934-07-12", "1995-07-12", ""},
		{"leap day 1968", at(2026, 3, 1), "680229", "300101", "1968-02-29", "2030-01-01", ""},
		{"no leap day 1967", at(2026, 3, 1), "670229", "300101", "", "2030-01-01", "birth_date"},
		{"birth month 13", at(2026, 3, 1), "741312", "300101", "", "2030-01-01", "birth_date"},
		{"birth day 00", at(2026, 3, 1), "740800", "300101", "", "2030-01-01", "birth_date"},
		{"expiry day 31 April", at(2026, 3, 1), "740812", "300431", "1974-08-12", "", "expiry_date"},
		{"birth month unknown", at(2026, 3, 1), "74<<<<", "300101", "1974", "2030-01-01", ""},
		{"birth day unknown", at(2026, 3, 1), "7408<<", "300101", "1974-08", "2030-01-01", ""},
		{"birth unknown", at(2026, 3, 1), "<<<<<<", "300101", "", "2030-01-01", ""},
		{"birth fillers inside", at(2026, 3, 1), "74<812", "300101", "", "2030-01-01", "birth_date"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines := td3(tc.birth, tc.expiry)
			rec, err := tc.p.Parse(strings.Join(lines, "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if rec.BirthDate != tc.wantB || rec.ExpiryDate != tc.wantE {
				t.Errorf("got birth %q expiry %q, want %q %q", rec.BirthDate, rec.ExpiryDate, tc.wantB, tc.wantE)
			}
			if tc.errField == "" && !rec.Valid {
				t.Errorf("errors %q", rec.Errors)
			}
			if tc.errField != "" && (rec.Valid || !hasError(rec, tc.errField)) {
				t.Errorf("valid %v, errors %q; want an error naming %s", rec.Valid, rec.Errors, tc.errField)
			}
		})
	}
	// The default parser reads the real clock.
	if rec, err := Parse(strings.Join(td3Specimen, "\n")); err != nil || rec.BirthDate != "1974-08-12" {
		t.Errorf("Parse: %+v, %v", rec, err)
	}
}

func TestOCRRepair(t *testing.T) {
	t.Run("numeric, name and state fields", func(t *testing.T) {
		rec := mustParse(t,
			"P<UT0ERIK55ON<<ANNA<MAR1A<<<<<<<<<<<<<<<<<<<",
			"L898902C36UTO740BIZZF12041S9ZE184226B<<<<<1O")
		if !rec.Valid || rec.IssuingState != "UTO" || rec.Surname != "ERIKSSON" || rec.GivenNames != "ANNA MARIA" ||
			rec.BirthDate != "1974-08-12" || rec.ExpiryDate != "2012-04-15" {
			t.Fatalf("got %+v", rec)
		}
		want := []Repair{
			{"issuing_state", "0", "O", 1, 5},
			{"surname", "5", "S", 1, 10}, {"surname", "5", "S", 1, 11},
			{"given_names", "1", "I", 1, 24},
			{"birth_date", "B", "8", 2, 17}, {"birth_date", "I", "1", 2, 18}, {"birth_date", "Z", "2", 2, 19}, {"birth_date", "Z", "2", 2, 20},
			{"expiry_date", "S", "5", 2, 27},
			{"composite", "O", "0", 2, 44},
		}
		if !reflect.DeepEqual(rec.Repairs, want) {
			t.Errorf("repairs\n got %v\nwant %v", rec.Repairs, want)
		}
	})
	t.Run("nationality digit", func(t *testing.T) {
		rec := mustParse(t, "VBGBROCONNOR<<ENYA<SIOBHAN<<<<<<<<<<<<<<<<<<", "5114278475D0M7510223M150611808<<<<<<<<<<<<<<")
		if !rec.Valid || rec.Nationality != "DOM" || !reflect.DeepEqual(rec.Repairs, []Repair{{"nationality", "0", "O", 2, 12}}) {
			t.Errorf("got %+v", rec)
		}
	})
	t.Run("unrepairable digit in a name", func(t *testing.T) {
		rec := mustParse(t, "P<UTOERIK3SON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", td3Specimen[1])
		if rec.Valid || !hasError(rec, "surname") || rec.Surname != "ERIK3SON" {
			t.Errorf("got %+v", rec)
		}
	})
	t.Run("letter in date that does not fix the check", func(t *testing.T) {
		rec := mustParse(t, with(td3Specimen, 1, 16, "O")...) // 74O812 → 740812 passes
		if !rec.Valid || !reflect.DeepEqual(rec.Repairs, []Repair{{"birth_date", "O", "0", 2, 16}}) {
			t.Errorf("got %+v", rec)
		}
		rec = mustParse(t, with(td3Specimen, 1, 14, "7408I3")...) // 740813 fails its check digit
		if rec.Valid || len(rec.Repairs) != 0 || !hasError(rec, "birth_date") || rec.BirthDate != "" {
			t.Errorf("got %+v", rec)
		}
	})
	t.Run("check digit letter", func(t *testing.T) {
		rec := mustParse(t, with(td3Specimen, 1, 10, "G")...) // document number check digit 6 read as G
		if !rec.Valid || !reflect.DeepEqual(rec.Repairs, []Repair{{"document_number", "G", "6", 2, 10}}) {
			t.Errorf("got %+v", rec)
		}
	})
	t.Run("document number, one candidate", func(t *testing.T) {
		rec := mustParse(t, with(td3Specimen, 1, 6, "O")...) // L8989O2C3
		if !rec.Valid || rec.DocumentNumber != "L898902C3" ||
			!reflect.DeepEqual(rec.Repairs, []Repair{{"document_number", "O", "0", 2, 6}}) {
			t.Errorf("got %+v", rec)
		}
	})
	t.Run("document number, extended TD1", func(t *testing.T) {
		lines := []string{"I<UTOD23145890<7349<<<<<<<<<<<", "3407127M9507122UTO<<<<<<<<<<<2", "STEVENSON<<PETER<JOHN<<<<<<<<<"}
		rec := mustParse(t, with(lines, 0, 6, "D2314S890")...) // 5 read as S
		if !rec.Valid || rec.DocumentNumber != "D23145890734" || len(rec.Repairs) != 1 {
			t.Errorf("got %+v", rec)
		}
		// A swap in the continuation: cheminfo's D23145890 + 123, read as I23.
		lines = []string{"I<UTOD23145890<I233<<<<<<<<<<<", "7408122F1204159UTO<<<<<<<<<<<2", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<"}
		rec = mustParse(t, lines...)
		if !rec.Valid || rec.DocumentNumber != "D23145890123" || !reflect.DeepEqual(rec.Repairs, []Repair{{"document_number", "I", "1", 1, 16}}) {
			t.Errorf("got %+v", rec)
		}
	})
	t.Run("document number, ambiguous", func(t *testing.T) {
		// On an MRV (no composite) with BBBBBBBBB, swapping any B of weight 7
		// (positions 1, 4, 7) gives the same check digit.
		cd, _ := CheckDigit("8BBBBBBBB")
		lines := with(mrvaSpecimen, 1, 1, "BBBBBBBBB"+string(cd))
		rec := mustParse(t, lines...)
		if rec.Valid || len(rec.Repairs) != 0 || rec.DocumentNumber != "BBBBBBBBB" {
			t.Errorf("got %+v", rec)
		}
		if !slices.ContainsFunc(rec.Errors, func(e string) bool {
			return strings.HasPrefix(e, "document_number: OCR repair ambiguous (3 candidates")
		}) {
			t.Errorf("errors %q", rec.Errors)
		}
	})
	t.Run("genuine wrong check digit is not repaired", func(t *testing.T) {
		rec := mustParse(t, with(td3Specimen, 1, 10, "5")...)
		if rec.Valid || len(rec.Repairs) != 0 || !hasError(rec, "document_number") || !hasError(rec, "composite") {
			t.Errorf("got %+v", rec)
		}
	})
	t.Run("personal number", func(t *testing.T) {
		lines := seal(with(td3Specimen, 1, 29, "K0A<<<<<<<<<<<")...)
		rec := mustParse(t, with(lines, 1, 30, "O")...) // KOA
		if !rec.Valid || rec.OptionalData != "K0A" ||
			!reflect.DeepEqual(rec.Repairs, []Repair{{"personal_number", "O", "0", 2, 30}}) {
			t.Errorf("got %+v", rec)
		}
		// ZE1B4226B: B→8 at index 3 and Z→2 at index 0 change both check
		// digits alike (Z→2, S→5, B→8 all subtract 3 mod 10, and indexes 0
		// and 3 share their weights), so nothing is repaired.
		rec = mustParse(t, with(td3Specimen, 1, 32, "B")...)
		if rec.Valid || len(rec.Repairs) != 0 || !slices.Contains(rec.Errors, "personal_number: OCR repair ambiguous (2 candidates pass), not repaired") {
			t.Errorf("got %+v", rec)
		}
	})
}

func TestQuirks(t *testing.T) {
	t.Run("BEL check digit over positions 6-18", func(t *testing.T) {
		rec := mustParse(t, "IDBEL000590240<6013<<<<<<<<<<<", "8512017F1311048BEL851201002007", "REINARTZ<<ULRIKE<KATIA<E<<<<<<")
		if !rec.Valid || rec.DocumentNumber != "000590240601" || !slices.Contains(rec.Quirks, "BEL/PRT: document-number check digit at position 19 covers positions 6-18") {
			t.Errorf("got %+v", rec)
		}
		if c := rec.Checks[0]; c.Field != "document_number" || c.Value != "000590240<601" || c.CheckDigit != "3" || c.Rule != ruleBELPRT {
			t.Errorf("check %+v", c)
		}
	})
	t.Run("BEL rule is not used for other states", func(t *testing.T) {
		rec := mustParse(t, "IDFRA000590240<6013<<<<<<<<<<<", "8512017F1311048BEL851201002007", "REINARTZ<<ULRIKE<KATIA<E<<<<<<")
		if rec.Valid || !hasError(rec, "document_number") || len(rec.Quirks) != 0 {
			t.Errorf("got %+v", rec)
		}
	})
	t.Run("PRT with a digit at position 15", func(t *testing.T) {
		rec := mustParse(t, "I<PRT0000414022<ZZ70<<<<<<<<<<", "8010100M2012294PRT<<<<<<<<<<<2", "MIGUEL<<SOPHIA<<<<<<<<<<<<<<<<")
		if !rec.Valid || rec.DocumentNumber != "0000414022ZZ" || len(rec.Quirks) != 1 {
			t.Errorf("got %+v", rec)
		}
	})
	t.Run("ICAO extended number TD1 and TD2", func(t *testing.T) {
		rec := mustParse(t, "I<UTOD23145890<7349<<<<<<<<<<<", "3407127M9507122UTO<<<<<<<<<<<2", "STEVENSON<<PETER<JOHN<<<<<<<<<")
		if !rec.Valid || rec.DocumentNumber != "D23145890734" || rec.OptionalData != "" || len(rec.Quirks) != 0 || rec.Checks[0].Rule != ruleExtended {
			t.Errorf("got %+v", rec)
		}
		rec = mustParse(t, "I<UTOSTEVENSON<<PETER<JOHN<<<<<<<<<<", "D23145890<UTO3407127M95071227349<<<8")
		if !rec.Valid || rec.DocumentNumber != "D23145890734" || rec.Checks[0].CheckDigit != "9" || rec.OptionalData != "" {
			t.Errorf("got %+v", rec)
		}
	})
	t.Run("extended number with nothing to extend", func(t *testing.T) {
		rec := mustParse(t, "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<", "D23145890<UTO7408122F1204159<<<<<<<6")
		if rec.Valid || !hasError(rec, "document_number") {
			t.Errorf("got %+v", rec)
		}
	})
	t.Run("German D<< and sex <", func(t *testing.T) {
		rec := mustParse(t, "IDD<<T220001293<<<<<<<<<<<<<<<", "6408125<2010315D<<<<<<<<<<<<<4", "MUSTERMANN<<ERIKA<PAULA<ANNA<<")
		if !rec.Valid || rec.IssuingState != "D" || rec.Nationality != "D" || rec.Sex != "X" ||
			!slices.Contains(rec.Quirks, "DEU: one-letter state code D (printed D<<)") {
			t.Errorf("got %+v", rec)
		}
		q := rec.Query()
		if q.DocumentCountry != "DEU" || q.Nationality != "DEU" || q.Sex != "X" {
			t.Errorf("query %+v", q)
		}
	})
	t.Run("TD1 without expiry", func(t *testing.T) {
		rec := mustParse(t, "I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F<<<<<<0UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
		if !rec.Valid || rec.ExpiryDate != "" || len(rec.Quirks) != 1 {
			t.Errorf("got %+v", rec)
		}
		rec = mustParse(t, "I<UTOD231458907<<<<<<<<<<<<<<<", "7408122F<<<<<<<UTO<<<<<<<<<<<6", "ERIKSSON<<ANNA<MARIA<<<<<<<<<<")
		if rec.Valid || !hasError(rec, "expiry_date") {
			t.Errorf("filler check digit outside RUS: got %+v", rec)
		}
	})
	t.Run("Russian internal passport", func(t *testing.T) {
		rec := mustParse(t, "PNRUSZDRIL7K<<SERGEQ<ANATOL9EVI3<<<<<<<<<<<<", "3919353498RUS7207233M<<<<<<<4151218910003<50")
		want := &CyrillicNames{Surname: "ЗДРИЛЮК", GivenNames: "СЕРГЕЙ АНАТОЛЬЕВИЧ"}
		if !rec.Valid || rec.Surname != "ZDRIL7K" || rec.GivenNames != "SERGEQ ANATOL9EVI3" || !reflect.DeepEqual(rec.NamesCyrillic, want) ||
			rec.ExpiryDate != "" || rec.DocumentNumber != "391935349" || rec.DocumentNumberFull != "3914935349" ||
			len(rec.Repairs) != 0 || len(rec.Quirks) != 3 {
			t.Errorf("got %+v", rec)
		}
		if q := rec.Query(); q.DocumentNumber != "3914935349" || q.Surname != "ZDRIL7K" {
			t.Errorf("query %+v", q)
		}
	})
	t.Run("Cyrillic code table", func(t *testing.T) {
		if got := decodeCyrillic("ABVGDE2JZIQKLMNOPRSTUFHC34WXY96785"); got != "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ5" {
			t.Errorf("got %s", got)
		}
	})
	t.Run("TD3 empty personal number", func(t *testing.T) {
		for _, cd := range []string{"<", "0"} {
			rec := mustParse(t, seal(with(td3Specimen, 1, 29, "<<<<<<<<<<<<<<"+cd)...)...)
			if !rec.Valid || rec.OptionalData != "" {
				t.Errorf("check digit %s: got %+v", cd, rec)
			}
		}
		rec := mustParse(t, seal(with(td3Specimen, 1, 43, "<")...)...) // ZE184226B with a filler check digit
		if rec.Valid || !hasError(rec, "personal_number") {
			t.Errorf("non-empty with filler: got %+v", rec)
		}
	})
}

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name           string
		line           string
		surname, given string
		truncated      bool
	}{
		{"plain", "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "ERIKSSON", "ANNA MARIA", false},
		{"full field", "P<NLDVAN<NIEUWENHUIZEN<<GERARD<ROBBERT<MARTI", "VAN NIEUWENHUIZEN", "GERARD ROBBERT MARTI", true},
		{"no secondary identifier", "P<UTOABC<DEFG<HIJKLMNOP<QRS<TUV<XYZABCDEFGHI", "ABC DEFG HIJKLMNOP QRS TUV XYZABCDEFGHI", "", true},
		{"only secondary", "P<UTO<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<<<<<<<<<", "", "ANNA MARIA", false},
		{"double filler inside given names", "P<UTOERIKSSON<<ANNA<<MARIA<<<<<<<<<<<<<<<<<<", "ERIKSSON", "ANNA MARIA", false},
		{"no name", "P<UTO<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<<", "", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := mustParse(t, tc.line, td3Specimen[1])
			if rec.Surname != tc.surname || rec.GivenNames != tc.given || rec.NameTruncated != tc.truncated {
				t.Errorf("got %q / %q truncated %v", rec.Surname, rec.GivenNames, rec.NameTruncated)
			}
		})
	}
}

func TestQuery(t *testing.T) {
	rec := mustParse(t, "P<NLDVAN<NIEUWENHUIZEN<<GERARD<ROBBERT<MARTI", "XN01BC0150NLD7112247M1108268123456782<<<<<02")
	want := engine.Query{Surname: "VAN NIEUWENHUIZEN", GivenNames: "GERARD ROBBERT MARTI", BirthDate: "1971-12-24",
		Nationality: "NLD", Sex: "M", DocumentNumber: "XN01BC015", DocumentCountry: "NLD", NameTruncated: true}
	if got := rec.Query(); got != want {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
}

func TestJSONKeys(t *testing.T) {
	rec := mustParse(t, td3Specimen...)
	js, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(js, &m); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := []string{"birth_date", "checks", "document_code", "document_number", "errors", "expiry_date", "format",
		"given_names", "issuing_state", "name_truncated", "nationality", "optional_data", "optional_data_2",
		"quirks", "repairs", "sex", "surname", "valid"}
	if !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %q\nwant %q", keys, want)
	}
	for _, k := range []string{"errors", "repairs", "quirks"} {
		if string(m[k]) != "[]" {
			t.Errorf("%s = %s, want []", k, m[k])
		}
	}
	if !strings.Contains(string(m["checks"]), `{"field":"document_number","value":"L898902C3","check_digit":"6","computed":"6","ok":true}`) {
		t.Errorf("checks %s", m["checks"])
	}
}
