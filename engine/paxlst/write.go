package paxlst

import (
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteOptions tune Write.
type WriteOptions struct {
	// Separators to use; the zero value means DefaultSeparators. A UNA
	// segment is written whenever they differ from the defaults.
	Separators Separators
	// UNA writes the UNA segment even with the default separators.
	UNA bool
	// LineBreak is written after every segment ("", "\n" or "\r\n").
	LineBreak string
	// Group wraps the messages in a UNG … UNE functional group.
	Group bool
	// ControlReference is the UNB/UNZ interchange reference; "" means "1".
	ControlReference string
	// Now is the preparation time in UNB and the reference for two-digit
	// years: a date is written with a two-digit year only when Parse, given
	// the same Now, reads it back to the same century. Zero means
	// time.Now().
	Now time.Time
}

// ErrBadSeparators is returned by Write for separators that cannot
// delimit (repeated characters, letters or digits).
var ErrBadSeparators = errors.New("paxlst: unusable separators")

// Write writes ic as a D05B PAXLST interchange (a message keeps its own
// Version if it is a D-version): UNA (if needed or asked for), UNB, an
// optional UNG, one UNH … UNT per message with correct CNT and UNT counts,
// UNE and UNZ. Data characters that collide with a separator are escaped
// with the release character; CR and LF in data are written as spaces.
//
// Sender and recipient in UNB are those of the first message. A flight
// whose Routing is exactly [Departure, Arrival] is written as two LOC+92;
// any other Routing is not written.
func Write(w io.Writer, ic *Interchange, opts WriteOptions) error {
	e := newEncoder(opts)
	if e == nil {
		return ErrBadSeparators
	}
	_, err := w.Write(e.interchange(ic))
	return err
}

type encoder struct {
	opts     WriteOptions
	s        Separators
	now      time.Time
	b        []byte
	segs     int // segments of the current message
	nonASCII bool
}

func newEncoder(opts WriteOptions) *encoder {
	s := opts.Separators
	if s == (Separators{}) {
		s = DefaultSeparators
	}
	if s.Decimal == 0 {
		s.Decimal = '.'
	}
	if s.Repetition == 0 {
		s.Repetition = ' '
	}
	if !s.valid() {
		return nil
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	return &encoder{opts: opts, s: s, now: now}
}

func (e *encoder) interchange(ic *Interchange) []byte {
	// The body first: UNB declares the character set, which depends on it.
	body := e.bodyOf(ic)
	ref := e.opts.ControlReference
	if ref == "" {
		ref = "1"
	}
	var sender, recipient string
	if len(ic.Messages) > 0 {
		sender, recipient = ic.Messages[0].Sender, ic.Messages[0].Recipient
	}
	e.b = make([]byte, 0, len(body)+256)
	if e.opts.UNA || e.s != DefaultSeparators {
		e.b = append(e.b, 'U', 'N', 'A', e.s.Component, e.s.Element, e.s.Decimal, e.s.Release, e.s.Repetition, e.s.Terminator)
		e.b = append(e.b, e.opts.LineBreak...)
	}
	charset := "UNOA"
	if e.nonASCII {
		charset = "UNOW" // UTF-8
	}
	stamp := e.now.Format("060102")
	clock := e.now.Format("1504")
	e.start("UNB")
	e.elem(charset)
	e.comp("4")
	e.elem(sender)
	e.elem(recipient)
	e.elem(stamp)
	e.comp(clock)
	e.elem(ref)
	e.elem("")
	e.elem("APIS")
	e.end()
	if e.opts.Group {
		e.start("UNG")
		e.elem("PAXLST")
		e.elem(sender)
		e.elem(recipient)
		e.elem(stamp)
		e.comp(clock)
		e.elem(ref)
		e.elem("UN")
		e.elem("D")
		e.comp("05B")
		e.end()
	}
	e.b = append(e.b, body...)
	if e.opts.Group {
		e.start("UNE")
		e.elem(strconv.Itoa(len(ic.Messages)))
		e.elem(ref)
		e.end()
	}
	n := len(ic.Messages)
	if e.opts.Group {
		n = 1
	}
	e.start("UNZ")
	e.elem(strconv.Itoa(n))
	e.elem(ref)
	e.end()
	return e.b
}

func (e *encoder) bodyOf(ic *Interchange) []byte {
	size := 256
	for i := range ic.Messages {
		size += 256 + 400*len(ic.Messages[i].Travellers)
	}
	e.b = make([]byte, 0, size)
	for i := range ic.Messages {
		e.message(&ic.Messages[i], i)
	}
	return e.b
}

func (e *encoder) start(tag string) {
	e.b = append(e.b, tag...)
	e.segs++
}

func (e *encoder) elem(v string) {
	e.b = append(e.b, e.s.Element)
	e.esc(v)
}

func (e *encoder) comp(v string) {
	e.b = append(e.b, e.s.Component)
	e.esc(v)
}

// esc appends v, releasing characters that are separators.
func (e *encoder) esc(v string) {
	s := e.s
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == s.Component || c == s.Element || c == s.Release || c == s.Terminator ||
			c == s.Repetition && c != ' ':
			e.b = append(e.b, s.Release, c)
		case c == '\r' || c == '\n':
			e.b = append(e.b, ' ')
		default:
			if c >= 0x80 {
				e.nonASCII = true
			}
			e.b = append(e.b, c)
		}
	}
}

