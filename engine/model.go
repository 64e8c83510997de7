// Package engine is Watchpost's pure screening core: the watchlist model
// (lists, entries, documents), the traveller query, and the hit with its
// explanation. It performs no storage, network or signal handling; adapters
// such as engine/badgerstore feed it values and take its decisions.
package engine

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// EntryKind says what a watchlist entry describes.
type EntryKind string

// Entry kinds.
const (
	KindPerson EntryKind = "person"
	KindEntity EntryKind = "entity"
)

// NameKind says where a name of an entry comes from.
type NameKind string

// Name kinds.
const (
	NamePrimary  NameKind = "primary"  // the list's main name for the entry
	NameAlias    NameKind = "alias"    // a.k.a., f.k.a., n.k.a.
	NameOriginal NameKind = "original" // the name in its original script
)

// Alias qualities as lists publish them. An empty quality means the list gave none.
const (
	QualityGood = "good"
	QualityLow  = "low"
)

// Name is one name of an entry, as the list prints it.
type Name struct {
	Value   string   `json:"value"`
	Kind    NameKind `json:"kind"`
	Quality string   `json:"quality,omitempty"` // QualityGood, QualityLow or ""
}

// Document is an identity or travel document: on a person entry, or a row
// of a document-only list (stolen and lost travel documents).
type Document struct {
	Type    string `json:"type,omitempty"`    // ICAO-like code: P passport, I identity card, V visa, or free text
	Number  string `json:"number"`            // as printed; see DocumentKey for the comparable form
	Country string `json:"country,omitempty"` // issuing state, ISO 3166 alpha-3 where known
	Note    string `json:"note,omitempty"`
}

// Entry is one listed person or entity.
type Entry struct {
	ID            string      `json:"id"` // the list's own reference (UN REFERENCE_NUMBER, OFAC ent_num)
	Kind          EntryKind   `json:"kind"`
	Names         []Name      `json:"names"` // Names[0] is the primary name
	BirthDates    []BirthDate `json:"birth_dates,omitempty"`
	Nationalities []string    `json:"nationalities,omitempty"` // ISO 3166 alpha-3 where known
	Sex           string      `json:"sex,omitempty"`           // "M", "F" or ""
	Documents     []Document  `json:"documents,omitempty"`
	Programs      []string    `json:"programs,omitempty"` // sanction programmes or list types
	Remarks       string      `json:"remarks,omitempty"`
}

// Clone returns a copy of the entry that shares no slices with it.
func (e *Entry) Clone() Entry {
	c := *e
	c.Names = slices.Clone(e.Names)
	c.BirthDates = slices.Clone(e.BirthDates)
	c.Nationalities = slices.Clone(e.Nationalities)
	c.Documents = slices.Clone(e.Documents)
	c.Programs = slices.Clone(e.Programs)
	return c
}

// PrimaryName returns the entry's main name, or "" when it has none.
func (e *Entry) PrimaryName() string {
	if len(e.Names) == 0 {
		return ""
	}
	return e.Names[0].Value
}

// Validate reports what makes an entry unusable: no id or no name.
func (e *Entry) Validate() error {
	if strings.TrimSpace(e.ID) == "" {
		return fmt.Errorf("entry has no id")
	}
	if len(e.Names) == 0 || strings.TrimSpace(e.Names[0].Value) == "" {
		return fmt.Errorf("entry %q has no name", e.ID)
	}
	switch e.Kind {
	case KindPerson, KindEntity:
	default:
		return fmt.Errorf("entry %q: unknown kind %q", e.ID, e.Kind)
	}
	return nil
}

// ListKind says whether a list holds named entries or only documents.
type ListKind string

// List kinds.
const (
	ListNames     ListKind = "names"     // persons and entities, screened by name
	ListDocuments ListKind = "documents" // document number + issuing state only (SLTD)
)

// ListInfo describes the current version of a named list.
type ListInfo struct {
	Name       string    `json:"name"`
	Kind       ListKind  `json:"kind"`
	Version    uint64    `json:"version"` // increases by one per accepted edition or delta
	Source     string    `json:"source,omitempty"`
	Format     string    `json:"format,omitempty"`
	Hash       string    `json:"hash"` // hex SetHash of the list's records at Version
	Entries    int       `json:"entries"`
	ImportedAt time.Time `json:"imported_at"`
	Action     string    `json:"action,omitempty"` // what an officer does on a hit, e.g. "refer to secondary"
	// Replica is the replication state that belongs to this version (the
	// sync layer's, opaque here), stored in the same transaction that makes
	// the version current, so the two can never disagree after a crash.
	Replica json.RawMessage `json:"replica,omitempty"`
}

// DatePrecision is how much of a birth date a list or traveller gives.
type DatePrecision uint8

// Date precisions, most precise first.
const (
	PrecisionDay DatePrecision = iota
	PrecisionMonth
	PrecisionYear
	PrecisionRange
	PrecisionNone
)

