// Package option fills unset numeric options with their defaults.
package option

import "cmp"

// Positive returns v, or def when v is zero or negative: the rule for
// sizes, counts and durations where a non-positive value means "unset".
func Positive[T cmp.Ordered](v, def T) T {
	var zero T
	if v <= zero {
		return def
	}
	return v
}

// Or returns v, or def when v is its type's zero value: the rule for
// options where only the zero value means "unset".
func Or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
