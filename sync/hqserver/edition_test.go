package hqserver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/importer"
)

// TestReadEditionNotAZip: an ofac-csv upload that is not a zip archive
// is refused with what was given and what is wanted.
func TestReadEditionNotAZip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "upload")
	if err := os.WriteFile(path, []byte("1,X,individual\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := ReadEdition(importer.FormatOFACCSV, path, "sdn.csv", func(*engine.Entry) error { return nil })
	if err == nil {
		t.Fatal("a CSV file was read as an ofac-csv zip")
	}
	for _, want := range []string{"ofac-csv is a folder format", "want a zip archive of the folder's files (sdn.csv", "got sdn.csv, which is not one"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
}