func (e *encoder) end() {
	// Trailing empty elements and components carry nothing.
	for len(e.b) > 0 {
		last := e.b[len(e.b)-1]
		if last != e.s.Element && last != e.s.Component {
			break
		}
		// A released separator is data.
		n := 0
		for j := len(e.b) - 2; j >= 0 && e.b[j] == e.s.Release; j-- {
			n++
		}
		if n%2 == 1 {
			break
		}
		e.b = e.b[:len(e.b)-1]
	}
	e.b = append(e.b, e.s.Terminator)
	e.b = append(e.b, e.opts.LineBreak...)
}

func (e *encoder) message(m *Message, i int) {
	e.segs = 0
	ref := m.Reference
	if ref == "" {
		ref = strconv.Itoa(i + 1)
	}
	version := "05B"
	if len(m.Version) == 4 && m.Version[0] == 'D' {
		version = m.Version[1:]
	}
	e.start("UNH")
	e.elem(ref)
	e.elem("PAXLST")
	e.comp("D")
	e.comp(version)
	e.comp("UN")
	e.comp("IATA")
	e.end()

	e.start("BGM")
	switch m.Type {
	case "passenger", "":
		e.elem("745")
	case "crew":
		e.elem("250")
	default:
		e.elem(m.Type)
	}
	e.end()

	for j := range m.Flights {
		e.flight(&m.Flights[j])
	}
	pax, crew := 0, 0
	for j := range m.Travellers {
		t := &m.Travellers[j]
		switch t.Role {
		case "crew", "DDT":
			crew++
		default:
			pax++
		}
		e.traveller(t)
	}
	if pax > 0 || m.Type != "crew" {
		e.start("CNT")
		e.elem("42")
		e.comp(strconv.Itoa(pax))
		e.end()
	}
	if crew > 0 || m.Type == "crew" {
		e.start("CNT")
		e.elem("41")
		e.comp(strconv.Itoa(crew))
		e.end()
	}
	e.start("UNT")
	e.elem(strconv.Itoa(e.segs))
	e.elem(ref)
	e.end()
}

func (e *encoder) flight(f *Flight) {
	e.start("TDT")
	e.elem("20")
	e.elem(f.Number)
	if f.Carrier != "" {
		e.elem("")
		e.elem("")
		e.elem(f.Carrier)
	}
	e.end()
	depQ, arrQ := "125", "87"
	if len(f.Routing) == 2 && f.Routing[0] == f.Departure && f.Routing[1] == f.Arrival {
		depQ, arrQ = "92", "92"
	}
	if f.Departure != "" {
		e.loc(depQ, f.Departure)
	}
	if f.DepartureTime != "" {
		e.dtm("189", f.DepartureTime, false)
	}
	if f.Arrival != "" {
		e.loc(arrQ, f.Arrival)
	}
	if f.ArrivalTime != "" {
		e.dtm("232", f.ArrivalTime, false)
	}
}

