package input

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/mrz"
	"github.com/watchpost/watchpost/engine/paxlst"
)

func TestFromMRZ(t *testing.T) {
	p := &mrz.Parser{Clock: clocktest.NewAt(time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC))}
	q, sum, err := FromMRZ(p, "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10\n")
	if err != nil {
		t.Fatal(err)
	}
	if q.Surname != "ERIKSSON" || q.GivenNames != "ANNA MARIA" || q.BirthDate != "1974-08-12" || q.DocumentNumber != "L898902C3" {
		t.Fatalf("query %+v", q)
	}
	if !sum.Valid || sum.Format != mrz.TD3 || sum.DocumentCode != "P" || sum.ExpiryDate != "2012-04-15" {
		t.Fatalf("summary %+v", sum)
	}
	_, _, err = FromMRZ(p, "P<UTOERIKSSON\nL898902C3")
	var fe *mrz.FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("bad layout: %v", err)
	}
}

func TestFromPAXLST(t *testing.T) {
	ic := paxlst.Generate(3, 4, paxlst.WithCrew(2))
	var b bytes.Buffer
	if err := paxlst.Write(&b, ic, paxlst.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	data := bytes.Replace(b.Bytes(), []byte("CNT+42:4"), []byte("CNT+42:9"), 1)
	got, err := paxlst.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	ts := FromPAXLST(got)
	if len(ts) != 6 {
		t.Fatalf("%d travellers, want 6", len(ts))
	}
	flight := got.Messages[0].Flights[0].Number
	for i, tr := range ts[:4] {
		if tr.Message != 1 || tr.Position != i+1 || tr.Role != "passenger" || tr.Flight != flight ||
			tr.Query.ID != got.Messages[0].Reference+"/"+string(rune('1'+i)) || tr.Query.Surname == "" {
			t.Fatalf("traveller %d: %+v", i, tr)
		}
	}
	if ts[4].Message != 2 || ts[4].Role != "crew" || ts[4].Position != 1 {
		t.Fatalf("crew: %+v", ts[4])
	}
	ws := PAXLSTWarnings(got)
	if len(ws) == 0 || !strings.HasPrefix(ws[0], "message 1: ") {
		t.Fatalf("warnings %q", ws)
	}
}

// TestFromPAXLSTNoFlight: a message without a flight places its travellers
// by the message reference, and keeps each one's role.
func TestFromPAXLSTNoFlight(t *testing.T) {
	ic := &paxlst.Interchange{Messages: []paxlst.Message{{Reference: "REF9", Travellers: []paxlst.Traveller{
		{Position: 1, Role: "crew", Surname: "DOE", GivenNames: "JANE"},
	}}}}
	ts := FromPAXLST(ic)
	if len(ts) != 1 || ts[0].Flight != "REF9" || ts[0].Role != "crew" || ts[0].Query.ID != "REF9/1" || ts[0].Query.Surname != "DOE" {
		t.Fatalf("travellers %+v", ts)
	}
}

func TestDecodeQuery(t *testing.T) {
	q, _, err := DecodeQuery([]byte(`{"id":"a","name":"Anna Maria Eriksson","birth_date":"1974-08-12"}`))
	if err != nil || q.ID != "a" || q.Name != "Anna Maria Eriksson" || q.BirthDate != "1974-08-12" {
		t.Fatalf("query %+v, err %v", q, err)
	}
	for _, tc := range []struct {
		in, field, msg string
	}{
		{`{"name":"A B","passport":"X"}`, "passport", `unknown field "passport"`},
		{`{"name":5}`, "name", `field "name" must be a JSON string, not number`},
		{`{"name":"A"} {"name":"B"}`, "", "traveller holds more than one JSON value"},
		{`{"name":`, "", "traveller is not a complete JSON object"},
		{`{"name" "x"}`, "", "traveller is not valid JSON: invalid character '\"' after object key (at byte 9)"},
		{`["A"]`, "", "traveller must be a JSON object, not array"},
		// Invalid UTF-8 names its field, where encoding/json would store U+FFFD.
		{"{\"id\":\"a\",\"surname\":\"ERIK\xffSSON\"}", "surname", `field "surname" is not valid UTF-8`},
		{"{\"name\":\"A B\"}\xff", "", "traveller is not valid UTF-8 (at byte 14)"},
		// Control characters, escaped or not, are refused.
		{`{"name":"ANNA\u0000ERIKSSON"}`, "name", "name holds a control character (U+0000) at character 5"},
		{`{"name":"A B","document_number":"L89\u001b8902C3"}`, "document_number", "document_number holds a control character (U+001B) at character 4"},
		{`{"name":"A B","id":"` + strings.Repeat("x", MaxFieldChars+1) + `"}`, "id", "id is longer than 256 characters"},
		{`{"id":"x"}`, "name", "a traveller needs a name (name, or surname and given_names) or a document_number"},
		{`{"name":"A B","sex":"Q"}`, "sex", `sex must be M, F or X, not "Q"`},
		{`{"name":"A B","birth_date":"1970-13-01"}`, "birth_date", `birth_date: birth date "1970-13-01": month "13" is not 01-12 (use YYYY-MM-DD, YYYY-MM or YYYY)`},
		// A country that is not one is refused, naming field and value.
		{`{"name":"A B","nationality":"Narnia"}`, "nationality", `nationality "Narnia" is not a country: give an ISO 3166 alpha-3 or alpha-2 code or the English name (GBR, GB or United Kingdom)`},
		{`{"name":"A B","document_country":"F1"}`, "document_country", `document_country "F1" is not a country: give an ISO 3166 alpha-3 or alpha-2 code or the English name (GBR, GB or United Kingdom)`},
	} {
		_, _, err := DecodeQuery([]byte(tc.in))
		var je *JSONError
		if !errors.As(err, &je) || je.Field != tc.field || je.Msg != tc.msg {
			t.Errorf("%s: got %#v, want field %q, %q", tc.in, err, tc.field, tc.msg)
		}
	}
}

// TestInvalidUTF8Field: the field named is the one holding the bad bytes,
// at any depth.
func TestInvalidUTF8Field(t *testing.T) {
	for in, want := range map[string]string{
		"{\"a\":\"ok\",\"b\":\"\xc3\"}":                       "b",
		"{\"a\":[1,{\"x\":true},\"\xff\"]}":                   "a.2",
		"{\"a\":{\"b\":null,\"c\":{\"d\":\"\xfe\"}},\"e\":1}": "a.c.d",
		"[\"ok\",\"\xff\"]":                                   "1",
		"{\"a\" \"\xff\"}":                                    "", // not JSON before the bytes
	} {
		if got := invalidUTF8Field([]byte(in)); got != want {
			t.Errorf("%q: field %q, want %q", in, got, want)
		}
	}
}

// TestCheckQueryNormalises: countries come in as codes or English names
// and leave as alpha-3; names beyond the caps are cut, with a warning.
func TestCheckQueryNormalises(t *testing.T) {
	for in, want := range map[string]string{"PRK": "PRK", "KP": "PRK", "North Korea": "PRK", "gbr": "GBR", "United Kingdom": "GBR", "D": "DEU"} {
		q := engine.Query{Name: "A B", Nationality: in, DocumentCountry: in}
		ws, err := CheckQuery(&q)
		if err != nil || len(ws) != 0 || q.Nationality != want || q.DocumentCountry != want {
			t.Errorf("%q: %+v, %v, %v", in, q, ws, err)
		}
	}
	q := engine.Query{Name: strings.Repeat("MOHAMMEDALIHASSAN", 1<<16)}
	ws, err := CheckQuery(&q)
	if err != nil || len(ws) != 1 || !strings.HasPrefix(ws[0], "name is longer than 256 characters or 12 words") || len([]rune(q.Name)) != engine.MaxNameChars {
		t.Fatalf("long name: %d characters, %q, %v", len(q.Name), ws, err)
	}
	q = engine.Query{Surname: strings.Repeat("EL ", 5), GivenNames: strings.Repeat("ANNA ", 9)}
	ws, err = CheckQuery(&q)
	if err != nil || len(ws) != 1 || !strings.HasPrefix(ws[0], "given_names and surname are") {
		t.Fatalf("14 words in two fields: %q, %v", ws, err)
	}
}
