package paxlst

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func write(t testing.TB, ic *Interchange, opts WriteOptions) []byte {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = testNow
	}
	var buf bytes.Buffer
	if err := Write(&buf, ic, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

func parse(t testing.TB, data []byte) *Interchange {
	t.Helper()
	ic, err := ParseWith(data, Options{Now: testNow})
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, data)
	}
	return ic
}

// tricky is an interchange whose names hold every separator of both
// separator sets used below, the release character, and UTF-8.
func tricky() *Interchange {
	return &Interchange{Messages: []Message{{
		Type: "passenger", Version: "D05B", Reference: "REF'1", Sender: "APIS*ABE", Recipient: "USA+DHS",
		Flights: []Flight{{Number: "EI105", Carrier: "EI", Departure: "DUB", Arrival: "JFK",
			DepartureTime: "2026-01-20T10:30", ArrivalTime: "2026-01-20T13:05", Routing: nil}},
		Travellers: []Traveller{
			{Position: 1, Role: "passenger", Surname: "O'LEARY", GivenNames: "SEAN PATRICK", BirthDate: "1970-02-28",
				Sex: "M", Nationality: "IRL", Residence: "IRL", Embarkation: "DUB", Disembarkation: "JFK",
				BookingReference: "AB+C:D", Seat: "12A",
				Documents: []Document{{Type: "P", Number: "PX?12'3", IssuingState: "IRL", ExpiryDate: "2030-05-01"}}},
			{Position: 2, Role: "passenger", Surname: `SMITH+JONES:"STAR"*`, GivenNames: "ANNE?MARIE", BirthDate: "1920-12-31",
				Sex: "F", Nationality: "GBR"},
			{Position: 3, Role: "crew", Surname: "MÜLLER-LÜDENSCHEIDT", GivenNames: "JOSÉ", BirthDate: "2025-12-31", Sex: "X",
				Documents: []Document{{Type: "", Number: "X1", ExpiryDate: "2090-01-01"}}},
			{Position: 4, Role: "DDU", Surname: "ZHANG", BirthPlace: "SHANGHAI CHN", Clearance: "JFK",
				References: []Reference{{Qualifier: "ABO", Value: "UUI34T543"}},
				Bags:       &Bags{Count: 2, Weight: "31", Unit: "KGM", Tags: []string{"EI123456", "EI777:2"}}},
		},
	}}}
}

// TestRoundTrip writes interchanges with several separator sets and layouts
// and parses them back: the result must be equal, without warnings.
func TestRoundTrip(t *testing.T) {
	odd := Separators{Component: ':', Element: '*', Decimal: '.', Release: '?', Repetition: ' ', Terminator: '"'}
	odder := Separators{Component: '^', Element: '|', Decimal: ',', Release: '\\', Repetition: '~', Terminator: '\n'}
	sets := []struct {
		name string
		opts WriteOptions
	}{
		{"default", WriteOptions{}},
		{"default with UNA and LF", WriteOptions{UNA: true, LineBreak: "\n"}},
		{"default CRLF grouped", WriteOptions{LineBreak: "\r\n", Group: true}},
		{`UNA:*.? "`, WriteOptions{Separators: odd}},
		{`UNA:*.? " with LF`, WriteOptions{Separators: odd, LineBreak: "\n"}},
		{"newline terminator", WriteOptions{Separators: odder}},
	}
	inputs := []struct {
		name string
		ic   *Interchange
	}{
		{"tricky names", tricky()},
		{"generated 120 + crew", Generate(7, 120, WithCrew(9))},
	}
	for _, in := range inputs {
		for _, s := range sets {
			t.Run(in.name+"/"+s.name, func(t *testing.T) {
				data := write(t, in.ic, s.opts)
				got := parse(t, data)
				if ws := allWarnings(got); len(ws) != 0 {
					t.Fatalf("warnings: %v\n%s", ws, data)
				}
				if !reflect.DeepEqual(got, in.ic) {
					t.Fatalf("round trip differs:\n got %s\nwant %s\n%s", mustJSON(t, got), mustJSON(t, in.ic), data)
				}
			})
		}
	}
}

func TestWriteOddSeparatorsText(t *testing.T) {
	odd := Separators{':', '*', '.', '?', ' ', '"'}
	data := string(write(t, tricky(), WriteOptions{Separators: odd}))
	for _, want := range []string{`UNA:*.? "`, `NAD*FL***O'LEARY:SEAN:PATRICK"`, `SMITH+JONES?:?"STAR?"?*:ANNE??MARIE"`,
		`UNB*UNOW:4*APIS?*ABE*USA+DHS*`, `DOC*P:110:111*PX??12'3"`, `CNT*42:3"CNT*41:1"`} {
		if !strings.Contains(data, want) {
			t.Errorf("output lacks %q:\n%s", want, data)
		}
	}
	def := string(write(t, tricky(), WriteOptions{}))
	for _, want := range []string{`NAD+FL+++O?'LEARY:SEAN:PATRICK'`, `RFF+AVF:AB?+C?:D'`, `UNT+`} {
		if !strings.Contains(def, want) {
			t.Errorf("output lacks %q:\n%s", want, def)
		}
	}
	if strings.HasPrefix(def, "UNA") {
		t.Error("UNA written for default separators without being asked")
	}
}

func TestWriteRejectsBadSeparators(t *testing.T) {
	var buf bytes.Buffer
	err := Write(&buf, tricky(), WriteOptions{Separators: Separators{'+', '+', '.', '?', ' ', '\''}})
	if err != ErrBadSeparators {
		t.Fatalf("err = %v, want ErrBadSeparators", err)
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a, b := Generate(42, 50), Generate(42, 50)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different interchanges")
	}
	if reflect.DeepEqual(a, Generate(43, 50)) {
		t.Fatal("different seeds, same interchange")
	}
	if n := len(a.Messages[0].Travellers); n != 50 {
		t.Fatalf("travellers = %d", n)
	}
	cultures := map[string]bool{}
	for _, tr := range a.Messages[0].Travellers {
		cultures[tr.Nationality] = true
	}
	if len(cultures) < 8 {
		t.Errorf("only %d nationalities among 50 travellers", len(cultures))
	}
}
