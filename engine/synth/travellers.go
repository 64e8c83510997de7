package synth

import (
	"math/rand/v2"
	"strings"

	"github.com/watchpost/watchpost/engine"
)

// sourceSep separates a derived traveller's own id from the id of the
// entry it was derived from.
const sourceSep = "="

// TravellerSource returns the id of the entry a traveller from Travellers
// was derived from, or false for a new random traveller: the ground truth
// a benchmark measures recall against.
func TravellerSource(q *engine.Query) (entryID string, ok bool) {
	_, id, ok := strings.Cut(q.ID, sourceSep)
	return id, ok
}

// Travellers generates n travellers to screen from seed. Each is, with
// probability hitRate, derived from a random entry of hits — the listed
// person with realistic perturbations (a typo, another transliteration, a
// dropped middle name, another word order, a full birth date consistent
// with the listed one, sometimes the listed passport) — and otherwise a
// new random traveller drawn from the same name parts as Persons, so that
// travellers share common name words with the list. Traveller i has ID
// TRV-%07d of i+1; a derived one has "=" and the entry's ID appended
// (see TravellerSource). Traveller i depends only on seed, i, hits and
// hitRate.
func Travellers(seed uint64, n int, hits []engine.Entry, hitRate float64) []engine.Query {
	var usable []*engine.Entry
	for i := range hits {
		if len(hits[i].Names) > 0 && strings.TrimSpace(hits[i].Names[0].Value) != "" {
			usable = append(usable, &hits[i])
		}
	}
	var src rand.PCG
	r := rand.New(&src)
	out := make([]engine.Query, 0, max(n, 0))
	for i := 0; i < n; i++ {
		src.Seed(seed^travellerSalt, mix64(uint64(i)))
		id := seqID("TRV-", i+1)
		if len(usable) > 0 && r.Float64() < hitRate {
			e := usable[r.IntN(len(usable))]
			q := derive(r, e)
			q.ID = id + sourceSep + e.ID
			out = append(out, q)
			continue
		}
		q := newTraveller(r)
		q.ID = id
		out = append(out, q)
	}
	return out
}

// newTraveller is a random traveller as a passport shows one.
func newTraveller(r *rand.Rand) engine.Query {
	p := genPerson(r)
	var q engine.Query
	if r.IntN(2) == 0 {
		q.Name = p.name(false)
	} else {
		q.Surname, q.GivenNames = p.surname(), p.givenNames()
	}
	q.BirthDate = randomDay(r, birthYear(r)).String()
	nats := nationalities(r, p.c)
	q.Nationality = nats[0]
	q.Sex = "M"
	if p.female {
		q.Sex = "F"
	}
	if r.IntN(100) < 90 {
		q.DocumentCountry = q.Nationality
		q.DocumentNumber = randomPassport(r, q.DocumentCountry)
	}
	return q
}

// derive makes a traveller who is the listed person e.
func derive(r *rand.Rand, e *engine.Entry) engine.Query {
	var q engine.Query
	name := e.Names[0].Value
	if len(e.Names) > 1 && r.IntN(100) < 25 {
		a := e.Names[1+r.IntN(len(e.Names)-1)]
		if a.Quality != engine.QualityLow {
			name = a.Value
		}
	}
	words := strings.Fields(name)
	n := 1
	switch x := r.IntN(100); {
	case x < 22:
		n = 0
	case x > 80:
		n = 2
	}
	for range n {
		words = perturb(r, words)
	}
	if len(words) > 1 && r.IntN(2) == 0 {
		q.Surname = words[len(words)-1]
		q.GivenNames = strings.Join(words[:len(words)-1], " ")
	} else {
		q.Name = strings.Join(words, " ")
	}

	var d engine.BirthDate
	if len(e.BirthDates) > 0 {
		d = e.BirthDates[r.IntN(len(e.BirthDates))]
	}
	q.BirthDate = dayWithin(r, d).String()

	if len(e.Nationalities) > 0 && r.IntN(100) < 92 {
		q.Nationality = e.Nationalities[r.IntN(len(e.Nationalities))]
	} else {
		q.Nationality = diasporaPick.pick(r)
	}
	switch {
	case e.Sex != "":
		q.Sex = e.Sex
	case r.IntN(5) == 0:
		q.Sex = "F"
	default:
		q.Sex = "M"
	}
	if len(e.Documents) > 0 && r.IntN(100) < 35 {
		doc := e.Documents[r.IntN(len(e.Documents))]
		q.DocumentNumber, q.DocumentCountry = doc.Number, doc.Country
	} else if r.IntN(100) < 90 {
		q.DocumentCountry = q.Nationality
		q.DocumentNumber = randomPassport(r, q.DocumentCountry)
	}
	return q
}

