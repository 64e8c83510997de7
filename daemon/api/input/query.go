package input

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/country"
)

// MaxFieldChars bounds, in characters, every traveller field that is not
// a name (id, document number, dates, codes): longer is an error. Names
// are capped instead (engine.CapName), with a warning.
const MaxFieldChars = 256

// CheckQuery checks one traveller as a person or system typed it (a JSON
// traveller at the API, in an intake folder, on `watchpost screen`) and
// normalises it in place, so that every door refuses the same things with
// the same words:
//
//   - no field holds a control character (an escaped \u0000 included);
//   - a field other than a name is at most MaxFieldChars characters;
//   - there is a name or a document number;
//   - birth_date is YYYY-MM-DD, YYYY-MM or YYYY; sex is M, F or X;
//   - nationality and document_country are an ISO 3166 alpha-3 or alpha-2
//     code or an English country name, and become the alpha-3 code.
//
// A name longer than the caps is cut to them; each cut is a warning to
// show with the result. A refusal is a *JSONError naming the field.
func CheckQuery(q *engine.Query) ([]string, error) {
	for _, f := range [...]struct {
		name   string
		v      string
		isName bool
	}{
		{"id", q.ID, false}, {"name", q.Name, true}, {"surname", q.Surname, true}, {"given_names", q.GivenNames, true},
		{"birth_date", q.BirthDate, false}, {"nationality", q.Nationality, false}, {"sex", q.Sex, false},
		{"document_number", q.DocumentNumber, false}, {"document_country", q.DocumentCountry, false},
	} {
		if e := checkText(f.name, f.v); e != nil {
			return nil, e
		}
		if !f.isName && (len(f.v) > MaxFieldChars*utf8.UTFMax || utf8.RuneCountInString(f.v) > MaxFieldChars) {
			return nil, fieldError(f.name, "%s is longer than %d characters", f.name, MaxFieldChars)
		}
	}
	warnings := CapQuery(q)
	if strings.TrimSpace(q.FullName()) == "" && engine.DocumentKey(q.DocumentNumber) == "" {
		return nil, fieldError("name", "a traveller needs a name (name, or surname and given_names) or a document_number")
	}
	if q.BirthDate != "" {
		d, err := engine.ParseBirthDate(q.BirthDate)
		switch {
		case err != nil:
			return nil, fieldError("birth_date", "birth_date: %v (use YYYY-MM-DD, YYYY-MM or YYYY)", err)
		case d.Approx || d.Precision() == engine.PrecisionRange:
			return nil, fieldError("birth_date", "birth_date %q is not a date: use YYYY-MM-DD, YYYY-MM or YYYY", q.BirthDate)
		}
	}
	switch strings.ToUpper(q.Sex) {
	case "", "M", "F", "X":
	default:
		return nil, fieldError("sex", "sex must be M, F or X, not %q", q.Sex)
	}
	if bad := NormaliseCountries(q); len(bad) > 0 {
		v := q.Nationality
		if bad[0] == "document_country" {
			v = q.DocumentCountry
		}
		return nil, fieldError(bad[0], "%s %q is not a country: give an ISO 3166 alpha-3 or alpha-2 code or the English name (GBR, GB or United Kingdom)", bad[0], v)
	}
	return warnings, nil
}

// NormaliseCountries turns q's nationality and document country, each an
// ISO 3166 alpha-3 or alpha-2 code or an English country name, into the
// alpha-3 code, and returns the JSON names of those that are no country
// (left as they were). An empty one stays empty.
func NormaliseCountries(q *engine.Query) []string {
	var bad []string
	for _, f := range [...]struct {
		name string
		v    *string
	}{{"nationality", &q.Nationality}, {"document_country", &q.DocumentCountry}} {
		if *f.v == "" {
			continue
		}
		if a3, ok := country.Alpha3(*f.v); ok {
			*f.v = a3
		} else {
			bad = append(bad, f.name)
		}
	}
	return bad
}

// CapQuery cuts the traveller's names to engine.CapName's caps, whatever
// door it came through (a PAXLST name can be a megabyte), and returns a
// warning for each cut: the traveller is screened on the beginning of the
// name.
func CapQuery(q *engine.Query) []string {
	var out []string
	for _, f := range [...]struct {
		name string
		v    *string
	}{{"name", &q.Name}, {"surname", &q.Surname}, {"given_names", &q.GivenNames}} {
		if c, cut := engine.CapName(*f.v); cut {
			*f.v = c
			out = append(out, capWarning(f.name))
		}
	}
	if q.Name == "" && out == nil {
		// Given names and surname are screened together.
		if _, cut := engine.CapName(q.FullName()); cut {
			out = append(out, fmt.Sprintf("given_names and surname are longer than %d characters or %d words together: screened on their beginning only", engine.MaxNameChars, engine.MaxNameTokens))
		}
	}
	return out
}

func capWarning(field string) string {
	return fmt.Sprintf("%s is longer than %d characters or %d words: screened on its beginning only", field, engine.MaxNameChars, engine.MaxNameTokens)
}

// checkText refuses a control character in a field: no name, date or
// code holds one, and one (an escaped \u0000 above all) would pass as a
// word separator in screening and reach HQ as stored.
func checkText(field, v string) *JSONError {
	if !utf8.ValidString(v) {
		return fieldError(field, "%s is not valid UTF-8", field)
	}
	i := strings.IndexFunc(v, unicode.IsControl)
	if i < 0 {
		return nil
	}
	r, _ := utf8.DecodeRuneInString(v[i:])
	return fieldError(field, "%s holds a control character (U+%04X) at character %d", field, r, utf8.RuneCountInString(v[:i])+1)
}

func fieldError(field, format string, args ...any) *JSONError {
	return &JSONError{Field: field, Msg: fmt.Sprintf(format, args...)}
}
