// Package accuracy measures how well the name matcher tells listed people
// from others: a labelled development set (a list, the travellers to
// screen against it, and for each whether and whom it must hit), the
// generator that derives such a set from public list and name material,
// the evaluation that screens every case and sweeps the band thresholds,
// and the picture of the trade-off as an SVG chart.
package accuracy

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/watchpost/watchpost/engine"
)

// Case sets of a development set, one file each.
const (
	SetNearMiss  = "nearmiss"  // a given name of one listed person with the family name of another
	SetSingle    = "single"    // one personal name alone
	SetTwoName   = "twoname"   // two personal names of unrelated people
	SetPerturbed = "perturbed" // a listed name with typos, respellings, dropped or moved words, MRZ folding
	SetAliases   = "aliases"   // an alias sharing a word with the primary name, screened against primary names only
)

// Sets lists the case sets in the order reports show them.
var Sets = []string{SetPerturbed, SetAliases, SetNearMiss, SetSingle, SetTwoName}

// Positive reports whether a set's cases must hit an entry.
func Positive(set string) bool { return set == SetPerturbed || set == SetAliases }

// Case is one traveller to screen and what must happen.
type Case struct {
	Query engine.Query
	Want  string // the entry id a positive must hit; "" for a negative (no hit at all is right)
	Kind  string // how the case was made (typo, surname-first, wikidata-ru…)
	From  string // what it was made from, for a reader: source names or ids
}

// Set is a development set: a list and labelled cases.
type Set struct {
	List  []engine.Entry
	Cases map[string][]Case // by set name
}

// The files of a set directory. Cases are tab-separated with a header
// line; a list line is id, kind, then the entry's names (primary first).
const (
	listFile   = "list.tsv"
	caseSuffix = ".tsv"
)

var caseHeader = []string{"kind", "want", "name", "surname", "given_names", "truncated", "from"}

// ReadDir reads a set written by WriteDir.
func ReadDir(dir string) (*Set, error) {
	s := &Set{Cases: make(map[string][]Case)}
	err := readTSV(filepath.Join(dir, listFile), 0, func(line int, f []string) error {
		if len(f) < 3 {
			return fmt.Errorf("want id, kind and at least one name, got %d fields", len(f))
		}
		e := engine.Entry{ID: f[0], Kind: engine.EntryKind(f[1])}
		for i, n := range f[2:] {
			k := engine.NameAlias
			if i == 0 {
				k = engine.NamePrimary
			}
			e.Names = append(e.Names, engine.Name{Value: n, Kind: k})
		}
		if err := e.Validate(); err != nil {
			return err
		}
		s.List = append(s.List, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, set := range Sets {
		var cases []Case
		err := readTSV(filepath.Join(dir, set+caseSuffix), len(caseHeader), func(line int, f []string) error {
			if line == 1 {
				if !slices.Equal(f, caseHeader) {
					return fmt.Errorf("header %q, want %q", f, caseHeader)
				}
				return nil
			}
			c := Case{Kind: f[0], Want: f[1], From: f[6]}
			c.Query = engine.Query{Name: f[2], Surname: f[3], GivenNames: f[4], NameTruncated: f[5] == "1"}
			if strings.TrimSpace(c.Query.FullName()) == "" {
				return fmt.Errorf("case has no name")
			}
			if Positive(set) != (c.Want != "") {
				return fmt.Errorf("set %s: want %q does not fit a %s set", set, c.Want, map[bool]string{true: "positive", false: "negative"}[Positive(set)])
			}
			cases = append(cases, c)
			return nil
		})
		if err != nil {
			return nil, err
		}
		s.Cases[set] = cases
	}
	return s, nil
}

// readTSV calls fn with each line's fields; fields > 0 demands that many.
func readTSV(path string, fields int, fn func(line int, f []string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read development set: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		rec := strings.Split(sc.Text(), "\t")
		if fields > 0 && len(rec) != fields {
			return fmt.Errorf("%s:%d: %d fields, want %d", path, line, len(rec), fields)
		}
		if err := fn(line, rec); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// WriteDir writes the set as files in dir, which must exist.
func (s *Set) WriteDir(dir string) error {
	err := writeFile(filepath.Join(dir, listFile), func(w io.Writer) error {
		for _, e := range s.List {
			f := []string{e.ID, string(e.Kind)}
			for _, n := range e.Names {
				f = append(f, n.Value)
			}
			if err := writeFields(w, f); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, set := range Sets {
		err := writeFile(filepath.Join(dir, set+caseSuffix), func(w io.Writer) error {
			if err := writeFields(w, caseHeader); err != nil {
				return err
			}
			for _, c := range s.Cases[set] {
				tr := "0"
				if c.Query.NameTruncated {
					tr = "1"
				}
				if err := writeFields(w, []string{c.Kind, c.Want, c.Query.Name, c.Query.Surname, c.Query.GivenNames, tr, c.From}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func writeFields(w io.Writer, f []string) error {
	for _, v := range f {
		if strings.ContainsAny(v, "\t\n\r") {
			return fmt.Errorf("field %q holds a tab or line break", v)
		}
	}
	_, err := io.WriteString(w, strings.Join(f, "\t")+"\n")
	return err
}

func writeFile(path string, fill func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write development set: %w", err)
	}
	bw := bufio.NewWriter(f)
	if err := fill(bw); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}
