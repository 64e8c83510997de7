package accuracy

import (
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/normalize"
)

// name is a person's name words by role, upper case as printed.
type name struct{ given, family []string }

func (n *name) words() []*string {
	var out []*string
	for i := range n.given {
		out = append(out, &n.given[i])
	}
	for i := range n.family {
		out = append(out, &n.family[i])
	}
	return out
}

// A word change changes one or two words of a name in place and reports
// whether it could.
type wordChange struct {
	kind   string
	weight int
	apply  func(r *rand.Rand, n *name) bool
}

var wordChanges = []wordChange{
	{"typo", 18, typo},
	{"transposition", 10, transpose},
	{"respelling", 24, respell},
	{"dropped-middle", 12, dropMiddle},
	{"joined", 6, join},
}

// perturb makes a traveller's query from a listed person's name: one or
// two word changes written as a passport or as one name, or the family
// name first, or MRZ folding, each possibly with a word change. It
// returns the query and the changes made.
func perturb(r *rand.Rand, given, family []string) (engine.Query, string, bool) {
	n := name{slices.Clone(given), slices.Clone(family)}
	var kinds []string
	change := func() bool {
		total := 0
		for _, c := range wordChanges {
			total += c.weight
		}
		for range 8 {
			x := r.IntN(total)
			for _, c := range wordChanges {
				if x -= c.weight; x < 0 {
					if c.apply(r, &n) {
						kinds = append(kinds, c.kind)
						return true
					}
					break
				}
			}
		}
		return false
	}
	form := "fields"
	switch x := r.IntN(100); {
	case x < 15:
		form = "family-first"
		if r.IntN(100) < 35 {
			change()
		}
	case x < 30:
		form = "mrz"
		if r.IntN(100) < 35 {
			change()
		}
	default:
		if !change() {
			return engine.Query{}, "", false
		}
		if r.IntN(100) < 20 {
			change()
		}
		if r.IntN(100) < 55 {
			form = "given-first"
		}
	}
	kinds = append(kinds, form)
	gs, fs := strings.Join(n.given, " "), strings.Join(n.family, " ")
	var q engine.Query
	switch form {
	case "fields":
		q = engine.Query{Surname: fs, GivenNames: gs}
	case "given-first":
		q = engine.Query{Name: gs + " " + fs}
	case "family-first":
		q = engine.Query{Name: fs + " " + gs}
	case "mrz":
		q = mrzFold(r, n)
	}
	return q, strings.Join(kinds, "+"), true
}

// mrzFold writes the name as a machine-readable zone does: letters only,
// SURNAME<<GIVEN<NAMES in a field of 39 characters (passport) or 30
// (identity card), cut when longer; the query then says it filled the field.
func mrzFold(r *rand.Rand, n name) engine.Query {
	fold := func(ws []string) string {
		return strings.ReplaceAll(normalize.Latin(strings.Join(ws, " ")), " ", "<")
	}
	width := 39
	if r.IntN(100) < 40 {
		width = 30
	}
	field := fold(n.family) + "<<" + fold(n.given)
	full := len(field) >= width
	if len(field) > width {
		field = field[:width]
	}
	sur, giv, _ := strings.Cut(field, "<<")
	unfill := func(s string) string { return strings.TrimSpace(strings.ReplaceAll(s, "<", " ")) }
	return engine.Query{Surname: unfill(sur), GivenNames: unfill(giv), NameTruncated: full}
}

