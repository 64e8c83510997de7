package importer

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding/charmap"

	"github.com/watchpost/watchpost/engine"
)

// unRecord is one INDIVIDUAL or ENTITY of the UN Consolidated List.
type unRecord struct {
	FirstName    string       `xml:"FIRST_NAME"`
	SecondName   string       `xml:"SECOND_NAME"`
	ThirdName    string       `xml:"THIRD_NAME"`
	FourthName   string       `xml:"FOURTH_NAME"`
	ListType     string       `xml:"UN_LIST_TYPE"`
	Reference    string       `xml:"REFERENCE_NUMBER"`
	Gender       string       `xml:"GENDER"`
	Comments     string       `xml:"COMMENTS1"`
	OriginalName string       `xml:"NAME_ORIGINAL_SCRIPT"`
	Nationality  []string     `xml:"NATIONALITY>VALUE"`
	Aliases      []unAlias    `xml:"INDIVIDUAL_ALIAS"`
	EntityAlias  []unAlias    `xml:"ENTITY_ALIAS"`
	BirthDates   []unDOB      `xml:"INDIVIDUAL_DATE_OF_BIRTH"`
	Documents    []unDocument `xml:"INDIVIDUAL_DOCUMENT"`
}

type unAlias struct {
	Quality     string `xml:"QUALITY"`
	Name        string `xml:"ALIAS_NAME"`
	DateOfBirth string `xml:"DATE_OF_BIRTH"`
}

type unDOB struct {
	Type     string `xml:"TYPE_OF_DATE"`
	Date     string `xml:"DATE"`
	Year     string `xml:"YEAR"`
	FromYear string `xml:"FROM_YEAR"`
	ToYear   string `xml:"TO_YEAR"`
	Note     string `xml:"NOTE"`
}

type unDocument struct {
	Type           string `xml:"TYPE_OF_DOCUMENT"`
	Type2          string `xml:"TYPE_OF_DOCUMENT2"`
	Number         string `xml:"NUMBER"`
	IssuingCountry string `xml:"ISSUING_COUNTRY"`
	CountryOfIssue string `xml:"COUNTRY_OF_ISSUE"`
	Note           string `xml:"NOTE"`
}

// ReadUNXML reads the UN Security Council Consolidated List XML
// (root CONSOLIDATED_LIST) and calls emit for every INDIVIDUAL (a person)
// and ENTITY, in file order. The entry ID is the REFERENCE_NUMBER; a
// record without one or without a name, a reference seen twice (the list
// has none), or a root other than CONSOLIDATED_LIST is an error.
func ReadUNXML(r io.Reader, file string, emit func(*engine.Entry) error) error {
	return readUNXML(r, file, DefaultLimits, emit)
}

