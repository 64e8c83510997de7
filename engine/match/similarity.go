package match

import "strings"

// jaroWinkler returns the Jaro-Winkler similarity of two upper-case ASCII
// words in [0,1]. Words longer than 64 bytes are compared on their first
// 64 bytes, which is ample for names.
func jaroWinkler(a, b string) float64 {
	if a == b {
		return 1
	}
	a, b = clip(a, 64), clip(b, 64)
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	window := max(la, lb)/2 - 1
	if window < 0 {
		window = 0
	}
	var ma, mb [64]bool
	matches := 0
	for i := 0; i < la; i++ {
		lo, hi := max(0, i-window), min(lb, i+window+1)
		for j := lo; j < hi; j++ {
			if !mb[j] && a[i] == b[j] {
				ma[i], mb[j] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}
	transpositions, j := 0, 0
	for i := 0; i < la; i++ {
		if !ma[i] {
			continue
		}
		for !mb[j] {
			j++
		}
		if a[i] != b[j] {
			transpositions++
		}
		j++
	}
	m := float64(matches)
	jaro := (m/float64(la) + m/float64(lb) + (m-float64(transpositions)/2)/m) / 3
	prefix := 0
	for prefix < 4 && prefix < la && prefix < lb && a[prefix] == b[prefix] {
		prefix++
	}
	return jaro + float64(prefix)*0.1*(1-jaro)
}

// withinOneEdit reports whether a and b differ by at most one insertion,
// deletion, substitution or transposition of adjacent letters.
func withinOneEdit(a, b string) bool {
	la, lb := len(a), len(b)
	if la > lb {
		a, b, la, lb = b, a, lb, la
	}
	if lb-la > 1 {
		return false
	}
	i := 0
	for i < la && a[i] == b[i] {
		i++
	}
	if i == la {
		return true // equal, or b has one extra letter at the end
	}
	if la == lb {
		if a[i+1:] == b[i+1:] {
			return true // substitution
		}
		return i+1 < la && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:] // transposition
	}
	return a[i:] == b[i+1:] // insertion in b
}

func isVowel(c byte) bool {
	switch c {
	case 'A', 'E', 'I', 'O', 'U', 'Y':
		return true
	}
	return false
}

// Costs of the spelling distance. Transliterations and keying errors
// change vowels, double or undouble letters, add or drop an H (KH/K,
// SH/S) and swap letters of one sound class far more often than they
// replace one consonant by an unrelated one.
const (
	costVowel   = 0.4 // one vowel for another (Y counts as a vowel)
	costClass   = 0.6 // one letter for another of its sound class (C/K/Q/G, S/Z/C, V/W, I/J/Y, J/Z, D/T, B/P/F, G/H, U/V, C/J, F/V, U/W)
	costOther   = 1.0 // any other replacement, insertion or deletion
	costInsVow  = 0.5 // an inserted or deleted vowel or H
	costDouble  = 0.3 // a letter doubled or undoubled
	costSwap    = 0.8 // two adjacent letters swapped
	costInitial = 0.6 // added when the first letters differ and are not of one class
)

// soundClass groups letters that transliterations exchange; 0 is none.
var soundClass = [26]byte{
	'C' - 'A': 1, 'K' - 'A': 1, 'Q' - 'A': 1, 'G' - 'A': 1,
	'S' - 'A': 2, 'Z' - 'A': 2,
	'V' - 'A': 3, 'W' - 'A': 3,
	'J' - 'A': 4,
	'D' - 'A': 5, 'T' - 'A': 5,
	'B' - 'A': 6, 'P' - 'A': 6, 'F' - 'A': 6,
}

func subCost(x, y byte) float64 {
	if x == y {
		return 0
	}
	if isVowel(x) && isVowel(y) {
		return costVowel
	}
	if x < 'A' || x > 'Z' || y < 'A' || y > 'Z' {
		return costOther
	}
	cx, cy := soundClass[x-'A'], soundClass[y-'A']
	switch {
	case cx != 0 && cx == cy,
		(x == 'C' && y == 'S') || (x == 'S' && y == 'C'),
		(x == 'I' || x == 'Y') && y == 'J', (y == 'I' || y == 'Y') && x == 'J',
		(x == 'J' && y == 'Z') || (x == 'Z' && y == 'J'),
		(x == 'G' && y == 'H') || (x == 'H' && y == 'G'), // Ukrainian, Belarusian (HRYHORY, GRIGORY)
		(x == 'U' && y == 'V') || (x == 'V' && y == 'U'), // Belarusian (ULADZIMIR, VLADIMIR)
		(x == 'C' && y == 'J') || (x == 'J' && y == 'C'), // Korean (CHONG, JONG), with the H of CH inserted
		(x == 'F' && y == 'V') || (x == 'V' && y == 'F'), // Arabic, Persian (FLADIMIR, VLADIMIR)
		(x == 'W' && y == 'U') || (x == 'U' && y == 'W'):
		return costClass
	}
	return costOther
}

// indelCost is the cost of inserting or deleting s[i] in s.
func indelCost(s string, i int) float64 {
	c := s[i]
	switch {
	case (i > 0 && s[i-1] == c) || (i+1 < len(s) && s[i+1] == c):
		return costDouble
	case isVowel(c) || c == 'H', digraphHead(s, i):
		return costInsVow
	}
	return costOther
}

// digraphHead reports whether s[i] is the silent first letter of a
// digraph that transliterations write with or without it: DJ/J, DZ/Z,
// TS/S, TZ/Z, the C of SCH.
func digraphHead(s string, i int) bool {
	if i+1 >= len(s) {
		return false
	}
	switch c, n := s[i], s[i+1]; {
	case c == 'D' && (n == 'J' || n == 'Z'), c == 'T' && (n == 'S' || n == 'Z'):
		return true
	case c == 'C' && n == 'H' && i > 0 && s[i-1] == 'S':
		return true
	}
	return false
}

// spellingCloseness is 1 minus a weighted Damerau-Levenshtein distance of
// two upper-case words divided by the longer one's length: 1 for equal
// words, about 0.9 for a vowel or doubling difference in a long word, 0.6
// for names that share little more than their letters. Words are
// compared on their first 32 bytes.
func spellingCloseness(a, b string) float64 {
	if a == b {
		return 1
	}
	// X is written KS as often as X (ALEXANDER, ALEKSANDR).
	if strings.IndexByte(a, 'X') >= 0 {
		a = strings.ReplaceAll(a, "X", "KS")
	}
	if strings.IndexByte(b, 'X') >= 0 {
		b = strings.ReplaceAll(b, "X", "KS")
	}
	// Persian and Arabic qaf is written Q or GH (SADEQ, SADEGH; BAQERI,
	// BAGHERI): one letter for another, not a letter more.
	extra := 0.0
	if a, b, extra = qafAsGH(a, b); extra == 0 {
		b, a, extra = qafAsGH(b, a)
	}
	a, b = clip(a, 32), clip(b, 32)
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		return 0
	}
	var rows [3][33]float64
	prev2, prev, cur := &rows[0], &rows[1], &rows[2]
	for j := 1; j <= lb; j++ {
		prev[j] = prev[j-1] + indelCost(b, j-1)
	}
	for i := 1; i <= la; i++ {
		cur[0] = prev[0] + indelCost(a, i-1)
		for j := 1; j <= lb; j++ {
			d := min(prev[j]+indelCost(a, i-1), cur[j-1]+indelCost(b, j-1), prev[j-1]+subCost(a[i-1], b[j-1]))
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] && a[i-1] != a[i-2] {
				d = min(d, prev2[j-2]+costSwap)
			}
			cur[j] = d
		}
		prev2, prev, cur = prev, cur, prev2
	}
	d := prev[lb] + extra
	if a[0] != b[0] && subCost(a[0], b[0]) == costOther && !digraphHead(a, 0) && !digraphHead(b, 0) && !(a[1%la] == 'H' || b[1%lb] == 'H') {
		d += costInitial
	}
	return max(0, 1-d/float64(max(la, lb)))
}

// qafAsGH rewrites b's GH as Q when a writes Q and b does not, and
// returns what that one respelling costs (0 when there was none).
func qafAsGH(a, b string) (string, string, float64) {
	if strings.IndexByte(a, 'Q') < 0 || strings.IndexByte(b, 'Q') >= 0 || !strings.Contains(b, "GH") {
		return a, b, 0
	}
	return a, strings.ReplaceAll(b, "GH", "Q"), costDouble
}

// clip returns s cut to at most n bytes.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
