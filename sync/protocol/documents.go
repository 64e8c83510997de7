package protocol

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/watchpost/watchpost/engine"
)

// Documents lists (stolen and lost travel documents) on the wire: their
// delta body (envelope kind doc-delta) and their snapshot records
// (snapshot header envelope kind doc-snapshot). Heads are the same for
// both kinds of list.
//
// Doc-delta payload, v1: the delta fields up to hash_after as in a delta
// (EncodeDelta), then
//
//	upserts  uvarint count, then per row: uvarint length + engine.MarshalDocument
//	deletes  uvarint count, then per row: uvarint length + engine.MarshalDocument
//	         of the row's identity (type, number, country; note empty)
//
// The payload ends after the last delete. A row's identity is
// DocumentID: the store holds one row per identity, and an identity
// appears at most once across upserts and deletes.

// minDocRecord is the fewest bytes a length-prefixed MarshalDocument
// record with a number can take (a length byte, the codec byte, four
// string lengths, one byte of number).
const minDocRecord = 1 + 1 + 4 + 1

// DocumentID is the identity of a documents-list row, as the store keys
// it: engine.DocumentKey of the number, the issuing state upper-cased,
// the type, joined by NUL. Identities order as the store orders its rows.
func DocumentID(d *engine.Document) string {
	return engine.DocumentKey(d.Number) + "\x00" + strings.ToUpper(strings.TrimSpace(d.Country)) + "\x00" + d.Type
}

// Documents reports whether d is a delta of a documents list.
func (d *Delta) Documents() bool { return d.Kind == engine.ListDocuments }

// Ops is the number of operations the delta carries.
func (d *Delta) Ops() int {
	return len(d.Upserts) + len(d.Deletes) + len(d.DocUpserts) + len(d.DocDeletes)
}

// EnvelopeKind is the kind of envelope the delta is sealed in.
func (d *Delta) EnvelopeKind() Kind {
	if d.Documents() {
		return KindDocDelta
	}
	return KindDelta
}

// ValidDocument reports what makes a documents row unfit to send: a
// number without letter or digit, or longer than MaxIDLen, invalid
// UTF-8, NUL in its country or type, a record over MaxEntrySize.
func ValidDocument(d *engine.Document) error {
	switch {
	case engine.DocumentKey(d.Number) == "":
		return fmt.Errorf("document number %q has no letter or digit", d.Number)
	case len(d.Number) > MaxIDLen:
		return fmt.Errorf("document number of %d bytes exceeds %d", len(d.Number), MaxIDLen)
	case !utf8.ValidString(d.Number) || !utf8.ValidString(d.Country) || !utf8.ValidString(d.Type) || !utf8.ValidString(d.Note):
		return fmt.Errorf("document %q: invalid UTF-8", d.Number)
	case strings.IndexByte(d.Country, 0) >= 0 || strings.IndexByte(d.Type, 0) >= 0:
		return fmt.Errorf("document %q: NUL in its country or type", d.Number)
	case len(d.Type)+len(d.Number)+len(d.Country)+len(d.Note)+4*binary.MaxVarintLen32 > MaxEntrySize:
		return fmt.Errorf("document %q: its record would exceed %d bytes", d.Number, MaxEntrySize)
	}
	return nil
}

func (d *Delta) validateDocs() error {
	if len(d.Upserts)+len(d.Deletes) > 0 {
		return errors.New("encode delta: entries in a delta of a documents list")
	}
	seen := make(map[string]string, len(d.DocUpserts)+len(d.DocDeletes))
	check := func(op string, i int, doc *engine.Document) error {
		if err := ValidDocument(doc); err != nil {
			return fmt.Errorf("encode delta: %s %d: %w", op, i, err)
		}
		if op == "delete" && doc.Note != "" {
			return fmt.Errorf("encode delta: delete %d: document %q: a delete names the row (type, number, country), without a note", i, doc.Number)
		}
		id := DocumentID(doc)
		if prev, ok := seen[id]; ok {
			return fmt.Errorf("encode delta: %s %d: document %q (%s, %s) already %s", op, i, doc.Number, doc.Country, doc.Type, prev)
		}
		seen[id] = op + "d"
		return nil
	}
	for i := range d.DocUpserts {
		if err := check("upsert", i, &d.DocUpserts[i]); err != nil {
			return err
		}
	}
	for i := range d.DocDeletes {
		if err := check("delete", i, &d.DocDeletes[i]); err != nil {
			return err
		}
	}
	return nil
}

// encodeDocOps appends the upserts and deletes of a doc-delta.
func encodeDocOps(e *enc, d *Delta) ([]byte, error) {
	for _, part := range [][]engine.Document{d.DocUpserts, d.DocDeletes} {
		e.uvarint(uint64(len(part)))
		for i := range part {
			rec := engine.MarshalDocument(&part[i])
			if len(rec) > MaxEntrySize {
				return nil, fmt.Errorf("encode delta: document %q: %d bytes exceed the limit of %d", part[i].Number, len(rec), MaxEntrySize)
			}
			e.bytes(rec)
		}
	}
	return e.b, nil
}

