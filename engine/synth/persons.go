package synth

import (
	"math/rand/v2"
	"strconv"

	"github.com/watchpost/watchpost/engine"
)

// Salts keep the random streams of the generators apart for one seed.
const (
	personSalt    = 0x5045_5253_4f4e_5331 // "PERSONS1"
	travellerSalt = 0x5452_4156_454c_4c31 // "TRAVELL1"
	documentSalt  = 0x444f_4355_4d45_4e31 // "DOCUMEN1"
)

// word is one chosen name part in one of its spellings.
type word struct {
	p *part
	f uint8
}

func (w word) String() string { return w.p.forms[w.f] }

// person is a generated name before it is printed.
type person struct {
	c      *culture
	female bool
	given  []word // for Chinese and Korean: the syllables of the given name
	middle []word // middle names, father's and grandfather's names, patronymic
	sur    []word // family name(s)
	bin    bool   // Arabic BIN/BINT before the father's name
	join   byte   // Chinese/Korean given syllables: 0 joined, '-' or ' '
}

// pickForm chooses a spelling: mostly the usual one, sometimes a variant,
// so that a list holds MOHAMMED, MUHAMMAD and MOHAMED as real lists do.
func pickForm(r *rand.Rand, p *part) uint8 {
	if len(p.forms) == 1 || r.IntN(100) < 65 {
		return 0
	}
	return uint8(1 + r.IntN(len(p.forms)-1))
}

func pickWord(r *rand.Rand, t *table) word {
	p := t.parts[t.index(r)]
	return word{p, pickForm(r, p)}
}

// pickOther picks a word of t other than not (by part), trying a few times.
func pickOther(r *rand.Rand, t *table, not *part) word {
	for range 4 {
		if w := pickWord(r, t); w.p != not {
			return w
		}
	}
	p := t.parts[r.IntN(len(t.parts))]
	return word{p, pickForm(r, p)}
}

func (c *culture) givenTable(female bool) *table {
	if female {
		return &c.female
	}
	return &c.male
}

// genPerson draws a name from a random culture.
func genPerson(r *rand.Rand) person {
	c := pickCulture(r)
	p := person{c: c, female: r.Float64() < c.femaleRate}
	gt := c.givenTable(p.female)
	switch c.style {
	case styleArabic:
		p.given = []word{pickWord(r, gt)}
		if r.IntN(100) < 92 {
			p.middle = append(p.middle, pickWord(r, &c.male))
			p.bin = r.IntN(100) < 18
			if r.Float64() < c.middleRate {
				p.middle = append(p.middle, pickWord(r, &c.male))
			}
		}
		if len(p.middle) == 0 || r.IntN(100) < 62 {
			p.sur = []word{pickWord(r, &c.sur)}
		} else {
			p.sur = p.middle[len(p.middle)-1:]
			p.middle = p.middle[:len(p.middle)-1]
		}
	case styleRussian, styleUkrainian:
		p.given = []word{pickWord(r, gt)}
		if r.Float64() < c.middleRate {
			k := c.male.index(r)
			pat := c.patM[k]
			if p.female {
				pat = c.patF[k]
			}
			p.middle = []word{{pat, pickForm(r, pat)}}
		}
		k := c.sur.index(r)
		s := c.sur.parts[k]
		if p.female {
			s = c.surF[k]
		}
		p.sur = []word{{s, pickForm(r, s)}}
	case styleHispanic:
		p.given = []word{pickWord(r, gt)}
		if r.Float64() < c.middleRate {
			p.given = append(p.given, pickOther(r, gt, p.given[0].p))
		}
		p.sur = []word{pickWord(r, &c.sur)}
		if r.IntN(100) < 85 {
			p.sur = append(p.sur, pickOther(r, &c.sur, p.sur[0].p))
		}
	case styleChinese, styleKorean:
		p.sur = []word{pickWord(r, &c.sur)}
		p.given = []word{pickWord(r, gt)}
		if r.Float64() < c.middleRate {
			p.given = append(p.given, pickOther(r, gt, p.given[0].p))
		}
		switch x := r.IntN(100); {
		case c.style == styleChinese && x < 65, c.style == styleKorean && x < 30:
			p.join = 0
		case x < 80:
			p.join = '-'
		default:
			p.join = ' '
		}
	case styleSomali:
		p.given = []word{pickWord(r, gt)}
		if r.IntN(100) < 35 {
			if r.Float64() < c.middleRate/2 {
				p.middle = []word{pickWord(r, &c.male)}
			}
			p.sur = []word{pickWord(r, &c.sur)}
		} else {
			p.sur = []word{pickOther(r, &c.male, p.given[0].p)}
			if r.Float64() < c.middleRate {
				p.middle = p.sur
				p.sur = []word{pickWord(r, &c.male)}
			}
		}
	default:
		p.given = []word{pickWord(r, gt)}
		if r.Float64() < c.middleRate {
			p.middle = []word{pickOther(r, gt, p.given[0].p)}
		}
		p.sur = []word{pickWord(r, &c.sur)}
	}
	return p
}

