// Package normalize turns personal and entity names written in any script
// into the comparable forms the name matcher works on: upper-case Latin
// (ICAO Doc 9303 transliteration), word tokens with glued Arabic particles
// split off, particle detection, and a transliteration-insensitive consonant
// skeleton per token.
//
// It is pure (no I/O, no global state after init) and built for the hot
// screening path: Latin returns an already normalised ASCII string without
// allocating, and any other ASCII string with a single allocation and no
// Unicode tables.
package normalize
