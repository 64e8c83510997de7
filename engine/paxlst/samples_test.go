package paxlst

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testNow is the "now" all sample tests parse with.
var testNow = time.Date(2026, 1, 15, 12, 0, 0, 0, time.UTC)

func parseFile(t *testing.T, name string) *Interchange {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	ic, err := ParseWith(data, Options{Now: testNow})
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return ic
}

func allWarnings(ic *Interchange) []Warning {
	ws := append([]Warning(nil), ic.Warnings...)
	for _, m := range ic.Messages {
		ws = append(ws, m.Warnings...)
	}
	return ws
}

// hasWarning reports whether some warning contains substr.
func hasWarning(ic *Interchange, substr string) bool {
	for _, w := range allWarnings(ic) {
		if strings.Contains(w.Message, substr) {
			return true
		}
	}
	return false
}

type leg struct{ number, from, to string }

// TestSamples checks every shared sample: persons found, list type,
// version, flights (where GTAS's own tests assert them) and the warnings
// that the sample's known defects must raise.
func TestSamples(t *testing.T) {
	tests := []struct {
		file     string
		persons  int // what the message holds (read by hand; see sidecar check below)
		typ      string
		version  string
		flights  []leg
		warnings []string // substrings that must appear among the warnings
	}{
		{file: "gtas_inline_bags_mea_count_only.edi", persons: 1, typ: "passenger", version: "D05B",
			flights:  []leg{{"UA988", "FRA", "IAD"}},
			warnings: []string{`CNT qualifier "3"`, `UNT declares "135" segments, the message has 31`, "UNT reference"}},
		{file: "gtas_inline_bags_mea_weight_and_count.edi", persons: 1, typ: "passenger", version: "D05B",
			flights: []leg{{"UA988", "FRA", "IAD"}}, warnings: []string{"UNT declares"}},
		{file: "gtas_inline_bags_mea_weight_only.edi", persons: 1, typ: "passenger", version: "D05B",
			flights: []leg{{"UA988", "FRA", "IAD"}}, warnings: []string{"UNT declares"}},
		{file: "gtas_inline_bags_no_mea.edi", persons: 1, typ: "passenger", version: "D05B",
			flights: []leg{{"UA988", "FRA", "IAD"}}, warnings: []string{"UNT declares"}},
		{file: "gtas_inline_bags_no_mea_ftx_count2.edi", persons: 1, typ: "passenger", version: "D05B",
			flights: []leg{{"UA988", "FRA", "IAD"}}, warnings: []string{"UNT declares"}},
		// GTAS asserts flight "0250" JFK-ANC and ANC-ICN (it strips the
		// carrier KE and pads the number); we keep the journey id as given.
		{file: "gtas_inline_multiple_tdt_loc92.edi", persons: 0, typ: "passenger", version: "D05B",
			flights:  []leg{{"KE250", "JFK", "ANC"}, {"KE250", "ANC", "ICN"}},
			warnings: []string{"no CNT+42/CNT+41"}},
		{file: "gtas_inline_multiple_tdt_one_leg_each.edi", persons: 0, typ: "passenger", version: "D05B",
			flights: []leg{{"UA123", "YVR", "JFK"}, {"UA124", "JFK", "ATL"}}},
		// "must give same result as testMultipleTdtWithLoc92": one TDT, two legs.
		{file: "gtas_inline_single_tdt_loc92.edi", persons: 0, typ: "passenger", version: "D05B",
			flights: []leg{{"KE250", "JFK", "ANC"}, {"KE250", "ANC", "ICN"}}},
		{file: "gtas_inline_single_tdt_one_leg.edi", persons: 0, typ: "passenger", version: "D05B",
			flights: []leg{{"UA123", "YVR", "JFK"}}},
		// Legacy US CEDIPAX: GTAS asserts 1 flight and 4 passengers. The
		// sidecar's tokenizer counts 0 persons because it only knows NAD;
		// the message has 4 PDT persons, which we read.
		{file: "gtas_inline_us_edifact_cedipax_random.edi", persons: 4, typ: "passenger", version: "001:000",
			flights:  []leg{{"SA812", "NZAKL", "USLAX"}},
			warnings: []string{"legacy PAXLST 001:000", `UNT declares "000011" segments, the message has 13`}},
		// GTAS asserts 3 flights (AKL-HNL-LAX-JFK) and 1 passenger.
		{file: "gtas_inline_us_edifact_progressive_flight.edi", persons: 1, typ: "passenger", version: "001:000",
			flights:  []leg{{"SA812", "NZAKL", "USHNL"}, {"SA812", "USHNL", "USLAX"}, {"SA812", "USLAX", "USJFK"}},
			warnings: []string{"legacy PAXLST"}},
		{file: "gtas_loader_Test1.txt", persons: 8, typ: "crew", version: "D02B",
			flights: []leg{{"UA0989", "FRA", "IAD"}},
			warnings: []string{"CNT value in element 2", `UNT declares "0000152" segments, the message has 107`,
				`UNZ reference "1402010600" does not match UNB reference "1403010600"`}},
		{file: "gtas_loader_Test3.txt", persons: 260, typ: "passenger", version: "D02B",
			flights: []leg{{"UA0989", "FRA", "IAD"}},
			warnings: []string{"non-ASCII byte 0x87 in a UNOA interchange", "CNT+41 declares 206 crew, 0 found",
				`UNT declares "099" segments`}},
		{file: "gtas_loader_airline2.edi", persons: 10, typ: "passenger", version: "D02B",
			flights: []leg{{"TN506", "BRE", "YEU"}},
			warnings: []string{`stray space around segment tag "UNG"`, "CNT+42 declares 136 passengers, 10 found",
				`UNT reference "140211180 0"`}},
		{file: "gtas_loader_multiple_flight_leg_apis.txt", persons: 2, typ: "passenger", version: "D05B",
			flights:  []leg{{"QQ877", "MIA", "IAD"}, {"QQ827", "IAD", "JFK"}, {"QQ827", "JFK", "CDG"}},
			warnings: []string{"7 bytes of trailing data after UNZ"}},
		// GTAS asserts 2 flights.
		{file: "gtas_parsers_apisMessage.txt", persons: 2, typ: "passenger", version: "D05B",
			flights: []leg{{"AA123", "ATL", "ORD"}, {"AA124", "ORD", "JFK"}}},
		{file: "gtas_tamr_flight1.txt", persons: 10, typ: "passenger", version: "D02B",
			flights: []leg{{"LA532", "SCL", "JFK"}}, warnings: []string{`UNT declares "23" segments`}},
		{file: "gtas_tamr_flight2.txt", persons: 10, typ: "passenger", version: "D02B",
			flights: []leg{{"FI615", "KEF", "JFK"}}, warnings: []string{`UNT declares "23" segments`}},
		{file: "gtas_tamr_flight3.txt", persons: 10, typ: "passenger", version: "D02B",
			flights: []leg{{"YY123", "IAD", "BRU"}}, warnings: []string{`UNT declares "23" segments`}},
		// A CBP ACE truck manifest: BGM+10, TDT+11 (road, no journey id).
		{file: "smooks_d03b_PAXLST.edi", persons: 1, typ: "10", version: "D03B",
			flights: []leg{{"", "", ""}},
			warnings: []string{"version D03B is none of", "document code 10", `TDT qualifier "11"`,
				`sex "M*M*M*M*M" read as M`}},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		seen[tt.file] = true
		t.Run(tt.file, func(t *testing.T) {
			ic := parseFile(t, tt.file)
			if got := len(ic.Messages); got != 1 {
				t.Fatalf("messages = %d, want 1", got)
			}
			m := ic.Messages[0]
			if got, want := len(m.Travellers), tt.persons; got != want {
				t.Errorf("persons = %d, want %d", got, want)
			}
			if want := sidecarPersons(t, tt.file); want != tt.persons && !strings.Contains(tt.file, "us_edifact") {
				t.Errorf("sidecar cross-check counts %d persons, table says %d", want, tt.persons)
			}
			if m.Type != tt.typ || m.Version != tt.version {
				t.Errorf("type, version = %q, %q; want %q, %q", m.Type, m.Version, tt.typ, tt.version)
			}
			var got []leg
			for _, f := range m.Flights {
				got = append(got, leg{f.Number, f.Departure, f.Arrival})
			}
			if len(got) != len(tt.flights) {
				t.Fatalf("flights = %v, want %v", got, tt.flights)
			}
			for i := range got {
				if got[i] != tt.flights[i] {
					t.Errorf("flight %d = %v, want %v", i, got[i], tt.flights[i])
				}
			}
			for i, tr := range m.Travellers {
				if tr.Position != i+1 {
					t.Errorf("traveller %d has position %d", i, tr.Position)
				}
				if tr.Surname == "" {
					t.Errorf("traveller %d has no surname", i+1)
				}
			}
			for _, w := range tt.warnings {
				if !hasWarning(ic, w) {
					t.Errorf("no warning containing %q; got %v", w, allWarnings(ic))
				}
			}
			for _, w := range allWarnings(ic) {
				if w.Message == "" {
					t.Errorf("empty warning %+v", w)
				}
			}
		})
	}
	files, _ := filepath.Glob("testdata/*")
	for _, f := range files {
		switch filepath.Ext(f) {
		case ".edi", ".txt":
			if b := filepath.Base(f); !seen[b] && !strings.HasPrefix(b, "LICENSE") && b != "PROVENANCE.txt" {
				t.Errorf("sample %s has no test case", b)
			}
		}
	}
}

