package accuracy

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"golang.org/x/text/encoding/charmap"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/importer"
)

// Person is a listed person with the roles of the words of its primary
// name, as the generator needs them.
type Person struct {
	ID     string
	Given  []string // given-name words, as printed
	Family []string // family-name words, as printed
	Group  string   // a stand-in for the naming culture: the person's programme or list
}

// AliasPair is a primary name and an alias of the same listed person.
type AliasPair struct {
	EntryID, Primary, Alias, Kind string
}

// Word is a personal name word with how often it occurs in its source.
type Word struct {
	Latin  string // the word in Latin script
	Script string // the same word in another script, or ""
	Count  int
	Origin string // the source, e.g. "wikidata-ru"
}

// Sources is the material a development set is generated from.
type Sources struct {
	List       []engine.Entry // the list to screen against (persons and entities)
	Persons    []Person       // persons of List whose name roles are known
	AliasPairs []AliasPair
	Words      []Word
}

// ReadOFAC reads an OFAC SDN legacy CSV folder: the entries as the
// importer gives them and, for each person, the roles of its primary
// name's words, which sdn.csv prints as "FAMILY, Given Names".
func ReadOFAC(dir fs.FS) ([]engine.Entry, []Person, error) {
	var list []engine.Entry
	if err := importer.ReadOFAC(dir, func(e *engine.Entry) error {
		list = append(list, *e)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	f, err := dir.Open("sdn.csv")
	if err != nil {
		return nil, nil, fmt.Errorf("read OFAC roles: %w", err)
	}
	defer f.Close()
	cr := csv.NewReader(charmap.ISO8859_1.NewDecoder().Reader(f))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	var persons []Person
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read OFAC roles: %w", err)
		}
		if len(rec) < 4 || !strings.EqualFold(strings.TrimSpace(rec[2]), "individual") {
			continue
		}
		family, given, ok := strings.Cut(rec[1], ",")
		if !ok {
			continue
		}
		given, _, _ = strings.Cut(given, ",") // a suffix (Jr.) after a second comma
		group := strings.TrimSpace(rec[3])
		if i := strings.IndexAny(group, "] "); i > 0 {
			group = group[:i]
		}
		p := Person{ID: strings.TrimSpace(rec[0]), Family: strings.Fields(family), Given: strings.Fields(given), Group: strings.Trim(group, "[]")}
		if len(p.Family) > 0 && len(p.Given) > 0 {
			persons = append(persons, p)
		}
	}
	return list, persons, nil
}

// ListPersons gives the persons of a list whose name roles are not
// printed: the last word of the primary name is taken as the family name,
// the others as given names, and the id's letters before the first dot or
// digit (the UN's QDi, KPi…) as the group.
func ListPersons(list []engine.Entry) []Person {
	var out []Person
	for _, e := range list {
		if e.Kind != engine.KindPerson {
			continue
		}
		w := strings.Fields(e.PrimaryName())
		if len(w) < 2 {
			continue
		}
		group := e.ID
		if i := strings.IndexAny(group, ".0123456789"); i > 0 {
			group = group[:i]
		}
		out = append(out, Person{ID: e.ID, Given: w[:len(w)-1], Family: w[len(w)-1:], Group: group})
	}
	return out
}

// ReadAliasPairs reads the OFAC-derived pair file (JSON lines with a, b,
// label, kind, entity, sdn_type) and returns the same-person pairs of
// individuals; entity "OFAC-36" is list entry "36".
func ReadAliasPairs(r io.Reader) ([]AliasPair, error) {
	var out []AliasPair
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		var p struct {
			A, B    string
			Label   int
			Kind    string
			Entity  string
			SDNType string `json:"sdn_type"`
		}
		if err := json.Unmarshal(sc.Bytes(), &p); err != nil {
			return nil, fmt.Errorf("alias pairs line %d: %w", line, err)
		}
		if p.Label != 1 || p.SDNType != "individual" {
			continue
		}
		out = append(out, AliasPair{EntryID: strings.TrimPrefix(p.Entity, "OFAC-"), Primary: p.A, Alias: p.B, Kind: p.Kind})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("alias pairs: %w", err)
	}
	return out, nil
}

// ReadWikidataNames reads a Wikidata transliteration slice: lines of
// "latin<TAB>letters of the other script, space-separated<TAB>count".
func ReadWikidataNames(r io.Reader, origin string) ([]Word, error) {
	var out []Word
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 3 {
			return nil, fmt.Errorf("%s line %d: %d fields, want 3", origin, line, len(f))
		}
		n := 0
		if _, err := fmt.Sscan(f[2], &n); err != nil {
			return nil, fmt.Errorf("%s line %d: count %q: %w", origin, line, f[2], err)
		}
		out = append(out, Word{Latin: f[0], Script: strings.ReplaceAll(f[1], " ", ""), Count: n, Origin: origin})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", origin, err)
	}
	return out, nil
}

// ListAliasPairs pairs each person's primary name with each of its other
// names that the list does not mark as weak.
func ListAliasPairs(list []engine.Entry) []AliasPair {
	var out []AliasPair
	for _, e := range list {
		if e.Kind != engine.KindPerson || len(e.Names) < 2 {
			continue
		}
		for _, n := range e.Names[1:] {
			if n.Kind == engine.NameAlias && n.Quality != engine.QualityLow {
				out = append(out, AliasPair{EntryID: e.ID, Primary: e.Names[0].Value, Alias: n.Value, Kind: "alias"})
			}
		}
	}
	return out
}

// HeldOut builds an evaluation set from another list the same way as the
// development set: near misses, perturbed names and aliases from the
// list itself, with the single and two-name negatives of dev (which do
// not depend on the list). Its figures are for reporting: a set one tunes
// on stops telling how the matcher does on lists it has not seen.
func HeldOut(list []engine.Entry, dev *Set, seed uint64) *Set {
	src := Sources{List: list, Persons: ListPersons(list), AliasPairs: ListAliasPairs(list)}
	set := Generate(src, Sizes{NearMiss: DefaultSizes.NearMiss, Perturbed: DefaultSizes.Perturbed, Aliases: DefaultSizes.Aliases}, seed)
	set.Cases[SetSingle] = dev.Cases[SetSingle]
	set.Cases[SetTwoName] = dev.Cases[SetTwoName]
	return set
}
