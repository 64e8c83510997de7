package normalize

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Latin transliterates a name written in any script to upper-case Latin:
// letters A–Z, digits 0–9 and single spaces between words, with no leading
// or trailing space.
//
//   - Ordinary diacritics are dropped (NFKD without combining marks: É→E).
//   - ICAO Doc 9303 Part 3 special letters: Ä→AE, Ö→OE, Ü→UE, Å→AA, Æ→AE,
//     Ø→OE, Œ→OE, ß→SS, Þ→TH, Ð/Đ→D, Ł→L, Ĳ→IJ, ı→I.
//   - Cyrillic and Greek follow ICAO Doc 9303 (Greek ΟΥ→OU).
//   - Arabic, Persian and Urdu are rendered as consonants with the long
//     vowels alef→A, waw→W/U and yeh→Y/I; short vowels are not written.
//     A word-initial article ال becomes "AL " and the words بن, ابن, بنت,
//     ابو, عبد, الله are spelled BIN, IBN, BINT, ABU, ABD, ALLAH.
//   - Hebrew is rendered with a basic consonant table.
//   - Apostrophes (' ` ’ ʼ ʻ …) are removed without a break (O'NEILL →
//     ONEILL); any other punctuation, symbol or space is a word break.
//   - Letters of other scripts (CJK, Indic, Hangul…) break words and are
//     otherwise dropped.
//
// Latin is idempotent. On ASCII input it uses no Unicode tables; an input
// that is already normalised is returned as is.
func Latin(s string) string {
	// One pass decides both "is ASCII" and "is already normalised".
	canonical := true
	space := true // the previous byte was a space, or we are at the start
	for i := 0; i < len(s); i++ {
		switch asciiKind[s[i]] {
		case kindAlnum:
			space = false
		case kindSpace:
			canonical = canonical && !space
			space = true
		case kindOther:
			canonical = false
		default:
			return latinUnicode(s, false)
		}
	}
	if canonical && (!space || s == "") {
		return s
	}
	return latinASCII(s)
}

// Kinds of bytes for the already-normalised check.
const (
	kindAlnum   = iota // A–Z, 0–9
	kindSpace          // ' '
	kindOther          // any other ASCII byte
	kindUnicode        // a byte of a multi-byte UTF-8 sequence
)

var asciiKind = func() (t [256]byte) {
	for c := range t {
		switch {
		case c >= utf8.RuneSelf:
			t[c] = kindUnicode
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			t[c] = kindAlnum
		case c == ' ':
			t[c] = kindSpace
		default:
			t[c] = kindOther
		}
	}
	return t
}()

// latinASCII normalises an ASCII string.
func latinASCII(s string) string {
	var arr [128]byte // names fit; longer input spills to the heap
	out := arr[:0]
	sep := false
	for i := 0; i < len(s); i++ {
		switch c := asciiClass[s[i]]; c {
		case 0:
		case ' ':
			sep = true
		default:
			if sep && len(out) > 0 {
				out = append(out, ' ')
			}
			sep = false
			out = append(out, c)
		}
	}
	return string(out)
}

// writer accumulates Latin output, collapsing word breaks.
type writer struct {
	b      strings.Builder
	sep    bool // a word break is pending
	greekO bool // the last letter written was a Greek omicron
}

// letters writes an output fragment made of A–Z and 0–9.
func (w *writer) letters(v string) {
	if w.sep {
		if w.b.Len() > 0 {
			w.b.WriteByte(' ')
		}
		w.sep = false
	}
	w.b.WriteString(v)
	w.greekO = false
}

// brk records a word break.
func (w *writer) brk() {
	w.sep = true
	w.greekO = false
}

// atWordStart reports whether the next letter starts a word.
func (w *writer) atWordStart() bool { return w.sep || w.b.Len() == 0 }

