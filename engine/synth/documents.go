package synth

import (
	"fmt"
	"math/bits"
	"sync/atomic"

	"github.com/watchpost/watchpost/engine"
)

// docBits is the width of the index permutation behind document numbers.
const docBits = 26

// MaxDocuments is the most rows Documents makes with distinct (number,
// country) pairs.
const MaxDocuments = 1 << docBits

// docGen holds the per-seed keys of the document permutation.
//
// Row i is made thus: a 4-round Feistel network keyed by the seed maps i
// to p, a permutation of [0, MaxDocuments); the issuing state is drawn
// from a hash of i; the number is an affine permutation a·p+b of the
// state's number space [0, cap) printed in the state's shape. Every shape
// holds at least MaxDocuments numbers, so within one state distinct rows
// get distinct numbers, and no table of issued numbers is kept.
type docGen struct {
	seed  uint64
	keys  [4]uint64
	state []docState // by index in docStatePick
}

// docState is one issuing state's number space and its affine permutation.
type docState struct {
	country, shape string
	cap, a, b      uint64 // a coprime with cap
}

var lastDocGen atomic.Pointer[docGen]

func docGenFor(seed uint64) *docGen {
	if g := lastDocGen.Load(); g != nil && g.seed == seed {
		return g
	}
	g := &docGen{seed: seed}
	h := seed ^ documentSalt
	for k := range g.keys {
		h = mix64(h)
		g.keys[k] = h
	}
	for _, country := range docStatePick.vals {
		shape := shapeFor(country)
		c := shapeCap(shape)
		x := mix64(seed ^ documentSalt ^ strHash(country))
		a := x%c | 1
		for gcd(a, c) != 1 {
			a += 2
			if a >= c {
				a = 1
			}
		}
		g.state = append(g.state, docState{country, shape, c, a, mix64(x) % c})
	}
	lastDocGen.Store(g)
	return g
}

func strHash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// permute is the Feistel permutation of [0, MaxDocuments).
func (g *docGen) permute(i uint64) uint64 {
	const half = docBits / 2
	const mask = 1<<half - 1
	l, r := i>>half&mask, i&mask
	for _, k := range g.keys {
		l, r = r, l^(mix64(r^k)&mask)
	}
	return l<<half | r
}

// at returns row i: number, issuing state, and a hash for the row's other
// fields.
func (g *docGen) at(i int) (number, country string, h uint64) {
	h = mix64(uint64(i) ^ g.keys[0] ^ documentSalt)
	st := &g.state[docStatePick.indexN(int(h>>33))]
	hi, lo := bits.Mul64(g.permute(uint64(i)), st.a)
	v := (bits.Rem64(hi, lo, st.cap) + st.b) % st.cap
	return formatShape(st.shape, v), st.country, h
}

var docNotes = [...]string{"stolen", "stolen", "stolen", "lost", "lost", "lost", "stolen blank", "revoked"}

// Documents generates n stolen or lost travel document rows from seed and
// passes each to emit, in order, stopping at emit's first error. No two
// rows share a (number, country) pair; n may be at most MaxDocuments.
// Each row is newly allocated, so emit may keep it.
func Documents(seed uint64, n int, emit func(*engine.Document) error) error {
	if n > MaxDocuments {
		return fmt.Errorf("synth: %d documents asked, at most %d are distinct", n, MaxDocuments)
	}
	g := docGenFor(seed)
	for i := 0; i < n; i++ {
		number, country, h := g.at(i)
		d := &engine.Document{Type: "P", Number: number, Country: country, Note: docNotes[h&7]}
		if h>>3&15 < 2 {
			d.Type = "I"
		}
		if err := emit(d); err != nil {
			return err
		}
	}
	return nil
}

// DocumentQuery returns the number and issuing state of row i of
// Documents(seed, …), so a benchmark can look up listed documents without
// storing them.
func DocumentQuery(seed uint64, i int) (number, country string) {
	number, country, _ = docGenFor(seed).at(i)
	return number, country
}
