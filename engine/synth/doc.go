// Package synth generates deterministic synthetic watchlists, stolen and
// lost document rows, and travellers, for benchmarks and demos.
//
// Its one job is to produce realistic-looking test data from a seed: names
// are combined from hand-written tables of name parts for several naming
// cultures, chosen with a Zipf-like skew so that a few tokens are very
// common and most are rare, as in real lists. The same seed always gives
// the same output. The package is pure: it performs no I/O.
package synth
