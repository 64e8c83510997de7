package protocol

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/watchpost/watchpost/engine"
)

// Position is a place in a list's log: an epoch and a version in it.
// Positions order by epoch, then version.
type Position struct {
	Epoch   uint64 `json:"epoch"`
	Version uint64 `json:"version"`
}

// Compare returns -1, 0 or +1 as p is before, at or after q.
func (p Position) Compare(q Position) int {
	switch {
	case p.Epoch != q.Epoch:
		if p.Epoch < q.Epoch {
			return -1
		}
		return 1
	case p.Version < q.Version:
		return -1
	case p.Version > q.Version:
		return 1
	}
	return 0
}

func (p Position) String() string { return fmt.Sprintf("%d/%d", p.Epoch, p.Version) }

// Delta takes a list from FromVersion to ToVersion = FromVersion+1 in one
// epoch. Upserts replace or add entries by id, Deletes remove ids that
// are present; no id appears twice. HashAfter is the list's SetHash at
// ToVersion. A delta is not valid at or after ValidUntil.
//
// A delta of a documents list (Kind engine.ListDocuments, envelope kind
// doc-delta) carries DocUpserts and DocDeletes instead: rows identified by
// DocumentID (documents.go). Upserts and Deletes are then empty.
type Delta struct {
	List        string
	Kind        engine.ListKind // "" or engine.ListNames: a names list
	Epoch       uint64
	FromVersion uint64
	ToVersion   uint64
	Upserts     []engine.Entry
	Deletes     []string
	DocUpserts  []engine.Document
	DocDeletes  []engine.Document
	HashAfter   engine.SetHash
	IssuedAt    time.Time
	ValidUntil  time.Time
}

// Delta payload, v1 (uvarints minimally encoded; times are unix seconds):
//
//	list          uvarint length + bytes ([a-z0-9_-]{1,32})
//	epoch         uvarint >= 1
//	from_version  uvarint >= 1
//	to_version    uvarint == from_version + 1
//	issued_at     uvarint
//	valid_until   uvarint > issued_at
//	hash_after    32 bytes: the SetHash lanes, big-endian
//	upserts       uvarint count, then per entry: uvarint length + engine.MarshalEntry
//	deletes       uvarint count, then per id: uvarint length + bytes
//
// The payload ends after the last delete.

func checkHeader(what, list string, epoch uint64, issued, until time.Time) error {
	if err := ValidListName(list); err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	if epoch == 0 {
		return fmt.Errorf("encode %s: epoch must be at least 1", what)
	}
	if err := checkTime("issued_at", issued); err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	if until.IsZero() {
		return nil
	}
	if err := checkTime("valid_until", until); err != nil {
		return fmt.Errorf("encode %s: %w", what, err)
	}
	if !until.After(issued) {
		return fmt.Errorf("encode %s: valid_until %s is not after issued_at %s", what, until.Format(time.RFC3339), issued.Format(time.RFC3339))
	}
	return nil
}

// Validate reports what makes a delta unfit to publish.
func (d *Delta) Validate() error {
	if err := checkHeader("delta", d.List, d.Epoch, d.IssuedAt, d.ValidUntil); err != nil {
		return err
	}
	if d.ValidUntil.IsZero() {
		return errors.New("encode delta: valid_until is required")
	}
	if d.FromVersion == 0 || d.ToVersion != d.FromVersion+1 {
		return fmt.Errorf("encode delta: versions %d -> %d, want from >= 1 and to = from+1", d.FromVersion, d.ToVersion)
	}
	if n := d.Ops(); n > MaxDeltaOps {
		return fmt.Errorf("encode delta: %d operations exceed the limit of %d", n, MaxDeltaOps)
	}
	if d.Documents() {
		return d.validateDocs()
	}
	if len(d.DocUpserts)+len(d.DocDeletes) > 0 {
		return errors.New("encode delta: document rows in a delta of a names list")
	}
	seen := make(map[string]string, len(d.Upserts)+len(d.Deletes))
	for i := range d.Upserts {
		e := &d.Upserts[i]
		if err := e.Validate(); err != nil {
			return fmt.Errorf("encode delta: upsert %d: %w", i, err)
		}
		if err := validID(e.ID); err != nil {
			return fmt.Errorf("encode delta: upsert %d: %w", i, err)
		}
		if prev, ok := seen[e.ID]; ok {
			return fmt.Errorf("encode delta: upsert %d: entry %q already %s", i, e.ID, prev)
		}
		seen[e.ID] = "upserted"
	}
	for i, id := range d.Deletes {
		if err := validID(id); err != nil {
			return fmt.Errorf("encode delta: delete %d: %w", i, err)
		}
		if prev, ok := seen[id]; ok {
			return fmt.Errorf("encode delta: delete %d: entry %q already %s", i, id, prev)
		}
		seen[id] = "deleted"
	}
	return nil
}

