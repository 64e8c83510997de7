package paxlst

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// segmentsOf writes ic with default separators, one segment per line, and
// returns the lines (each with its terminator, no line break).
func segmentsOf(t *testing.T, ic *Interchange) []string {
	t.Helper()
	return strings.Split(strings.TrimSuffix(string(write(t, ic, WriteOptions{LineBreak: "\n"})), "\n"), "\n")
}

// indexOf returns the index of the n-th (0-based) line starting with prefix.
func indexOf(t *testing.T, lines []string, prefix string, n int) int {
	t.Helper()
	for i, l := range lines {
		if strings.HasPrefix(l, prefix) {
			if n == 0 {
				return i
			}
			n--
		}
	}
	t.Fatalf("no line %d starting with %q", n, prefix)
	return -1
}

func join(lines []string) []byte { return []byte(strings.Join(lines, "\n")) }

// TestDamaged damages a clean 20-passenger message in the ways real feeds
// do. Every readable traveller must be kept unchanged, and a warning must
// name the damaged segment's position.
func TestDamaged(t *testing.T) {
	orig := Generate(11, 20)
	want := orig.Messages[0].Travellers
	lines := segmentsOf(t, orig)
	unt := indexOf(t, lines, "UNT+", 0)
	unz := indexOf(t, lines, "UNZ+", 0)
	nad7 := indexOf(t, lines, "NAD+FL", 7)
	nad12 := indexOf(t, lines, "NAD+FL", 12)

	with := func(f func(l []string) []string) []byte {
		return join(f(append([]string(nil), lines...)))
	}
	tests := []struct {
		name       string
		data       []byte
		travellers int // complete travellers expected, in order, unchanged
		partial    bool
		position   int // 1-based segment position a warning must name; 0: any
		warning    string
	}{
		{"UNT wrong count", with(func(l []string) []string {
			l[unt] = "UNT+9+" + strings.Split(l[unt], "+")[2]
			return l
		}), 20, false, unt + 1, `UNT declares "9" segments`},
		{"UNT missing", with(func(l []string) []string {
			return append(l[:unt], l[unt+1:]...)
		}), 20, false, unt + 1, "message not closed by UNT before UNZ"},
		{"UNZ missing", with(func(l []string) []string { return l[:unz] }), 20, false, 0, "data ends without UNZ"},
		{"UNT and UNZ missing", with(func(l []string) []string { return l[:unt] }), 20, false, unt, "data ends inside a message"},
		{"truncated after a NAD group", with(func(l []string) []string { return l[:nad12] }), 12, false, nad12, "UNT missing"},
		{"truncated mid-segment in a DOC group", with(func(l []string) []string {
			doc := nad12
			for !strings.HasPrefix(l[doc], "DOC+") {
				doc++
			}
			l[doc] = l[doc][:8]
			return l[:doc+1]
		}), 12, true, 0, "data ends inside a segment"},
		{"truncated mid-NAD", with(func(l []string) []string {
			l[nad7] = l[nad7][:10]
			return l[:nad7+1]
		}), 7, true, nad7 + 1, "data ends inside a segment"},
		{"garbage glued before a NAD", with(func(l []string) []string {
			l[nad7] = "\x00\x17#GARB\xff\xfeAGE" + l[nad7]
			return l
		}), 20, false, nad7 + 1, "bytes of junk before segment tag NAD"},
		{"garbage segment between segments", with(func(l []string) []string {
			return append(l[:nad7], append([]string{"##@@!!GARBAGE\xff'"}, l[nad7:]...)...)
		}), 20, false, nad7 + 1, "unknown segment"},
		{"blank lines and CRLF", []byte(strings.ReplaceAll(string(join(lines)), "\n", "\r\n\r\n   ")), 20, false, 0, ""},
		{"line break inside a segment", with(func(l []string) []string {
			l[nad7] = l[nad7][:9] + "\r\n" + l[nad7][9:]
			return l
		}), 20, false, 0, ""},
		{"trailing junk after UNZ", append(join(lines), "\n13Nov09\n"...), 20, false, len(lines) + 1, "trailing data after UNZ"},
		{"DOC before any NAD", with(func(l []string) []string {
			first := indexOf(t, l, "NAD+FL", 0)
			return append(l[:first], append([]string{"DOC+P:110:111+X123'"}, l[first:]...)...)
		}), 20, false, 0, "DOC segment outside a person (NAD) group ignored"},
		{"CNT wrong", with(func(l []string) []string {
			cnt := indexOf(t, l, "CNT+42", 0)
			l[cnt] = "CNT+42:21'"
			return l
		}), 20, false, 0, "CNT+42 declares 21 passengers, 20 found"},
		{"CNT missing", with(func(l []string) []string {
			cnt := indexOf(t, l, "CNT+42", 0)
			return append(l[:cnt], l[cnt+1:]...)
		}), 20, false, 0, "no CNT+42/CNT+41 control total"},
		{"UNH missing", with(func(l []string) []string {
			h := indexOf(t, l, "UNH+", 0)
			return append(l[:h], l[h+1:]...)
		}), 20, false, 0, "segment outside a message (no UNH)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ic := parse(t, tt.data)
			var got []Traveller
			for _, m := range ic.Messages {
				got = append(got, m.Travellers...)
			}
			n := tt.travellers
			if tt.partial {
				n++
			}
			if len(got) != n {
				t.Fatalf("travellers = %d, want %d; warnings %v", len(got), n, allWarnings(ic))
			}
			if !reflect.DeepEqual(got[:tt.travellers], want[:tt.travellers]) {
				t.Errorf("travellers changed:\n got %s\nwant %s", mustJSON(t, got[:tt.travellers]), mustJSON(t, want[:tt.travellers]))
			}
			if tt.warning == "" {
				if ws := allWarnings(ic); len(ws) != 0 {
					t.Errorf("warnings: %v", ws)
				}
				return
			}
			found := false
			for _, w := range allWarnings(ic) {
				if strings.Contains(w.Message, tt.warning) && (tt.position == 0 || w.Position == tt.position) {
					found = true
					if w.Offset < 0 || w.Offset > len(tt.data) {
						t.Errorf("warning offset %d outside the data", w.Offset)
					}
				}
			}
			if !found {
				t.Errorf("no warning %q at position %d; got %v", tt.warning, tt.position, allWarnings(ic))
			}
		})
	}
}