// letterWord picks a word of at least min letters.
func letterWord(r *rand.Rand, n *name, min int) *string {
	var ws []*string
	for _, w := range n.words() {
		if len(*w) >= min && isLetters(*w) {
			ws = append(ws, w)
		}
	}
	if len(ws) == 0 {
		return nil
	}
	return ws[r.IntN(len(ws))]
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// typo makes one keying error past the first letter: a wrong, missing or
// doubled letter.
func typo(r *rand.Rand, n *name) bool {
	w := letterWord(r, n, 4)
	if w == nil {
		return false
	}
	b := []byte(*w)
	k := 1 + r.IntN(len(b)-1)
	switch r.IntN(3) {
	case 0:
		c := byte('A' + r.IntN(26))
		if c == b[k] {
			c = 'A' + (c-'A'+1)%26
		}
		b[k] = c
	case 1:
		b = append(b[:k], b[k+1:]...)
	default:
		b = append(b[:k+1], b[k:]...)
	}
	*w = string(b)
	return true
}

// transpose swaps two different adjacent letters past the first.
func transpose(r *rand.Rand, n *name) bool {
	w := letterWord(r, n, 4)
	if w == nil {
		return false
	}
	b := []byte(*w)
	var at []int
	for k := 1; k+1 < len(b); k++ {
		if b[k] != b[k+1] {
			at = append(at, k)
		}
	}
	if len(at) == 0 {
		return false
	}
	k := at[r.IntN(len(at))]
	b[k], b[k+1] = b[k+1], b[k]
	*w = string(b)
	return true
}

// dropMiddle leaves out a given name other than the first.
func dropMiddle(r *rand.Rand, n *name) bool {
	if len(n.given) < 2 {
		return false
	}
	i := 1 + r.IntN(len(n.given)-1)
	n.given = slices.Delete(n.given, i, i+1)
	return true
}

// join writes a hyphenated word, or a particle and the word after it, as
// one word (AGHA-JANI → AGHAJANI, ABDUL RAHMAN → ABDULRAHMAN).
func join(r *rand.Rand, n *name) bool {
	type spot struct {
		ws *[]string
		i  int // word index; -1 marks a hyphen inside word i2
		i2 int
	}
	var spots []spot
	for _, ws := range []*[]string{&n.given, &n.family} {
		for i, w := range *ws {
			if strings.Contains(w, "-") {
				spots = append(spots, spot{ws, -1, i})
			}
			if i+1 < len(*ws) && glueable[w] {
				spots = append(spots, spot{ws, i, i + 1})
			}
		}
	}
	if len(spots) == 0 {
		return false
	}
	s := spots[r.IntN(len(spots))]
	ws := *s.ws
	if s.i < 0 {
		ws[s.i2] = strings.ReplaceAll(ws[s.i2], "-", "")
		return true
	}
	ws[s.i] += ws[s.i2]
	*s.ws = slices.Delete(ws, s.i2, s.i2+1)
	return true
}

var glueable = map[string]bool{"AL": true, "EL": true, "ABDUL": true, "ABDEL": true, "ABU": true, "BIN": true, "BEN": true, "UL": true, "ABD": true}

// respelling is a transliteration alternation: from becomes to, past the
// first letter when inner.
type respelling struct {
	from, to string
	inner    bool
}

var respellings = []respelling{
	{"OU", "U", false}, {"U", "OU", true}, {"EE", "I", true}, {"I", "EE", true},
	{"Y", "I", true}, {"I", "Y", true}, {"J", "DJ", false}, {"DJ", "J", false},
	{"SH", "SCH", false}, {"SH", "CH", false}, {"CH", "SH", false}, {"KH", "CH", false},
	{"Q", "K", false}, {"K", "Q", true}, {"Q", "G", false}, {"PH", "F", false}, {"F", "PH", true},
	{"W", "V", false}, {"V", "W", false}, {"X", "KS", true}, {"KS", "X", true},
	{"E", "A", true}, {"A", "E", true}, {"O", "U", true}, {"U", "O", true}, {"E", "I", true}, {"I", "E", true},
	{"IA", "IYA", true}, {"IY", "I", true}, {"AI", "AY", true}, {"AY", "AI", true}, {"EI", "EY", true},
	{"DH", "D", true}, {"TH", "T", false}, {"GH", "G", true}, {"Z", "S", true}, {"C", "K", false}, {"K", "C", true},
	{"SS", "S", true}, {"LL", "L", true}, {"MM", "M", true}, {"NN", "N", true}, {"S", "SS", true}, {"L", "LL", true}, {"M", "MM", true},
}

// wordForms are the usual spellings of very common names; respell
// prefers them when the name holds one.
var wordForms = [][]string{
	{"MOHAMMED", "MUHAMMAD", "MOHAMMAD", "MOHAMED", "MUHAMMED", "MOHAMAD", "MEHMET"},
	{"AHMED", "AHMAD", "AHMET"},
	{"HUSSEIN", "HUSSAIN", "HOSSEIN", "HUSAYN", "HUSEYIN"},
	{"HASSAN", "HASAN", "HACEN"},
	{"YUSUF", "YOUSSEF", "YOUSEF", "YOUSUF", "YOSEF"},
	{"ABDULLAH", "ABDALLAH", "ABDULLA", "ABDOULAYE"},
	{"OMAR", "UMAR", "OMER"},
	{"ALI", "ALY"},
	{"MUSTAFA", "MOSTAFA", "MUSTAPHA"},
	{"IBRAHIM", "EBRAHIM", "IBRAGIM"},
	{"KHALID", "KHALED", "HALID"},
	{"SERGEI", "SERGEY", "SERGIY"},
	{"ALEKSANDR", "ALEXANDER", "OLEKSANDR", "ALEKSANDER"},
}

// respell writes one word another usual way.
func respell(r *rand.Rand, n *name) bool {
	type spot struct {
		w    *string
		to   string
		from int // byte offset of the change; -1 for a whole word
		rule respelling
	}
	var spots, forms []spot
	for _, w := range n.words() {
		for _, fs := range wordForms {
			if i := slices.Index(fs, *w); i >= 0 {
				alt := fs[(i+1+r.IntN(len(fs)-1))%len(fs)]
				forms = append(forms, spot{w: w, to: alt, from: -1})
			}
		}
		for _, rl := range respellings {
			for k := 0; k+len(rl.from) <= len(*w); k++ {
				if (*w)[k:k+len(rl.from)] == rl.from && (!rl.inner || k > 0) {
					spots = append(spots, spot{w: w, from: k, rule: rl})
				}
			}
		}
	}
	if len(forms) > 0 && (len(spots) == 0 || r.IntN(2) == 0) {
		s := forms[r.IntN(len(forms))]
		*s.w = s.to
		return true
	}
	if len(spots) == 0 {
		return false
	}
	s := spots[r.IntN(len(spots))]
	w := *s.w
	*s.w = w[:s.from] + s.rule.to + w[s.from+len(s.rule.from):]
	return true
}
