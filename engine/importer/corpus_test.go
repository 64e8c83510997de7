package importer

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
)

// sharedLists is the project's shared list corpus, outside this repo. The
// corpus tests skip when it is absent; every other test uses testdata.
const sharedLists = "../../../shared/data/lists"

func corpus(t *testing.T, rel string) string {
	t.Helper()
	p := filepath.Join(sharedLists, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared corpus %s not present: %v", p, err)
	}
	return p
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

func TestCorpusUN(t *testing.T) {
	p := corpus(t, "un_consolidated/UN_consolidated_2026-02-27.xml")
	var st stats
	start := time.Now()
	err := ReadPath(FormatUNXML, p, func(e *engine.Entry) error {
		if err := e.Validate(); err != nil {
			t.Errorf("%s: %v", e.ID, err)
		}
		st.add(e)
		return nil
	}, nil)
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
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
			p := corpus(t, c.dir)
			var st stats
			start := time.Now()
			err := ReadPath(FormatOFACCSV, p, func(e *engine.Entry) error {
				if err := e.Validate(); err != nil {
					t.Errorf("%s: %v", e.ID, err)
				}
				st.add(e)
				return nil
			}, nil)
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
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

func TestCorpusOFACInvalid(t *testing.T) {
	p := corpus(t, "ofac_sdn_csv_invalid")
	err := ReadPath(FormatOFACCSV, p, func(*engine.Entry) error { return nil }, nil)
	var ie *Error
	if !errors.As(err, &ie) || ie.Line == 0 || ie.File == "" {
		t.Fatalf("got %v, want an *Error naming file and line", err)
	}
	t.Logf("invalid OFAC set: %v", err)
}
