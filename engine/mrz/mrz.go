// Package mrz parses the machine-readable zone (MRZ) of ICAO Doc 9303 travel
// documents (TD1, TD2, TD3, MRV-A and MRV-B) into a Record and a screening
// engine.Query. It is pure: it reads nothing but its argument and the clock
// it is given.
//
// Layout is strict, content is forgiving. A record whose lines have the wrong
// count or length, or hold a character outside A–Z 0–9 <, is a Go error (a
// *FormatError naming the line and column): the parser never guesses where a
// line was cut. Lower-case letters are such bad characters too; an MRZ is
// printed in upper case, and upper-casing OCR output is the caller's call.
// Everything else – wrong check digits, impossible dates, OCR confusions,
// national deviations from Doc 9303 – is reported inside the Record
// (Valid, Checks, Errors, Repairs, Quirks), never as a Go error.
//
// Check digits use weights 7, 3, 1; digits count their value, A–Z 10–35 and
// the filler < counts 0; the sum is taken modulo 10. Valid is true when every
// check digit is right (after repairs) and no field is in error.
//
// # OCR repair
//
// Where a field is of the wrong kind for its content the parser swaps
// commonly confused characters and reports each swap in Repairs:
//
//   - numeric fields (dates and every check digit): O, Q, D→0, I, L→1, Z→2,
//     S→5, G→6, B→8. The repair is kept only if the field's check digit then
//     passes.
//   - alphabetic fields (document code, issuing state, nationality, names):
//     0→O, 1→I, 2→Z, 5→S, 8→B. No check digit covers them, so the swap is
//     unconditional; any other digit is an error (except in the Latin code
//     of a Russian internal passport, where digits are letters).
//   - alphanumeric fields with a check digit (document number, TD3 personal
//     number): each single swap 0↔O, 1↔I, 2↔Z, 5↔S, 8↔B is tried; the repair
//     is kept only if exactly one candidate makes the field's check digit and
//     the composite check digit (when the format has one) pass. Ambiguous
//     candidates are reported as an error, never guessed.
//
// # Dates
//
// YYMMDD becomes YYYY-MM-DD relative to the parser's clock ("now"):
//
//   - birth date: the latest year with those two digits that is not after
//     today (a birth is in the past). Unknown day or month (<<) gives
//     YYYY-MM or YYYY, as ICAO allows.
//   - expiry date: the year with those two digits in the window
//     [now.Year-50, now.Year+50); if that is before the birth date, 100 years
//     later. In 2026 that reads 70→2070, 67→2067, 94→1994 and 81→1981 (the
//     Romanian 1946 card in the shared cases: an expired document), and it
//     keeps reading the shared cases so until 2031.
//
// An impossible date (month 13, 30 February) is an error naming the field;
// the field is then "".
//
// # National quirks
//
// Accepted, and named in Quirks:
//
//   - Belgian and Portuguese TD1 cards whose document-number check digit at
//     position 19 covers positions 6–18 as printed, including the < at
//     position 15 (or 16 on some PRT cards); the number is those positions
//     without fillers. Tried only after the ICAO rules fail, only for BEL
//     and PRT.
//   - Germany's one-letter code D (printed D<<): IssuingState and Nationality
//     stay "D" as printed; Query maps it to DEU.
//   - An expiry date of fillers: with check digit 0 (TD1 without expiry,
//     Moldovan cards) for any state, with check digit < only for RUS.
//     ExpiryDate is then "".
//   - Russian internal passports (PN, RUS): names in the Latin code for
//     Cyrillic are decoded into NamesCyrillic (Surname and GivenNames stay as
//     printed) and the series digit kept in the optional data is put back into
//     DocumentNumberFull.
//
// Standard Doc 9303 behaviour is accepted without a quirk: extended document
// numbers continuing in the optional data (TD1, TD2), a filler check digit for
// an empty TD3 personal number (a filler check digit for a non-empty one is an
// error), and sex < (unspecified, German ID cards), which becomes X.
package mrz

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock"
)

// Format is an MRZ layout.
type Format string

