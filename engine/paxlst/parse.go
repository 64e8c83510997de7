package paxlst

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/watchpost/watchpost/engine"
)

// Limits that keep memory bounded on any input.
const (
	// MaxInputSize is the largest input Parse accepts.
	MaxInputSize = 64 << 20
	// MaxWarnings is the number of warnings kept per message (and for the
	// envelope); one more says that further warnings were suppressed.
	MaxWarnings = 1000
	// MaxTravellers is the number of travellers kept per interchange.
	MaxTravellers = 200000
	// MaxMessages is the number of messages kept per interchange.
	MaxMessages = 10000

	maxFlights    = 1000 // per message
	maxDocuments  = 16   // per traveller
	maxReferences = 32   // per traveller
	maxBagTags    = 64   // per traveller
	maxRouting    = 64   // per flight
)

// Errors returned by Parse. Anything else wrong with the input is a
// warning.
var (
	ErrTooLarge   = errors.New("paxlst: input larger than 64 MiB")
	ErrNotEDIFACT = errors.New("paxlst: no UNB or UNH segment found: not an EDIFACT interchange")
)

// Options tune Parse.
type Options struct {
	// Now places two-digit years in a century (birth dates are never in
	// the future; other dates lie within 50 years of Now). Zero means
	// time.Now().
	Now time.Time
}

// Parse reads a PAXLST interchange. It fails only when the data is too
// large or holds no UNB or UNH segment at all; everything else that is
// wrong becomes a warning, and every person that can be read is kept.
func Parse(data []byte) (*Interchange, error) {
	return ParseWith(data, Options{})
}

// ParseWith is Parse with options.
func ParseWith(data []byte, opts Options) (*Interchange, error) {
	if len(data) > MaxInputSize {
		return nil, ErrTooLarge
	}
	start, ok := findStart(data)
	if !ok {
		return nil, ErrNotEDIFACT
	}
	p := &parser{now: opts.Now, lx: lexer{data: data}, src: string(data), nextUNT: -1, nextUNH: -1}
	if p.now.IsZero() {
		p.now = time.Now()
	}
	p.lx.setSeparators(DefaultSeparators)
	p.resetMessageState()
	if len(bytes.TrimSpace(data[:start])) > 0 {
		p.envWarn(&Warning{Segment: shorten(bytes.TrimSpace(data[:start]), 80),
			Message: fmt.Sprintf("%d bytes before the interchange skipped", start)})
	}
	p.lx.pos = start
	if bytes.HasPrefix(data[start:], []byte("UNA")) {
		p.readUNA(start)
	}
	p.run()
	return &p.ic, nil
}

// findStart finds the first UNA, UNB or UNH; ok is false when there is no
// UNB or UNH at all.
func findStart(data []byte) (int, bool) {
	b := bytes.Index(data, []byte("UNB"))
	h := bytes.Index(data, []byte("UNH"))
	if b < 0 && h < 0 {
		return 0, false
	}
	first := b
	if first < 0 || (h >= 0 && h < first) {
		first = h
	}
	if a := bytes.Index(data[:first], []byte("UNA")); a >= 0 {
		first = a
	}
	return first, true
}

// knownTag returns the segment tag b names, or "".
func knownTag(b []byte) string {
	if len(b) != 3 {
		return ""
	}
	switch string(b) {
	case "UNA":
		return "UNA"
	case "UNB":
		return "UNB"
	case "UNG":
		return "UNG"
	case "UNH":
		return "UNH"
	case "UNT":
		return "UNT"
	case "UNE":
		return "UNE"
	case "UNZ":
		return "UNZ"
	case "UNS":
		return "UNS"
	case "BGM":
		return "BGM"
	case "RFF":
		return "RFF"
	case "NAD":
		return "NAD"
	case "COM":
		return "COM"
	case "TDT":
		return "TDT"
	case "LOC":
		return "LOC"
	case "DTM":
		return "DTM"
	case "ATT":
		return "ATT"
	case "GEI":
		return "GEI"
	case "FTX":
		return "FTX"
	case "MEA":
		return "MEA"
	case "NAT":
		return "NAT"
	case "DOC":
		return "DOC"
	case "CNT":
		return "CNT"
	case "EMP":
		return "EMP"
	case "CTA":
		return "CTA"
	case "PDT":
		return "PDT"
	case "QTY":
		return "QTY"
	case "CPI":
		return "CPI"
	case "SEQ":
		return "SEQ"
	case "GIS":
		return "GIS"
	}
	return ""
}

