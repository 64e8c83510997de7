package paxlst

import (
	"bytes"
	"unicode/utf8"
)

// Separators are the EDIFACT service characters a UNA segment declares.
type Separators struct {
	Component  byte // ':' by default
	Element    byte // '+'
	Decimal    byte // '.'
	Release    byte // '?'
	Repetition byte // ' ' (a space means "not used")
	Terminator byte // '\''
}

// DefaultSeparators are the separators that apply without a UNA segment.
// The repetition separator is left unused: syntax version 4 would make it
// '*', but senders put '*' in identifiers (APIS*ABE) without declaring it.
var DefaultSeparators = Separators{':', '+', '.', '?', ' ', '\''}

// valid reports whether the separators can delimit anything: the
// component, element and terminator characters and the release character
// must all differ, and none may be a letter or digit.
func (s Separators) valid() bool {
	cs := [...]byte{s.Component, s.Element, s.Release, s.Terminator}
	for i, c := range cs {
		if isAlnum(c) {
			return false
		}
		for _, d := range cs[:i] {
			if c == d {
				return false
			}
		}
	}
	if s.Repetition != ' ' {
		if isAlnum(s.Repetition) {
			return false
		}
		for _, d := range cs {
			if s.Repetition == d {
				return false
			}
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// span is a half-open byte range within a segment's text.
type span struct{ a, b int32 }

// segment is one tokenized segment. Its slices are reused from one segment
// to the next, so nothing in it may be kept after the next call to next.
type segment struct {
	index  int    // 1-based position among all segments (UNA included)
	offset int    // byte offset of the segment's first byte in the input
	raw    []byte // the segment without its terminator and without CR/LF
	elems  []span // element i is comps[elems[i].a:elems[i].b]
	comps  []span

	escaped    bool // raw contains the release character
	nonASCII   bool // raw contains a byte >= 0x80
	terminated bool // the segment ended with a terminator (not end of data)
	lineBreaks bool // CR/LF were removed from inside the segment
}

// lexer cuts the input into segments.
type lexer struct {
	data    []byte
	pos     int
	sep     Separators
	rep     byte // repetition separator, 0 when not used
	index   int
	scratch []byte
	class   [256]byte // what each byte is to split
}

// Byte classes for split.
const (
	cData = iota
	cRelease
	cElement
	cComponent
	cRepetition
	cLineBreak
	cNonASCII
)

func (lx *lexer) setSeparators(s Separators) {
	lx.sep = s
	lx.rep = s.Repetition
	if lx.rep == ' ' {
		lx.rep = 0
	}
	for i := range lx.class {
		lx.class[i] = cData
		if i >= 0x80 {
			lx.class[i] = cNonASCII
		}
	}
	lx.class['\r'], lx.class['\n'] = cLineBreak, cLineBreak
	if lx.rep != 0 {
		lx.class[lx.rep] = cRepetition
	}
	lx.class[s.Component] = cComponent
	lx.class[s.Element] = cElement
	lx.class[s.Release] = cRelease
}

func isSpace(c byte) bool { return c == ' ' || c == '\r' || c == '\n' || c == '\t' }

// skipSpace skips line breaks and blanks between segments.
func (lx *lexer) skipSpace() {
	for lx.pos < len(lx.data) && isSpace(lx.data[lx.pos]) && lx.data[lx.pos] != lx.sep.Element {
		lx.pos++
	}
}

// findEnd returns the index of the terminator that ends the segment
// starting at start, or len(data).
func (lx *lexer) findEnd(start int) int {
	d := lx.data
	rel, term := lx.sep.Release, lx.sep.Terminator
	for i := start; ; {
		j := bytes.IndexByte(d[i:], term)
		if j < 0 {
			return len(d)
		}
		j += i
		n := 0 // release characters right before it
		for k := j - 1; k >= start && d[k] == rel; k-- {
			n++
		}
		if n%2 == 0 {
			return j
		}
		i = j + 1
	}
}

// next reads the next segment into seg; it returns false at the end of the
// data.
func (lx *lexer) next(seg *segment) bool {
	lx.skipSpace()
	if lx.pos >= len(lx.data) {
		return false
	}
	d := lx.data
	start := lx.pos
	end := lx.findEnd(start)
	seg.terminated = end < len(d)
	lx.pos = end
	if seg.terminated {
		lx.pos++
	}
	lx.index++
	seg.index = lx.index
	seg.offset = start
	seg.raw = d[start:end]
	lx.split(seg)
	if seg.lineBreaks {
		rel := lx.sep.Release
		lx.scratch = lx.scratch[:0]
		for j := start; j < end; j++ {
			c := d[j]
			if c == rel && j+1 < end {
				lx.scratch = append(lx.scratch, c, d[j+1])
				j++
				continue
			}
			if c != '\r' && c != '\n' {
				lx.scratch = append(lx.scratch, c)
			}
		}
		seg.raw = lx.scratch
		lx.split(seg)
		seg.lineBreaks = true
	}
	return true
}

// split cuts seg.raw into elements and components and notes release
// characters, line breaks and non-ASCII bytes. Of an element with
// repetitions only the first repetition is kept.
func (lx *lexer) split(seg *segment) {
	seg.elems = seg.elems[:0]
	seg.comps = seg.comps[:0]
	seg.escaped, seg.nonASCII, seg.lineBreaks = false, false, false
	raw := seg.raw
	class := &lx.class
	elemStart := int32(0)
	compStart := int32(0)
	skipping := false // inside a second or later repetition
	for i := 0; i < len(raw); i++ {
		k := class[raw[i]]
		if k == cData {
			continue
		}
		switch k {
		case cRelease:
			seg.escaped = true
			i++
			if i < len(raw) && raw[i] >= 0x80 {
				seg.nonASCII = true
			}
		case cElement:
			if !skipping {
				seg.comps = append(seg.comps, span{compStart, int32(i)})
			}
			seg.elems = append(seg.elems, span{elemStart, int32(len(seg.comps))})
			elemStart = int32(len(seg.comps))
			compStart = int32(i + 1)
			skipping = false
		case cComponent:
			if !skipping {
				seg.comps = append(seg.comps, span{compStart, int32(i)})
				compStart = int32(i + 1)
			}
		case cRepetition:
			if !skipping {
				seg.comps = append(seg.comps, span{compStart, int32(i)})
				skipping = true
			}
		case cLineBreak:
			seg.lineBreaks = true
		case cNonASCII:
			seg.nonASCII = true
		}
	}
	if !skipping {
		end := int32(len(raw))
		if compStart > end {
			compStart = end
		}
		seg.comps = append(seg.comps, span{compStart, end})
	}
	seg.elems = append(seg.elems, span{elemStart, int32(len(seg.comps))})
}

// nElems is the number of elements, the tag included.
func (s *segment) nElems() int { return len(s.elems) }

// bytes returns component c (0-based) of element e (0 = the tag), still
// escaped, or nil.
func (s *segment) bytes(e, c int) []byte {
	if e >= len(s.elems) {
		return nil
	}
	el := s.elems[e]
	if c >= int(el.b-el.a) {
		return nil
	}
	sp := s.comps[int(el.a)+c]
	return s.raw[sp.a:sp.b]
}

// elemEmpty reports whether element e is absent or has only empty
// components.
func (s *segment) elemEmpty(e int) bool {
	if e >= len(s.elems) {
		return true
	}
	el := s.elems[e]
	for _, sp := range s.comps[el.a:el.b] {
		if sp.b > sp.a {
			return false
		}
	}
	return true
}

// is reports whether component c of element e equals v (no unescaping:
// meant for qualifiers).
func (s *segment) is(e, c int, v string) bool {
	return string(s.bytes(e, c)) == v
}

// text returns the segment for a warning: at most 80 bytes, valid UTF-8,
// control characters shown as '.'.
func (s *segment) text() string {
	return shorten(s.raw, 80)
}

func shorten(raw []byte, max int) string {
	cut := false
	if len(raw) > max {
		raw, cut = raw[:max], true
	}
	b := make([]byte, 0, len(raw)+4)
	for len(raw) > 0 {
		r, n := utf8.DecodeRune(raw)
		switch {
		case r == utf8.RuneError && n <= 1:
			b = append(b, "\uFFFD"...)
		case r < 0x20 || r == 0x7f:
			b = append(b, '.')
		default:
			b = append(b, raw[:n]...)
		}
		raw = raw[n:]
	}
	if cut {
		b = append(b, "…"...)
	}
	return string(b)
}
