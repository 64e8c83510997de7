package engine

import (
	"errors"
	"fmt"

	"github.com/watchpost/watchpost/engine/option"
)

// The shrink guard: one rule, used by every path that replaces a whole
// list (`watchpost import`, `watchpost-hq publish`, HQ's console), so
// that a truncated or empty file cannot silently empty a watchlist.

// DefaultMaxShrink is the share of a list's current entries a new edition
// may remove without a person confirming it: 10 %. Real editions of the
// UN and OFAC lists remove a handful of entries each (well under 1 %); a
// file cut short or exported with the wrong filter removes far more.
const DefaultMaxShrink = 0.10

// ErrShrink is wrapped by every *ShrinkError, for errors.Is.
var ErrShrink = errors.New("edition shrinks the list past the guard")

// Shrink describes what a new edition does to a list's size.
type Shrink struct {
	List    string
	Current int // entries of the current version
	Next    int // entries of the new edition
	Removed int // current entries the new edition lacks
	// Limit is the share of Current that may be removed (0 < Limit <= 1).
	Limit float64
}

// Share is Removed / Current (0 for a list with no entries yet).
func (s Shrink) Share() float64 {
	if s.Current == 0 {
		return 0
	}
	return float64(s.Removed) / float64(s.Current)
}

// Exceeds reports whether the guard refuses the edition without a
// confirmation: it is empty while the list is not, or it removes more
// than Limit of the current entries. A new list (Current 0) never
// exceeds.
func (s Shrink) Exceeds() bool {
	if s.Current == 0 {
		return false
	}
	return s.Next == 0 || s.Share() > s.Limit
}

// String states the counts: "list un: 1003 → 0 entries, 1003 removed
// (100.0 %, limit 10.0 %)".
func (s Shrink) String() string {
	return fmt.Sprintf("list %s: %d → %d entries, %d removed (%.1f %%, limit %.1f %%)",
		s.List, s.Current, s.Next, s.Removed, 100*s.Share(), 100*s.Limit)
}

// ShrinkError is the guard's refusal.
type ShrinkError struct {
	Shrink
	// Override names the flag or act that confirms the edition
	// ("--allow-shrink").
	Override string
}

// Error states the counts, the limit and how to confirm.
func (e *ShrinkError) Error() string {
	what := "removes more than the limit"
	if e.Next == 0 {
		what = "is empty"
	}
	msg := fmt.Sprintf("refused: the edition %s: %s", what, e.Shrink)
	if e.Override != "" {
		msg += "; if this is intended, confirm with " + e.Override
	}
	return msg
}

// Unwrap returns ErrShrink.
func (e *ShrinkError) Unwrap() error { return ErrShrink }

// CheckShrinkLimit validates a configured share: 0 means DefaultMaxShrink;
// otherwise it must be in (0, 1].
func CheckShrinkLimit(limit float64) (float64, error) {
	switch {
	case limit == 0:
		return DefaultMaxShrink, nil
	case limit > 0 && limit <= 1:
		return limit, nil
	}
	return 0, fmt.Errorf("shrink limit %v: want a share between 0 and 1 (e.g. 0.10 for 10 %%)", limit)
}

// CheckShrink applies the guard: nil when s does not exceed it or when
// confirmed, else a *ShrinkError naming override. A zero Limit is
// DefaultMaxShrink.
func CheckShrink(s Shrink, confirmed bool, override string) error {
	s.Limit = option.Or(s.Limit, DefaultMaxShrink)
	if confirmed || !s.Exceeds() {
		return nil
	}
	return &ShrinkError{Shrink: s, Override: override}
}