// DecodeDocDelta parses a doc-delta payload. Call it only on a payload
// KeySet.Open returned with kind doc-delta.
func DecodeDocDelta(p []byte) (*Delta, error) {
	d := dec{msg: "doc-delta", b: p}
	m := decodeDeltaHeader(&d)
	m.Kind = engine.ListDocuments
	seen := map[string]bool{}
	part := func(name string, max int, del bool) []engine.Document {
		n := d.count(name, max, minDocRecord)
		if n == 0 {
			return nil
		}
		out := make([]engine.Document, n)
		for i := range out {
			field := name + "[" + strconv.Itoa(i) + "]"
			at := d.off
			rec := d.take(field, d.length(field, MaxEntrySize))
			if d.err != nil {
				return nil
			}
			doc, err := decodeDocument(rec)
			id := DocumentID(&doc)
			switch {
			case err != nil:
			case seen[id]:
				err = fmt.Errorf("document %q (%s, %s) appears twice", doc.Number, doc.Country, doc.Type)
			case del && doc.Note != "":
				err = fmt.Errorf("document %q: a delete carries a note", doc.Number)
			}
			if err != nil {
				d.off = at
				d.fail(field, err)
				return nil
			}
			seen[id] = true
			out[i] = doc
		}
		return out
	}
	m.DocUpserts = part("upserts", MaxDeltaOps, false)
	m.DocDeletes = part("deletes", MaxDeltaOps-len(m.DocUpserts), true)
	if err := d.end(); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeDocument decodes one MarshalDocument record and insists that it
// is valid and canonical, so the signed bytes are the bytes the store
// hashes.
func decodeDocument(rec []byte) (engine.Document, error) {
	doc, err := engine.UnmarshalDocument(rec)
	if err != nil {
		return engine.Document{}, err
	}
	if err := ValidDocument(&doc); err != nil {
		return engine.Document{}, err
	}
	if !bytes.Equal(engine.MarshalDocument(&doc), rec) {
		return engine.Document{}, fmt.Errorf("document %q: record is not in canonical form", doc.Number)
	}
	return doc, nil
}

// snapshotKind is the envelope kind of a snapshot header of a list kind.
func snapshotKind(k engine.ListKind) Kind {
	if k == engine.ListDocuments {
		return KindDocSnapshot
	}
	return KindSnapshot
}

// AddDocument writes one documents row to a snapshot of a documents list.
// Rows must come in strictly ascending DocumentID order (the order the
// store streams them), which is how a snapshot of ten million rows
// refuses a duplicate without remembering every identity.
func (sw *SnapshotWriter) AddDocument(d *engine.Document) error {
	if sw.err != nil {
		return sw.err
	}
	if sw.head.Kind != engine.ListDocuments {
		return fmt.Errorf("snapshot record %d: the snapshot is of a names list", sw.n)
	}
	if err := ValidDocument(d); err != nil {
		return fmt.Errorf("snapshot record %d: %w", sw.n, err)
	}
	id := DocumentID(d)
	if sw.n > 0 && id <= sw.lastDoc {
		return fmt.Errorf("snapshot record %d: document %q (%s, %s) is not after the previous row in identity order", sw.n, d.Number, d.Country, d.Type)
	}
	rec := engine.MarshalDocument(d)
	if len(rec) > MaxEntrySize {
		return fmt.Errorf("snapshot record %d (%q): %d bytes exceed the limit of %d", sw.n, d.Number, len(rec), MaxEntrySize)
	}
	sw.lastDoc = id
	return sw.addRecord(rec)
}

// NextDocument returns the next row of a snapshot of a documents list,
// checking that rows ascend strictly by DocumentID; at the end it checks
// the file as Next does and returns io.EOF only if all holds.
func (sr *SnapshotReader) NextDocument() (engine.Document, error) {
	if sr.head.Kind != engine.ListDocuments {
		return engine.Document{}, errors.New("snapshot: the file holds a names list (use Next)")
	}
	rec, field, start, err := sr.nextRecord()
	if err != nil {
		return engine.Document{}, err
	}
	d, err := decodeDocument(rec)
	if err != nil {
		return engine.Document{}, sr.fail(field, start, err)
	}
	id := DocumentID(&d)
	if sr.n > 0 && id <= sr.lastDoc {
		return engine.Document{}, sr.fail(field, start, fmt.Errorf("document %q (%s, %s) is not after the previous row in identity order (a duplicate or an unsorted file)", d.Number, d.Country, d.Type))
	}
	sr.lastDoc = id
	sr.set.Add(rec)
	sr.n++
	return d, nil
}
