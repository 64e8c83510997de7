package paxlst

import (
	"time"

	"github.com/watchpost/watchpost/engine"
)

// Dates in PAXLST come as YYMMDD (birth, expiry), YYMMDDHHMM (format 201),
// CCYYMMDDHHMM (203) or CCYYMMDD (102). Two-digit years are placed in a
// century relative to "now": a birth date is the latest such date not in
// the future; any other date is the one within 50 years of now.

func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// civil is a calendar date and time of day.
type civil struct{ y, m, d, hh, mm int }

func (c civil) valid() bool {
	if c.m < 1 || c.m > 12 || c.d < 1 || c.hh > 23 || c.mm > 59 || c.y < 1 || c.y > 9999 {
		return false
	}
	return c.d <= engine.DaysIn(c.y, c.m)
}

func (c civil) before(t time.Time) bool {
	ty, tm, td := t.Date()
	if c.y != ty {
		return c.y < ty
	}
	if c.m != int(tm) {
		return c.m < int(tm)
	}
	return c.d <= td
}

// century places a two-digit year.
func century(c civil, now time.Time, birth bool) civil {
	ny := now.Year()
	c.y += ny / 100 * 100
	if birth {
		if !c.before(now) {
			c.y -= 100
		}
		return c
	}
	if c.y > ny+50 {
		c.y -= 100
	} else if c.y <= ny-50 {
		c.y += 100
	}
	return c
}

// parseDate reads a date or date-time value. format is the DTM format
// qualifier when given ("101", "102", "201", "203"); without one the
// length decides. withTime reports whether the value carried a time.
func parseDate(v, format string, now time.Time, birth bool) (c civil, withTime, ok bool) {
	if !engine.Digits(v) {
		return c, false, false
	}
	switch {
	case len(v) == 6 && (format == "" || format == "101"):
		c = civil{atoi(v[0:2]), atoi(v[2:4]), atoi(v[4:6]), 0, 0}
		c = century(c, now, birth)
	case len(v) == 8 && (format == "" || format == "102"):
		c = civil{atoi(v[0:4]), atoi(v[4:6]), atoi(v[6:8]), 0, 0}
	case len(v) == 10 && (format == "" || format == "201"):
		c = civil{atoi(v[0:2]), atoi(v[2:4]), atoi(v[4:6]), atoi(v[6:8]), atoi(v[8:10])}
		c = century(c, now, birth)
		withTime = true
	case len(v) == 12 && (format == "" || format == "203"):
		c = civil{atoi(v[0:4]), atoi(v[4:6]), atoi(v[6:8]), atoi(v[8:10]), atoi(v[10:12])}
		withTime = true
	default:
		return c, false, false
	}
	return c, withTime, c.valid()
}

// appendISO appends YYYY-MM-DD, and THH:MM if withTime.
func (c civil) appendISO(b []byte, withTime bool) []byte {
	b = pad(b, c.y, 4)
	b = append(b, '-')
	b = pad(b, c.m, 2)
	b = append(b, '-')
	b = pad(b, c.d, 2)
	if withTime {
		b = append(b, 'T')
		b = pad(b, c.hh, 2)
		b = append(b, ':')
		b = pad(b, c.mm, 2)
	}
	return b
}

// isoDate formats YYYY-MM-DD.
func (c civil) isoDate() string { return string(c.appendISO(nil, false)) }

// isoDateTime formats YYYY-MM-DDTHH:MM.
func (c civil) isoDateTime() string { return string(c.appendISO(nil, true)) }

func pad(b []byte, n, width int) []byte {
	var tmp [8]byte
	i := len(tmp)
	for n > 0 || i == len(tmp) {
		i--
		tmp[i] = byte('0' + n%10)
		n /= 10
	}
	for w := len(tmp) - i; w < width; w++ {
		b = append(b, '0')
	}
	return append(b, tmp[i:]...)
}

// parseISO reads "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" (the forms Parse
// produces), for the writer.
func parseISO(s string) (c civil, withTime, ok bool) {
	if len(s) != 10 && len(s) != 16 {
		return c, false, false
	}
	if s[4] != '-' || s[7] != '-' || !engine.Digits(s[0:4]) || !engine.Digits(s[5:7]) || !engine.Digits(s[8:10]) {
		return c, false, false
	}
	c = civil{atoi(s[0:4]), atoi(s[5:7]), atoi(s[8:10]), 0, 0}
	if len(s) == 16 {
		if s[10] != 'T' || s[13] != ':' || !engine.Digits(s[11:13]) || !engine.Digits(s[14:16]) {
			return c, false, false
		}
		c.hh, c.mm = atoi(s[11:13]), atoi(s[14:16])
		withTime = true
	}
	return c, withTime, c.valid()
}