func (p DatePrecision) String() string {
	switch p {
	case PrecisionDay:
		return "day"
	case PrecisionMonth:
		return "month"
	case PrecisionYear:
		return "year"
	case PrecisionRange:
		return "range"
	}
	return "none"
}

// BirthDate is a birth date at the precision a source gives: a day, a
// month, a year, or a range of years; Approx marks "approximately".
// The zero value means no date.
type BirthDate struct {
	Year   int  `json:"year,omitempty"`
	Month  int  `json:"month,omitempty"`   // 0 when unknown
	Day    int  `json:"day,omitempty"`     // 0 when unknown
	ToYear int  `json:"to_year,omitempty"` // > Year for a range
	Approx bool `json:"approx,omitempty"`
}

// IsZero reports whether no date is given.
func (d BirthDate) IsZero() bool { return d.Year == 0 }

// Precision returns how precise the date is.
func (d BirthDate) Precision() DatePrecision {
	switch {
	case d.Year == 0:
		return PrecisionNone
	case d.ToYear > d.Year:
		return PrecisionRange
	case d.Day > 0 && d.Month > 0:
		return PrecisionDay
	case d.Month > 0:
		return PrecisionMonth
	}
	return PrecisionYear
}

// String formats the date as YYYY-MM-DD, YYYY-MM, YYYY or YYYY..YYYY, with
// a leading "~" when approximate.
func (d BirthDate) String() string {
	var s string
	switch d.Precision() {
	case PrecisionNone:
		return ""
	case PrecisionRange:
		s = fmt.Sprintf("%04d..%04d", d.Year, d.ToYear)
	case PrecisionDay:
		s = fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
	case PrecisionMonth:
		s = fmt.Sprintf("%04d-%02d", d.Year, d.Month)
	default:
		s = fmt.Sprintf("%04d", d.Year)
	}
	if d.Approx {
		s = "~" + s
	}
	return s
}

// Digits reports whether s is a non-empty run of ASCII digits: a part of
// a date, a count or a numeric id as lists and manifests write them.
func Digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ParseBirthDate reads the forms String writes: YYYY-MM-DD, YYYY-MM, YYYY,
// YYYY..YYYY, each optionally prefixed by "~". An empty string gives the
// zero date.
func ParseBirthDate(s string) (BirthDate, error) {
	var d BirthDate
	s = strings.TrimSpace(s)
	if s == "" {
		return d, nil
	}
	orig := s
	if strings.HasPrefix(s, "~") {
		d.Approx = true
		s = s[1:]
	}
	if from, to, ok := strings.Cut(s, ".."); ok {
		y1, err1 := parseYear(from)
		y2, err2 := parseYear(to)
		if err1 != nil || err2 != nil || y2 < y1 {
			return BirthDate{}, fmt.Errorf("birth date %q: want YYYY..YYYY with the first year not after the second", orig)
		}
		d.Year, d.ToYear = y1, y2
		if y1 == y2 {
			d.ToYear = 0
		}
		return d, nil
	}
	parts := strings.Split(s, "-")
	if len(parts) > 3 {
		return BirthDate{}, fmt.Errorf("birth date %q: want YYYY-MM-DD, YYYY-MM or YYYY", orig)
	}
	y, err := parseYear(parts[0])
	if err != nil {
		return BirthDate{}, fmt.Errorf("birth date %q: %w", orig, err)
	}
	d.Year = y
	if len(parts) > 1 {
		m, err := strconv.Atoi(parts[1])
		if err != nil || len(parts[1]) != 2 || m < 1 || m > 12 {
			return BirthDate{}, fmt.Errorf("birth date %q: month %q is not 01-12", orig, parts[1])
		}
		d.Month = m
	}
	if len(parts) > 2 {
		day, err := strconv.Atoi(parts[2])
		if err != nil || len(parts[2]) != 2 || day < 1 || day > DaysIn(d.Year, d.Month) {
			return BirthDate{}, fmt.Errorf("birth date %q: day %q is not valid for %04d-%02d", orig, parts[2], d.Year, d.Month)
		}
		d.Day = day
	}
	return d, nil
}

func parseYear(s string) (int, error) {
	y, err := strconv.Atoi(s)
	if err != nil || len(s) != 4 || y < 1800 || y > 2200 {
		return 0, fmt.Errorf("year %q is not a four-digit year", s)
	}
	return y, nil
}

// DaysIn returns the number of days in a month (1-12) of a year of the
// proleptic Gregorian calendar.
func DaysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// DocumentKey returns the comparable form of a document number: upper-case
// letters and digits only, so "AB 123-456" and "ab123456" are one key.
func DocumentKey(number string) string {
	b := make([]byte, 0, len(number))
	for i := 0; i < len(number); i++ {
		c := number[i]
		switch {
		case c >= '0' && c <= '9', c >= 'A' && c <= 'Z':
			b = append(b, c)
		case c >= 'a' && c <= 'z':
			b = append(b, c-'a'+'A')
		}
	}
	return string(b)
}