// surnameFirst reports whether the culture prints the family name first.
func (p *person) surnameFirst() bool {
	return p.c.style == styleChinese || p.c.style == styleKorean
}

func appendWords(b []byte, ws []word, sep byte) []byte {
	for i, w := range ws {
		if len(b) > 0 && (i == 0 || sep != 0) {
			if i == 0 {
				b = append(b, ' ')
			} else {
				b = append(b, sep)
			}
		}
		b = append(b, w.String()...)
	}
	return b
}

func (p *person) appendGiven(b []byte) []byte {
	sep := byte(' ')
	if p.surnameFirst() {
		sep = p.join
	}
	return appendWords(b, p.given, sep)
}

func (p *person) appendBin(b []byte) []byte {
	if !p.bin {
		return b
	}
	if p.female {
		return append(b, " BINT"...)
	}
	return append(b, " BIN"...)
}

// givenNames prints the given names with middle names, as a passport's
// given-names field would.
func (p *person) givenNames() string {
	var buf [96]byte
	b := p.appendGiven(buf[:0])
	if len(p.middle) > 0 {
		b = p.appendBin(b)
	}
	b = appendWords(b, p.middle, ' ')
	return string(b)
}

func (p *person) surname() string {
	var buf [64]byte
	return string(appendWords(buf[:0], p.sur, ' '))
}

// name prints the whole name, in the culture's usual order or reversed.
func (p *person) name(reverse bool) string {
	var buf [128]byte
	b := buf[:0]
	if p.surnameFirst() != reverse {
		b = appendWords(b, p.sur, ' ')
		b = p.appendGiven(b)
		b = appendWords(b, p.middle, ' ')
		return string(b)
	}
	b = p.appendGiven(b)
	b = p.appendBin(b)
	b = appendWords(b, p.middle, ' ')
	b = appendWords(b, p.sur, ' ')
	return string(b)
}

func (p *person) clone() person {
	q := *p
	q.given = append([]word(nil), p.given...)
	q.middle = append([]word(nil), p.middle...)
	q.sur = append([]word(nil), p.sur...)
	return q
}

// respell changes the spelling of some words; it reports false when no
// word has another spelling.
func respell(r *rand.Rand, q *person) bool {
	var slots []*word
	for _, ws := range [][]word{q.given, q.middle, q.sur} {
		for i := range ws {
			if len(ws[i].p.forms) > 1 {
				slots = append(slots, &ws[i])
			}
		}
	}
	if len(slots) == 0 {
		return false
	}
	first := r.IntN(len(slots))
	for i, w := range slots {
		if i == first || r.IntN(2) == 0 {
			n := len(w.p.forms)
			w.f = uint8((int(w.f) + 1 + r.IntN(n-1)) % n)
		}
	}
	return true
}