// EncodeDelta returns the payload of a delta.
func EncodeDelta(d *Delta) ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	e := enc{b: make([]byte, 0, 64+len(d.Upserts)*160+len(d.Deletes)*12+len(d.DocUpserts)*32+len(d.DocDeletes)*24)}
	e.str(d.List)
	e.uvarint(d.Epoch)
	e.uvarint(d.FromVersion)
	e.uvarint(d.ToVersion)
	e.time(d.IssuedAt)
	e.time(d.ValidUntil)
	e.hash(d.HashAfter)
	if d.Documents() {
		return encodeDocOps(&e, d)
	}
	e.uvarint(uint64(len(d.Upserts)))
	for i := range d.Upserts {
		rec := engine.MarshalEntry(&d.Upserts[i])
		if len(rec) > MaxEntrySize {
			return nil, fmt.Errorf("encode delta: upsert %d (%q): %d bytes exceed the limit of %d", i, d.Upserts[i].ID, len(rec), MaxEntrySize)
		}
		e.bytes(rec)
	}
	e.uvarint(uint64(len(d.Deletes)))
	for _, id := range d.Deletes {
		e.str(id)
	}
	return e.b, nil
}

// SealDelta encodes and signs a delta.
func SealDelta(s *Signer, d *Delta) ([]byte, error) {
	p, err := EncodeDelta(d)
	if err != nil {
		return nil, err
	}
	return Seal(s, d.EnvelopeKind(), p)
}

// minEntryRecord is the fewest bytes a length-prefixed MarshalEntry record
// can take (a length byte, the codec byte, nine empty fields).
const minEntryRecord = 1 + 1 + 9

