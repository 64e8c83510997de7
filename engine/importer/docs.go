package importer

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/country"
)

var docColumns = []string{"number", "country", "type", "note"}

// docSlab is how many documents ReadDocsCSV allocates at once.
const docSlab = 512

// ReadDocsCSV reads a document-only list (stolen and lost travel
// documents): a header naming number (required), country, type and note,
// then one document per row. Countries must resolve to ISO 3166 alpha-3;
// an empty number, an unknown country or invalid UTF-8 is an error naming
// the line. It streams without per-row allocations beyond the row's text
// and the Document, which are allocated in slabs.
func ReadDocsCSV(r io.Reader, file string, emit func(*engine.Document) error) error {
	return readDocsCSV(r, file, DefaultLimits, emit)
}

func readDocsCSV(r io.Reader, file string, lim Limits, emit func(*engine.Document) error) error {
	rows := newCSVRows(r, file, FormatDocsCSV, lim, nil)
	cr := rows.cr
	cr.ReuseRecord = true
	cols, err := readHeader(cr, file, docColumns, "number")
	if err != nil {
		return err
	}
	iNum, iCountry, iType, iNote := cols["number"], cols["country"], cols["type"], cols["note"]
	var slab []engine.Document
	return rows.each(func(line int, rec []string) error {
		if len(slab) == 0 {
			slab = make([]engine.Document, docSlab)
		}
		d := &slab[0]
		slab = slab[1:]
		d.Number = strings.TrimSpace(rec[iNum])
		if d.Number == "" || !utf8.ValidString(d.Number) {
			return docError(cr, file, "number", d.Number)
		}
		if iCountry >= 0 {
			if c := strings.TrimSpace(rec[iCountry]); c != "" {
				a3, ok := country.Alpha3(c)
				if !ok {
					line, _ := cr.FieldPos(iCountry)
					return &Error{File: file, Line: line, Element: "country", Err: errors.New("unknown country " + quote(c))}
				}
				d.Country = a3
			}
		}
		if iType >= 0 {
			d.Type = strings.TrimSpace(rec[iType])
			if !utf8.ValidString(d.Type) {
				return docError(cr, file, "type", d.Type)
			}
		}
		if iNote >= 0 {
			d.Note = strings.TrimSpace(rec[iNote])
			if !utf8.ValidString(d.Note) {
				return docError(cr, file, "note", d.Note)
			}
		}
		if err := emit(d); err != nil {
			return &Error{File: file, Line: line, Err: err}
		}
		return nil
	})
}

func docError(cr *csv.Reader, file, col, v string) error {
	line, _ := cr.FieldPos(0)
	if v == "" {
		return &Error{File: file, Line: line, Element: col, Err: errors.New("document has no number")}
	}
	return &Error{File: file, Line: line, Element: col, Err: errors.New("invalid UTF-8")}
}

func quote(s string) string { return `"` + s + `"` }
