package normalize

import "unicode/utf8"

// Skeleton returns a transliteration-insensitive consonant key for one
// upper-case Latin token, so that the usual spellings of one name share a
// key: MOHAMMED, MUHAMMAD, MOHAMAD, MEHMET → MHMD; HUSSEIN, HUSAYN,
// HOSSEIN → HSN; YUSUF, YOUSSEF, YOSEF → SF; QADHAFI, GADDAFI, KADAFI,
// GHADDAFI → KDF; and Latin() of the Arabic spelling gives the same key.
//
// Rules, applied left to right:
//
//  1. Digraphs: PH→F, TH→T, DH→D, KH→K, GH→K, SH→S, SCH→S, ZH→J, DJ→J,
//     DZ/DZH→J, TS/TZ/TSH/TCH/TSCH→S, CK→K; CH→K before a consonant
//     (CHRISTOS) and S otherwise (French CHERIF = SHARIF, Russian Ч).
//  2. Letters: Q, G, K and hard C → K; C before E, I, Y → S; X → KS;
//     Z → S; W → V at the start of the token, a vowel elsewhere.
//  3. Vowels A E I O U and Y are dropped; H is kept (AHMED → HMD) except
//     at the very end of the token (ABDULLAH = ABDULLA → BDL).
//  4. Runs of the same consonant collapse, also across dropped vowels
//     (MAMDOUH = ممدوح → MD), because Arabic script omits short vowels.
//  5. A token-final T becomes D (MEHMET = MEHMED, AHMET = AHMED): final
//     devoicing in Turkish and Slavic spellings.
//  6. Digits are kept as they are. An empty result becomes the token's
//     first letter (AI → A).
//
// Skeleton upper-cases ASCII letters itself and ignores any other byte.
func Skeleton(tok string) string {
	var buf [32]byte
	out := buf[:0]
	var first, last byte // first letter of tok; last byte of out
	lastH, lastT := false, false
	for i := 0; i < len(tok); {
		c := tok[i]
		k := skelClass[c]
		if k == skelSkip {
			i++
			continue
		}
		c = upperASCII(c)
		if first == 0 {
			first = c
		}
		var k2 byte
		adv := 1
		if k == skelSpecial {
			k, k2, adv = phoneme(tok, i, c)
		}
		i += adv
		lastH = c == 'H'
		lastT = k == 'T'
		if k <= skelVowel {
			continue
		}
		if k != last || k <= '9' { // digits never collapse
			out = append(out, k)
			last = k
		}
		if k2 != 0 && k2 != last {
			out = append(out, k2)
			last = k2
		}
	}
	n := len(out)
	if lastH && n > 0 && out[n-1] == 'H' {
		n--
	}
	if lastT && n > 0 && out[n-1] == 'T' {
		if n > 1 && out[n-2] == 'D' {
			n--
		} else {
			out[n-1] = 'D'
		}
	}
	if n == 0 {
		if first == 0 {
			return ""
		}
		return asciiLetter[first-'0' : first-'0'+1]
	}
	return string(out[:n])
}

// Skeleton classes of a byte; any other value is the consonant code.
const (
	skelSkip    = 0 // not a letter or digit
	skelVowel   = 1
	skelSpecial = 2 // may start a digraph: see phoneme
)

var skelClass = func() (t [256]byte) {
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c)
	}
	for c := 'A'; c <= 'Z'; c++ {
		var k byte
		switch c {
		case 'A', 'E', 'I', 'O', 'U', 'Y':
			k = skelVowel
		case 'P', 'T', 'D', 'K', 'G', 'C', 'S', 'Z', 'X', 'W':
			k = skelSpecial
		case 'Q':
			k = 'K'
		default:
			k = byte(c)
		}
		t[c] = k
		t[c+'a'-'A'] = k
	}
	return t
}()

// phoneme classifies the letter c at tok[i]: k and k2 are its consonant
// codes (0 for a vowel) and adv how many bytes it spans.
func phoneme(tok string, i int, c byte) (k, k2 byte, adv int) {
	n1 := at(tok, i+1)
	switch c {
	case 'A', 'E', 'I', 'O', 'U', 'Y':
		return 0, 0, 1
	case 'W':
		if i == 0 {
			return 'V', 0, 1
		}
		return 0, 0, 1
	case 'P':
		if n1 == 'H' {
			return 'F', 0, 2
		}
	case 'T':
		switch n1 {
		case 'H':
			return 'T', 0, 2
		case 'S', 'Z':
			if at(tok, i+2) == 'C' && at(tok, i+3) == 'H' {
				return 'S', 0, 4
			}
			if at(tok, i+2) == 'H' {
				return 'S', 0, 3
			}
			return 'S', 0, 2
		case 'C':
			if at(tok, i+2) == 'H' {
				return 'S', 0, 3
			}
		}
	case 'D':
		switch n1 {
		case 'H':
			return 'D', 0, 2
		case 'J':
			return 'J', 0, 2
		case 'Z':
			if at(tok, i+2) == 'H' {
				return 'J', 0, 3
			}
			return 'J', 0, 2
		}
	case 'K', 'G':
		if n1 == 'H' {
			return 'K', 0, 2
		}
		return 'K', 0, 1
	case 'Q':
		return 'K', 0, 1
	case 'C':
		switch n1 {
		case 'H':
			if isConsonant(at(tok, i+2)) {
				return 'K', 0, 2
			}
			return 'S', 0, 2
		case 'K':
			return 'K', 0, 2
		case 'E', 'I', 'Y':
			return 'S', 0, 1
		}
		return 'K', 0, 1
	case 'S':
		if n1 == 'H' {
			return 'S', 0, 2
		}
		if n1 == 'C' && at(tok, i+2) == 'H' {
			return 'S', 0, 3
		}
	case 'Z':
		if n1 == 'H' {
			return 'J', 0, 2
		}
		return 'S', 0, 1
	case 'X':
		return 'K', 'S', 1
	}
	return c, 0, 1
}

func at(s string, i int) byte {
	if i < len(s) {
		return upperASCII(s[i])
	}
	return 0
}

func upperASCII(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// Deletes calls fn with every distinct string obtained by deleting one
// character (rune) of s, for typo-tolerant index keys (symmetric delete).
// Deleting either letter of a doubled pair gives the same string, so it
// is reported once.
func Deletes(s string, fn func(string)) {
	prev := rune(-1)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r != prev {
			fn(s[:i] + s[i+size:])
		}
		prev = r
		i += size
	}
}
