package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/watchpost/watchpost/engine"
)

// Limits on every count and length a decoder reads. A decoder never
// allocates more than the bytes it was handed justify, and never more
// than these.
const (
	// MaxEnvelopeSize bounds a whole envelope: a delta changing 1 % of a
	// 1,000,000-entry list (about 10,000 entries of ~150 bytes) is ~1.5 MB.
	MaxEnvelopeSize = 32 << 20
	// MaxDeltaOps bounds upserts plus deletes in one delta.
	MaxDeltaOps = 200_000
	// MaxEntrySize bounds one MarshalEntry record.
	MaxEntrySize = 64 << 10
	// MaxIDLen bounds an entry id.
	MaxIDLen = 256
	// MaxListName is the longest list name (as in engine/badgerstore).
	MaxListName = 32
	// MaxURLLen bounds a snapshot URL.
	MaxURLLen = 2048
	// MaxSnapshotEntries bounds the records of one snapshot file.
	MaxSnapshotEntries = 20_000_000
	// maxUnixSeconds keeps times within year ~36,800, far from overflow.
	maxUnixSeconds = 1 << 40
)

// enc appends the v1 wire primitives.
type enc struct{ b []byte }

func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) str(s string)     { e.uvarint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *enc) bytes(p []byte)   { e.uvarint(uint64(len(p))); e.b = append(e.b, p...) }
func (e *enc) raw(p []byte)     { e.b = append(e.b, p...) }
func (e *enc) time(t time.Time) { e.uvarint(uint64(t.Unix())) }
func (e *enc) hash(h engine.SetHash) {
	for _, v := range h {
		e.b = binary.BigEndian.AppendUint64(e.b, v)
	}
}

// dec reads the v1 wire primitives. The first failure sticks: later
// reads return zero values, and err names the field and offset of the
// first one.
type dec struct {
	msg  string
	b    []byte
	off  int
	base int64 // added to off in errors (position of b in a larger stream)
	err  error
}

func (d *dec) fail(field string, err error) {
	if d.err == nil {
		d.err = &DecodeError{Message: d.msg, Field: field, Offset: d.base + int64(d.off), Err: err}
	}
}

func (d *dec) failf(field, format string, args ...any) {
	d.fail(field, fmt.Errorf(format, args...))
}

func (d *dec) left() int { return len(d.b) - d.off }

// uvarint reads a minimally encoded unsigned varint.
func (d *dec) uvarint(field string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b[d.off:])
	switch {
	case n == 0:
		d.fail(field, errors.New("truncated varint"))
		return 0
	case n < 0:
		d.fail(field, errors.New("varint overflows 64 bits"))
		return 0
	case n > 1 && d.b[d.off+n-1] == 0:
		d.fail(field, errors.New("varint not minimally encoded"))
		return 0
	}
	d.off += n
	return v
}

// take returns the next n bytes (aliasing the input).
func (d *dec) take(field string, n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > d.left() {
		d.failf(field, "needs %d bytes, %d left", n, d.left())
		return nil
	}
	p := d.b[d.off : d.off+n : d.off+n]
	d.off += n
	return p
}

// length reads a byte length of at most max that fits in what is left.
func (d *dec) length(field string, max int) int {
	return d.bounded(field, "length", max, 1, "%s %d runs past the end (%d bytes left)")
}

// count reads an element count of at most max, each element taking at
// least minBytes, so a count can never promise more than the input holds.
func (d *dec) count(field string, max, minBytes int) int {
	return d.bounded(field, "count", max, minBytes, "%s %d cannot fit in the %d bytes left")
}

// bounded reads a number n (what: a length, a count) of at most max whose
// n elements of each bytes fit in what is left; pastEnd formats the
// failure when they do not (what, n, the bytes left). On failure it
// leaves the offset at the number.
func (d *dec) bounded(field, what string, max, each int, pastEnd string) int {
	at := d.off
	n := d.uvarint(field)
	if d.err != nil {
		return 0
	}
	if n > uint64(max) {
		d.off = at
		d.failf(field, "%s %d exceeds the limit of %d", what, n, max)
		return 0
	}
	if n > uint64(d.left()/each) {
		d.off = at
		d.failf(field, pastEnd, what, n, d.left())
		return 0
	}
	return int(n)
}

func (d *dec) str(field string, max int) string {
	n := d.length(field, max)
	return string(d.take(field, n))
}

// nonzero reads a uvarint that must be at least 1.
func (d *dec) nonzero(field string) uint64 {
	at := d.off
	v := d.uvarint(field)
	if d.err == nil && v == 0 {
		d.off = at
		d.fail(field, errors.New("must be at least 1"))
	}
	return v
}

// timeAfter reads a time (as time does) that must be after from, the
// value of the field fromField.
func (d *dec) timeAfter(field string, from time.Time, fromField string) time.Time {
	at := d.off
	t := d.time(field)
	if d.err == nil && !t.After(from) {
		d.off = at
		d.failf(field, "%s is not after %s %s", t.Format(time.RFC3339), fromField, from.Format(time.RFC3339))
	}
	return t
}

func (d *dec) time(field string) time.Time {
	at := d.off
	v := d.uvarint(field)
	if d.err != nil {
		return time.Time{}
	}
	if v == 0 || v > maxUnixSeconds {
		d.off = at
		d.failf(field, "time %d seconds is out of range", v)
		return time.Time{}
	}
	return time.Unix(int64(v), 0).UTC()
}

func (d *dec) hash(field string) engine.SetHash {
	var h engine.SetHash
	p := d.take(field, 32)
	if p == nil {
		return h
	}
	for i := range h {
		h[i] = binary.BigEndian.Uint64(p[i*8:])
	}
	return h
}

func (d *dec) sum(field string) [32]byte {
	var s [32]byte
	copy(s[:], d.take(field, 32))
	return s
}

// listName reads a list name and checks it as engine/badgerstore does.
func (d *dec) listName(field string) string {
	at := d.off
	s := d.str(field, MaxListName)
	if d.err == nil {
		if err := ValidListName(s); err != nil {
			d.off = at
			d.fail(field, err)
		}
	}
	return s
}

// end fails if bytes are left over.
func (d *dec) end() error {
	if d.err == nil && d.left() != 0 {
		d.failf("end", "%d trailing bytes", d.left())
	}
	return d.err
}

// ValidListName reports whether name can name a list: 1 to 32 of
// a-z, 0-9, '_' and '-' (the rule of engine/badgerstore, so a list name is
// also a single MQTT topic level with no wildcard).
func ValidListName(name string) error {
	if name == "" || len(name) > MaxListName {
		return fmt.Errorf("list name %q: want 1 to %d characters", name, MaxListName)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("list name %q: only a-z, 0-9, '_' and '-' are allowed", name)
		}
	}
	return nil
}

// validID reports whether id can be an entry id on the wire.
func validID(id string) error {
	if id == "" {
		return errors.New("empty entry id")
	}
	if len(id) > MaxIDLen {
		return fmt.Errorf("entry id of %d bytes exceeds %d", len(id), MaxIDLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] == 0 {
			return fmt.Errorf("entry id %q contains NUL", id)
		}
	}
	return nil
}

// checkTime rejects times the wire cannot carry exactly.
func checkTime(field string, t time.Time) error {
	s := t.Unix()
	if s <= 0 || s > maxUnixSeconds {
		return fmt.Errorf("%s %v is out of range", field, t)
	}
	if t.Nanosecond() != 0 {
		return fmt.Errorf("%s %v has sub-second precision; the wire carries whole seconds", field, t)
	}
	return nil
}
