package synth

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
)

// part is one name part with its spellings; forms[0] is the usual one.
type part struct {
	forms []string
}

// table is a list of parts with a Zipf-like choice: the part of rank k
// (from 0) has weight 1/(k+q)^s.
type table struct {
	parts []*part
	cum   []float64 // cumulative weights, cum[len-1] == 1
}

func newTable(parts []*part, s, q float64) table {
	t := table{parts: parts, cum: make([]float64, len(parts))}
	var sum float64
	for k := range parts {
		sum += 1 / math.Pow(float64(k)+q, s)
		t.cum[k] = sum
	}
	for k := range t.cum {
		t.cum[k] /= sum
	}
	return t
}

// index returns a rank drawn from the table's skewed distribution.
func (t *table) index(r *rand.Rand) int {
	u := r.Float64()
	lo, hi := 0, len(t.cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if t.cum[m] < u {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// weighted is a value with a relative weight.
type weighted struct {
	v string
	w int
}

// chooser picks values in proportion to their weights.
type chooser struct {
	vals []string
	cum  []int
}

func newChooser(ws []weighted) chooser {
	c := chooser{vals: make([]string, len(ws)), cum: make([]int, len(ws))}
	sum := 0
	for i, w := range ws {
		sum += w.w
		c.vals[i], c.cum[i] = w.v, sum
	}
	return c
}

func (c *chooser) pickN(x int) string { return c.vals[c.indexN(x)] }

// indexN maps any x ≥ 0 to the index of a value, in proportion to weights.
func (c *chooser) indexN(x int) int {
	x %= c.cum[len(c.cum)-1]
	lo, hi := 0, len(c.cum)-1
	for lo < hi {
		m := (lo + hi) / 2
		if c.cum[m] <= x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (c *chooser) pick(r *rand.Rand) string {
	return c.pickN(r.IntN(c.cum[len(c.cum)-1]))
}

// culture is a parsed cultureSpec.
type culture struct {
	cultureSpec
	male, female, sur table
	surF              []*part // female form of sur.parts[k] (patronymic cultures)
	patM, patF        []*part // patronymic from male.parts[k]
	nats              chooser
	nicks             []string            // free nicknames and honorifics
	nickFor           map[string][]string // given name → its diminutives
}

var (
	cultures      []*culture
	cultureChoice []int // cumulative culture weights
	programChoice chooser
	diasporaPick  chooser
	docStatePick  chooser
	// variants maps a spelling to all spellings of its part, for
	// perturbing names that are only known as strings (travellers).
	variants = map[string][]string{}
	shapes   = map[string]string{}
)

func init() {
	sum := 0
	for i := range cultureSpecs {
		c := buildCulture(cultureSpecs[i])
		cultures = append(cultures, c)
		sum += c.weight
		cultureChoice = append(cultureChoice, sum)
	}
	programChoice = newChooser(programs)
	diasporaPick = newChooser(diaspora)
	docStatePick = newChooser(documentStates)
	for k, v := range passportShapes {
		shapes[k] = widen(v)
	}
	shapes[""] = widen(defaultShape)
}

// widen appends digits to a shape until it has room for MaxDocuments
// distinct numbers.
func widen(shape string) string {
	for shapeCap(shape) < MaxDocuments {
		shape += "d"
	}
	return shape
}

func buildCulture(s cultureSpec) *culture {
	c := &culture{cultureSpec: s}
	male, stems := parseParts(s.male, s.style)
	female, _ := parseParts(s.female, s.style)
	sur, _ := parseParts(s.surnames, s.style)
	// Given names: a strong head (MOHAMMED, JOSE, JAMES); surnames: a
	// head strong enough that the commonest is far above the tail.
	c.male = newTable(male, 1.05, 1.6)
	c.female = newTable(female, 1.0, 1.8)
	c.sur = newTable(sur, 1.0, 1.5)
	if s.style == styleChinese || s.style == styleKorean {
		c.sur = newTable(sur, 1.15, 1.1)
	}
	if s.style == styleRussian || s.style == styleUkrainian {
		ukr := s.style == styleUkrainian
		for k, p := range male {
			m, f := patronymics(p.forms[0], stems[k], ukr)
			c.patM = append(c.patM, m)
			c.patF = append(c.patF, f)
		}
		for _, p := range sur {
			c.surF = append(c.surF, femaleSurname(p))
		}
	}
	var nw []weighted
	for _, f := range strings.Fields(s.nats) {
		code, w, _ := strings.Cut(f, ":")
		n, _ := strconv.Atoi(w)
		nw = append(nw, weighted{code, n})
	}
	c.nats = newChooser(nw)
	for _, f := range strings.Fields(s.nick) {
		f = strings.ReplaceAll(f, "_", " ")
		if given, nick, ok := strings.Cut(f, ":"); ok {
			if c.nickFor == nil {
				c.nickFor = map[string][]string{}
			}
			c.nickFor[given] = append(c.nickFor[given], nick)
			continue
		}
		c.nicks = append(c.nicks, f)
	}
	return c
}

// parseParts reads a part list in the notation described in names.go. It
// returns the parts and, for each, the patronymic stem override or "".
func parseParts(spec string, st style) ([]*part, []string) {
	var parts []*part
	var stems []string
	for _, f := range strings.Fields(spec) {
		f, stem, _ := strings.Cut(f, ">")
		p := &part{}
		for _, form := range strings.Split(f, "/") {
			p.forms = addForm(p.forms, strings.ReplaceAll(form, "_", " "))
		}
		if st == styleArabic || st == styleWestern || st == styleSomali {
			for _, form := range p.forms {
				p.forms = arabicForms(p.forms, form)
			}
		}
		register(p)
		parts = append(parts, p)
		stems = append(stems, stem)
	}
	return parts, stems
}

func addForm(forms []string, f string) []string {
	for _, g := range forms {
		if g == f {
			return forms
		}
	}
	return append(forms, f)
}

func register(p *part) {
	if len(p.forms) < 2 {
		return
	}
	for _, f := range p.forms {
		if _, ok := variants[f]; !ok {
			variants[f] = p.forms
		}
	}
}

// arabicForms adds the usual transliterations of the article and of
// ABDUL compounds: AL-ZAHRANI, AL ZAHRANI, ALZAHRANI, EL-ZAHRANI,
// AZ-ZAHRANI; ABDUL RAHMAN, ABDULRAHMAN, ABDEL RAHMAN, ABD AL-RAHMAN.
func arabicForms(forms []string, f string) []string {
	if stem, ok := strings.CutPrefix(f, "AL-"); ok {
		forms = addForm(forms, "AL "+stem)
		forms = addForm(forms, "AL"+stem)
		forms = addForm(forms, "EL-"+stem)
		for _, sun := range []string{"SH", "TH", "DH", "T", "D", "R", "Z", "S", "N"} {
			if strings.HasPrefix(stem, sun) {
				forms = addForm(forms, "A"+sun+"-"+stem)
				break
			}
		}
	}
	if stem, ok := strings.CutPrefix(f, "ABDUL "); ok {
		forms = addForm(forms, "ABDUL"+stem)
		forms = addForm(forms, "ABDEL "+stem)
		forms = addForm(forms, "ABD AL-"+stem)
	}
	return forms
}

// patronymics builds the male and female patronymic parts from a father's
// name: SERGEY gives SERGEYEVICH / SERGEYEVNA, Ukrainian SERHIY gives
// SERHIYOVYCH / SERHIIVNA.
func patronymics(name, stem string, ukr bool) (*part, *part) {
	m, f := &part{}, &part{}
	switch {
	case ukr && stem != "":
		m.forms = []string{stem + "OVYCH"}
		f.forms = []string{stem + "IVNA"}
	case ukr && strings.HasSuffix(name, "IY"):
		b := name[:len(name)-1]
		m.forms = []string{b + "YOVYCH", b + "IOVYCH"}
		f.forms = []string{b + "IVNA", b + "YIVNA"}
	case ukr && strings.HasSuffix(name, "A"):
		m.forms = []string{name + "YOVYCH", name + "IOVYCH"}
		f.forms = []string{name + "IVNA", name + "YIVNA"}
	case ukr && strings.HasSuffix(name, "O"):
		b := name[:len(name)-1]
		m.forms = []string{b + "OVYCH"}
		f.forms = []string{b + "IVNA"}
	case ukr:
		m.forms = []string{name + "OVYCH"}
		f.forms = []string{name + "IVNA"}
	default:
		if stem == "" {
			if strings.HasSuffix(name, "Y") {
				stem = name + "EV"
			} else {
				stem = name + "OV"
			}
		}
		m.forms = []string{stem + "ICH"}
		f.forms = []string{stem + "NA"}
		// SERGEYEVICH / SERGEEVICH / SERGEIEVICH; DMITRIYEVICH / DMITRIEVICH.
		if i := strings.LastIndex(stem, "YEV"); i > 0 && i == len(stem)-3 {
			short := stem[:i]
			alt := short + "EV"
			if strings.HasSuffix(short, "I") {
				m.forms = append(m.forms, alt+"ICH")
				f.forms = append(f.forms, alt+"NA")
			} else {
				m.forms = append(m.forms, alt+"ICH", short+"IEVICH")
				f.forms = append(f.forms, alt+"NA", short+"IEVNA")
			}
		}
	}
	register(m)
	register(f)
	return m, f
}

// femaleSurname gives the feminine form of a Slavic surname: IVANOV →
// IVANOVA, ZHUKOVSKIY → ZHUKOVSKAYA; SHEVCHENKO and MELNYK do not change.
func femaleSurname(p *part) *part {
	q := &part{}
	for _, f := range p.forms {
		switch {
		case strings.HasSuffix(f, "SKIY"):
			q.forms = addForm(q.forms, f[:len(f)-4]+"SKAYA")
		case strings.HasSuffix(f, "SKYI"):
			q.forms = addForm(q.forms, f[:len(f)-4]+"SKA")
		case strings.HasSuffix(f, "SKY"):
			q.forms = addForm(q.forms, f[:len(f)-3]+"SKAYA")
		case strings.HasSuffix(f, "OV"), strings.HasSuffix(f, "EV"), strings.HasSuffix(f, "YOV"),
			strings.HasSuffix(f, "IN"), strings.HasSuffix(f, "YN"):
			q.forms = addForm(q.forms, f+"A")
		default:
			q.forms = addForm(q.forms, f)
		}
	}
	register(q)
	return q
}

// pickCulture draws a naming culture by weight.
func pickCulture(r *rand.Rand) *culture {
	x := r.IntN(cultureChoice[len(cultureChoice)-1])
	for i, c := range cultureChoice {
		if x < c {
			return cultures[i]
		}
	}
	return cultures[len(cultures)-1]
}

// shapeCap is how many distinct numbers a passport shape can print.
func shapeCap(shape string) uint64 {
	n := uint64(1)
	for i := 0; i < len(shape); i++ {
		switch shape[i] {
		case 'd':
			n *= 10
		case 'l':
			n *= 26
		case 'a':
			n *= 36
		}
	}
	return n
}

// shapeFor returns the passport shape of an issuing state.
func shapeFor(country string) string {
	if s, ok := shapes[country]; ok {
		return s
	}
	return shapes[""]
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// formatShape prints v (< shapeCap(shape)) in the shape, last position
// least significant.
func formatShape(shape string, v uint64) string {
	var buf [24]byte
	b := buf[:len(shape)]
	for i := len(shape) - 1; i >= 0; i-- {
		switch c := shape[i]; c {
		case 'd':
			b[i] = byte('0' + v%10)
			v /= 10
		case 'l':
			b[i] = byte('A' + v%26)
			v /= 26
		case 'a':
			b[i] = alnum[v%36]
			v /= 36
		default:
			b[i] = c
		}
	}
	return string(b)
}

// randomPassport prints a random passport number for a state.
func randomPassport(r *rand.Rand, country string) string {
	s := shapeFor(country)
	return formatShape(s, r.Uint64N(shapeCap(s)))
}

// mix64 is the SplitMix64 finaliser: a cheap bijective scrambler.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