// lowAlias gives a weak alias — a kunya, an honorific with the given
// name, a diminutive, a nickname — or "" when the culture has none to give.
func lowAlias(r *rand.Rand, p *person) string {
	c := p.c
	given := p.given[0].String()
	if c.nickFor != nil {
		if ns := c.nickFor[p.given[0].p.forms[0]]; len(ns) > 0 {
			return ns[r.IntN(len(ns))] + " " + p.surname()
		}
		return ""
	}
	if len(c.nicks) == 0 {
		return ""
	}
	nick := c.nicks[r.IntN(len(c.nicks))]
	switch c.style {
	case styleArabic:
		if p.female {
			return "UMM " + pickWord(r, &c.male).String()
		}
		return nick + " " + pickWord(r, &c.male).String()
	case styleSomali:
		return given + " " + nick
	case styleHispanic:
		return nick
	}
	return nick + " " + given
}

// aliases makes up to n alias names unlike the primary and each other.
func aliases(r *rand.Rand, p *person, primary string, n int) []engine.Name {
	if n == 0 {
		return nil
	}
	out := make([]engine.Name, 0, n)
	seen := func(s string) bool {
		if s == primary || s == "" {
			return true
		}
		for _, a := range out {
			if a.Value == s {
				return true
			}
		}
		return false
	}
	nicked := false
	for try := 0; try < 3*n && len(out) < n; try++ {
		var v, quality string
		switch x := r.IntN(100); {
		case x < 42:
			q := p.clone()
			if !respell(r, &q) {
				continue
			}
			v = q.name(false)
			switch y := r.IntN(100); {
			case y < 40:
				quality = engine.QualityGood
			case y < 85:
			default:
				quality = engine.QualityLow
			}
		case x < 57:
			v = p.name(true)
			if r.IntN(2) == 0 {
				quality = engine.QualityGood
			}
		case x < 75:
			q := p.clone()
			switch {
			case len(q.middle) > 0:
				q.middle = nil
			case len(q.sur) > 1:
				q.sur = q.sur[:1]
			case len(q.given) > 1 && !q.surnameFirst():
				q.given = q.given[:1]
			case q.bin:
				q.bin = false
			default:
				continue
			}
			v = q.name(false)
		case x < 85 && p.surnameFirst():
			q := p.clone()
			q.join = " -\x00"[r.IntN(3)]
			if q.join == p.join {
				continue
			}
			v = q.name(r.IntN(3) == 0)
		default:
			if nicked {
				continue
			}
			v = lowAlias(r, p)
			quality = engine.QualityLow
			nicked = v != ""
		}
		if !seen(v) {
			out = append(out, engine.Name{Value: v, Kind: engine.NameAlias, Quality: quality})
		}
	}
	return out
}

var daysPerMonth = [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

func daysIn(year, month int) int {
	if month == 2 && year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 29
	}
	return daysPerMonth[month]
}

func birthYear(r *rand.Rand) int {
	y := 1978 + int(r.NormFloat64()*12)
	return min(max(y, 1935), 2006)
}

func randomDay(r *rand.Rand, year int) engine.BirthDate {
	m := 1 + r.IntN(12)
	return engine.BirthDate{Year: year, Month: m, Day: 1 + r.IntN(daysIn(year, m))}
}

// birthDates gives a listed person's dates: about 70% an exact day, 15% a
// year, 10% a range of years and 5% none, some approximate; a few exact
// dates come with a second, conflicting one, as lists often print.
func birthDates(r *rand.Rand) []engine.BirthDate {
	y := birthYear(r)
	switch x := r.IntN(100); {
	case x < 70:
		d := randomDay(r, y)
		d.Approx = r.IntN(100) < 2
		if r.IntN(100) < 8 {
			return []engine.BirthDate{d, randomDay(r, y+r.IntN(3)-1)}
		}
		return []engine.BirthDate{d}
	case x < 85:
		return []engine.BirthDate{{Year: y, Approx: r.IntN(100) < 25}}
	case x < 95:
		from := y - r.IntN(3)
		return []engine.BirthDate{{Year: from, ToYear: from + 1 + r.IntN(5), Approx: r.IntN(100) < 10}}
	}
	return nil
}