func TestWarningOffsets(t *testing.T) {
	data := []byte("UNB+UNOA:4+A+B+260101:1200+1'UNH+1+PAXLST:D:05B:UN:IATA'BGM+745'XYZ+1'NAD+FL+++DOE:JOHN'CNT+42:1'UNT+6+1'UNZ+1+1'")
	ic := parse(t, data)
	w := ic.Messages[0].Warnings
	if len(w) != 1 || w[0].Position != 4 || w[0].Offset != bytes.Index(data, []byte("XYZ")) || w[0].Segment != "XYZ+1" {
		t.Fatalf("warnings = %+v", w)
	}
}

func TestMessagesAndGroups(t *testing.T) {
	ic := Generate(3, 5, WithCrew(4))
	data := write(t, ic, WriteOptions{Group: true})
	// A second interchange appended: read into the same result.
	data = append(data, write(t, Generate(4, 2), WriteOptions{UNA: true})...)
	got := parse(t, data)
	if len(got.Messages) != 3 {
		t.Fatalf("messages = %d", len(got.Messages))
	}
	if got.Messages[0].Type != "passenger" || got.Messages[1].Type != "crew" || len(got.Messages[1].Travellers) != 4 ||
		got.Messages[1].Travellers[0].Role != "crew" || len(got.Messages[2].Travellers) != 2 {
		t.Errorf("messages: %s", mustJSON(t, got))
	}
	if !hasWarning(got, "another interchange follows UNZ") {
		t.Error("no warning about the second interchange")
	}
}

func TestEnvelopeErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		err  error
	}{
		{"empty", nil, ErrNotEDIFACT},
		{"text", []byte("hello, this is not EDIFACT'"), ErrNotEDIFACT},
		{"UNA only", []byte("UNA:+.? '"), ErrNotEDIFACT},
		{"too large", make([]byte, MaxInputSize+1), ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse(tt.data); !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
		})
	}
	// UNH alone is enough to read a message.
	ic, err := Parse([]byte("UNH+1+PAXLST:D:12B:UN:IATA'BGM+745'NAD+FL+++DOE'CNT+42:1'UNT+5+1'"))
	if err != nil || len(ic.Messages) != 1 || len(ic.Messages[0].Travellers) != 1 || ic.Messages[0].Version != "D12B" {
		t.Fatalf("UNH-only message: %v %+v", err, ic)
	}
	if !hasWarning(ic, "no UNB before the first UNH") || !hasWarning(ic, "no UNB/UNZ interchange envelope") {
		t.Errorf("warnings = %v", allWarnings(ic))
	}
}

func TestWarningsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("UNB+UNOA:4+A+B+260101:1200+1'UNH+1+PAXLST:D:05B:UN:IATA'BGM+745'")
	for i := 0; i < 5000; i++ {
		b.WriteString("ZZZ+1'")
	}
	b.WriteString("NAD+FL+++DOE:JANE'CNT+42:1'UNT+5005+1'UNZ+1+1'")
	ic := parse(t, []byte(b.String()))
	m := ic.Messages[0]
	if len(m.Warnings) != MaxWarnings+1 || m.Warnings[MaxWarnings].Message != "further warnings suppressed" {
		t.Fatalf("warnings = %d, last %+v", len(m.Warnings), m.Warnings[len(m.Warnings)-1])
	}
	if len(m.Travellers) != 1 || m.Travellers[0].Surname != "DOE" {
		t.Errorf("traveller lost: %+v", m.Travellers)
	}
}