type parser struct {
	now time.Time
	lx  lexer
	seg segment
	ic  Interchange

	envWarnings int

	sender, recipient, controlRef, charset string
	seenUNB, seenUNZ                       bool
	groupOpen                              bool
	groupRef                               string
	groupMsgs, groups, unzMsgs             int
	travellers                             int
	travellerCapWarned, messageCapWarned   bool

	// The open message, if any.
	m                  *Message
	dropping           bool // past MaxMessages: skip to the next UNT
	msgWarnings        int
	msgSegs            int
	unh                Warning // where the message began, for message-level warnings
	legacy             bool
	cur, doc, leg      int // indexes of the current traveller, document, flight; -1 for none
	docSub             bool
	cnt42, cnt41       int
	cnt42At, cnt41At   Warning
	flightCapWarned    bool
	travellerIsDropped bool

	curTag string

	src       string // the input, once: values are substrings of it
	strings   stringArena
	documents slab[Document]
	bagSlab   slab[Bags]
	tagSlab   slab[string]
	buf, join []byte

	nextUNT, nextUNH int // memo for expectedPersons
}

func (p *parser) resetMessageState() {
	p.m = nil
	p.dropping = false
	p.msgWarnings = 0
	p.msgSegs = 0
	p.legacy = false
	p.cur, p.doc, p.leg = -1, -1, -1
	p.docSub = false
	p.cnt42, p.cnt41 = -1, -1
	p.flightCapWarned = false
	p.travellerIsDropped = false
}

// readUNA reads the service string advice at data[i:].
func (p *parser) readUNA(i int) {
	d := p.lx.data
	p.lx.index++
	at := Warning{Position: p.lx.index, Offset: i, Segment: shorten(d[i:min(i+9, len(d))], 80)}
	if len(d) < i+9 {
		at.Message = "UNA segment cut short; default separators used"
		p.envWarn(&at)
		p.lx.pos = len(d)
		return
	}
	s := Separators{d[i+3], d[i+4], d[i+5], d[i+6], d[i+7], d[i+8]}
	if !s.valid() {
		at.Message = "UNA declares unusable separators; default separators used"
		p.envWarn(&at)
		p.lx.setSeparators(DefaultSeparators)
	} else {
		p.lx.setSeparators(s)
	}
	p.lx.pos = i + 9
}

func (p *parser) at(seg *segment, msg string) *Warning {
	return &Warning{Position: seg.index, Offset: seg.offset, Segment: seg.text(), Message: msg}
}

// warn records a warning about seg, in the open message or else in the
// envelope.
func (p *parser) warn(seg *segment, msg string) {
	if p.m != nil {
		p.msgWarn(p.at(seg, msg))
		return
	}
	p.envWarn(p.at(seg, msg))
}

func (p *parser) warnf(seg *segment, format string, args ...any) {
	if p.m != nil && p.msgWarnings > MaxWarnings || p.m == nil && p.envWarnings > MaxWarnings {
		return
	}
	p.warn(seg, fmt.Sprintf(format, args...))
}

func (p *parser) msgWarn(w *Warning) { addWarning(&p.m.Warnings, &p.msgWarnings, w) }

func (p *parser) envWarn(w *Warning) { addWarning(&p.ic.Warnings, &p.envWarnings, w) }

// addWarning counts w in n and appends it to list while n is within
// MaxWarnings; past that, one last warning says the others are
// suppressed.
func addWarning(list *[]Warning, n *int, w *Warning) {
	*n++
	switch {
	case *n <= MaxWarnings:
		*list = append(*list, *w)
	case *n == MaxWarnings+1:
		*list = append(*list, Warning{Position: w.Position, Offset: w.Offset, Message: "further warnings suppressed"})
	}
}

// tag returns the segment tag, recovering from a stray space after it or
// junk glued in front of it.
func (p *parser) tag(seg *segment) string {
	b := seg.bytes(0, 0)
	if t := knownTag(b); t != "" {
		return t
	}
	tb := bytes.TrimSpace(b)
	if t := knownTag(tb); t != "" {
		p.warnf(seg, "stray space around segment tag %q", t)
		return t
	}
	if len(tb) > 3 {
		if t := knownTag(tb[len(tb)-3:]); t != "" {
			p.warnf(seg, "%d bytes of junk before segment tag %s skipped", len(tb)-3, t)
			return t
		}
	}
	return string(tb)
}

// str returns component c of element e, unescaped, decoded and trimmed.
func (p *parser) str(seg *segment, e, c int) string {
	if e >= len(seg.elems) {
		return ""
	}
	el := seg.elems[e]
	if c >= int(el.b-el.a) {
		return ""
	}
	sp := seg.comps[int(el.a)+c]
	i, j := int(sp.a), int(sp.b)
	raw := seg.raw
	for i < j && (raw[i] == ' ' || raw[i] == '\t') {
		i++
	}
	for j > i && (raw[j-1] == ' ' || raw[j-1] == '\t') {
		j--
	}
	if i == j {
		return ""
	}
	b := raw[i:j]
	if seg.escaped && bytes.IndexByte(b, p.lx.sep.Release) >= 0 {
		p.buf = p.buf[:0]
		rel := p.lx.sep.Release
		for k := 0; k < len(b); k++ {
			if b[k] == rel {
				k++
				if k == len(b) {
					break
				}
			}
			p.buf = append(p.buf, b[k])
		}
		b = bytes.TrimSpace(p.buf)
		if seg.nonASCII {
			return p.decode(b)
		}
		return p.strings.bytes(b)
	}
	if seg.nonASCII {
		return p.decode(b)
	}
	if !seg.lineBreaks {
		return p.src[seg.offset+i : seg.offset+j]
	}
	return p.strings.bytes(b)
}

