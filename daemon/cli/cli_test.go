package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon"
	"github.com/watchpost/watchpost/daemon/sample"
	"github.com/watchpost/watchpost/engine/paxlst"
)

// runCLI runs the watchpost command in-process and returns its exit code,
// standard output and standard error.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

// importUN imports the embedded UN list into a fresh data dir.
func importUN(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	un := filepath.Join(t.TempDir(), "un.xml")
	if err := os.WriteFile(un, sample.UNList, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "", "import", "--data-dir", dir, "--list", "un", "--format", "un-xml", "--action", "refer", un)
	if code != ExitOK {
		t.Fatalf("import: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "imported un version 1: 1003 entries") {
		t.Fatalf("import output: %q", out)
	}
	return dir
}

func TestImportListsScreen(t *testing.T) {
	dir := importUN(t)
	code, out, errs := runCLI(t, "", "lists", "--data-dir", dir, "--json")
	if code != ExitOK {
		t.Fatalf("lists: %d %s", code, errs)
	}
	var lists []struct {
		Name    string `json:"name"`
		Version uint64 `json:"version"`
		Entries int    `json:"entries"`
		Hash    string `json:"hash"`
		Action  string `json:"action"`
	}
	if err := json.Unmarshal([]byte(out), &lists); err != nil {
		t.Fatalf("lists --json: %v\n%s", err, out)
	}
	if len(lists) != 1 || lists[0].Name != "un" || lists[0].Entries != 1003 || len(lists[0].Hash) != 64 || lists[0].Action != "refer" {
		t.Fatalf("lists: %+v", lists)
	}

	in := strings.Join([]string{
		`{"id":"a","name":"Saadi Gaddafi","birth_date":"1973-05-27"}`,
		`{"id":"b","surname":"GARCIA LOPEZ","given_names":"MARIA","birth_date":"1985-11-02"}`,
		`{"id":"c","name":"X","birth_date":"1973-13-40"}`,
		`not json`,
		`{"id":"d","nmae":"typo in a field"}`,
		``,
		`{"id":"e","name":"Someone","document_number":"H 236483","document_country":"MAR"}`,
	}, "\n")
	code, out, errs = runCLI(t, in, "screen", "--data-dir", dir)
	if code != ExitOK {
		t.Fatalf("screen: %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 6 {
		t.Fatalf("want 6 result lines (the blank line is skipped), got %d:\n%s", len(lines), out)
	}
	var res []screenResult
	for _, l := range lines {
		var r screenResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("bad output line %q: %v", l, err)
		}
		res = append(res, r)
	}
	if res[0].ID != "a" || len(res[0].Hits) == 0 || res[0].Hits[0].EntryID != "LYi.015" || res[0].Hits[0].Band != "match" || res[0].Hits[0].ListVersion != 1 {
		t.Errorf("a: %+v", res[0])
	}
	if res[1].ID != "b" || len(res[1].Hits) != 0 || res[1].Error != "" {
		t.Errorf("b: %+v", res[1])
	}
	if res[2].ID != "c" || !strings.Contains(res[2].Error, "month") {
		t.Errorf("c: want a birth date error naming the month: %+v", res[2])
	}
	if res[3].Error == "" || res[3].Line != 4 {
		t.Errorf("bad JSON line: %+v", res[3])
	}
	if res[4].ID != "d" || !strings.Contains(res[4].Error, "nmae") {
		t.Errorf("unknown field: %+v", res[4])
	}
	if res[5].ID != "e" || len(res[5].Hits) == 0 || res[5].Hits[0].EntryID != "QDi.082" || res[5].Hits[0].Explanation.Document == "" {
		t.Errorf("document hit: %+v", res[5])
	}
}

func TestImportBadFileChangesNothing(t *testing.T) {
	dir := importUN(t)
	bad := filepath.Join(t.TempDir(), "bad.xml")
	// The first record is complete; the file then breaks off.
	broken := sample.UNList[:bytes.Index(sample.UNList, []byte("</INDIVIDUAL>"))+len("</INDIVIDUAL>")+200]
	if err := os.WriteFile(bad, broken, 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs := runCLI(t, "", "import", "--data-dir", dir, "--list", "un", "--format", "un-xml", bad)
	if code != ExitFailure || !strings.Contains(errs, "bad.xml") {
		t.Fatalf("import of a truncated file: exit %d, stderr %q; want failure naming the file", code, errs)
	}
	_, out, _ := runCLI(t, "", "lists", "--data-dir", dir, "--json")
	if !strings.Contains(out, `"version": 1`) || !strings.Contains(out, `"entries": 1003`) {
		t.Fatalf("list changed after a failed import:\n%s", out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nosuch"},
		{"import", "--list", "x"},
		{"import", "--format", "un-xml", "x"},
		{"import", "--list", "x", "--format", "nosuch", "--data-dir", t.TempDir(), "x"},
		{"screen", "--format", "xml"},
		{"screen", "--possible", "0.9", "--match", "0.8"},
		{"parse", "--format", "csv"},
	} {
		code, _, errs := runCLI(t, "", args...)
		if code == ExitOK || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want an error", args, code, errs)
		}
	}
}

func TestDemoScreenOnly(t *testing.T) {
	code, out, errs := runCLI(t, "", "demo", "--screen-only", "--json")
	if code != ExitOK {
		t.Fatalf("demo: %d %s", code, errs)
	}
	byID := map[string]screenResult{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var r screenResult
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		byID[r.ID] = r
	}
	if len(byID) != len(sample.Travellers) {
		t.Fatalf("demo screened %d travellers, want %d", len(byID), len(sample.Travellers))
	}
	for _, id := range []string{"T01", "T02", "T03", "T04", "T05", "T06", "T10"} {
		if r := byID[id]; len(r.Hits) == 0 || r.Hits[0].Band != "match" {
			t.Errorf("%s: want a match, got %+v", id, r.Hits)
		}
	}
	if r := byID["T09"]; len(r.Hits) != 0 {
		t.Errorf("T09: want no hit, got %+v", r.Hits)
	}
	for _, id := range []string{"T07", "T08"} {
		if r := byID[id]; len(r.Hits) > 0 && r.Hits[0].Band == "match" {
			t.Errorf("%s (birth date years off): want a possible at most, got %+v", id, r.Hits)
		}
	}
	code, out, _ = runCLI(t, "", "demo", "--screen-only")
	if code != ExitOK || !strings.Contains(out, "SAADI QADHAFI") || !strings.Contains(out, "no hit") {
		t.Errorf("readable demo output:\n%s", out)
	}
}

const td3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10\n"

func TestParseMRZ(t *testing.T) {
	code, out, errs := runCLI(t, td3+"\n\nP<UTOERIKSSON<<ANNA\nshort\n", "parse", "--format", "mrz")
	if code != ExitOK {
		t.Fatalf("parse: %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 records, got:\n%s", out)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"format": "TD3", "surname": "ERIKSSON", "given_names": "ANNA MARIA", "document_number": "L898902C3", "birth_date": "1974-08-12", "sex": "F", "valid": true} {
		if rec[k] != want {
			t.Errorf("%s = %v, want %v", k, rec[k], want)
		}
	}
	if !strings.Contains(lines[1], `"error"`) || !strings.Contains(lines[1], `"line":5`) {
		t.Errorf("second record: want an error at line 5: %s", lines[1])
	}
}

func TestParseAndScreenPAXLST(t *testing.T) {
	ic := paxlst.Generate(42, 50)
	// Put a listed person on the flight, written as an airline would.
	tr := &ic.Messages[0].Travellers[17]
	tr.Surname, tr.GivenNames, tr.BirthDate = "QADHAFI", "SAADI", "1973-05-27"
	var buf bytes.Buffer
	if err := paxlst.Write(&buf, ic, paxlst.WriteOptions{Separators: paxlst.Separators{Component: '*', Element: '+', Decimal: '.', Release: '?', Repetition: ' ', Terminator: '"'}, LineBreak: "\r\n", Now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
		t.Fatal(err)
	}
	// Damage the trailer: drop UNT and UNZ.
	msg := buf.Bytes()
	msg = msg[:bytes.LastIndex(msg, []byte("UNT"))]
	file := filepath.Join(t.TempDir(), "flight.edi")
	if err := os.WriteFile(file, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "", "parse", "--format", "paxlst", file)
	if code != ExitOK {
		t.Fatalf("parse: %d %s", code, errs)
	}
	var parsed paxlst.Interchange
	if err := json.Unmarshal([]byte(out), &parsed); err != nil {
		t.Fatal(err)
	}
	if len(parsed.Messages) != 1 || len(parsed.Messages[0].Travellers) != 50 || len(parsed.Messages[0].Warnings) == 0 {
		t.Fatalf("parsed %d messages, travellers %d, warnings %v", len(parsed.Messages), len(parsed.Messages[0].Travellers), parsed.Messages[0].Warnings)
	}

	dir := importUN(t)
	code, out, errs = runCLI(t, "", "screen", "--data-dir", dir, "--format", "paxlst", file)
	if code != ExitOK {
		t.Fatalf("screen: %d %s", code, errs)
	}
	if !strings.Contains(errs, "warning") {
		t.Errorf("damaged trailer: want warnings on stderr, got %q", errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 50 {
		t.Fatalf("want one result per traveller (50), got %d", len(lines))
	}
	var r screenResult
	if err := json.Unmarshal([]byte(lines[17]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Position != 18 || r.Role != ic.Messages[0].Travellers[17].Role || r.Role == "" || r.Flight != ic.Messages[0].Flights[0].Number || len(r.Hits) == 0 || r.Hits[0].EntryID != "LYi.015" {
		t.Errorf("traveller 18: %+v", r)
	}
}

func TestScreenMRZ(t *testing.T) {
	dir := importUN(t)
	// A listed person's passport as a TD3 MRZ (UN QDi.082: MOUNIR EL MOTASSADEQ, passport H236483, MAR).
	mrzText := "P<MAREL<MOTASSADEQ<<MOUNIR<<<<<<<<<<<<<<<<<<\nH236483<<1MAR7404032M3001019<<<<<<<<<<<<<<08\n"
	code, out, errs := runCLI(t, mrzText, "screen", "--data-dir", dir, "--format", "mrz")
	if code != ExitOK {
		t.Fatalf("screen: %d %s", code, errs)
	}
	var r screenResult
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(r.Hits) == 0 || r.Hits[0].EntryID != "QDi.082" || r.Hits[0].Explanation.Document == "" {
		t.Errorf("MRZ screen: %+v", r)
	}
}

// TestParseMRZExtendedNumber: the continuation of an extended document
// number (TD1) and its check digit belong to the number, not to the
// optional data, and the output shows the MRZ's fillers as "<", not as
// JSON's "\u003c".
func TestParseMRZExtendedNumber(t *testing.T) {
	td1 := "I<UTOD23145890<7349<<<<<<<<<<<\n3407127M9507122UTO<<<<<<<<<<<2\nSTEVENSON<<PETER<JOHN<<<<<<<<<\n"
	code, out, errs := runCLI(t, td1, "parse", "--format", "mrz")
	if code != ExitOK {
		t.Fatalf("parse: %d %s", code, errs)
	}
	var rec struct {
		DocumentNumber string `json:"document_number"`
		OptionalData   string `json:"optional_data"`
		Valid          bool   `json:"valid"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if !rec.Valid || rec.DocumentNumber != "D23145890734" || rec.OptionalData != "" {
		t.Errorf("record %+v", rec)
	}
	if strings.Contains(out, `\u003c`) || !strings.Contains(out, `"D23145890<7349<<<`) {
		t.Errorf("want the composite value with its fillers as <: %s", out)
	}
}

// TestScreenWithoutList: with no store, or a store without a list,
// `watchpost screen` says per traveller that it was not screened (never
// "hits":[]), exits non-zero, and creates no store.
func TestScreenWithoutList(t *testing.T) {
	in := `{"id":"x","name":"Anna Eriksson"}` + "\n" + `{"id":"y","name":"Saadi Gaddafi"}` + "\n"
	empty := t.TempDir()
	st, err := daemon.OpenStore(empty, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	none := filepath.Join(t.TempDir(), "none")
	for name, dir := range map[string]string{"no store": none, "empty store": empty} {
		t.Run(name, func(t *testing.T) {
			code, out, errs := runCLI(t, in, "screen", "--data-dir", dir)
			if code == ExitOK || !strings.Contains(errs, "not screened: no list loaded") {
				t.Fatalf("exit %d, stderr %q", code, errs)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 2 {
				t.Fatalf("want one line per traveller, got:\n%s", out)
			}
			for i, l := range lines {
				var r map[string]any
				if err := json.Unmarshal([]byte(l), &r); err != nil {
					t.Fatal(err)
				}
				if _, ok := r["hits"]; ok || r["id"] != []string{"x", "y"}[i] || r["not_screened"] != "no_list" || !strings.Contains(r["error"].(string), "not screened: no list loaded") {
					t.Errorf("line %d: %s", i+1, l)
				}
			}
		})
	}
	if _, err := os.Stat(none); !os.IsNotExist(err) {
		t.Fatalf("store created: %v", err)
	}
}

// TestScreenNamesCheckedLists: every result names the lists checked and
// their versions; a name beyond the caps is screened on its beginning,
// with a warning.
func TestScreenNamesCheckedLists(t *testing.T) {
	dir := importUN(t)
	in := `{"id":"a","name":"Saadi Gaddafi","nationality":"Libya"}` + "\n" + `{"id":"b","name":"` + strings.Repeat("QADHAFI ", 20) + `"}` + "\n"
	code, out, errs := runCLI(t, in, "screen", "--data-dir", dir)
	if code != ExitOK {
		t.Fatalf("screen: %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for i, l := range lines {
		if !strings.Contains(l, `"checked":[{"list":"un","version":1,"entries":1003,"stale":false}]`) {
			t.Errorf("line %d lacks the lists checked: %s", i+1, l)
		}
	}
	var b screenResult
	if err := json.Unmarshal([]byte(lines[1]), &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Warnings) != 1 || !strings.Contains(b.Warnings[0], "12 words") {
		t.Errorf("long name: %s", lines[1])
	}
}
