package importer

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"golang.org/x/text/encoding/charmap"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/country"
)

// OFAC SDN legacy CSV files and their column counts.
const (
	ofacSDN      = "sdn.csv"
	ofacAlt      = "alt.csv"
	ofacAdd      = "add.csv"
	ofacComments = "sdn_comments.csv"
)

// ReadOFAC reads an OFAC SDN legacy CSV folder: sdn.csv (required),
// alt.csv and add.csv (optional, add.csv is validated but not used) and
// sdn_comments.csv (optional remarks overflow, appended to the remarks).
// Files have no header, are Latin-1, and print "-0-" for empty. It emits
// one entry per sdn.csv row, in file order, with the alt.csv names of the
// same ent_num attached. A duplicate ent_num is an error (the published
// files have none).
func ReadOFAC(dir fs.FS, emit func(*engine.Entry) error) error {
	return ReadOFACLimited(dir, DefaultLimits, emit)
}

// ReadOFACLimited is ReadOFAC within lim, which bounds each file of the
// folder on its own.
func ReadOFACLimited(dir fs.FS, lim Limits, emit func(*engine.Entry) error) error {
	comments := make(map[string]string)
	err := readOFACFile(dir, lim, ofacComments, 2, true, func(line int, rec []string) error {
		comments[ofacField(rec[0])] += rec[1]
		return nil
	})
	if err != nil {
		return err
	}
	alts := make(map[string][]ofacAltName)
	err = readOFACFile(dir, lim, ofacAlt, 5, true, func(line int, rec []string) error {
		id := ofacField(rec[0])
		if !engine.Digits(id) {
			return fmt.Errorf("ent_num %q is not a number", rec[0])
		}
		name := ofacField(rec[3])
		if name == "" {
			return nil
		}
		quality := ""
		if strings.Contains(strings.ToLower(ofacField(rec[4])), "weak") {
			quality = engine.QualityLow
		}
		alts[id] = append(alts[id], ofacAltName{name: name, quality: quality})
		return nil
	})
	if err != nil {
		return err
	}
	err = readOFACFile(dir, lim, ofacAdd, 6, true, func(line int, rec []string) error {
		if id := ofacField(rec[0]); !engine.Digits(id) {
			return fmt.Errorf("ent_num %q is not a number", rec[0])
		}
		return nil
	})
	if err != nil {
		return err
	}
	seen := make(map[string]int)
	return readOFACFile(dir, lim, ofacSDN, 12, false, func(line int, rec []string) error {
		id := ofacField(rec[0])
		if id == "" {
			return errors.New("record has no ent_num")
		}
		if !engine.Digits(id) {
			return fmt.Errorf("ent_num %q is not a number", rec[0])
		}
		if first, dup := seen[id]; dup {
			return fmt.Errorf("duplicate ent_num %s (first on line %d)", id, first)
		}
		seen[id] = line
		e := ofacEntry(id, rec, comments[id], alts[id])
		if err := e.Validate(); err != nil {
			return err
		}
		return emit(e)
	})
}

type ofacAltName struct {
	name    string
	quality string
}

// readOFACFile reads one headerless Latin-1 CSV file of the set, checking
// every record has fields columns. A trailing DOS end-of-file mark (0x1A)
// is skipped.
func readOFACFile(dir fs.FS, lim Limits, name string, fields int, optional bool, fn func(line int, rec []string) error) error {
	f, err := dir.Open(name)
	if err != nil {
		if optional && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return &Error{File: name, Err: fmt.Errorf("open: %w", err)}
	}
	defer f.Close()
	rows := newCSVRows(f, name, FormatOFACCSV, lim, charmap.ISO8859_1.NewDecoder().Reader)
	cr := rows.cr
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	return rows.each(func(line int, rec []string) error {
		if len(rec) == 1 && strings.Trim(rec[0], "\x1a \t\r\n") == "" {
			return nil
		}
		if len(rec) != fields {
			return errAt(name, line, "wrong number of fields: got %d, want %d", len(rec), fields)
		}
		if err := fn(line, rec); err != nil {
			var ie *Error
			if errors.As(err, &ie) {
				return err
			}
			return &Error{File: name, Line: line, Err: err}
		}
		return nil
	})
}

// ofacField trims a field and maps the "-0-" null to "".
func ofacField(s string) string {
	s = strings.TrimSpace(s)
	if s == "-0-" {
		return ""
	}
	return s
}

// ofacEntry builds an entry from an sdn.csv record.
func ofacEntry(id string, rec []string, comment string, alts []ofacAltName) *engine.Entry {
	person := strings.EqualFold(ofacField(rec[2]), "individual")
	e := &engine.Entry{ID: id, Kind: engine.KindEntity}
	if person {
		e.Kind = engine.KindPerson
	}
	name := spaces(ofacField(rec[1]))
	if person {
		name = ofacPersonName(name)
	}
	e.Names = addName(e.Names, engine.Name{Value: name, Kind: engine.NamePrimary})
	for _, a := range alts {
		n := spaces(a.name)
		if person {
			n = ofacPersonName(n)
		}
		e.Names = addName(e.Names, engine.Name{Value: n, Kind: engine.NameAlias, Quality: a.quality})
	}
	for _, p := range strings.Split(ofacField(rec[3]), "]") {
		p = strings.TrimSpace(strings.Trim(strings.TrimSpace(p), "[]"))
		e.Programs = addUnique(e.Programs, p)
	}
	remarks := ofacField(rec[11])
	if comment != "" {
		remarks += comment
	}
	parseOFACRemarks(e, remarks, person)
	e.Remarks = truncateRemarks(remarks)
	return e
}

