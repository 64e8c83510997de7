package config

import (
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration returns d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String returns d as a Go duration string without trailing zero units
// ("24h", "1m30s", "1h30m").
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalText writes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a Go duration string ("500ms", "90s", "6h",
// "1h30m"). A bare number is refused: "20" could mean seconds or
// nanoseconds.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	v, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return fmt.Errorf("%q has no unit (want e.g. %ss or %sm)", s, s, s)
		}
		return fmt.Errorf("%q is not a duration (want a number with a unit: 500ms, 90s, 5m, 6h, 1h30m)", s)
	}
	*d = Duration(v)
	return nil
}

// Size units, binary (KiB) and decimal (KB).
const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
	TiB Size = 1 << 40
	KB  Size = 1e3
	MB  Size = 1e6
	GB  Size = 1e9
	TB  Size = 1e12
)

var sizeUnits = []struct {
	name string
	mult Size
}{
	{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB},
	{"TB", TB}, {"GB", GB}, {"MB", MB}, {"KB", KB}, {"B", 1},
}

// Bytes returns s as a byte count.
func (s Size) Bytes() int64 { return int64(s) }

// String returns s with the largest binary unit that divides it exactly
// ("64MiB"), else with a decimal unit ("1GB"), else in bytes ("1000B"
// is "1KB"; "1234" stays "1234").
func (s Size) String() string {
	if s == 0 {
		return "0"
	}
	for _, u := range sizeUnits {
		if u.mult > 1 && s%u.mult == 0 {
			return strconv.FormatInt(int64(s/u.mult), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// MarshalText writes s as String does.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads ParseSize's forms.
func (s *Size) UnmarshalText(b []byte) error {
	v, err := ParseSize(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// ParseSize reads a byte count: plain bytes ("1048576"), or a number with
// a unit, binary (KiB, MiB, GiB, TiB) or decimal (B, KB, MB, GB, TB),
// case-insensitive, with an optional space and fraction ("1.5 GiB").
// A bare "M" or "G" is refused as ambiguous.
func ParseSize(text string) (Size, error) {
	s := strings.TrimSpace(text)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	if num == "" {
		return 0, fmt.Errorf("%q is not a size (want bytes or a number with a unit: 64MiB, 1GB)", text)
	}
	mult := Size(0)
	if unit == "" {
		mult = 1
	}
	for _, u := range sizeUnits {
		if strings.EqualFold(unit, u.name) {
			mult = u.mult
		}
	}
	if mult == 0 {
		switch strings.ToUpper(unit) {
		case "K", "M", "G", "T":
			return 0, fmt.Errorf("%q: unit %q is ambiguous (want %s%siB or %s%sB)", text, unit, num, strings.ToUpper(unit), num, strings.ToUpper(unit))
		}
		return 0, fmt.Errorf("%q: unknown unit %q (want B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)", text, unit)
	}
	if !strings.Contains(num, ".") {
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || n > math.MaxInt64/int64(mult) {
			return 0, fmt.Errorf("%q is too large", text)
		}
		return Size(n) * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size (want bytes or a number with a unit: 64MiB, 1GB)", text)
	}
	v := f * float64(mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("%q is too large", text)
	}
	return Size(v), nil
}

// redacted is what a Secret prints as.
const redacted = "[redacted]"

// Reveal returns the secret itself, for the one place that uses it (the
// MQTT client, the API's token check). Never log or print it.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s != "" }

// String returns "[redacted]".
func (s Secret) String() string { return redacted }

// GoString returns "[redacted]", for %#v.
func (s Secret) GoString() string { return redacted }

// Format prints "[redacted]" for every verb, so no fmt verb (%x, %d, %q
// and their bad-verb fallbacks included) reaches the value.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprint(f, strconv.Quote(redacted))
		return
	}
	fmt.Fprint(f, redacted)
}

// LogValue returns "[redacted]" for log/slog.
func (s Secret) LogValue() slog.Value { return slog.StringValue(redacted) }

// MarshalText returns "[redacted]" (encoding/json, YAML, slog's JSON
// handler).
func (s Secret) MarshalText() ([]byte, error) { return []byte(redacted), nil }

var (
	_ fmt.Stringer   = Secret("")
	_ fmt.GoStringer = Secret("")
	_ fmt.Formatter  = Secret("")
	_ slog.LogValuer = Secret("")
)
