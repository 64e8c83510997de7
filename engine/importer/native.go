package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/country"
)

// Columns of Watchpost's native list CSV, also the JSON-lines field names.
// See FORMATS.md.
var nativeColumns = []string{"id", "kind", "name", "aliases", "birth_dates", "nationalities", "sex", "documents", "programs", "remarks"}

// nativeRecord is one record of the native CSV or JSON-lines formats.
type nativeRecord struct {
	ID            string           `json:"id"`
	Kind          string           `json:"kind"`
	Name          string           `json:"name"`
	Aliases       []nativeAlias    `json:"aliases"`
	BirthDates    []string         `json:"birth_dates"`
	Nationalities []string         `json:"nationalities"`
	Sex           string           `json:"sex"`
	Documents     []nativeDocument `json:"documents"`
	Programs      []string         `json:"programs"`
	Remarks       string           `json:"remarks"`
}

type nativeAlias struct {
	Value   string `json:"value"`
	Quality string `json:"quality"`
}

// UnmarshalJSON accepts an alias as a string or as {"value", "quality"}.
func (a *nativeAlias) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		a.Quality = ""
		return json.Unmarshal(b, &a.Value)
	}
	type plain nativeAlias
	var p plain
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return fmt.Errorf("alias: want a string or {\"value\", \"quality\"}: %w", err)
	}
	*a = nativeAlias(p)
	return nil
}

type nativeDocument struct {
	Type    string `json:"type"`
	Number  string `json:"number"`
	Country string `json:"country"`
	Note    string `json:"note"`
}

// fieldError is a problem with one field of a native record.
type fieldError struct {
	field string
	err   error
}

func (f *fieldError) Error() string { return f.field + ": " + f.err.Error() }
func (f *fieldError) Unwrap() error { return f.err }

func ferr(field, format string, args ...any) error {
	return &fieldError{field: field, err: fmt.Errorf(format, args...)}
}

// entry validates a native record and builds the entry.
func (r *nativeRecord) entry() (*engine.Entry, error) {
	e := &engine.Entry{ID: strings.TrimSpace(r.ID)}
	if e.ID == "" {
		return nil, ferr("id", "record has no id")
	}
	switch k := strings.ToLower(strings.TrimSpace(r.Kind)); k {
	case "", "person":
		e.Kind = engine.KindPerson
	case "entity":
		e.Kind = engine.KindEntity
	default:
		return nil, ferr("kind", "kind %q: want person or entity", r.Kind)
	}
	name := spaces(r.Name)
	if name == "" {
		return nil, ferr("name", "record %q has no name", e.ID)
	}
	e.Names = []engine.Name{{Value: name, Kind: engine.NamePrimary}}
	for _, a := range r.Aliases {
		q := strings.ToLower(strings.TrimSpace(a.Quality))
		if q != "" && q != engine.QualityGood && q != engine.QualityLow {
			return nil, ferr("aliases", "alias %q: quality %q: want good, low or none", a.Value, a.Quality)
		}
		e.Names = addName(e.Names, engine.Name{Value: spaces(a.Value), Kind: engine.NameAlias, Quality: q})
	}
	for _, s := range r.BirthDates {
		if strings.TrimSpace(s) == "" {
			continue
		}
		d, err := engine.ParseBirthDate(s)
		if err != nil {
			return nil, &fieldError{field: "birth_dates", err: err}
		}
		e.BirthDates = addDate(e.BirthDates, d)
	}
	for _, s := range r.Nationalities {
		if strings.TrimSpace(s) == "" {
			continue
		}
		a3, ok := country.Alpha3(s)
		if !ok {
			return nil, ferr("nationalities", "unknown country %q", s)
		}
		e.Nationalities = addUnique(e.Nationalities, a3)
	}
	switch s := strings.ToUpper(strings.TrimSpace(r.Sex)); s {
	case "", "M", "F":
		e.Sex = s
	default:
		return nil, ferr("sex", "sex %q: want M, F or empty", r.Sex)
	}
	for _, d := range r.Documents {
		doc := engine.Document{Type: strings.TrimSpace(d.Type), Number: strings.TrimSpace(d.Number), Note: strings.TrimSpace(d.Note)}
		if doc.Number == "" {
			return nil, ferr("documents", "document has no number")
		}
		if c := strings.TrimSpace(d.Country); c != "" {
			a3, ok := country.Alpha3(c)
			if !ok {
				return nil, ferr("documents", "document %q: unknown country %q", doc.Number, c)
			}
			doc.Country = a3
		}
		e.Documents = append(e.Documents, doc)
	}
	for _, p := range r.Programs {
		e.Programs = addUnique(e.Programs, strings.TrimSpace(p))
	}
	e.Remarks = truncateRemarks(r.Remarks)
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

// skipBOM returns a reader past a leading UTF-8 byte order mark.
func skipBOM(r io.Reader) *bufio.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		br.Discard(3)
	}
	return br
}

