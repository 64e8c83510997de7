package protocol

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"time"

	"github.com/watchpost/watchpost/engine"
)

// Snapshot file layout, v1:
//
//	offset  size  field
//	0       8     magic "WPSNAP1\n"
//	8       80+n  envelope of kind snapshot whose payload (n <= 4096) is
//	              the SnapshotHeader
//	…             Count records: uvarint length (1..MaxEntrySize) +
//	              engine.MarshalEntry bytes
//	…       32    trailer: SHA-256 of every byte before it
//
// The file ends exactly after the trailer. The SetHash of the records
// must equal the header's Hash. The whole file's SHA-256 and size are
// what a Head names in SnapshotSHA256 and SnapshotSize.
const (
	snapshotMagic       = "WPSNAP1\n"
	maxSnapshotHeader   = 4096
	snapshotTrailerSize = sha256.Size
)

// SnapshotWriter writes a snapshot file. HQ knows the edition before it
// writes it, so the header (with Count and Hash) comes first; Close
// checks that the records added match it.
type SnapshotWriter struct {
	w    io.Writer
	sum  hash.Hash // SHA-256 of the bytes written so far
	head SnapshotHeader
	n    uint64
	set  engine.SetHash
	ids  map[string]bool
	// lastDoc is the DocumentID of the last documents row: rows come in
	// ascending identity order, so duplicates are refused in bounded memory.
	lastDoc string
	size    int64
	err     error
	final   [32]byte
}

// NewSnapshotWriter writes the magic and the signed header to w.
func NewSnapshotWriter(w io.Writer, s *Signer, h SnapshotHeader) (*SnapshotWriter, error) {
	p, err := EncodeSnapshotHeader(&h)
	if err != nil {
		return nil, err
	}
	env, err := Seal(s, snapshotKind(h.Kind), p)
	if err != nil {
		return nil, err
	}
	sw := &SnapshotWriter{w: w, sum: sha256.New(), head: h, ids: map[string]bool{}}
	sw.write([]byte(snapshotMagic))
	sw.write(env)
	return sw, sw.err
}

func (sw *SnapshotWriter) write(p []byte) {
	if sw.err != nil {
		return
	}
	sw.sum.Write(p)
	n, err := sw.w.Write(p)
	sw.size += int64(n)
	if err != nil {
		sw.err = fmt.Errorf("write snapshot: %w", err)
	}
}

// Add writes one entry record.
func (sw *SnapshotWriter) Add(e *engine.Entry) error {
	if sw.err != nil {
		return sw.err
	}
	if sw.head.Kind == engine.ListDocuments {
		return fmt.Errorf("snapshot entry %d: the snapshot is of a documents list", sw.n)
	}
	if err := e.Validate(); err != nil {
		return fmt.Errorf("snapshot entry %d: %w", sw.n, err)
	}
	if err := validID(e.ID); err != nil {
		return fmt.Errorf("snapshot entry %d: %w", sw.n, err)
	}
	if sw.ids[e.ID] {
		return fmt.Errorf("snapshot entry %d: id %q appears twice", sw.n, e.ID)
	}
	rec := engine.MarshalEntry(e)
	if len(rec) > MaxEntrySize {
		return fmt.Errorf("snapshot entry %d (%q): %d bytes exceed the limit of %d", sw.n, e.ID, len(rec), MaxEntrySize)
	}
	sw.ids[e.ID] = true
	return sw.addRecord(rec)
}

// addRecord writes one record of either kind.
func (sw *SnapshotWriter) addRecord(rec []byte) error {
	if sw.n >= sw.head.Count {
		return fmt.Errorf("snapshot record %d: the header promises %d records", sw.n, sw.head.Count)
	}
	sw.set.Add(rec)
	sw.n++
	sw.write(binary.AppendUvarint(nil, uint64(len(rec))))
	sw.write(rec)
	return sw.err
}

// Close checks the records against the header and writes the trailer.
func (sw *SnapshotWriter) Close() error {
	if sw.err != nil {
		return sw.err
	}
	if sw.n != sw.head.Count {
		return fmt.Errorf("close snapshot: %d entries written, the header promises %d", sw.n, sw.head.Count)
	}
	if sw.set != sw.head.Hash {
		return fmt.Errorf("close snapshot: records hash to %s, the header says %s", sw.set, sw.head.Hash)
	}
	var t [32]byte
	sw.sum.Sum(t[:0])
	sw.write(t[:])
	if sw.err == nil {
		sw.sum.Sum(sw.final[:0])
	}
	return sw.err
}