func TestDates(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		v, format string
		birth     bool
		want      string
	}{
		{"260601", "", true, "2026-06-01"},
		{"260602", "", true, "1926-06-02"}, // tomorrow: not born yet, so a century earlier
		{"000520", "", true, "2000-05-20"},
		{"991231", "", true, "1999-12-31"},
		{"19350919", "102", true, "1935-09-19"},
		{"610218", "", false, "2061-02-18"},
		{"770101", "", false, "1977-01-01"},
		{"760601", "", false, "2076-06-01"},
		{"770601", "", false, "1977-06-01"},
		{"0911131030", "201", false, "2009-11-13T10:30"},
		{"200911131030", "203", false, "2009-11-13T10:30"},
		{"20091113", "102", false, "2009-11-13"},
		{"090230", "", true, ""},
		{"0911131060", "201", false, ""},
		{"12345", "", false, ""},
	}
	for _, tt := range tests {
		c, withTime, ok := parseDate(tt.v, tt.format, now, tt.birth)
		got := ""
		if ok {
			got = c.isoDate()
			if withTime {
				got = c.isoDateTime()
			}
		}
		if got != tt.want {
			t.Errorf("parseDate(%q, %q, birth=%v) = %q, want %q", tt.v, tt.format, tt.birth, got, tt.want)
		}
	}
	// The birth century follows the injected now.
	data := []byte("UNH+1+PAXLST:D:05B:UN:IATA'BGM+745'NAD+FL+++DOE'DTM+329:300101'CNT+42:1'UNT+6+1'")
	for _, c := range []struct {
		now  time.Time
		want string
	}{{time.Date(2029, 1, 1, 0, 0, 0, 0, time.UTC), "1930-01-01"}, {time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC), "2030-01-01"}} {
		ic, _ := ParseWith(data, Options{Now: c.now})
		if got := ic.Messages[0].Travellers[0].BirthDate; got != c.want {
			t.Errorf("now %v: birth %q, want %q", c.now, got, c.want)
		}
	}
}

func TestQuery(t *testing.T) {
	tests := []struct {
		name              string
		tr                Traveller
		doc, state, sex   string
		given, birth, nat string
	}{
		{"passport before visa", Traveller{Sex: "F", Documents: []Document{
			{Type: "V", Number: "V1", IssuingState: "USA"}, {Type: "P", Number: "P1", IssuingState: "FRA"}}},
			"P1", "FRA", "F", "", "", ""},
		{"untyped before identity card", Traveller{Sex: "U", Documents: []Document{
			{Type: "I", Number: "I1", IssuingState: "BEL"}, {Type: "", Number: "N1", IssuingState: "NLD"}}},
			"N1", "NLD", "", "", "", ""},
		{"visa only", Traveller{Sex: "X", Documents: []Document{{Type: "V", Number: "V1"}}}, "", "", "X", "", "", ""},
		{"names and dates", Traveller{Surname: "DOE", GivenNames: "JOHN PAUL", BirthDate: "1970-01-02", Nationality: "GBR", Sex: "M"},
			"", "", "M", "JOHN PAUL", "1970-01-02", "GBR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.tr.Query()
			if q.DocumentNumber != tt.doc || q.DocumentCountry != tt.state || q.Sex != tt.sex ||
				q.GivenNames != tt.given || q.BirthDate != tt.birth || q.Nationality != tt.nat || q.Surname != tt.tr.Surname {
				t.Errorf("Query() = %+v", q)
			}
		})
	}
}

// TestJSONShape pins the JSON field names other components rely on.
func TestJSONShape(t *testing.T) {
	ic := tricky()
	ic.Messages[0].Warnings = []Warning{{Position: 1, Offset: 2, Segment: "S", Message: "M"}}
	js := mustJSON(t, ic)
	for _, k := range []string{"messages", "type", "version", "reference", "sender", "recipient", "flights", "number",
		"departure", "arrival", "departure_time", "arrival_time", "travellers", "position", "role", "surname",
		"given_names", "birth_date", "sex", "nationality", "residence", "embarkation", "disembarkation",
		"booking_reference", "seat", "documents", "issuing_state", "expiry_date", "warnings", "offset", "segment", "message"} {
		if !strings.Contains(js, fmt.Sprintf("%q:", k)) {
			t.Errorf("JSON lacks %q", k)
		}
	}
	f := mustJSON(t, Flight{Routing: []string{"JFK"}})
	if !strings.Contains(f, `"routing": [`) {
		t.Errorf("flight JSON lacks routing: %s", f)
	}
}