// readHeader reads and checks a CSV header against the allowed columns,
// returning each column's index (-1 when absent).
func readHeader(cr *csv.Reader, file string, allowed []string, required ...string) (map[string]int, error) {
	rec, err := cr.Read()
	if err == io.EOF {
		return nil, errAt(file, 1, "empty file: want a header row (%s)", strings.Join(allowed, ","))
	}
	if err != nil {
		return nil, csvError(file, err)
	}
	cols := make(map[string]int, len(allowed))
	for _, c := range allowed {
		cols[c] = -1
	}
	var unknown []string
	for i, h := range rec {
		h = strings.ToLower(strings.TrimSpace(h))
		idx, ok := cols[h]
		switch {
		case !ok:
			unknown = append(unknown, fmt.Sprintf("%q", h))
		case idx >= 0:
			return nil, errAt(file, 1, "header: column %q given twice", h)
		default:
			cols[h] = i
		}
	}
	if len(unknown) > 0 {
		return nil, errAt(file, 1, "header: unknown columns %s (known: %s)", strings.Join(unknown, ", "), strings.Join(allowed, ","))
	}
	for _, c := range required {
		if cols[c] < 0 {
			return nil, errAt(file, 1, "header: required column %q missing", c)
		}
	}
	return cols, nil
}

// csvError locates an encoding/csv error.
func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &Error{File: file, Line: pe.Line, Err: pe.Err}
	}
	return &Error{File: file, Err: err}
}

// splitList splits a ";"-separated cell, dropping empty items.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	parts := strings.Split(s, ";")
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ReadCSV reads Watchpost's native list CSV (see FORMATS.md): a header row
// naming some of the columns id, kind, name, aliases, birth_dates,
// nationalities, sex, documents, programs, remarks (id and name required),
// then one entry per row. ";" separates list items; documents are
// TYPE:NUMBER:COUNTRY. Any invalid row, invalid UTF-8 or duplicate id is
// an error naming its line.
func ReadCSV(r io.Reader, file string, emit func(*engine.Entry) error) error {
	return readCSV(r, file, DefaultLimits, emit)
}