// decode turns bytes with non-ASCII content into UTF-8: UNOC is ISO 8859-1,
// anything else is taken as UTF-8 with bytes that are not replaced by
// U+FFFD.
func (p *parser) decode(b []byte) string {
	if p.charset == "UNOC" {
		var u []byte
		for _, c := range b {
			u = utf8.AppendRune(u, rune(c))
		}
		return p.strings.bytes(u)
	}
	if utf8.Valid(b) {
		return p.strings.bytes(b)
	}
	return p.strings.bytes(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}

func (p *parser) run() {
	seg := &p.seg
	for p.lx.next(seg) {
		t := p.tag(seg)
		p.curTag = t
		if seg.nonASCII {
			p.checkCharset(seg)
		}
		if !seg.terminated {
			p.warnf(seg, "data ends inside a segment (no terminator %q)", p.lx.sep.Terminator)
		}
		switch t {
		case "UNA":
			p.warn(seg, "UNA inside an interchange ignored")
		case "UNB":
			p.unb(seg)
		case "UNG":
			p.ung(seg)
		case "UNE":
			p.une(seg)
		case "UNH":
			p.unhSeg(seg)
		case "UNT":
			p.unt(seg)
		case "UNZ":
			p.unz(seg)
			if !p.afterUNZ() {
				return
			}
		default:
			if p.m == nil {
				if t == "" && seg.nElems() <= 1 && len(bytes.TrimSpace(seg.raw)) == 0 {
					continue // an empty segment ('' or a stray terminator)
				}
				p.openImplicit(seg)
			}
			p.msgSegs++
			if p.dropping {
				continue
			}
			p.body(t, seg)
		}
	}
	p.finishData()
}

func (p *parser) checkCharset(seg *segment) {
	switch p.charset {
	case "UNOW", "UNOY":
		if utf8.Valid(seg.raw) {
			return
		}
	case "UNOC", "UNOD", "UNOE", "UNOF", "UNOG", "UNOH", "UNOI", "UNOJ", "UNOK", "UNOX":
		return
	}
	i := 0
	for i < len(seg.raw) && seg.raw[i] < 0x80 {
		i++
	}
	cs := p.charset
	if cs == "" {
		cs = "undeclared"
	}
	if i < len(seg.raw) {
		p.warnf(seg, "non-ASCII byte 0x%02X in a %s interchange", seg.raw[i], cs)
	}
}

// afterUNZ looks at what follows UNZ: nothing, another interchange (read
// on), or junk (warned about; reading stops). It reports whether to go on.
func (p *parser) afterUNZ() bool {
	p.lx.skipSpace()
	d := p.lx.data
	rest := d[p.lx.pos:]
	if len(rest) == 0 {
		return false
	}
	if bytes.HasPrefix(rest, []byte("UNA")) || bytes.HasPrefix(rest, []byte("UNB")) {
		p.envWarn(&Warning{Position: p.lx.index + 1, Offset: p.lx.pos, Segment: shorten(rest, 80),
			Message: "another interchange follows UNZ; read into the same result"})
		p.seenUNZ, p.seenUNB = false, false
		if bytes.HasPrefix(rest, []byte("UNA")) {
			p.readUNA(p.lx.pos)
		}
		return true
	}
	p.envWarn(&Warning{Position: p.lx.index + 1, Offset: p.lx.pos, Segment: shorten(rest, 80),
		Message: fmt.Sprintf("%d bytes of trailing data after UNZ ignored", len(rest))})
	return false
}

func (p *parser) unb(seg *segment) {
	if p.seenUNB {
		p.warn(seg, "second UNB inside an interchange")
	}
	if p.m != nil {
		p.finishMessage(seg, "message not closed by UNT before UNB")
	}
	p.seenUNB = true
	p.charset = p.str(seg, 1, 0)
	p.sender = p.str(seg, 2, 0)
	p.recipient = p.str(seg, 3, 0)
	p.controlRef = p.str(seg, 5, 0)
	p.unzMsgs, p.groups = 0, 0
	switch p.charset {
	case "UNOA", "UNOB", "UNOC", "UNOD", "UNOE", "UNOF", "UNOG", "UNOH", "UNOI", "UNOJ", "UNOK", "UNOX", "UNOY", "UNOW":
	default:
		p.warnf(seg, "unknown syntax identifier %q", p.charset)
	}
}

func (p *parser) ung(seg *segment) {
	if p.m != nil {
		p.finishMessage(seg, "message not closed by UNT before UNG")
	}
	if p.groupOpen {
		p.warn(seg, "UNG inside an open group (missing UNE)")
	}
	p.groupOpen = true
	p.groupRef = p.str(seg, 5, 0)
	p.groupMsgs = 0
	p.groups++
}

func (p *parser) une(seg *segment) {
	if p.m != nil {
		p.finishMessage(seg, "message not closed by UNT before UNE")
	}
	if !p.groupOpen {
		p.warn(seg, "UNE without UNG")
		return
	}
	p.groupOpen = false
	if n := p.str(seg, 1, 0); !engine.Digits(n) || atoi(n) != p.groupMsgs {
		p.warnf(seg, "UNE declares %q messages, the group has %d", n, p.groupMsgs)
	}
	if r := p.str(seg, 2, 0); r != p.groupRef {
		p.warnf(seg, "UNE reference %q does not match UNG reference %q", r, p.groupRef)
	}
}

func (p *parser) unz(seg *segment) {
	if p.m != nil {
		p.finishMessage(seg, "message not closed by UNT before UNZ")
	}
	if p.groupOpen {
		p.warn(seg, "group not closed by UNE before UNZ")
		p.groupOpen = false
	}
	if !p.seenUNB {
		p.warn(seg, "UNZ without UNB")
	}
	want := p.unzMsgs
	if p.groups > 0 {
		want = p.groups
	}
	if n := p.str(seg, 1, 0); !engine.Digits(n) || atoi(n) != want {
		p.warnf(seg, "UNZ declares %q messages or groups, the interchange has %d", n, want)
	}
	if r := p.str(seg, 2, 0); p.seenUNB && r != p.controlRef {
		p.warnf(seg, "UNZ reference %q does not match UNB reference %q", r, p.controlRef)
	}
	p.seenUNZ = true
}

func (p *parser) finishData() {
	if p.m != nil {
		p.finishMessage(&p.seg, "data ends inside a message: UNT missing (truncated?)")
	}
	if !p.seenUNZ {
		w := Warning{Position: p.lx.index, Offset: p.seg.offset, Segment: p.seg.text(),
			Message: "data ends without UNZ (truncated?)"}
		if !p.seenUNB {
			w.Message = "no UNB/UNZ interchange envelope"
		}
		p.envWarn(&w)
	}
}

// unhSeg opens a message.
func (p *parser) unhSeg(seg *segment) {
	if p.m != nil {
		p.finishMessage(seg, "message not closed by UNT before the next UNH")
	}
	if !p.seenUNB && len(p.ic.Messages) == 0 {
		p.envWarn(p.at(seg, "no UNB before the first UNH"))
	}
	p.unzMsgs++
	p.groupMsgs++
	p.openMessage(seg)
	p.msgSegs = 1
	if p.dropping {
		return
	}
	p.m.Reference = p.str(seg, 1, 0)
	typ, v, r := p.str(seg, 2, 0), p.str(seg, 2, 1), p.str(seg, 2, 2)
	if typ != "PAXLST" {
		p.warnf(seg, "message type %q, not PAXLST; read as PAXLST", typ)
	}
	switch {
	case v == "D":
		p.m.Version = "D" + r
		switch r {
		case "02B", "05B", "12B":
		default:
			p.warnf(seg, "PAXLST version D%s is none of D02B, D05B, D12B; read as D05B", r)
		}
	case v == "" && r == "":
		p.warn(seg, "no message version")
	default:
		p.m.Version = v + ":" + r
		p.legacy = true
		p.warnf(seg, "legacy PAXLST %s:%s (US CEDIPAX dialect, PDT segments): read best effort", v, r)
	}
}

func (p *parser) openMessage(seg *segment) {
	p.resetMessageState()
	p.unh = Warning{Position: seg.index, Offset: seg.offset, Segment: seg.text()}
	if len(p.ic.Messages) >= MaxMessages {
		if !p.messageCapWarned {
			p.messageCapWarned = true
			p.envWarnf(seg, "more than %d messages: further messages skipped", MaxMessages)
		}
		p.dropping = true
		p.m = &Message{} // a sink, never stored
		return
	}
	p.ic.Messages = append(p.ic.Messages, Message{Sender: p.sender, Recipient: p.recipient})
	p.m = &p.ic.Messages[len(p.ic.Messages)-1]
	if n := min(p.expectedPersons(), MaxTravellers-p.travellers, 4096); n > 0 {
		p.m.Travellers = make([]Traveller, 0, n)
	}
}

// expectedPersons counts the NAD and PDT segments up to the next UNT or
// UNH, to size the traveller list once. The searches are remembered, so
// all calls together read the input at most a few times.
func (p *parser) expectedPersons() int {
	from := p.lx.pos
	end := min(p.nextIndex(&p.nextUNT, "UNT", from), p.nextIndex(&p.nextUNH, "UNH", from))
	if end-from > 1<<20 {
		end = from + 1<<20 // a rough guess suffices
	}
	d := p.lx.data[from:end]
	es := p.lx.sep.Element
	return bytes.Count(d, []byte{'N', 'A', 'D', es}) + bytes.Count(d, []byte{'P', 'D', 'T', es})
}

func (p *parser) nextIndex(memo *int, pat string, from int) int {
	if *memo >= from {
		return *memo
	}
	if i := bytes.Index(p.lx.data[from:], []byte(pat)); i >= 0 {
		*memo = from + i
	} else {
		*memo = len(p.lx.data)
	}
	return *memo
}

func (p *parser) envWarnf(seg *segment, format string, args ...any) {
	p.envWarn(p.at(seg, fmt.Sprintf(format, args...)))
}

// openImplicit opens a message for body segments found outside any
// UNH … UNT, so that the persons in them are kept.
func (p *parser) openImplicit(seg *segment) {
	p.envWarn(p.at(seg, "segment outside a message (no UNH): read as the start of a message without header"))
	p.openMessage(seg)
	p.msgSegs = 0
}

func (p *parser) unt(seg *segment) {
	if p.m == nil {
		p.envWarn(p.at(seg, "UNT without UNH"))
		return
	}
	p.msgSegs++
	if !p.dropping {
		n := p.str(seg, 1, 0)
		if !engine.Digits(n) || atoi(n) != p.msgSegs {
			p.warnf(seg, "UNT declares %q segments, the message has %d", n, p.msgSegs)
		}
		if r := p.str(seg, 2, 0); r != p.m.Reference {
			p.warnf(seg, "UNT reference %q does not match UNH reference %q", r, p.m.Reference)
		}
	}
	p.finishMessage(seg, "")
}

// finishMessage closes the open message; reason, if set, is why it is
// closed early.
func (p *parser) finishMessage(seg *segment, reason string) {
	m := p.m
	if p.dropping {
		p.resetMessageState()
		return
	}
	if reason != "" {
		p.msgWarn(p.at(seg, reason))
	}
	whole := func(msg string) *Warning {
		w := p.unh
		w.Message = msg
		return &w
	}
	switch {
	case m.Type == "" && p.legacy:
		m.Type = "passenger" // CEDIPAX has no BGM; its PDT segments say PAX or CRW per person
	case m.Type == "":
		p.msgWarn(whole("no BGM segment: list type unknown"))
	}
	if len(m.Travellers) == 0 {
		m.Travellers = nil
	}
	pax, crew := 0, 0
	for i := range m.Travellers {
		switch m.Travellers[i].Role {
		case "crew", "DDT":
			crew++
		default:
			pax++
		}
	}
	switch {
	case p.cnt42 < 0 && p.cnt41 < 0:
		p.msgWarn(whole(fmt.Sprintf("no CNT+42/CNT+41 control total (%d passengers, %d crew found)", pax, crew)))
	default:
		if p.cnt42 >= 0 && p.cnt42 != pax {
			w := p.cnt42At
			w.Message = fmt.Sprintf("CNT+42 declares %d passengers, %d found", p.cnt42, pax)
			p.msgWarn(&w)
		}
		if p.cnt41 >= 0 && p.cnt41 != crew {
			w := p.cnt41At
			w.Message = fmt.Sprintf("CNT+41 declares %d crew, %d found", p.cnt41, crew)
			p.msgWarn(&w)
		}
	}
	p.resetMessageState()
}

// body handles one segment inside a message.
func (p *parser) body(t string, seg *segment) {
	switch t {
	case "BGM":
		p.bgm(seg)
	case "NAD":
		p.nad(seg)
	case "TDT":
		p.tdt(seg)
	case "LOC":
		p.loc(seg)
	case "DTM":
		p.dtm(seg)
	case "ATT":
		p.att(seg)
	case "NAT":
		if tr := p.person(seg); tr != nil && (p.is(seg, 1, 0, "2") || seg.elemEmpty(1)) && tr.Nationality == "" {
			tr.Nationality = p.str(seg, 2, 0)
		}
	case "RFF":
		p.rff(seg)
	case "DOC":
		p.docSeg(seg)
	case "MEA":
		p.mea(seg)
	case "FTX":
		p.ftx(seg)
	case "CNT":
		p.cnt(seg)
	case "PDT":
		p.pdt(seg)
	case "GEI", "EMP":
		p.person(seg)
	case "COM", "UNS", "CTA", "QTY", "CPI", "SEQ", "GIS":
		// contact details, section control, other data we do not use
	case "UNB", "UNG", "UNE", "UNZ", "UNA", "UNH", "UNT":
	default:
		p.warnf(seg, "unknown segment %q ignored", t)
	}
}

func (p *parser) is(seg *segment, e, c int, v string) bool { return seg.is(e, c, v) }

// person returns the current traveller for a segment of a person group,
// or nil (with a warning) when there is none.
func (p *parser) person(seg *segment) *Traveller {
	if p.cur < 0 {
		if !p.travellerIsDropped {
			p.warnf(seg, "%s segment outside a person (NAD) group ignored", p.curTag)
		}
		return nil
	}
	return &p.m.Travellers[p.cur]
}

func (p *parser) bgm(seg *segment) {
	code := p.str(seg, 1, 0)
	if p.m.Type != "" {
		p.warn(seg, "second BGM in a message")
	}
	switch code {
	case "745":
		p.m.Type = "passenger"
	case "250":
		p.m.Type = "crew"
	case "":
		p.warn(seg, "BGM without a document code")
	default:
		p.m.Type = code
		p.warnf(seg, "document code %s is neither 745 (passengers) nor 250 (crew)", code)
	}
}

func (p *parser) nad(seg *segment) {
	q := p.str(seg, 1, 0)
	p.doc = -1
	if q == "MS" {
		p.cur = -1 // the reporting party; COM follows
		p.travellerIsDropped = false
		return
	}
	if p.travellers >= MaxTravellers {
		if !p.travellerCapWarned {
			p.travellerCapWarned = true
			p.warnf(seg, "more than %d travellers in the interchange: further travellers dropped", MaxTravellers)
		}
		p.cur = -1
		p.travellerIsDropped = true
		return
	}
	p.travellerIsDropped = false
	role := q
	switch q {
	case "FL":
		role = "passenger"
	case "FM":
		role = "crew"
	case "":
		p.warn(seg, "NAD without a party qualifier: read as a person")
	}
	t := Traveller{Position: len(p.m.Travellers) + 1, Role: role}
	name := 4
	if seg.elemEmpty(4) && !seg.elemEmpty(3) {
		name = 3
		p.warn(seg, "name found in NAD element 3 instead of 4")
	}
	t.Surname = p.str(seg, name, 0)
	t.GivenNames = p.joined(seg, name, 1, 5)
	if t.Surname == "" && t.GivenNames == "" {
		p.warn(seg, "person without a name")
	}
	p.m.Travellers = append(p.m.Travellers, t)
	p.travellers++
	p.cur = len(p.m.Travellers) - 1
}

// joined returns the non-empty components from..to-1 of element e joined
// by spaces.
func (p *parser) joined(seg *segment, e, from, to int) string {
	first := ""
	n := 0
	for c := from; c < to; c++ {
		v := p.str(seg, e, c)
		if v == "" {
			continue
		}
		switch n {
		case 0:
			first = v
		case 1:
			p.join = append(append(append(p.join[:0], first...), ' '), v...)
		default:
			p.join = append(append(p.join, ' '), v...)
		}
		n++
	}
	if n > 1 {
		return p.strings.bytes(p.join)
	}
	return first
}

func (p *parser) tdt(seg *segment) {
	p.cur, p.doc = -1, -1
	p.travellerIsDropped = false
	q := p.str(seg, 1, 0)
	if q != "20" && !(p.legacy && q == "") {
		p.warnf(seg, "TDT qualifier %q is not 20 (main carriage); read as a flight", q)
	}
	carrier := p.str(seg, 5, 0)
	if carrier == "" && p.legacy {
		carrier = p.str(seg, 4, 0)
	}
	p.newLeg(seg, Flight{Number: p.str(seg, 2, 0), Carrier: carrier})
}

func (p *parser) newLeg(seg *segment, f Flight) *Flight {
	if len(p.m.Flights) >= maxFlights {
		if !p.flightCapWarned {
			p.flightCapWarned = true
			p.warnf(seg, "more than %d flights in a message: further flights ignored", maxFlights)
		}
		return nil
	}
	p.m.Flights = append(p.m.Flights, f)
	p.leg = len(p.m.Flights) - 1
	return &p.m.Flights[p.leg]
}

// curLeg returns the current flight, opening one (with a warning) if no
// TDT came first.
func (p *parser) curLeg(seg *segment) *Flight {
	if p.cur >= 0 || p.travellerIsDropped {
		p.warnf(seg, "flight %s segment inside a person group: applied to the flight", p.curTag)
	}
	if p.leg >= 0 {
		return &p.m.Flights[p.leg]
	}
	p.warn(seg, "flight detail before any TDT: read as an unnumbered flight")
	return p.newLeg(seg, Flight{})
}

// chain opens the next leg of the same flight.
func (p *parser) chain(seg *segment, prev *Flight) *Flight {
	return p.newLeg(seg, Flight{Number: prev.Number, Carrier: prev.Carrier})
}

func (p *parser) locCode(seg *segment) string {
	if v := p.str(seg, 2, 0); v != "" {
		return v
	}
	return p.str(seg, 2, 3) // free text (:::CITY)
}

func (p *parser) loc(seg *segment) {
	q := seg.bytes(1, 0)
	switch string(q) {
	case "125", "5", "005": // departure
		f := p.curLeg(seg)
		if f == nil {
			return
		}
		if f.Departure != "" {
			if f = p.chain(seg, f); f == nil {
				return
			}
		}
		f.Departure = p.locCode(seg)
	case "87", "8", "008": // arrival
		f := p.curLeg(seg)
		if f == nil {
			return
		}
		if f.Arrival != "" {
			prev := f.Arrival
			if f = p.chain(seg, f); f == nil {
				return
			}
			f.Departure = prev
		}
		f.Arrival = p.locCode(seg)
	case "92", "PT": // routing: a stop on the way
		f := p.curLeg(seg)
		if f == nil {
			return
		}
		code := p.locCode(seg)
		switch {
		case f.Departure == "":
			f.Departure = code
		case f.Arrival == "":
			f.Arrival = code
		default:
			prev := f.Arrival
			if f = p.chain(seg, f); f == nil {
				return
			}
			f.Departure, f.Arrival = prev, code
		}
		if len(f.Routing) < maxRouting {
			f.Routing = append(f.Routing, code)
		}
	case "130", "188", "172":
		// final destination, filing and reporting locations
	case "178", "179", "174", "180", "22":
		t := p.person(seg)
		if t == nil {
			return
		}
		v := p.locCode(seg)
		switch string(q) {
		case "178":
			t.Embarkation = v
		case "179":
			t.Disembarkation = v
		case "174":
			t.Residence = v
		case "180":
			t.BirthPlace = v
		case "22":
			t.Clearance = v
		}
	case "91":
		if p.cur < 0 {
			p.person(seg)
			return
		}
		if p.doc < 0 {
			p.warn(seg, "LOC+91 (issuing state) outside a DOC group ignored")
			return
		}
		d := &p.m.Travellers[p.cur].Documents[p.doc]
		v := p.str(seg, 2, 0)
		sub := p.is(seg, 2, 1, "163") // a country sub-entity, not a state
		if v != "" && (d.IssuingState == "" || p.docSub && !sub) {
			d.IssuingState = v
			p.docSub = sub
		}
	}
}

// dtmValue returns the value and format of a DTM; the legacy form
// DTM+136+YYMMDD+HHMM+zone is read too.
func (p *parser) dtmValue(seg *segment) (v, format string) {
	v, format = p.str(seg, 1, 1), p.str(seg, 1, 2)
	if v == "" && seg.nElems() > 2 {
		v = p.str(seg, 2, 0)
		if hm := p.str(seg, 3, 0); len(hm) == 4 && len(v) == 6 {
			v += hm
		}
	}
	return v, format
}

func (p *parser) dtm(seg *segment) {
	q := seg.bytes(1, 0)
	switch string(q) {
	case "189", "136", "232", "132":
		f := p.curLeg(seg)
		if f == nil {
			return
		}
		c, withTime, ok := p.dtmDate(seg, false, "date")
		if !ok {
			return
		}
		s := p.date(c, withTime)
		if string(q) == "189" || string(q) == "136" {
			f.DepartureTime = s
		} else {
			f.ArrivalTime = s
		}
	case "329":
		t := p.person(seg)
		if t == nil {
			return
		}
		c, _, ok := p.dtmDate(seg, true, "birth date")
		if !ok {
			return
		}
		t.BirthDate = p.date(c, false)
	case "36":
		if p.person(seg) == nil {
			return
		}
		if p.doc < 0 {
			p.warn(seg, "DTM+36 (expiry) outside a DOC group ignored")
			return
		}
		c, _, ok := p.dtmDate(seg, false, "expiry date")
		if !ok {
			return
		}
		p.m.Travellers[p.cur].Documents[p.doc].ExpiryDate = p.date(c, false)
	}
}

// dtmDate reads the date of a DTM segment (a birth date when birth is
// set), warning that the what is unreadable when it cannot.
func (p *parser) dtmDate(seg *segment, birth bool, what string) (civil, bool, bool) {
	v, format := p.dtmValue(seg)
	c, withTime, ok := parseDate(v, format, p.now, birth)
	if !ok {
		p.warnf(seg, "unreadable %s %q", what, v)
	}
	return c, withTime, ok
}

func (p *parser) att(seg *segment) {
	t := p.person(seg)
	if t == nil || !p.is(seg, 1, 0, "2") {
		return
	}
	v := p.str(seg, 3, 0)
	if v == "" {
		v = p.str(seg, 2, 0)
	}
	switch v {
	case "M", "F", "U", "X":
	case "":
	default:
		if strings.IndexByte("MFUX", v[0]) >= 0 && !isAlnum(v[1]) {
			p.warnf(seg, "sex %q read as %s", v, v[:1])
			v = v[:1]
		} else {
			p.warnf(seg, "unknown sex code %q kept as given", v)
		}
	}
	t.Sex = v
}

func (p *parser) rff(seg *segment) {
	if p.cur < 0 {
		return // a message-level reference (RFF+TN transaction), or a dropped traveller's
	}
	t := &p.m.Travellers[p.cur]
	q, v := p.str(seg, 1, 0), p.str(seg, 1, 1)
	switch q {
	case "AVF":
		if t.BookingReference == "" {
			t.BookingReference = v
			return
		}
	case "SEA":
		if t.Seat == "" {
			t.Seat = v
			return
		}
	}
	if len(t.References) < maxReferences {
		t.References = append(t.References, Reference{Qualifier: q, Value: v})
	}
}

func (p *parser) docSeg(seg *segment) {
	t := p.person(seg)
	if t == nil {
		return
	}
	if len(t.Documents) >= maxDocuments {
		p.warnf(seg, "more than %d documents for one traveller: ignored", maxDocuments)
		p.doc = -1
		return
	}
	d := Document{Type: p.str(seg, 1, 0), Number: p.str(seg, 2, 0)}
	if t.Documents == nil {
		t.Documents = p.documents.take(1)
		t.Documents[0] = d
	} else {
		t.Documents = append(t.Documents, d)
	}
	p.doc = len(t.Documents) - 1
	p.docSub = false
}

func (p *parser) bags(t *Traveller) *Bags {
	if t.Bags == nil {
		t.Bags = &p.bagSlab.take(1)[0]
	}
	return t.Bags
}

func (p *parser) mea(seg *segment) {
	t := p.person(seg)
	if t == nil {
		return
	}
	// MEA+CT++4, MEA+WT++KGM:80
	unit, v := p.str(seg, 3, 0), p.str(seg, 3, 1)
	if v == "" {
		unit, v = "", unit
	}
	switch q := p.str(seg, 1, 0); q {
	case "CT":
		if !engine.Digits(v) || len(v) > 6 {
			p.warnf(seg, "unreadable bag count %q", v)
			return
		}
		p.bags(t).Count = atoi(v)
	case "WT":
		b := p.bags(t)
		b.Weight, b.Unit = v, unit
	}
}

func (p *parser) ftx(seg *segment) {
	if !p.is(seg, 1, 0, "BAG") {
		return // other free text
	}
	t := p.person(seg)
	if t == nil {
		return
	}
	tag := p.str(seg, 4, 0)
	if n := p.str(seg, 4, 1); n != "" {
		tag = p.strings.bytes(append(append(append(p.buf[:0], tag...), ':'), n...))
	}
	if b := p.bags(t); tag != "" && len(b.Tags) < maxBagTags {
		if b.Tags == nil {
			b.Tags = p.tagSlab.take(2)[:0]
		}
		b.Tags = append(b.Tags, tag)
	}
}

func (p *parser) cnt(seg *segment) {
	q, v := p.str(seg, 1, 0), p.str(seg, 1, 1)
	if v == "" && !seg.elemEmpty(2) {
		v = p.str(seg, 2, 0)
		p.warn(seg, "CNT value in element 2 instead of component 2")
	}
	if !engine.Digits(v) || len(v) > 9 {
		p.warnf(seg, "unreadable control total %q", v)
		return
	}
	switch q {
	case "42":
		p.cnt42, p.cnt42At = atoi(v), Warning{Position: seg.index, Offset: seg.offset, Segment: seg.text()}
	case "41":
		p.cnt41, p.cnt41At = atoi(v), Warning{Position: seg.index, Offset: seg.offset, Segment: seg.text()}
	default:
		p.warnf(seg, "CNT qualifier %q is neither 42 (passengers) nor 41 (crew)", q)
	}
}

// pdt reads a person of the legacy US CEDIPAX dialect:
// PDT+P/number:expiry:state+SURNAME:GIVEN:MIDDLE:YYMMDD:sex+PAX+from:to.
func (p *parser) pdt(seg *segment) {
	if !p.legacy {
		p.warn(seg, "PDT (legacy US CEDIPAX) segment in a UN/IATA message: read as a person")
	}
	p.cur, p.doc = -1, -1
	if p.travellers >= MaxTravellers {
		p.nad(seg) // warns once and drops
		return
	}
	role := p.str(seg, 3, 0)
	switch role {
	case "PAX", "":
		role = "passenger"
	case "CRW", "CREW":
		role = "crew"
	}
	t := Traveller{Position: len(p.m.Travellers) + 1, Role: role,
		Surname: p.str(seg, 2, 0), GivenNames: p.joined(seg, 2, 1, 3),
		Sex: p.str(seg, 2, 4), Embarkation: p.str(seg, 4, 0), Disembarkation: p.str(seg, 4, 1)}
	if v := p.str(seg, 2, 3); v != "" {
		if c, _, ok := parseDate(v, "", p.now, true); ok {
			t.BirthDate = p.date(c, false)
		} else {
			p.warnf(seg, "unreadable birth date %q", v)
		}
	}
	if id := p.str(seg, 1, 0); id != "" {
		d := Document{Number: id, IssuingState: p.str(seg, 1, 2)}
		if typ, num, ok := strings.Cut(id, "/"); ok {
			d.Type, d.Number = typ, num
		}
		if v := p.str(seg, 1, 1); v != "" {
			if c, _, ok := parseDate(v, "", p.now, false); ok {
				d.ExpiryDate = p.date(c, false)
			}
		}
		t.Documents = append(t.Documents, d)
	}
	p.m.Travellers = append(p.m.Travellers, t)
	p.travellers++
	p.cur = len(p.m.Travellers) - 1
}

// date formats a date (and time) as ISO 8601, from the string arena.
func (p *parser) date(c civil, withTime bool) string {
	var buf [16]byte
	return p.strings.bytes(c.appendISO(buf[:0], withTime))
}
