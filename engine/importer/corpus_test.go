package importer

import (
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
)

// The corpus tests read whole published lists, checked in gzipped under
// testdata/corpus (see testdata/PROVENANCE.txt); SHA256SUMS holds the
// digests of the files as published, so a test also proves the copy is
// byte for byte the original.
const corpusDir = "testdata/corpus"

// corpusSums reads SHA256SUMS: published path → hex digest.
func corpusSums(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpusDir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	sums := make(map[string]string)
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS line %q", line)
		}
		sums[name] = sum
	}
	return sums
}

// gunzip returns the decompressed content of a checked-in .gz file.
func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return b
}

// writeChecked writes data as rel under dir after checking it against the
// published file's digest.
func writeChecked(t *testing.T, sums map[string]string, dir, rel string, data []byte) string {
	t.Helper()
	want, ok := sums[rel]
	if !ok {
		t.Fatalf("%s has no digest in SHA256SUMS", rel)
	}
	if got := fmt.Sprintf("%x", sha256.Sum256(data)); got != want {
		t.Fatalf("%s: sha256 %s, want the published file's %s", rel, got, want)
	}
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// corpus unpacks a checked-in list file or folder into a temporary
// directory and returns its path there.
func corpus(t *testing.T, rel string) string {
	t.Helper()
	sums := corpusSums(t)
	dir := t.TempDir()
	src := filepath.Join(corpusDir, rel)
	if fi, err := os.Stat(src); err == nil && fi.IsDir() {
		files, err := os.ReadDir(src)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			name, gz := strings.CutSuffix(f.Name(), ".gz")
			var data []byte
			if gz {
				data = gunzip(t, filepath.Join(src, f.Name()))
			} else if data, err = os.ReadFile(filepath.Join(src, f.Name())); err != nil {
				t.Fatal(err)
			}
			writeChecked(t, sums, dir, rel+"/"+name, data)
		}
		return filepath.Join(dir, rel)
	}
	return writeChecked(t, sums, dir, rel, gunzip(t, src+".gz"))
}

type stats struct {
	persons, entities, withDOB, withNat, withPassport, withDoc, withSex, lowAliases, originals int
}

func (s *stats) add(e *engine.Entry) {
	if e.Kind == engine.KindPerson {
		s.persons++
		if len(e.BirthDates) > 0 {
			s.withDOB++
		}
		if len(e.Nationalities) > 0 {
			s.withNat++
		}
		if e.Sex != "" {
			s.withSex++
		}
		if len(e.Documents) > 0 {
			s.withDoc++
		}
		for _, d := range e.Documents {
			if d.Type == "P" {
				s.withPassport++
				break
			}
		}
	} else {
		s.entities++
	}
	for _, n := range e.Names {
		if n.Quality == engine.QualityLow {
			s.lowAliases++
		}
		if n.Kind == engine.NameOriginal {
			s.originals++
		}
	}
}

// readStats imports path in format, checks every entry, and counts them.
func readStats(t *testing.T, format, path string) (stats, time.Duration) {
	t.Helper()
	var st stats
	start := time.Now()
	err := ReadPath(format, path, func(e *engine.Entry) error {
		if err := e.Validate(); err != nil {
			t.Errorf("%s: %v", e.ID, err)
		}
		st.add(e)
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st, time.Since(start)
}

func TestCorpusUN(t *testing.T) {
	st, took := readStats(t, FormatUNXML, corpus(t, "UN_consolidated_2026-02-27.xml"))
	if st.persons != 730 || st.entities != 273 {
		t.Errorf("got %d persons, %d entities; want 730, 273", st.persons, st.entities)
	}
	if st.originals != 378 {
		t.Errorf("got %d original-script names, want 378", st.originals)
	}
	t.Logf("UN: %d persons (%d with DOB, %d nationality, %d sex, %d documents, %d passport), %d entities, %d low aliases, %d original-script names, in %v",
		st.persons, st.withDOB, st.withNat, st.withSex, st.withDoc, st.withPassport, st.entities, st.lowAliases, st.originals, took)
	if took > time.Second && !raceEnabled {
		t.Errorf("UN import took %v, want well under a second", took)
	}
}

func TestCorpusOFAC(t *testing.T) {
	for _, c := range []struct {
		dir     string
		entries int
	}{
		{"ofac_sdn_csv_2021-07", 8976},
		{"ofac_sdn_csv_2019-01", 7379},
	} {
		t.Run(c.dir, func(t *testing.T) {
			st, took := readStats(t, FormatOFACCSV, corpus(t, c.dir))
			if got := st.persons + st.entities; got != c.entries {
				t.Errorf("got %d entries, want %d", got, c.entries)
			}
			t.Logf("OFAC %s: %d persons (%d with DOB, %d nationality, %d sex, %d identity documents, %d passport), %d entities, %d low (weak) aliases, in %v",
				c.dir, st.persons, st.withDOB, st.withNat, st.withSex, st.withDoc, st.withPassport, st.entities, st.lowAliases, took)
			if c.dir == "ofac_sdn_csv_2021-07" {
				// Floors well under what the 2021-07 file gives, to catch regressions in remark parsing.
				if st.persons != 4620 || st.withDOB < 4000 || st.withNat < 1500 || st.withPassport < 900 {
					t.Errorf("remark parsing regressed: %+v", st)
				}
			}
		})
	}
}

// TestCorpusOFACInvalid reads moov-io/watchman's broken OFAC set: the
// 2019-01 sdn.csv and alt.csv each with a trailing "||||" line (rebuilt
// here from the 2019-01 copy and checked against the broken files'
// digests) and its sdn_comments.csv, whose fourth line is broken too. Its
// add.csv, which differs from the 2019 one throughout, is not needed: the
// import stops at the first broken file.
func TestCorpusOFACInvalid(t *testing.T) {
	sums := corpusSums(t)
	dir := t.TempDir()
	for _, name := range []string{"sdn.csv", "alt.csv"} {
		data := append(gunzip(t, filepath.Join(corpusDir, "ofac_sdn_csv_2019-01", name+".gz")), "\n||||"...)
		writeChecked(t, sums, dir, "ofac_sdn_csv_invalid/"+name, data)
	}
	comments, err := os.ReadFile(filepath.Join(corpusDir, "ofac_sdn_csv_invalid", "sdn_comments.csv"))
	if err != nil {
		t.Fatal(err)
	}
	writeChecked(t, sums, dir, "ofac_sdn_csv_invalid/sdn_comments.csv", comments)
	err = ReadPath(FormatOFACCSV, filepath.Join(dir, "ofac_sdn_csv_invalid"), func(*engine.Entry) error { return nil }, nil)
	var ie *Error
	if !errors.As(err, &ie) || ie.Line == 0 || ie.File == "" {
		t.Fatalf("got %v, want an *Error naming file and line", err)
	}
	t.Logf("invalid OFAC set: %v", err)
}