// sidecarPersons reads persons_count from the sample's sidecar (a
// cross-check by another tokenizer, not ground truth).
func sidecarPersons(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", strings.TrimSuffix(file, filepath.Ext(file))+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var sc struct {
		Derived struct {
			Persons int `json:"persons_count"`
		} `json:"derived_by_vectors_builder"`
	}
	if err := json.Unmarshal(b, &sc); err != nil {
		t.Fatal(err)
	}
	return sc.Derived.Persons
}

// TestSampleDetails checks field values read by hand from the samples.
func TestSampleDetails(t *testing.T) {
	t.Run("tamr_flight1", func(t *testing.T) {
		m := parseFile(t, "gtas_tamr_flight1.txt").Messages[0]
		first := m.Travellers[0]
		want := Traveller{Position: 1, Role: "passenger", Surname: "JIANG", GivenNames: "HSIUYUAN",
			BirthDate: "1967-06-03", Sex: "F", Nationality: "CHN", Residence: "CHN",
			Embarkation: "SVO", Disembarkation: "IAD", BookingReference: "7F5F21", Seat: "056F",
			Documents: []Document{
				{Type: "", Number: "433419360", IssuingState: "CHN", ExpiryDate: "2023-09-20"},
				{Type: "V", Number: "57131424", IssuingState: "USA", ExpiryDate: "2021-07-29"},
			},
			Bags: &Bags{Count: 1, Weight: "13", Unit: "KGM", Tags: []string{"2660001"}},
		}
		if !equalJSON(t, first, want) {
			t.Errorf("traveller 1 =\n%s\nwant\n%s", mustJSON(t, first), mustJSON(t, want))
		}
		last := m.Travellers[9]
		if last.Surname != "O GRADY" || last.BirthDate != "2000-05-20" {
			t.Errorf("traveller 10 = %q born %q, want O GRADY born 2000-05-20", last.Surname, last.BirthDate)
		}
		q := first.Query()
		if q.DocumentNumber != "433419360" || q.DocumentCountry != "CHN" || q.Sex != "F" || q.BirthDate != "1967-06-03" {
			t.Errorf("Query() = %+v: want the untyped document, not the visa", q)
		}
		f := m.Flights[0]
		if f.DepartureTime != "2020-01-19T23:00" || f.ArrivalTime != "2020-01-20T07:40" {
			t.Errorf("flight times %q, %q", f.DepartureTime, f.ArrivalTime)
		}
	})
	t.Run("bags as GTAS asserts them", func(t *testing.T) {
		// GTAS asserts count/weight from MEA. Without MEA, GTAS derives a
		// count from FTX+BAG; we keep the tags and leave Count at 0.
		tests := []struct {
			file   string
			count  int
			weight string
			tags   int
		}{
			{"gtas_inline_bags_mea_count_only.edi", 4, "", 4},
			{"gtas_inline_bags_mea_weight_and_count.edi", 4, "80", 4},
			{"gtas_inline_bags_mea_weight_only.edi", 0, "80", 4},
			{"gtas_inline_bags_no_mea.edi", 0, "", 4},
			{"gtas_inline_bags_no_mea_ftx_count2.edi", 0, "", 4},
		}
		for _, tt := range tests {
			tr := parseFile(t, tt.file).Messages[0].Travellers[0]
			if tr.Bags == nil || tr.Bags.Count != tt.count || tr.Bags.Weight != tt.weight || len(tr.Bags.Tags) != tt.tags {
				t.Errorf("%s: bags = %+v, want count %d weight %q and %d tags", tt.file, tr.Bags, tt.count, tt.weight, tt.tags)
			}
			if len(tr.Documents) != 2 || tr.Documents[0].Number != "448763368" || tr.Documents[1].ExpiryDate != "2019-09-19" {
				t.Errorf("%s: documents = %+v", tt.file, tr.Documents)
			}
		}
		tr := parseFile(t, "gtas_inline_bags_no_mea_ftx_count2.edi").Messages[0].Travellers[0]
		if got := tr.Bags.Tags[3]; got != "UA0446:2" {
			t.Errorf("last tag = %q, want UA0446:2 (a run of two tags)", got)
		}
	})
	t.Run("legacy CEDIPAX release escapes", func(t *testing.T) {
		m := parseFile(t, "gtas_inline_us_edifact_cedipax_random.edi").Messages[0]
		tr := m.Travellers[3]
		want := Traveller{Position: 4, Role: "passenger", Surname: "O'LEARY", GivenNames: "KRIS ANN",
			BirthDate: "1933-12-31", Sex: "F", Embarkation: "NZAKL", Disembarkation: "USLAX",
			Documents: []Document{{Type: "P", Number: "E54321A", IssuingState: "IE", ExpiryDate: "1998-08-31"}}}
		if !equalJSON(t, tr, want) {
			t.Errorf("traveller 4 =\n%s\nwant\n%s", mustJSON(t, tr), mustJSON(t, want))
		}
	})
	t.Run("airline2 custom separators", func(t *testing.T) {
		ic := parseFile(t, "gtas_loader_airline2.edi")
		m := ic.Messages[0]
		tr := m.Travellers[0]
		if tr.Surname != "BETTON" || tr.GivenNames != "DAVID" || tr.Documents[0].Type != "P" ||
			tr.Documents[0].Number != "178556534" || tr.BirthDate != "1954-10-16" {
			t.Errorf("traveller 1 = %+v", tr)
		}
		if m.Sender != "SDT" || m.Recipient != "JMAPIS" || m.Reference != "1402111800" {
			t.Errorf("sender, recipient, reference = %q, %q, %q", m.Sender, m.Recipient, m.Reference)
		}
	})
	t.Run("Test1 crew mixed case", func(t *testing.T) {
		m := parseFile(t, "gtas_loader_Test1.txt").Messages[0]
		tr := m.Travellers[0]
		if tr.Role != "crew" || tr.Surname != "Steur" || tr.GivenNames != "Andrea Pat" || tr.Residence != "GBR" ||
			tr.BirthPlace != "Hartford USA" || tr.Clearance != "IAD" || tr.Documents[0].ExpiryDate != "2061-02-18" {
			t.Errorf("crew 1 = %+v", tr)
		}
		if m.Sender != "APIS*C3K" {
			t.Errorf("sender = %q: '*' is data without a UNA", m.Sender)
		}
	})
	t.Run("Test3 non-ASCII byte", func(t *testing.T) {
		m := parseFile(t, "gtas_loader_Test3.txt").Messages[0]
		found := false
		for _, tr := range m.Travellers {
			if tr.Surname == "Nov\uFFFDk" {
				found = true
			}
		}
		if !found {
			t.Error("the surname with byte 0x87 is not kept as Nov\uFFFDk")
		}
	})
	t.Run("smooks D03B", func(t *testing.T) {
		tr := parseFile(t, "smooks_d03b_PAXLST.edi").Messages[0].Travellers[0]
		// Smooks' expected XML: surname AOMAD, given CHRIS (component 6,
		// "1", is the name format code, not a name), DOB 19350919.
		want := Traveller{Position: 1, Role: "VW", Surname: "AOMAD", GivenNames: "CHRIS", BirthDate: "1935-09-19",
			Sex: "M", Nationality: "US", Documents: []Document{
				{Type: "5K", Number: "P100971204141", IssuingState: "US"},
				{Type: "39", Number: "15504141", IssuingState: "US"}}}
		if !equalJSON(t, tr, want) {
			t.Errorf("person =\n%s\nwant\n%s", mustJSON(t, tr), mustJSON(t, want))
		}
	})
	t.Run("leading spaces and repetition separator", func(t *testing.T) {
		m := parseFile(t, "gtas_parsers_apisMessage.txt").Messages[0]
		if len(m.Warnings) != 0 {
			t.Errorf("warnings on a clean message: %v", m.Warnings)
		}
		tr := m.Travellers[1]
		if tr.Surname != "CLARK" || tr.GivenNames != "CHERYL" || tr.BookingReference != "TYR123" ||
			len(tr.References) != 1 || tr.References[0] != (Reference{"ABO", "TYL009"}) {
			t.Errorf("traveller 2 = %+v", tr)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func equalJSON(t *testing.T, a, b any) bool { return mustJSON(t, a) == mustJSON(t, b) }
