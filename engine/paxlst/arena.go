package paxlst

import "strings"

// Parsing a 500-passenger list makes thousands of small strings and
// structs. To keep that to a handful of allocations, values that need no
// unescaping are substrings of one copy of the input, other strings are
// carved from chunks of a strings.Builder (which never changes bytes it
// has handed out), and documents and bags come from slabs. Chunks are
// small, so memory stays proportional to the input.

const chunk = 4096

// stringArena hands out strings carved from shared chunks.
type stringArena struct{ sb strings.Builder }

func (a *stringArena) bytes(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if a.sb.Cap()-a.sb.Len() < len(b) {
		a.sb = strings.Builder{}
		a.sb.Grow(max(chunk, len(b)))
	}
	start := a.sb.Len()
	a.sb.Write(b)
	return a.sb.String()[start:]
}

// slab hands out elements of shared chunks.
type slab[T any] struct{ free []T }

// take returns a slice of n zero elements with capacity n: appending to it
// reallocates rather than overwriting a neighbour.
func (s *slab[T]) take(n int) []T {
	if len(s.free) < n {
		s.free = make([]T, max(64, n))
	}
	v := s.free[:n:n]
	s.free = s.free[n:]
	return v
}