// dayWithin gives a full date a listed date allows: the day itself, a day
// of the month or year, a year of the range, a year either side of an
// approximate date, or any adult's date when none is listed.
func dayWithin(r *rand.Rand, d engine.BirthDate) engine.BirthDate {
	if d.IsZero() {
		return randomDay(r, birthYear(r))
	}
	y := d.Year
	switch d.Precision() {
	case engine.PrecisionDay:
		if d.Approx && r.IntN(3) == 0 {
			return randomDay(r, y+r.IntN(3)-1)
		}
		return engine.BirthDate{Year: y, Month: d.Month, Day: d.Day}
	case engine.PrecisionMonth:
		return engine.BirthDate{Year: y, Month: d.Month, Day: 1 + r.IntN(daysIn(y, d.Month))}
	case engine.PrecisionRange:
		y += r.IntN(d.ToYear - d.Year + 1)
	default:
		if d.Approx && r.IntN(3) == 0 {
			y += r.IntN(3) - 1
		}
	}
	return randomDay(r, y)
}

// perturb applies one realistic change to a name's words.
func perturb(r *rand.Rand, words []string) []string {
	words = append([]string(nil), words...)
	switch x := r.IntN(100); {
	case x < 25:
		if w, ok := respellWords(r, words); ok {
			return w
		}
	case x < 45:
		if len(words) > 2 {
			i := 1 + r.IntN(len(words)-2)
			return append(words[:i], words[i+1:]...)
		}
	case x < 62:
		if len(words) > 1 {
			last := words[len(words)-1]
			copy(words[1:], words[:len(words)-1])
			words[0] = last
			return words
		}
	}
	return typo(r, words)
}

// respellWords replaces a word, or a pair of words, by another known
// spelling (MOHAMMED → MUHAMMAD, ABDUL RAHMAN → ABDULRAHMAN).
func respellWords(r *rand.Rand, words []string) ([]string, bool) {
	type slot struct{ i, n int }
	var slots []slot
	for i := range words {
		if i+1 < len(words) {
			if _, ok := variants[words[i]+" "+words[i+1]]; ok {
				slots = append(slots, slot{i, 2})
			}
		}
		if _, ok := variants[words[i]]; ok {
			slots = append(slots, slot{i, 1})
		}
	}
	if len(slots) == 0 {
		return words, false
	}
	s := slots[r.IntN(len(slots))]
	old := strings.Join(words[s.i:s.i+s.n], " ")
	forms := variants[old]
	alt := forms[r.IntN(len(forms))]
	if alt == old {
		alt = forms[(indexOf(forms, old)+1)%len(forms)]
	}
	out := append([]string(nil), words[:s.i]...)
	out = append(out, strings.Fields(alt)...)
	return append(out, words[s.i+s.n:]...), true
}

func indexOf(ss []string, s string) int {
	for i, t := range ss {
		if t == s {
			return i
		}
	}
	return -1
}

// typo makes one keying error in a word of four letters or more: a wrong,
// missing, doubled or swapped letter, rarely the first.
func typo(r *rand.Rand, words []string) []string {
	var long []int
	for i, w := range words {
		if len(w) >= 4 {
			long = append(long, i)
		}
	}
	if len(long) == 0 {
		return words
	}
	i := long[r.IntN(len(long))]
	b := []byte(words[i])
	k := 1 + r.IntN(len(b)-1)
	switch r.IntN(4) {
	case 0:
		c := byte('A' + r.IntN(26))
		if c == b[k] {
			c = 'A' + (c-'A'+1)%26
		}
		b[k] = c
	case 1:
		b = append(b[:k], b[k+1:]...)
	case 2:
		b = append(b[:k+1], b[k:]...)
	default:
		if k == len(b)-1 {
			k--
		}
		if b[k] == b[k+1] {
			b = append(b[:k], b[k+1:]...)
		} else {
			b[k], b[k+1] = b[k+1], b[k]
		}
	}
	words[i] = string(b)
	return words
}