func (e *encoder) loc(q, v string) {
	e.start("LOC")
	e.elem(q)
	e.elem(v)
	e.end()
}

// dtm writes a date or date-time given as Parse returns it, with a
// two-digit year when that reads back the same.
func (e *encoder) dtm(q, iso string, birth bool) {
	e.start("DTM")
	e.elem(q)
	c, withTime, ok := parseISO(iso)
	if !ok {
		e.comp(iso)
		e.end()
		return
	}
	short := c
	short.y %= 100
	twoDigits := century(short, e.now, birth).y == c.y
	var b [12]byte
	v := b[:0]
	switch {
	case withTime && twoDigits:
		v = pad(v, c.y%100, 2)
	case withTime || !twoDigits:
		v = pad(v, c.y, 4)
	default:
		v = pad(v, c.y%100, 2)
	}
	v = pad(v, c.m, 2)
	v = pad(v, c.d, 2)
	if withTime {
		v = pad(v, c.hh, 2)
		v = pad(v, c.mm, 2)
	}
	e.comp(string(v))
	switch {
	case withTime && twoDigits:
		e.comp("201")
	case withTime:
		e.comp("203")
	case !twoDigits:
		e.comp("102")
	}
	e.end()
}

func (e *encoder) traveller(t *Traveller) {
	e.start("NAD")
	switch t.Role {
	case "passenger", "":
		e.elem("FL")
	case "crew":
		e.elem("FM")
	default:
		e.elem(t.Role)
	}
	e.elem("")
	e.elem("")
	e.elem(t.Surname)
	if t.GivenNames != "" {
		given, middle, _ := strings.Cut(t.GivenNames, " ")
		e.comp(given)
		if middle != "" {
			e.comp(middle)
		}
	}
	e.end()
	if t.Sex != "" {
		e.start("ATT")
		e.elem("2")
		e.elem("")
		e.elem(t.Sex)
		e.end()
	}
	if t.BirthDate != "" {
		e.dtm("329", t.BirthDate, true)
	}
	if b := t.Bags; b != nil {
		if b.Count > 0 {
			e.start("MEA")
			e.elem("CT")
			e.elem("")
			e.elem(strconv.Itoa(b.Count))
			e.end()
		}
		if b.Weight != "" {
			e.start("MEA")
			e.elem("WT")
			e.elem("")
			if b.Unit != "" {
				e.elem(b.Unit)
				e.comp(b.Weight)
			} else {
				e.elem(b.Weight)
			}
			e.end()
		}
		for _, tag := range b.Tags {
			e.start("FTX")
			e.elem("BAG")
			e.elem("")
			e.elem("")
			tag, n, _ := strings.Cut(tag, ":")
			e.elem(tag)
			if n != "" {
				e.comp(n)
			}
			e.end()
		}
	}
	for _, l := range [...]struct{ q, v string }{
		{"22", t.Clearance}, {"178", t.Embarkation}, {"179", t.Disembarkation},
		{"174", t.Residence}, {"180", t.BirthPlace},
	} {
		if l.v != "" {
			e.loc(l.q, l.v)
		}
	}
	if t.Nationality != "" {
		e.start("NAT")
		e.elem("2")
		e.elem(t.Nationality)
		e.end()
	}
	if t.BookingReference != "" {
		e.rff("AVF", t.BookingReference)
	}
	if t.Seat != "" {
		e.rff("SEA", t.Seat)
	}
	for _, r := range t.References {
		e.rff(r.Qualifier, r.Value)
	}
	for j := range t.Documents {
		d := &t.Documents[j]
		e.start("DOC")
		e.elem(d.Type)
		if d.Type != "" {
			e.comp("110")
			e.comp("111")
		}
		e.elem(d.Number)
		e.end()
		if d.ExpiryDate != "" {
			e.dtm("36", d.ExpiryDate, false)
		}
		if d.IssuingState != "" {
			e.loc("91", d.IssuingState)
		}
	}
}

func (e *encoder) rff(q, v string) {
	e.start("RFF")
	e.elem(q)
	e.comp(v)
	e.end()
}