// latinUnicode is Latin for input that is not pure ASCII. composed is set
// once the input has been through NFKC.
func latinUnicode(s string, composed bool) string {
	var w writer
	w.b.Grow(len(s)) // enough unless many letters expand (Щ → SHCH)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r < utf8.RuneSelf:
			w.ascii(byte(r))
		case isArabicLetter(r):
			i = w.arabicWord(s, i)
			continue
		case !composed && needsCompose(r):
			// A decomposed Ä (A + U+0308) must still give AE, and Arabic
			// presentation forms must join their words: compose once.
			return latinUnicode(norm.NFKC.String(s), true)
		case r == '\u00B7' && w.catalanL(s[i+size:]):
			// Catalan l·l: the middle dot belongs to the word.
		case r == 'ו' || r == 'י':
			w.hebrewVavYod(r)
		default:
			if v := lookup(r); v != "" {
				w.table(r, v)
			} else if d := norm.NFKD.PropertiesString(s[i:]).Decomposition(); d != nil {
				for j := 0; j < len(d); {
					rr, n := utf8.DecodeRune(d[j:])
					w.base(rr)
					j += n
				}
			} else {
				w.other(r)
			}
		}
		i += size
	}
	return w.b.String()
}

// base writes one rune that is already fully decomposed.
func (w *writer) base(r rune) {
	if r < utf8.RuneSelf {
		w.ascii(byte(r))
		return
	}
	if v := lookup(r); v != "" {
		w.table(r, v)
		return
	}
	w.other(r)
}

func (w *writer) ascii(c byte) {
	switch c = asciiClass[c]; c {
	case 0:
	case ' ':
		w.brk()
	default:
		w.letters(asciiLetter[c-'0' : c-'0'+1])
	}
}

// asciiLetter holds every output byte so that letters can take a
// one-byte string without allocating.
const asciiLetter = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// table writes the table value v of r.
func (w *writer) table(r rune, v string) {
	switch {
	case v == silent:
	case (r == 'Υ' || r == 'υ') && w.greekO:
		w.letters("U") // ΟΥ → OU
	case r == 'Ο' || r == 'ο':
		w.letters(v)
		w.greekO = true
	default:
		w.letters(v)
	}
}

// other writes a rune with no table entry and no decomposition.
func (w *writer) other(r rune) {
	switch {
	case unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc, unicode.Cf):
		// Combining marks and invisible format characters (ZWNJ, soft
		// hyphen, bidi marks) vanish without breaking the word.
	case unicode.IsDigit(r):
		w.letters(asciiLetter[digitValue(r) : digitValue(r)+1])
	default:
		// Punctuation, symbols, spaces and letters of scripts we do
		// not transliterate all break the word.
		w.brk()
	}
}

// digitValue returns the value of a decimal digit of any script. Unicode
// encodes each script's digits 0–9 as one contiguous run.
func digitValue(r rune) int {
	z := r
	for z > 0 && unicode.IsDigit(z-1) {
		z--
	}
	return int(r-z) % 10
}

// needsCompose reports runes whose meaning depends on composition: the
// combining diaeresis and ring (A + U+0308 is Ä → AE) and Arabic
// presentation forms.
func needsCompose(r rune) bool {
	return r == '\u0308' || r == '\u030A' ||
		(r >= 0xFB50 && r <= 0xFDFF) || (r >= 0xFE70 && r <= 0xFEFF)
}

// catalanL reports whether a middle dot sits in a Catalan "l·l".
func (w *writer) catalanL(rest string) bool {
	n := w.b.Len()
	if w.sep || n == 0 || w.b.String()[n-1] != 'L' {
		return false
	}
	return strings.HasPrefix(rest, "l") || strings.HasPrefix(rest, "L")
}

// hebrewVavYod writes vav and yod: consonants (V, Y) at the start of a
// word, vowels (O, I) inside it.
func (w *writer) hebrewVavYod(r rune) {
	start := w.atWordStart()
	switch {
	case r == 'ו' && start:
		w.letters("V")
	case r == 'ו':
		w.letters("O")
	case start:
		w.letters("Y")
	default:
		w.letters("I")
	}
}
