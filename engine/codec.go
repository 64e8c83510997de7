package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
)

// Record encodings are compact, deterministic and versioned by their first
// byte, so the same entry always gives the same bytes (and so the same
// hash) and a store can tell an old encoding from a new one.
const (
	entryCodecV1    = 1
	documentCodecV1 = 1
)

// ErrCorruptRecord is returned when stored bytes do not decode.
var ErrCorruptRecord = errors.New("corrupt record")

// MarshalEntry encodes an entry in Watchpost's canonical binary form.
func MarshalEntry(e *Entry) []byte {
	w := writer{b: make([]byte, 0, 128)}
	w.b = append(w.b, entryCodecV1)
	w.str(e.ID)
	w.str(string(e.Kind))
	w.uvarint(uint64(len(e.Names)))
	for _, n := range e.Names {
		w.str(n.Value)
		w.str(string(n.Kind))
		w.str(n.Quality)
	}
	w.uvarint(uint64(len(e.BirthDates)))
	for _, d := range e.BirthDates {
		w.uvarint(uint64(d.Year))
		w.uvarint(uint64(d.Month))
		w.uvarint(uint64(d.Day))
		w.uvarint(uint64(d.ToYear))
		if d.Approx {
			w.b = append(w.b, 1)
		} else {
			w.b = append(w.b, 0)
		}
	}
	w.strs(e.Nationalities)
	w.str(e.Sex)
	w.uvarint(uint64(len(e.Documents)))
	for i := range e.Documents {
		w.doc(&e.Documents[i])
	}
	w.strs(e.Programs)
	w.str(e.Remarks)
	return w.b
}

// UnmarshalEntry decodes what MarshalEntry wrote.
func UnmarshalEntry(b []byte) (Entry, error) {
	var e Entry
	if len(b) == 0 || b[0] != entryCodecV1 {
		return e, fmt.Errorf("%w: unknown entry encoding", ErrCorruptRecord)
	}
	r := reader{b: b[1:]}
	e.ID = r.str()
	e.Kind = EntryKind(r.str())
	if n := r.count(3); n > 0 {
		e.Names = make([]Name, n)
		for i := range e.Names {
			e.Names[i] = Name{Value: r.str(), Kind: NameKind(r.str()), Quality: r.str()}
		}
	}
	if n := r.count(5); n > 0 {
		e.BirthDates = make([]BirthDate, n)
		for i := range e.BirthDates {
			e.BirthDates[i] = BirthDate{Year: r.int(), Month: r.int(), Day: r.int(), ToYear: r.int(), Approx: r.byte() == 1}
		}
	}
	e.Nationalities = r.strs()
	e.Sex = r.str()
	if n := r.count(4); n > 0 {
		e.Documents = make([]Document, n)
		for i := range e.Documents {
			e.Documents[i] = r.doc()
		}
	}
	e.Programs = r.strs()
	e.Remarks = r.str()
	if r.err != nil {
		return Entry{}, fmt.Errorf("%w: entry: %v", ErrCorruptRecord, r.err)
	}
	if len(r.b) != 0 {
		return Entry{}, fmt.Errorf("%w: entry %q: %d trailing bytes", ErrCorruptRecord, e.ID, len(r.b))
	}
	return e, nil
}

// MarshalDocument encodes a document-list row in canonical binary form.
func MarshalDocument(d *Document) []byte {
	w := writer{b: make([]byte, 0, 32)}
	w.b = append(w.b, documentCodecV1)
	w.doc(d)
	return w.b
}

// UnmarshalDocument decodes what MarshalDocument wrote.
func UnmarshalDocument(b []byte) (Document, error) {
	if len(b) == 0 || b[0] != documentCodecV1 {
		return Document{}, fmt.Errorf("%w: unknown document encoding", ErrCorruptRecord)
	}
	r := reader{b: b[1:]}
	d := r.doc()
	if r.err != nil {
		return Document{}, fmt.Errorf("%w: document: %v", ErrCorruptRecord, r.err)
	}
	if len(r.b) != 0 {
		return Document{}, fmt.Errorf("%w: document: %d trailing bytes", ErrCorruptRecord, len(r.b))
	}
	return d, nil
}

type writer struct{ b []byte }

func (w *writer) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) str(s string)     { w.uvarint(uint64(len(s))); w.b = append(w.b, s...) }
func (w *writer) strs(ss []string) {
	w.uvarint(uint64(len(ss)))
	for _, s := range ss {
		w.str(s)
	}
}
func (w *writer) doc(d *Document) {
	w.str(d.Type)
	w.str(d.Number)
	w.str(d.Country)
	w.str(d.Note)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("truncated varint")
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) int() int {
	v := r.uvarint()
	if v > 1<<31 {
		r.err = errors.New("integer out of range")
		return 0
	}
	return int(v)
}

// count reads a slice length and rejects one that cannot fit in the bytes
// left, given that each element takes at least minBytes.
func (r *reader) count(minBytes int) int {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)/minBytes) {
		r.err = fmt.Errorf("count %d exceeds the record", n)
		r.b = nil
		return 0
	}
	return int(n)
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = errors.New("truncated record")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.b)) {
		r.err = errors.New("string runs past the record")
		r.b = nil
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}

func (r *reader) strs() []string {
	n := r.count(1)
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = r.str()
	}
	return ss
}

func (r *reader) doc() Document {
	return Document{Type: r.str(), Number: r.str(), Country: r.str(), Note: r.str()}
}

// SetHash is an order-independent digest of a set of records: the
// lane-wise sum (mod 2^64) of each record's SHA-256. Records can be added
// and removed in any order, so a list's hash can follow deltas without
// rereading the list, and two stores with the same records agree.
type SetHash [4]uint64

// Add includes a record.
func (h *SetHash) Add(record []byte) {
	s := sha256.Sum256(record)
	for i := range h {
		h[i] += binary.BigEndian.Uint64(s[i*8:])
	}
}

// Remove takes out a record that Add included.
func (h *SetHash) Remove(record []byte) {
	s := sha256.Sum256(record)
	for i := range h {
		h[i] -= binary.BigEndian.Uint64(s[i*8:])
	}
}

// String returns the hash as 64 hex digits.
func (h SetHash) String() string {
	var b [32]byte
	for i, v := range h {
		binary.BigEndian.PutUint64(b[i*8:], v)
	}
	return hex.EncodeToString(b[:])
}