// nationalities gives one or two states, mostly of the name's culture.
func nationalities(r *rand.Rand, c *culture) []string {
	first := c.nats.pick(r)
	if r.IntN(100) < 10 {
		first = diasporaPick.pick(r)
	}
	if r.IntN(100) >= 12 {
		return []string{first}
	}
	second := c.nats.pick(r)
	if r.IntN(2) == 0 {
		second = diasporaPick.pick(r)
	}
	if second == first {
		return []string{first}
	}
	return []string{first, second}
}

// seqID prints prefix followed by n zero-padded to seven digits.
func seqID(prefix string, n int) string {
	d := strconv.Itoa(n)
	var buf [32]byte
	b := append(buf[:0], prefix...)
	for range 7 - len(d) {
		b = append(b, '0')
	}
	return string(append(b, d...))
}

// personGen draws persons independently by index: person i depends only
// on the seed and i, so any prefix of a list is the same list.
type personGen struct {
	seed uint64
	src  rand.PCG
	r    *rand.Rand
}

func newPersonGen(seed uint64) *personGen {
	g := &personGen{seed: seed}
	g.r = rand.New(&g.src)
	return g
}

func (g *personGen) at(i int) (*engine.Entry, person) {
	g.src.Seed(g.seed^personSalt, mix64(uint64(i)))
	r := g.r
	p := genPerson(r)
	e := &engine.Entry{ID: seqID("SYN-", i+1), Kind: engine.KindPerson}
	primary := p.name(false)
	na := 0
	switch x := r.IntN(100); {
	case x < 40:
	case x < 72:
		na = 1
	case x < 90:
		na = 2
	default:
		na = 3
	}
	al := aliases(r, &p, primary, na)
	e.Names = make([]engine.Name, 0, 1+len(al))
	e.Names = append(e.Names, engine.Name{Value: primary, Kind: engine.NamePrimary})
	e.Names = append(e.Names, al...)
	e.BirthDates = birthDates(r)
	e.Nationalities = nationalities(r, p.c)
	switch {
	case r.IntN(100) < 4:
	case p.female:
		e.Sex = "F"
	default:
		e.Sex = "M"
	}
	switch x := r.IntN(100); {
	case x < 45:
	case x < 87:
		e.Documents = []engine.Document{{Type: "P", Number: randomPassport(r, e.Nationalities[0]), Country: e.Nationalities[0]}}
	default:
		e.Documents = []engine.Document{{Type: "P", Number: randomPassport(r, e.Nationalities[0]), Country: e.Nationalities[0]}}
		if len(e.Nationalities) > 1 {
			e.Documents = append(e.Documents, engine.Document{Type: "P", Number: randomPassport(r, e.Nationalities[1]), Country: e.Nationalities[1]})
		} else {
			e.Documents = append(e.Documents, engine.Document{Type: "I", Number: randomPassport(r, e.Nationalities[0]), Country: e.Nationalities[0]})
		}
	}
	prog := programChoice.pick(r)
	e.Programs = []string{prog}
	if r.IntN(100) < 8 {
		if other := programChoice.pick(r); other != prog {
			e.Programs = append(e.Programs, other)
		}
	}
	return e, p
}

// Persons generates n synthetic listed persons from seed and passes each
// to emit, in order, stopping at emit's first error. Entry i (from 0) has
// ID SYN-%07d of i+1 and depends only on seed and i. Each entry is newly
// allocated, so emit may keep it.
func Persons(seed uint64, n int, emit func(*engine.Entry) error) error {
	g := newPersonGen(seed)
	for i := 0; i < n; i++ {
		e, _ := g.at(i)
		if err := emit(e); err != nil {
			return err
		}
	}
	return nil
}
