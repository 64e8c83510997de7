package importer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/watchpost/watchpost/engine"
)

var months = map[string]int{
	"jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3,
	"apr": 4, "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7,
	"aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9, "oct": 10,
	"october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}

var approxPrefixes = []string{"circa ", "approximately ", "approx. ", "approx ", "about ", "ca. ", "c. ", "around "}

// parseLooseDate reads the free-text birth dates lists print: "01 Jan 1960",
// "Jan 1960", "August 1961", "1960", "1960-01-01", "circa 1960",
// "Approximately 1958", "1958 to 1960", "1960-1962" and
// "01 Jan 1960 to 31 Dec 1962". It reports false for anything else.
func parseLooseDate(s string) (engine.BirthDate, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.TrimRight(s, ". ")
	approx := false
	for _, p := range approxPrefixes {
		if strings.HasPrefix(s, p) {
			approx = true
			s = strings.TrimSpace(s[len(p):])
			break
		}
	}
	if s == "" {
		return engine.BirthDate{}, false
	}
	var d engine.BirthDate
	if from, to, ok := strings.Cut(s, " to "); ok {
		y1, m1, d1, ok1 := parseSingleDate(from)
		y2, m2, d2, ok2 := parseSingleDate(to)
		switch {
		case !ok1 || !ok2 || y2 < y1:
			return engine.BirthDate{}, false
		case y1 == y2 && m1 == m2 && d1 == d2:
			d = engine.BirthDate{Year: y1, Month: m1, Day: d1}
		case y1 == y2 && m1 == m2:
			d = engine.BirthDate{Year: y1, Month: m1}
		case y1 == y2:
			d = engine.BirthDate{Year: y1}
		default:
			d = engine.BirthDate{Year: y1, ToYear: y2}
		}
	} else if len(s) == 9 && s[4] == '-' && engine.Digits(s[:4]) && engine.Digits(s[5:]) {
		y1, _ := strconv.Atoi(s[:4])
		y2, _ := strconv.Atoi(s[5:])
		if y2 < y1 || !validYear(y1) || !validYear(y2) {
			return engine.BirthDate{}, false
		}
		d = engine.BirthDate{Year: y1, ToYear: y2}
		if y1 == y2 {
			d.ToYear = 0
		}
	} else {
		y, m, day, ok := parseSingleDate(s)
		if !ok {
			return engine.BirthDate{}, false
		}
		d = engine.BirthDate{Year: y, Month: m, Day: day}
	}
	d.Approx = approx
	return d, true
}

// parseSingleDate reads "01 Jan 1960", "Jan 1960", "1960", "1960-01-01" or
// "1960-01" (lower-cased), checking the date exists.
func parseSingleDate(s string) (year, month, day int, ok bool) {
	f := strings.Fields(s)
	for i := range f {
		f[i] = strings.TrimRight(f[i], ".,")
	}
	switch len(f) {
	case 1:
		if !engine.Digits(f[0]) || len(f[0]) != 4 {
			d, err := engine.ParseBirthDate(f[0])
			if err != nil || d.Approx || d.ToYear != 0 || d.IsZero() {
				return 0, 0, 0, false
			}
			return d.Year, d.Month, d.Day, true
		}
		y, _ := strconv.Atoi(f[0])
		return y, 0, 0, validYear(y)
	case 2:
		m, okm := months[f[0]]
		if !okm || !engine.Digits(f[1]) || len(f[1]) != 4 {
			return 0, 0, 0, false
		}
		y, _ := strconv.Atoi(f[1])
		return y, m, 0, validYear(y)
	case 3:
		m, okm := months[f[1]]
		if !okm || !engine.Digits(f[0]) || len(f[0]) > 2 || !engine.Digits(f[2]) || len(f[2]) != 4 {
			return 0, 0, 0, false
		}
		dd, _ := strconv.Atoi(f[0])
		y, _ := strconv.Atoi(f[2])
		if _, err := engine.ParseBirthDate(fmt.Sprintf("%04d-%02d-%02d", y, m, dd)); err != nil {
			return 0, 0, 0, false
		}
		return y, m, dd, true
	}
	return 0, 0, 0, false
}

func validYear(y int) bool { return y >= 1800 && y <= 2200 }
