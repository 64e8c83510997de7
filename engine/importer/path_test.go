package importer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/engine"
)

func TestReadPath(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	csvPath := write("n.csv", nativeCSV)
	jsonlPath := write("n.jsonl", nativeJSONL)
	docsPath := write("d.csv", "number,country\nA1,DEU\n")
	cases := []struct {
		format, path  string
		entries, docs int
	}{
		{FormatUNXML, "testdata/un_excerpt.xml", 9, 0},
		{FormatOFACCSV, "testdata/ofac", 30, 0},
		{FormatCSV, csvPath, 2, 0},
		{FormatJSONL, jsonlPath, 2, 0},
		{FormatDocsCSV, docsPath, 0, 1},
	}
	for _, c := range cases {
		var ne, nd int
		err := ReadPath(c.format, c.path,
			func(*engine.Entry) error { ne++; return nil },
			func(*engine.Document) error { nd++; return nil })
		if err != nil || ne != c.entries || nd != c.docs {
			t.Errorf("%s: %d entries, %d documents, %v; want %d, %d", c.format, ne, nd, err, c.entries, c.docs)
		}
		if IsDocumentFormat(c.format) != (c.docs > 0) {
			t.Errorf("IsDocumentFormat(%s) = %v", c.format, IsDocumentFormat(c.format))
		}
	}
	if got := strings.Join(Formats(), ","); got != "un-xml,ofac-csv,csv,jsonl,docs-csv" {
		t.Errorf("Formats() = %s", got)
	}

	errCases := []struct {
		format, path, want string
	}{
		{"xls", csvPath, `unknown format "xls"`},
		{FormatCSV, filepath.Join(dir, "missing.csv"), "no such file"},
		{FormatOFACCSV, csvPath, "wants a folder holding sdn.csv (and alt.csv, add.csv, sdn_comments.csv), got a file"},
		{FormatCSV, dir, "wants a file, got a folder"},
		{FormatOFACCSV, "testdata/ofac_invalid", "alt.csv:5: wrong number of fields"},
		{FormatUNXML, csvPath, "root"},
	}
	for _, c := range errCases {
		err := ReadPath(c.format, c.path, func(*engine.Entry) error { return nil }, func(*engine.Document) error { return nil })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ReadPath(%s, %s) = %v, want it to contain %q", c.format, c.path, err, c.want)
		}
	}
	if err := ReadPath(FormatDocsCSV, docsPath, func(*engine.Entry) error { return nil }, nil); err == nil {
		t.Errorf("docs-csv without a document callback: no error")
	}
	if err := ReadPath(FormatCSV, csvPath, nil, func(*engine.Document) error { return nil }); err == nil {
		t.Errorf("csv without an entry callback: no error")
	}
}