func readCSV(r io.Reader, file string, lim Limits, emit func(*engine.Entry) error) error {
	rows := newCSVRows(r, file, FormatCSV, lim, nil)
	cr := rows.cr
	cols, err := readHeader(cr, file, nativeColumns, "id", "name")
	if err != nil {
		return err
	}
	cell := func(rec []string, c string) string {
		if i := cols[c]; i >= 0 {
			return rec[i]
		}
		return ""
	}
	seen := make(map[string]int)
	return rows.each(func(line int, rec []string) error {
		for i, f := range rec {
			if !utf8.ValidString(f) {
				col, _ := columnName(cols, i)
				return &Error{File: file, Line: line, Element: col, Err: errors.New("invalid UTF-8")}
			}
		}
		nr := nativeRecord{
			ID: cell(rec, "id"), Kind: cell(rec, "kind"), Name: cell(rec, "name"),
			BirthDates: splitList(cell(rec, "birth_dates")), Nationalities: splitList(cell(rec, "nationalities")),
			Sex: cell(rec, "sex"), Programs: splitList(cell(rec, "programs")), Remarks: cell(rec, "remarks"),
		}
		for _, a := range splitList(cell(rec, "aliases")) {
			nr.Aliases = append(nr.Aliases, nativeAlias{Value: a})
		}
		for _, d := range splitList(cell(rec, "documents")) {
			parts := strings.Split(d, ":")
			if len(parts) < 2 || len(parts) > 3 {
				return &Error{File: file, Line: line, Element: "documents", Err: fmt.Errorf("document %q: want TYPE:NUMBER:COUNTRY", d)}
			}
			doc := nativeDocument{Type: parts[0], Number: parts[1]}
			if len(parts) == 3 {
				doc.Country = parts[2]
			}
			nr.Documents = append(nr.Documents, doc)
		}
		return emitNative(file, line, &nr, seen, emit)
	})
}

func columnName(cols map[string]int, i int) (string, bool) {
	for c, j := range cols {
		if j == i {
			return c, true
		}
	}
	return "", false
}

// emitNative validates a record, checks its id is new and emits it.
func emitNative(file string, line int, nr *nativeRecord, seen map[string]int, emit func(*engine.Entry) error) error {
	e, err := nr.entry()
	if err != nil {
		var fe *fieldError
		if errors.As(err, &fe) {
			return &Error{File: file, Line: line, Element: fe.field, Err: fe.err}
		}
		return &Error{File: file, Line: line, Err: err}
	}
	if first, dup := seen[e.ID]; dup {
		return &Error{File: file, Line: line, Element: "id", Err: fmt.Errorf("duplicate id %q (first on line %d)", e.ID, first)}
	}
	seen[e.ID] = line
	if err := emit(e); err != nil {
		return &Error{File: file, Line: line, Err: err}
	}
	return nil
}

// ReadJSONL reads Watchpost's native JSON-lines list (see FORMATS.md): one
// JSON object per line with the CSV column names as fields, lists as
// arrays, aliases as strings or {"value","quality"} and documents as
// {"type","number","country","note"}. Blank lines are skipped; unknown
// fields, invalid UTF-8, invalid records and duplicate ids are errors
// naming the line.
func ReadJSONL(r io.Reader, file string, emit func(*engine.Entry) error) error {
	return readJSONL(r, file, DefaultLimits, emit)
}

// readJSONL is ReadJSONL within lim: lines of at most MaxRecord bytes.
func readJSONL(r io.Reader, file string, lim Limits, emit func(*engine.Entry) error) error {
	lim = lim.orDefault()
	br := newBoundedReader(r, FormatJSONL, lim)
	br.setWindow(0, lim.MaxFileSize, "file") // the scanner's buffer bounds a line
	sc := bufio.NewScanner(skipBOM(br))
	sc.Buffer(make([]byte, 0, 64<<10), int(lim.MaxRecord))
	seen := make(map[string]int)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if !utf8.Valid(b) {
			return errAt(file, line, "invalid UTF-8")
		}
		var nr nativeRecord
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&nr); err != nil {
			return errAt(file, line, "invalid JSON record: %w", err)
		}
		if _, err := dec.Token(); err != io.EOF {
			return errAt(file, line, "invalid JSON record: data after the object")
		}
		if b[0] != '{' {
			return errAt(file, line, "invalid JSON record: want an object")
		}
		if err := emitNative(file, line, &nr, seen, emit); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &Error{File: file, Line: line + 1, Err: &LimitError{Format: FormatJSONL, What: "line", Limit: lim.MaxRecord, Offset: br.n}}
		}
		if le := br.limitErr(err); le != nil {
			return &Error{File: file, Line: line + 1, Err: le}
		}
		return errAt(file, line+1, "read: %w", err)
	}
	return nil
}