// Size returns the bytes written; after Close, the file size.
func (sw *SnapshotWriter) Size() int64 { return sw.size }

// FileSHA256 returns the SHA-256 of the whole file (valid after Close):
// what a Head carries as SnapshotSHA256.
func (sw *SnapshotWriter) FileSHA256() [32]byte { return sw.final }

// SnapshotReader reads and verifies a snapshot file as a stream: memory
// stays bounded by one record, whatever the input claims.
type SnapshotReader struct {
	r      *bufio.Reader
	sum    hash.Hash
	off    int64
	head   *SnapshotHeader
	n      uint64
	set    engine.SetHash
	done   bool
	err    error
	expect *Head
	final  [32]byte
	buf    []byte
	// lastDoc: as in SnapshotWriter.
	lastDoc string
}

// NewSnapshotReader reads the magic and the signed header from r and
// verifies the header's signature with ks at time now. If head is not
// nil, the header must be the snapshot that head names (same list and
// epoch, version SnapshotVersion, and the head's Hash when the head is at
// that version), and at the end the file's size and SHA-256 must be the
// head's.
func NewSnapshotReader(r io.Reader, ks *KeySet, now time.Time, head *Head) (*SnapshotReader, error) {
	sr := &SnapshotReader{r: bufio.NewReaderSize(r, 64<<10), sum: sha256.New(), expect: head}
	magic := sr.read("magic", len(snapshotMagic))
	if sr.err != nil {
		return nil, sr.err
	}
	if string(magic) != snapshotMagic {
		return nil, sr.fail("magic", 0, fmt.Errorf("not a watchpost snapshot (want %q)", snapshotMagic))
	}
	envStart := sr.off
	hdr := sr.read("header envelope", EnvelopeHeaderSize)
	if sr.err != nil {
		return nil, sr.err
	}
	n := binary.BigEndian.Uint32(hdr[offLen:])
	if n > maxSnapshotHeader {
		return nil, sr.fail("header envelope", envStart+offLen, fmt.Errorf("header payload of %d bytes exceeds %d", n, maxSnapshotHeader))
	}
	env := make([]byte, 0, EnvelopeHeaderSize+int(n))
	env = append(env, hdr...) // hdr aliases sr.buf, which the next read reuses
	env = append(env, sr.read("header payload", int(n))...)
	if sr.err != nil {
		return nil, sr.err
	}
	kind := KindSnapshot
	if e, err := DecodeEnvelope(env); err == nil && e.Kind == KindDocSnapshot {
		kind = KindDocSnapshot
	}
	p, _, err := ks.Open(env, kind, now)
	if err != nil {
		return nil, fmt.Errorf("snapshot header at offset %d: %w", envStart, err)
	}
	sh, err := DecodeSnapshotHeader(p)
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Offset += envStart + EnvelopeHeaderSize
		}
		return nil, err
	}
	if kind == KindDocSnapshot {
		sh.Kind = engine.ListDocuments
	}
	if head != nil {
		want := Position{head.Epoch, head.SnapshotVersion}
		switch {
		case sh.List != head.List:
			return nil, fmt.Errorf("snapshot: %w: file is list %q, head is %q", ErrWrongList, sh.List, head.List)
		case sh.Position() != want:
			return nil, fmt.Errorf("snapshot: %w: file is at %s, the head names %s", ErrConflict, sh.Position(), want)
		case head.SnapshotVersion == head.Version && sh.Hash != head.Hash:
			return nil, fmt.Errorf("snapshot: %w: file hash %s, head hash %s", ErrConflict, sh.Hash, head.Hash)
		}
	}
	sr.head = sh
	return sr, nil
}

// Header returns the verified header.
func (sr *SnapshotReader) Header() SnapshotHeader { return *sr.head }

func (sr *SnapshotReader) fail(field string, off int64, err error) error {
	if sr.err == nil {
		sr.err = &DecodeError{Message: "snapshot", Field: field, Offset: off, Err: err}
	}
	return sr.err
}