// Formats.
const (
	TD1  Format = "TD1"  // 3 lines of 30: ID cards
	TD2  Format = "TD2"  // 2 lines of 36
	TD3  Format = "TD3"  // 2 lines of 44: passports
	MRVA Format = "MRVA" // 2 lines of 44, document code V…: visas
	MRVB Format = "MRVB" // 2 lines of 36, document code V…: visas
)

// Size limits. Parse rejects larger text before looking at it, so the work
// per call is bounded.
const (
	MaxText      = 4 << 10 // bytes given to Parse
	MaxBatchText = 1 << 20 // bytes given to ParseAll
)

// Record is one parsed MRZ. Dates are YYYY-MM-DD ("" when absent or
// invalid); fields are trimmed of fillers.
type Record struct {
	Format         Format `json:"format"`
	DocumentCode   string `json:"document_code"`
	IssuingState   string `json:"issuing_state"`
	Surname        string `json:"surname"`
	GivenNames     string `json:"given_names"`
	DocumentNumber string `json:"document_number"`
	// DocumentNumberFull is the number as the issuer knows it when it is not
	// the printed field: a Russian internal passport's series and number.
	DocumentNumberFull string `json:"document_number_full,omitempty"`
	Nationality        string `json:"nationality"`
	BirthDate          string `json:"birth_date"` // YYYY-MM-DD, YYYY-MM or YYYY
	Sex                string `json:"sex"`        // M, F or X
	ExpiryDate         string `json:"expiry_date"`
	OptionalData       string `json:"optional_data"`
	OptionalData2      string `json:"optional_data_2"` // TD1 line 2 only
	// Valid is true when every check digit is right after repairs and no
	// field is in error.
	Valid   bool     `json:"valid"`
	Checks  []Check  `json:"checks"`
	Errors  []string `json:"errors"` // each starts with the failing field
	Repairs []Repair `json:"repairs"`
	Quirks  []string `json:"quirks"`
	// NameTruncated is true when the name filled its field: the last word
	// may be cut short.
	NameTruncated bool           `json:"name_truncated"`
	NamesCyrillic *CyrillicNames `json:"names_cyrillic,omitempty"`
}

// Check is one check digit and what it covers.
type Check struct {
	Field      string `json:"field"`       // document_number, birth_date, expiry_date, personal_number, composite
	Value      string `json:"value"`       // the characters covered, as read (composite: all of them)
	CheckDigit string `json:"check_digit"` // as printed (after repair)
	Computed   string `json:"computed"`    // the digit the value gives
	OK         bool   `json:"ok"`
	Rule       string `json:"rule,omitempty"` // how it was accepted when not the plain rule
}

// Repair is one character changed by OCR repair.
type Repair struct {
	Field    string `json:"field"`
	From     string `json:"from"`
	To       string `json:"to"`
	Line     int    `json:"line"`     // 1-based line of the record
	Position int    `json:"position"` // 1-based column in that line
}

// CyrillicNames are the names of a Russian internal passport decoded from
// the Latin code its MRZ uses.
type CyrillicNames struct {
	Surname    string `json:"surname"`
	GivenNames string `json:"given_names"`
}

// FormatError says why text is not an MRZ at all. Line and Column are 1-based
// within the record; 0 when they do not apply.
type FormatError struct {
	Line   int
	Column int
	Msg    string
}

func (e *FormatError) Error() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("mrz: line %d, column %d: %s", e.Line, e.Column, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("mrz: line %d: %s", e.Line, e.Msg)
	}
	return "mrz: " + e.Msg
}

// Parser parses MRZs against a clock, which decides the century of two-digit
// years. The zero Parser uses the system clock.
type Parser struct {
	// Clock gives the current time; nil means clock.System.
	Clock clock.Clock
}

var defaultParser Parser

// Parse parses one MRZ with the default parser (see Parser.Parse).
func Parse(text string) (*Record, error) { return defaultParser.Parse(text) }

// ParseAll parses several MRZs with the default parser (see
// Parser.ParseAll).
func ParseAll(text string) ([]Result, error) { return defaultParser.ParseAll(text) }