// readUNXML is ReadUNXML within lim: a record (INDIVIDUAL, ENTITY) of at
// most MaxRecord bytes, any other token of at most MaxField, elements
// nested at most MaxDepth deep outside records.
func readUNXML(r io.Reader, file string, lim Limits, emit func(*engine.Entry) error) error {
	lim = lim.orDefault()
	br := newBoundedReader(r, FormatUNXML, lim)
	dec := xml.NewDecoder(br)
	dec.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "iso-8859-1", "latin1", "latin-1":
			return charmap.ISO8859_1.NewDecoder().Reader(in), nil
		case "windows-1252", "cp1252":
			return charmap.Windows1252.NewDecoder().Reader(in), nil
		}
		return nil, fmt.Errorf("unsupported XML encoding %q", label)
	}
	seen := make(map[string]int)
	depth, sawRoot := 0, false
	xmlErr := func(elem string, err error) error {
		line, _ := dec.InputPos()
		if le := br.limitErr(err); le != nil {
			return &Error{File: file, Line: line, Element: elem, Err: le}
		}
		return &Error{File: file, Line: line, Element: elem, Err: fmt.Errorf("malformed XML: %w", err)}
	}
	for {
		start := dec.InputOffset()
		br.setWindow(start, lim.MaxField, "XML token")
		tok, err := dec.Token()
		if err == io.EOF {
			if !sawRoot {
				return errAt(file, 0, "no CONSOLIDATED_LIST root element")
			}
			return nil
		}
		if err != nil {
			return xmlErr("", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			line, _ := dec.InputPos()
			depth++
			if depth > lim.MaxDepth {
				return &Error{File: file, Line: line, Element: t.Name.Local,
					Err: &LimitError{Format: FormatUNXML, What: "nesting", Limit: int64(lim.MaxDepth), Offset: start}}
			}
			if depth == 1 {
				if t.Name.Local != "CONSOLIDATED_LIST" {
					return &Error{File: file, Line: line, Element: t.Name.Local,
						Err: errors.New("root element is not CONSOLIDATED_LIST: not a UN consolidated list")}
				}
				sawRoot = true
				continue
			}
			kind := engine.KindPerson
			switch t.Name.Local {
			case "INDIVIDUAL":
			case "ENTITY":
				kind = engine.KindEntity
			default:
				continue // INDIVIDUALS, ENTITIES: descend
			}
			var rec unRecord
			br.setWindow(start, lim.MaxRecord, "record ("+t.Name.Local+")")
			if err := dec.DecodeElement(&rec, &t); err != nil {
				return xmlErr(t.Name.Local, err)
			}
			depth--
			e := unEntry(&rec, kind)
			elem := t.Name.Local
			if e.ID != "" {
				elem += " " + e.ID
			}
			if err := e.Validate(); err != nil {
				return &Error{File: file, Line: line, Element: elem, Err: err}
			}
			if first, dup := seen[e.ID]; dup {
				return &Error{File: file, Line: line, Element: elem,
					Err: fmt.Errorf("duplicate REFERENCE_NUMBER %q (first on line %d)", e.ID, first)}
			}
			seen[e.ID] = line
			if err := emit(e); err != nil {
				return &Error{File: file, Line: line, Element: elem, Err: err}
			}
		case xml.EndElement:
			depth--
		}
	}
}

// unEntry maps a decoded record to an entry.
func unEntry(rec *unRecord, kind engine.EntryKind) *engine.Entry {
	e := &engine.Entry{ID: strings.TrimSpace(rec.Reference), Kind: kind}
	var parts []string
	for _, p := range []string{rec.FirstName, rec.SecondName, rec.ThirdName, rec.FourthName} {
		if p = spaces(p); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) > 0 {
		e.Names = []engine.Name{{Value: strings.Join(parts, " "), Kind: engine.NamePrimary}}
	}
	var remarks []string
	if c := strings.TrimSpace(rec.Comments); c != "" {
		remarks = append(remarks, c)
	}
	for _, a := range append(rec.Aliases, rec.EntityAlias...) {
		e.Names = addName(e.Names, engine.Name{Value: spaces(a.Name), Kind: engine.NameAlias, Quality: unQuality(a.Quality)})
		if strings.TrimSpace(a.Name) != "" && strings.TrimSpace(a.DateOfBirth) != "" {
			if d, ok := parseLooseDate(a.DateOfBirth); ok {
				e.BirthDates = addDate(e.BirthDates, d)
			}
		}
	}
	if o := spaces(rec.OriginalName); o != "" {
		e.Names = addName(e.Names, engine.Name{Value: o, Kind: engine.NameOriginal})
	}
	for _, dob := range rec.BirthDates {
		d, ok, text := unBirthDate(dob)
		if ok {
			e.BirthDates = addDate(e.BirthDates, d)
		} else if text != "" {
			remarks = append(remarks, "Date of birth: "+text)
		}
	}
	for _, n := range rec.Nationality {
		n = strings.TrimSpace(n)
		switch strings.ToLower(n) {
		case "", "na", "n/a", "unknown":
			continue
		}
		e.Nationalities = addUnique(e.Nationalities, resolveCountry(n))
	}
	switch strings.ToLower(strings.TrimSpace(rec.Gender)) {
	case "male":
		e.Sex = "M"
	case "female":
		e.Sex = "F"
	}
	for _, d := range rec.Documents {
		num := spaces(d.Number)
		if num == "" {
			continue
		}
		doc := engine.Document{Type: unDocType(d.Type), Number: num}
		if n, ok := numberInProse(num); ok {
			// "Russian foreign travel passport number 620169661": the
			// number is the last word; the words stay in the note.
			doc.Number = n
			d.Note = strings.TrimSpace(num + ". " + d.Note)
		}
		c := d.IssuingCountry
		if strings.TrimSpace(c) == "" {
			c = d.CountryOfIssue
		}
		if strings.TrimSpace(c) != "" {
			doc.Country = resolveCountry(c)
		}
		var notes []string
		for _, n := range []string{d.Type2, d.Note} {
			if n = spaces(n); n != "" {
				notes = append(notes, n)
			}
		}
		doc.Note = strings.Join(notes, "; ")
		e.Documents = append(e.Documents, doc)
	}
	if lt := strings.TrimSpace(rec.ListType); lt != "" {
		e.Programs = []string{lt}
	}
	e.Remarks = truncateRemarks(strings.Join(remarks, "\n"))
	return e
}