// ofacPersonName turns OFAC's "SURNAME, Given Names[, Jr.]" into
// "Given Names SURNAME[ Jr.]".
func ofacPersonName(s string) string {
	surname, given, ok := strings.Cut(s, ",")
	if !ok {
		return s
	}
	parts := strings.Split(given, ",")
	out := []string{strings.TrimSpace(parts[0]), strings.TrimSpace(surname)}
	for _, suffix := range parts[1:] {
		out = append(out, strings.TrimSpace(suffix))
	}
	return spaces(strings.Join(out, " "))
}

var (
	reDOB         = regexp.MustCompile(`^(?:alt\. )?DOB (.+)$`)
	reNationality = regexp.MustCompile(`^(?:alt\. )?(?:nationality|citizen) (.+)$`)
	reGender      = regexp.MustCompile(`^Gender (Male|Female)$`)
	reWeakAKA     = regexp.MustCompile(`^a\.k\.a\. '(.+)'$`)
	reDocument    = regexp.MustCompile(`^(?:alt\. )?(Diplomatic Passport|Passport Booklet:?|Passport No\.?:?|Passport|` +
		`National ID No\.?|National ID Number|National Identification Number|National Foreign ID Number|` +
		`Cedula No\.?|D\.N\.I\.|Identification Number|Turkish Identification Number|Personal ID Card|` +
		`Kenyan ID No\.?|Tazkira National ID Card|C\.U\.R\.P\.(?: #)?|Identity Card(?: No\.?)?|` +
		`National Identity Card|Citizen's Card Number|Residency Number) (.+)$`)
	reParens    = regexp.MustCompile(`\(([^()]*)\)`)
	reDocSuffix = regexp.MustCompile(` (?:issued|expires|\()`)
)

// parseOFACRemarks reads the ";"-separated remark clauses: birth dates,
// nationality/citizenship, gender, in-remark (weak) a.k.a.s, and for
// persons identity documents.
func parseOFACRemarks(e *engine.Entry, remarks string, person bool) {
	if remarks == "" {
		return
	}
	for _, clause := range strings.Split(remarks, ";") {
		c := strings.TrimSpace(clause)
		c = strings.TrimSpace(strings.TrimSuffix(c, "."))
		if c == "" {
			continue
		}
		if m := reWeakAKA.FindStringSubmatch(c); m != nil {
			n := spaces(m[1])
			if person {
				n = ofacPersonName(n)
			}
			e.Names = addName(e.Names, engine.Name{Value: n, Kind: engine.NameAlias, Quality: engine.QualityLow})
			continue
		}
		if !person {
			continue
		}
		if m := reDOB.FindStringSubmatch(c); m != nil {
			if d, ok := parseLooseDate(m[1]); ok {
				e.BirthDates = addDate(e.BirthDates, d)
			}
			continue
		}
		if m := reNationality.FindStringSubmatch(c); m != nil {
			e.Nationalities = addUnique(e.Nationalities, ofacCountry(m[1]))
			continue
		}
		if m := reGender.FindStringSubmatch(c); m != nil {
			e.Sex = m[1][:1]
			continue
		}
		if m := reDocument.FindStringSubmatch(c); m != nil {
			if d, ok := ofacDocument(m[1], m[2]); ok {
				e.Documents = append(e.Documents, d)
			}
		}
	}
}

// ofacCountry resolves a remark's country, dropping "possibly" and a
// trailing explanation after the first sentence.
func ofacCountry(s string) string {
	s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "possibly "))
	if a3, ok := country.Alpha3(s); ok {
		return a3
	}
	if first, _, ok := strings.Cut(s, ". "); ok {
		if a3, ok := country.Alpha3(first); ok {
			return a3
		}
	}
	return strings.ToUpper(s)
}

// ofacDocument reads "NUMBER [(Country)] [issued …] [expires …]".
func ofacDocument(kind, rest string) (engine.Document, bool) {
	d := engine.Document{Type: "I"}
	if strings.Contains(kind, "Passport") {
		d.Type = "P"
	}
	var notes []string
	if kind == "Diplomatic Passport" {
		notes = append(notes, "diplomatic")
	}
	num, tail := rest, ""
	if loc := reDocSuffix.FindStringIndex(rest); loc != nil {
		num, tail = rest[:loc[0]], rest[loc[0]:]
	}
	d.Number = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(num), ","))
	if d.Number == "" {
		return d, false
	}
	if ms := reParens.FindAllStringSubmatchIndex(tail, -1); ms != nil {
		m := ms[len(ms)-1]
		d.Country = ofacCountry(tail[m[2]:m[3]])
		tail = tail[:m[0]] + tail[m[1]:]
	}
	if t := spaces(tail); t != "" {
		notes = append(notes, t)
	}
	d.Note = strings.Join(notes, "; ")
	return d, true
}
