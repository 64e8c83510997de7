package engine_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// outsideDoc matches a citation of a document that is not in the
// repository: a section number after one of the names, or the file name.
var outsideDoc = regexp.MustCompile(`\b(RELIABILITY|STYLE)(\.md)?\s+(§\s*)?T?[0-9]|\b(RELIABILITY|STYLE|DOMAIN)\.md\b`)

// TestNoOutsideCitations: comments and repository docs state facts in
// place instead of pointing at documents a reader of the repository does
// not have.
func TestNoOutsideCitations(t *testing.T) {
	checked := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != ".." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".go" && ext != ".md" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(b), "\n") {
			if m := outsideDoc.FindString(line); m != "" {
				t.Errorf("%s:%d cites %q, a document outside the repository: state the fact instead", path, i+1, m)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files; the walk looks wrong", checked)
	}
}