// Parse parses one MRZ: two or three lines, with any surrounding whitespace,
// CRLF line ends and blank lines before or after. It returns an error only
// when the layout is unusable (size, line count, line length, characters);
// check-digit failures are reported in the Record.
func (p *Parser) Parse(text string) (*Record, error) {
	if len(text) > MaxText {
		return nil, &FormatError{Msg: fmt.Sprintf("input is %d bytes, more than %d", len(text), MaxText)}
	}
	var lines [3]string
	n, blocks := 0, 0
	inBlock := false
	for rest := text; len(rest) > 0; {
		var line string
		line, rest = nextLine(rest)
		line = strings.TrimSpace(line)
		if line == "" {
			inBlock = false
			continue
		}
		if !inBlock {
			inBlock = true
			blocks++
			if blocks > 1 {
				return nil, &FormatError{Msg: "more than one record (blank line inside); use ParseAll"}
			}
		}
		if n == len(lines) {
			return nil, &FormatError{Msg: "more than 3 lines; an MRZ has 2 or 3"}
		}
		lines[n] = line
		n++
	}
	return p.parseLines(lines[:n])
}

// Result is one record of ParseAll: the record or the error that stopped it.
type Result struct {
	Line   int     // 1-based line of the input where the record starts
	Record *Record // nil when Err is set
	Err    error
}

// MarshalJSON writes {"line", "record"} or {"line", "error"}.
func (r Result) MarshalJSON() ([]byte, error) {
	v := struct {
		Line   int     `json:"line"`
		Record *Record `json:"record,omitempty"`
		Error  string  `json:"error,omitempty"`
	}{Line: r.Line, Record: r.Record}
	if r.Err != nil {
		v.Error = r.Err.Error()
	}
	return json.Marshal(v)
}

// ParseAll parses several MRZs separated by one or more blank lines, each
// with its own result. It returns an error only when the text is larger than
// MaxBatchText.
func (p *Parser) ParseAll(text string) ([]Result, error) {
	if len(text) > MaxBatchText {
		return nil, &FormatError{Msg: fmt.Sprintf("input is %d bytes, more than %d", len(text), MaxBatchText)}
	}
	var out []Result
	var lines [3]string
	n, start, lineNo, over := 0, 0, 0, false
	flush := func() {
		if start == 0 {
			return
		}
		res := Result{Line: start}
		if over {
			res.Err = &FormatError{Msg: "more than 3 lines; an MRZ has 2 or 3"}
		} else {
			res.Record, res.Err = p.parseLines(lines[:n])
		}
		out = append(out, res)
		n, start, over = 0, 0, false
	}
	for rest := text; len(rest) > 0; {
		var line string
		line, rest = nextLine(rest)
		lineNo++
		line = strings.TrimSpace(line)
		if line == "" {
			flush()
			continue
		}
		if start == 0 {
			start = lineNo
		}
		if n == len(lines) {
			over = true
			continue
		}
		lines[n] = line
		n++
	}
	flush()
	return out, nil
}

// nextLine splits off the first line; "\n", "\r\n" and a lone "\r" end a
// line.
func nextLine(s string) (line, rest string) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			return s[:i], s[i+1:]
		case '\r':
			if i+1 < len(s) && s[i+1] == '\n' {
				return s[:i], s[i+2:]
			}
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// Query returns the traveller to screen. Germany's D becomes DEU; a Russian
// internal passport gives its full series and number.
func (r *Record) Query() engine.Query {
	q := engine.Query{
		Surname:         r.Surname,
		GivenNames:      r.GivenNames,
		BirthDate:       r.BirthDate,
		Nationality:     alpha3(r.Nationality),
		Sex:             r.Sex,
		DocumentNumber:  r.DocumentNumber,
		DocumentCountry: alpha3(r.IssuingState),
		NameTruncated:   r.NameTruncated,
	}
	if r.DocumentNumberFull != "" {
		q.DocumentNumber = r.DocumentNumberFull
	}
	return q
}

// alpha3 maps Doc 9303 codes that are not ISO 3166 alpha-3 to the ISO code.
func alpha3(code string) string {
	if code == "D" {
		return "DEU"
	}
	return code
}