// DecodeDelta parses a delta payload of a names list. Call it only on a
// payload KeySet.Open returned with kind delta.
func DecodeDelta(p []byte) (*Delta, error) {
	d := dec{msg: "delta", b: p}
	m := decodeDeltaHeader(&d)
	seen := map[string]bool{}
	if n := d.count("upserts", MaxDeltaOps, minEntryRecord); n > 0 {
		m.Upserts = make([]engine.Entry, n)
		for i := range m.Upserts {
			field := "upserts[" + strconv.Itoa(i) + "]"
			at := d.off
			rec := d.take(field, d.length(field, MaxEntrySize))
			if d.err != nil {
				break
			}
			e, err := decodeEntry(rec)
			if err == nil && seen[e.ID] {
				err = fmt.Errorf("entry %q appears twice", e.ID)
			}
			if err != nil {
				d.off = at
				d.fail(field, err)
				break
			}
			seen[e.ID] = true
			m.Upserts[i] = e
		}
	}
	if n := d.count("deletes", MaxDeltaOps-len(m.Upserts), 2); n > 0 {
		m.Deletes = make([]string, n)
		for i := range m.Deletes {
			field := "deletes[" + strconv.Itoa(i) + "]"
			at := d.off
			id := d.str(field, MaxIDLen)
			if d.err != nil {
				break
			}
			err := validID(id)
			if err == nil && seen[id] {
				err = fmt.Errorf("entry %q appears twice", id)
			}
			if err != nil {
				d.off = at
				d.fail(field, err)
				break
			}
			seen[id] = true
			m.Deletes[i] = id
		}
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return m, nil
}

// decodeDeltaHeader parses the fields every delta starts with, up to
// hash_after.
func decodeDeltaHeader(d *dec) *Delta {
	m := &Delta{}
	m.List = d.listName("list")
	m.Epoch = d.nonzero("epoch")
	m.FromVersion = d.nonzero("from_version")
	at := d.off
	m.ToVersion = d.uvarint("to_version")
	if d.err == nil && m.ToVersion != m.FromVersion+1 {
		d.off = at
		d.failf("to_version", "%d, want from_version+1 = %d", m.ToVersion, m.FromVersion+1)
	}
	m.IssuedAt = d.time("issued_at")
	m.ValidUntil = d.timeAfter("valid_until", m.IssuedAt, "issued_at")
	m.HashAfter = d.hash("hash_after")
	return m
}

// OpenDelta verifies and decodes a signed delta (kind delta or doc-delta:
// a doc-delta decodes as a delta of a documents list).
func (ks *KeySet) OpenDelta(b []byte, now time.Time) (*Delta, KeyID, error) {
	kind := KindDelta
	if e, err := DecodeEnvelope(b); err == nil && e.Kind == KindDocDelta {
		kind = KindDocDelta
	}
	p, id, err := ks.Open(b, kind, now)
	if err != nil {
		return nil, id, err
	}
	decode := DecodeDelta
	if kind == KindDocDelta {
		decode = DecodeDocDelta
	}
	d, err := decode(p)
	return d, id, err
}

// Head is HQ's signed statement of a list's current position, re-signed
// periodically even when nothing changes so that a post can tell a frozen
// feed (no fresh head) from a quiet one. It also names the snapshot from
// which a post can rebuild the list: the snapshot is at SnapshotVersion of
// the same epoch (at most Version; deltas lead from there to Version),
// SnapshotSize bytes long with SHA-256 SnapshotSHA256. A head without a
// snapshot has an empty URL, zero size and zero hash.
type Head struct {
	List            string
	Epoch           uint64
	Version         uint64
	Hash            engine.SetHash
	Entries         uint64
	IssuedAt        time.Time
	ValidUntil      time.Time
	SnapshotURL     string
	SnapshotVersion uint64
	SnapshotSHA256  [32]byte
	SnapshotSize    uint64
}

// Position returns the head's position.
func (h *Head) Position() Position { return Position{h.Epoch, h.Version} }

// Head payload, v1:
//
//	list              uvarint length + bytes
//	epoch             uvarint >= 1
//	version           uvarint >= 1
//	hash              32 bytes
//	entries           uvarint
//	issued_at         uvarint
//	valid_until       uvarint > issued_at
//	snapshot_url      uvarint length + bytes ("" or https://…, at most 2048)
//	snapshot_version  uvarint (<= version; 0 without a snapshot)
//	snapshot_sha256   32 bytes
//	snapshot_size     uvarint

func checkSnapshotRef(url string, version, size, headVersion uint64) error {
	if url == "" {
		if version != 0 || size != 0 {
			return errors.New("snapshot version or size without a URL")
		}
		return nil
	}
	if !strings.HasPrefix(url, "https://") || len(url) <= len("https://") {
		return fmt.Errorf("snapshot URL %q is not https://", url)
	}
	if len(url) > MaxURLLen {
		return fmt.Errorf("snapshot URL of %d bytes exceeds %d", len(url), MaxURLLen)
	}
	for i := 0; i < len(url); i++ {
		if url[i] <= ' ' || url[i] >= 0x7f {
			return fmt.Errorf("snapshot URL has a control, space or non-ASCII byte at %d", i)
		}
	}
	if version == 0 || version > headVersion {
		return fmt.Errorf("snapshot version %d, want 1 to the head's version %d", version, headVersion)
	}
	if size == 0 {
		return errors.New("snapshot size is 0")
	}
	return nil
}

// EncodeHead returns the payload of a head.
func EncodeHead(h *Head) ([]byte, error) {
	if err := checkHeader("head", h.List, h.Epoch, h.IssuedAt, h.ValidUntil); err != nil {
		return nil, err
	}
	if h.ValidUntil.IsZero() {
		return nil, errors.New("encode head: valid_until is required")
	}
	if h.Version == 0 {
		return nil, errors.New("encode head: version must be at least 1")
	}
	if err := checkSnapshotRef(h.SnapshotURL, h.SnapshotVersion, h.SnapshotSize, h.Version); err != nil {
		return nil, fmt.Errorf("encode head: %w", err)
	}
	return h.payload(), nil
}

// payload encodes the head's fields, unchecked.
func (h *Head) payload() []byte {
	e := enc{b: make([]byte, 0, 128+len(h.SnapshotURL))}
	e.str(h.List)
	e.uvarint(h.Epoch)
	e.uvarint(h.Version)
	e.hash(h.Hash)
	e.uvarint(h.Entries)
	e.time(h.IssuedAt)
	e.time(h.ValidUntil)
	e.str(h.SnapshotURL)
	e.uvarint(h.SnapshotVersion)
	e.raw(h.SnapshotSHA256[:])
	e.uvarint(h.SnapshotSize)
	return e.b
}

// HeadDigest identifies a head's content: the SHA-256 of the bytes HQ
// signs for it (KindHead's signing domain and the payload). Two heads
// with the same issue time and position but different digests are a
// conflict: HQ signed two different statements where one is allowed.
// The zero value means "not known" (a state recorded before digests were
// kept).
type HeadDigest [32]byte

// Digest returns the head's HeadDigest.
func (h *Head) Digest() HeadDigest {
	sum := sha256.New()
	sum.Write([]byte(KindHead.Domain()))
	sum.Write(h.payload())
	return HeadDigest(sum.Sum(nil))
}

// IsZero reports whether the digest is unknown.
func (d HeadDigest) IsZero() bool { return d == HeadDigest{} }

// String returns the digest in lower-case hex.
func (d HeadDigest) String() string { return hex.EncodeToString(d[:]) }

// ParseHeadDigest parses HeadDigest.String's form.
func ParseHeadDigest(s string) (HeadDigest, error) {
	var d HeadDigest
	if len(s) != 2*len(d) {
		return d, fmt.Errorf("head digest %q: want %d hex digits", s, 2*len(d))
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("head digest %q: %w", s, err)
	}
	return d, nil
}

// SealHead encodes and signs a head.
func SealHead(s *Signer, h *Head) ([]byte, error) {
	p, err := EncodeHead(h)
	if err != nil {
		return nil, err
	}
	return Seal(s, KindHead, p)
}

// DecodeHead parses a head payload. Call it only on a payload
// KeySet.Open returned.
func DecodeHead(p []byte) (*Head, error) {
	d := dec{msg: "head", b: p}
	h := &Head{}
	h.List = d.listName("list")
	h.Epoch = d.nonzero("epoch")
	h.Version = d.nonzero("version")
	h.Hash = d.hash("hash")
	h.Entries = d.uvarint("entries")
	h.IssuedAt = d.time("issued_at")
	h.ValidUntil = d.timeAfter("valid_until", h.IssuedAt, "issued_at")
	at := d.off
	h.SnapshotURL = d.str("snapshot_url", MaxURLLen)
	h.SnapshotVersion = d.uvarint("snapshot_version")
	h.SnapshotSHA256 = d.sum("snapshot_sha256")
	h.SnapshotSize = d.uvarint("snapshot_size")
	if d.err == nil {
		if err := checkSnapshotRef(h.SnapshotURL, h.SnapshotVersion, h.SnapshotSize, h.Version); err != nil {
			d.off = at
			d.fail("snapshot", err)
		}
	}
	if err := d.end(); err != nil {
		return nil, err
	}
	return h, nil
}

// OpenHead verifies and decodes a signed head.
func (ks *KeySet) OpenHead(b []byte, now time.Time) (*Head, KeyID, error) {
	p, id, err := ks.Open(b, KindHead, now)
	if err != nil {
		return nil, id, err
	}
	h, err := DecodeHead(p)
	return h, id, err
}

// SnapshotHeader describes the full edition a snapshot file carries.
type SnapshotHeader struct {
	List     string
	Epoch    uint64
	Version  uint64
	Hash     engine.SetHash
	Count    uint64 // number of entry records that follow
	IssuedAt time.Time
	// Kind is not in the payload: a header sealed as doc-snapshot is
	// followed by documents rows (engine.ListDocuments), one sealed as
	// snapshot by entries ("" or engine.ListNames).
	Kind engine.ListKind
}

// Position returns the snapshot's position.
func (s *SnapshotHeader) Position() Position { return Position{s.Epoch, s.Version} }

// Snapshot header payload, v1:
//
//	list       uvarint length + bytes
//	epoch      uvarint >= 1
//	version    uvarint >= 1
//	hash       32 bytes
//	count      uvarint <= MaxSnapshotEntries
//	issued_at  uvarint

// EncodeSnapshotHeader returns the payload of a snapshot header.
func EncodeSnapshotHeader(s *SnapshotHeader) ([]byte, error) {
	if err := checkHeader("snapshot header", s.List, s.Epoch, s.IssuedAt, time.Time{}); err != nil {
		return nil, err
	}
	if s.Version == 0 {
		return nil, errors.New("encode snapshot header: version must be at least 1")
	}
	if s.Count > MaxSnapshotEntries {
		return nil, fmt.Errorf("encode snapshot header: %d entries exceed the limit of %d", s.Count, MaxSnapshotEntries)
	}
	e := enc{b: make([]byte, 0, 80)}
	e.str(s.List)
	e.uvarint(s.Epoch)
	e.uvarint(s.Version)
	e.hash(s.Hash)
	e.uvarint(s.Count)
	e.time(s.IssuedAt)
	return e.b, nil
}

// DecodeSnapshotHeader parses a snapshot header payload.
func DecodeSnapshotHeader(p []byte) (*SnapshotHeader, error) {
	d := dec{msg: "snapshot header", b: p}
	s := &SnapshotHeader{}
	s.List = d.listName("list")
	s.Epoch = d.nonzero("epoch")
	s.Version = d.nonzero("version")
	s.Hash = d.hash("hash")
	at := d.off
	s.Count = d.uvarint("count")
	if d.err == nil && s.Count > MaxSnapshotEntries {
		d.off = at
		d.failf("count", "%d exceeds the limit of %d", s.Count, MaxSnapshotEntries)
	}
	s.IssuedAt = d.time("issued_at")
	if err := d.end(); err != nil {
		return nil, err
	}
	return s, nil
}

// decodeEntry decodes one MarshalEntry record and insists that it is in
// canonical form (MarshalEntry of the result gives the same bytes), so the
// bytes HQ signed and hashed are the bytes the store will hash.
func decodeEntry(rec []byte) (engine.Entry, error) {
	e, err := engine.UnmarshalEntry(rec)
	if err != nil {
		return engine.Entry{}, err
	}
	if err := e.Validate(); err != nil {
		return engine.Entry{}, err
	}
	if err := validID(e.ID); err != nil {
		return engine.Entry{}, err
	}
	if !bytes.Equal(engine.MarshalEntry(&e), rec) {
		return engine.Entry{}, fmt.Errorf("entry %q: record is not in canonical form", e.ID)
	}
	return e, nil
}
