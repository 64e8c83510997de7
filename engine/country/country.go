// Package country resolves country codes and names, as lists and travel
// documents print them, to ISO 3166-1 alpha-3 codes.
//
// Alpha3 accepts alpha-3 and alpha-2 codes, English short and formal names
// with the variants the UN Security Council list and OFAC use ("Iran
// (Islamic Republic of)", "Korea, North", "Congo, Democratic Republic of
// the"), the ICAO Doc 9303 special codes (D, GBD…GBS, UNO/UNA/UNK,
// XXA/XXB/XXC/XXX) and the user-assigned code XKX for Kosovo.
package country

import (
	"strings"
	"unicode"
)

// info is one resolvable code.
type info struct {
	alpha2 string
	alpha3 string
	name   string
}

var (
	byKey     map[string]string // normalised code or name -> alpha-3
	byAlpha3  map[string]info
	conflicts []string // keys given to two codes; a table bug, checked by tests
)

func init() {
	byKey = make(map[string]string, 1024)
	byAlpha3 = make(map[string]info, 300)
	add := func(k, a3 string) {
		k = key(k)
		if k == "" {
			return
		}
		if old, ok := byKey[k]; ok && old != a3 {
			conflicts = append(conflicts, k+": "+old+" and "+a3)
			return
		}
		byKey[k] = a3
	}
	eachRow(isoTable, func(a2, a3 string, all []string) {
		byAlpha3[a3] = info{alpha2: a2, alpha3: a3, name: all[0]}
		add(a3, a3)
		add(a2, a3)
		for _, n := range all {
			add(n, a3)
		}
	})
	eachRow(extraCodes, func(code, a3 string, all []string) {
		if _, ok := byAlpha3[a3]; !ok {
			byAlpha3[a3] = info{alpha3: a3, name: all[0]}
		}
		add(code, a3)
		if code == a3 {
			for _, n := range all {
				add(n, a3)
			}
		}
	})
}

// eachRow calls fn with the rows of a table, one a line: a code, the
// alpha-3 code it resolves to and its "|"-separated names.
func eachRow(table string, fn func(code, a3 string, names []string)) {
	for _, line := range strings.Split(table, "\n") {
		if line == "" {
			continue
		}
		code, rest, _ := strings.Cut(line, " ")
		a3, names, _ := strings.Cut(rest, " ")
		fn(code, a3, strings.Split(names, "|"))
	}
}

// Alpha3 returns the ISO 3166-1 alpha-3 code (or ICAO/user-assigned code,
// see the package comment) for a code or English country name. Matching
// ignores case, diacritics, surrounding punctuation and "<" fillers.
func Alpha3(s string) (string, bool) {
	if len(s) == 3 && isUpper(s) {
		if _, ok := byAlpha3[s]; ok {
			return s, true // fast path: already a code
		}
	}
	k := key(s)
	if k == "" {
		return "", false
	}
	a3, ok := byKey[k]
	return a3, ok
}

// Name returns the English short name for an alpha-3 code Alpha3 returns.
func Name(alpha3 string) (string, bool) {
	in, ok := byAlpha3[strings.ToUpper(strings.TrimSpace(alpha3))]
	return in.name, ok
}

// Alpha2 returns the ISO 3166-1 alpha-2 code for an alpha-3 code, or false
// for codes that have none (ICAO special codes).
func Alpha2(alpha3 string) (string, bool) {
	in, ok := byAlpha3[strings.ToUpper(strings.TrimSpace(alpha3))]
	return in.alpha2, ok && in.alpha2 != ""
}

// Count returns how many ISO 3166-1 countries the table holds (including
// the user-assigned XKX, Kosovo).
func Count() int {
	n := 0
	for _, in := range byAlpha3 {
		if in.alpha2 != "" {
			n++
		}
	}
	return n
}

// fold maps the Latin letters with diacritics found in country names to
// their plain forms.
var fold = strings.NewReplacer(
	"á", "a", "à", "a", "â", "a", "ä", "a", "ã", "a", "å", "a",
	"é", "e", "è", "e", "ê", "e", "ë", "e",
	"í", "i", "ì", "i", "î", "i", "ï", "i",
	"ó", "o", "ò", "o", "ô", "o", "ö", "o", "õ", "o",
	"ú", "u", "ù", "u", "û", "u", "ü", "u",
	"ç", "c", "ñ", "n", "ş", "s", "ğ", "g", "ı", "i",
)

// key normalises a code or name: lower case, no diacritics, apostrophes
// and dots dropped, every other non-alphanumeric run one space, trimmed.
func key(s string) string {
	s = fold.Replace(strings.ToLower(s))
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == '\'' || r == '’' || r == '‘' || r == '`' || r == '.':
			continue
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if space && b.Len() > 0 {
				b.WriteByte(' ')
			}
			space = false
			b.WriteRune(r)
		default:
			space = true
		}
	}
	return b.String()
}

func isUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}