// read returns the next n bytes, hashed, in a reused buffer.
func (sr *SnapshotReader) read(field string, n int) []byte {
	if sr.err != nil {
		return nil
	}
	if cap(sr.buf) < n {
		sr.buf = make([]byte, n)
	}
	b := sr.buf[:n]
	got, err := io.ReadFull(sr.r, b)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			err = fmt.Errorf("truncated: needs %d bytes, %d present", n, got)
		}
		sr.fail(field, sr.off+int64(got), err)
		return nil
	}
	sr.sum.Write(b)
	sr.off += int64(n)
	return b
}

func (sr *SnapshotReader) uvarint(field string) uint64 {
	start := sr.off
	var v uint64
	for i := 0; ; i++ {
		if i == binary.MaxVarintLen64 {
			sr.fail(field, start, errors.New("varint overflows 64 bits"))
			return 0
		}
		c := sr.read(field, 1)
		if c == nil {
			return 0
		}
		b := c[0]
		if i == binary.MaxVarintLen64-1 && b > 1 {
			sr.fail(field, start, errors.New("varint overflows 64 bits"))
			return 0
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			if i > 0 && b == 0 {
				sr.fail(field, start, errors.New("varint not minimally encoded"))
				return 0
			}
			return v
		}
	}
}

// Next returns the next entry. After the last one it checks the count,
// the records' SetHash, the trailer and the end of the file, and returns
// io.EOF only if all hold.
func (sr *SnapshotReader) Next() (engine.Entry, error) {
	if sr.head.Kind == engine.ListDocuments {
		return engine.Entry{}, errors.New("snapshot: the file holds a documents list (use NextDocument)")
	}
	rec, field, start, err := sr.nextRecord()
	if err != nil {
		return engine.Entry{}, err
	}
	e, err := decodeEntry(rec)
	if err != nil {
		return engine.Entry{}, sr.fail(field, start, err)
	}
	sr.set.Add(rec)
	sr.n++
	return e, nil
}

// nextRecord reads the next record's bytes (valid until the next read),
// or after the last one checks the file's end (see Next).
func (sr *SnapshotReader) nextRecord() (rec []byte, field string, start int64, err error) {
	if sr.err != nil {
		return nil, "", 0, sr.err
	}
	if sr.done {
		return nil, "", 0, io.EOF
	}
	if sr.n == sr.head.Count {
		return nil, "", 0, sr.finish()
	}
	field = "record " + strconv.FormatUint(sr.n, 10)
	start = sr.off
	n := sr.uvarint(field)
	if sr.err != nil {
		return nil, "", 0, sr.err
	}
	if n == 0 || n > MaxEntrySize {
		return nil, "", 0, sr.fail(field, start, fmt.Errorf("record length %d, want 1 to %d", n, MaxEntrySize))
	}
	rec = sr.read(field, int(n))
	if sr.err != nil {
		return nil, "", 0, sr.err
	}
	return rec, field, start, nil
}

func (sr *SnapshotReader) finish() error {
	if sr.set != sr.head.Hash {
		return sr.fail("records", sr.off, fmt.Errorf("%w: records hash to %s, the header says %s", ErrDiverged, sr.set, sr.head.Hash))
	}
	var want [32]byte
	sr.sum.Sum(want[:0])
	at := sr.off
	got := sr.read("trailer", snapshotTrailerSize)
	if sr.err != nil {
		return sr.err
	}
	if [32]byte(got) != want {
		return sr.fail("trailer", at, errors.New("SHA-256 of the file does not match the trailer"))
	}
	if _, err := sr.r.ReadByte(); err != io.EOF {
		if err == nil {
			return sr.fail("end", sr.off, errors.New("bytes after the trailer"))
		}
		return sr.fail("end", sr.off, err)
	}
	sr.sum.Sum(sr.final[:0])
	if h := sr.expect; h != nil {
		if uint64(sr.off) != h.SnapshotSize {
			return sr.fail("size", sr.off, fmt.Errorf("file is %d bytes, the head says %d", sr.off, h.SnapshotSize))
		}
		if sr.final != h.SnapshotSHA256 {
			return sr.fail("sha256", sr.off, errors.New("file SHA-256 differs from the head's"))
		}
	}
	sr.done = true
	return io.EOF
}

// FileSHA256 returns the SHA-256 of the whole file once Next has
// returned io.EOF.
func (sr *SnapshotReader) FileSHA256() [32]byte { return sr.final }
