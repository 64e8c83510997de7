// Package importer reads watchlist files (the UN Security Council
// Consolidated List XML, the OFAC SDN legacy CSV set, and Watchpost's own
// CSV, JSON-lines and document-only CSV formats) into engine values.
//
// Every reader streams: it calls emit once per record, in file order, and
// stops at the first error, returned as an *Error naming the file and the
// line (or XML element). Unusual but readable data (no birth date, "circa
// 1965", an unknown country) is imported; what cannot be parsed is kept in
// the entry's Remarks. The package performs no network or storage access.
package importer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/country"
)

// MaxRemarks is the most bytes of remarks an imported entry keeps; longer
// remarks are cut at a character boundary and end in "…".
const MaxRemarks = 2000

// Error is an import failure located in its source file.
type Error struct {
	File    string // file name as given to the reader (e.g. "sdn.csv")
	Line    int    // 1-based line, 0 when unknown
	Element string // XML element (with its reference) or CSV column, when known
	Err     error
}

// Error formats the failure as "file:line: element: what is wrong".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Element != "" {
		b.WriteString(": ")
		b.WriteString(e.Element)
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	} else {
		b.WriteString("invalid")
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

func errAt(file string, line int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Err: fmt.Errorf(format, args...)}
}

// truncateRemarks trims s and cuts it to MaxRemarks bytes.
func truncateRemarks(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= MaxRemarks {
		return s
	}
	const ell = "…"
	cut := MaxRemarks - len(ell)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ell
}

// resolveCountry returns the alpha-3 code for a list's country value, or
// the value upper-cased when it names no known country.
func resolveCountry(s string) string {
	s = strings.TrimSpace(s)
	if a3, ok := country.Alpha3(s); ok {
		return a3
	}
	return strings.ToUpper(s)
}

// addUnique appends s to list unless it is empty or already there.
func addUnique(list []string, s string) []string { return addNew(list, s, s == "") }

// addDate appends d unless it is zero or already there.
func addDate(list []engine.BirthDate, d engine.BirthDate) []engine.BirthDate {
	return addNew(list, d, d.IsZero())
}

// addNew appends v to list unless skip is set or v is already there.
func addNew[T comparable](list []T, v T, skip bool) []T {
	if skip || slices.Contains(list, v) {
		return list
	}
	return append(list, v)
}

// addName appends a name unless its value is empty or the entry already
// has the same value with the same kind.
func addName(list []engine.Name, n engine.Name) []engine.Name {
	n.Value = strings.TrimSpace(n.Value)
	if n.Value == "" {
		return list
	}
	for _, x := range list {
		if x.Value == n.Value && (x.Kind == n.Kind || n.Kind == engine.NameAlias && x.Kind == engine.NamePrimary) {
			return list
		}
	}
	return append(list, n)
}

// spaces collapses runs of white space to one space and trims.
func spaces(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