// unQuality maps the UN alias QUALITY: "Good", "Low" (or "a.k.a. low"),
// and the unqualified "a.k.a."/"f.k.a." as no quality.
func unQuality(q string) string {
	q = strings.ToLower(strings.TrimSpace(q))
	switch {
	case strings.Contains(q, "low"):
		return engine.QualityLow
	case strings.Contains(q, "good"):
		return engine.QualityGood
	}
	return ""
}

// unDocType maps TYPE_OF_DOCUMENT to P (passport), I (identity card or
// national identification number) or the text as given.
func unDocType(t string) string {
	t = spaces(t)
	l := strings.ToLower(t)
	switch {
	case strings.Contains(l, "passport"), strings.Contains(l, "pasaporte"), strings.Contains(l, "passeport"):
		return "P"
	case strings.Contains(l, "identification"), strings.Contains(l, "identity"), strings.Contains(l, "id card"):
		return "I"
	}
	return t
}

// unBirthDate reads one INDIVIDUAL_DATE_OF_BIRTH. When it holds no date it
// can read, it returns the text to keep in the remarks ("" when empty).
func unBirthDate(dob unDOB) (engine.BirthDate, bool, string) {
	typ := strings.ToUpper(strings.TrimSpace(dob.Type))
	date, year := strings.TrimSpace(dob.Date), strings.TrimSpace(dob.Year)
	from, to := strings.TrimSpace(dob.FromYear), strings.TrimSpace(dob.ToYear)
	note := spaces(dob.Note)
	var text string
	switch {
	case from != "" || to != "":
		text = from + " to " + to
	case date != "":
		text = date
	case year != "":
		text = year
	default:
		text = note
	}
	if text == "" {
		return engine.BirthDate{}, false, ""
	}
	d, ok := parseLooseDate(text)
	if !ok {
		if typ == "APPROXIMATELY" {
			return d, false, "approximately " + text
		}
		return d, false, text
	}
	if typ == "APPROXIMATELY" {
		d.Approx = true
	}
	return d, true, ""
}

// numberInProse finds the document number in a NUMBER field that the UN
// list sometimes writes as a sentence ("Counterfeit Danish driving licence
// number 20645897"): the last word, if it holds a digit and the field has
// at least three words. Short fields ("H 236483") are numbers as written.
func numberInProse(field string) (string, bool) {
	words := strings.Fields(field)
	if len(words) < 3 {
		return "", false
	}
	last := strings.Trim(words[len(words)-1], ".,;:()")
	if !strings.ContainsAny(last, "0123456789") || len(last) < 4 {
		return "", false
	}
	return last, true
}
