package protocol

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The post's audit chain (PROTOCOL.md §9). Every audit entry a post
// writes is one JSON document that carries its place in the chain, "seq"
// (1, 2, 3, … per post, never reused) and "prev" (the hash of entry
// seq-1, "" for entry 1). An entry's hash is SHA-256 over
// "watchpost/v1/audit-entry\n" followed by the entry's bytes exactly as
// stored, so a changed byte anywhere changes the link the next entry
// holds. Every N entries or M minutes the post signs a checkpoint (its
// id, the head's seq and hash, the time) with its own Ed25519 audit key,
// and sends the entries since the previous checkpoint with it to HQ in a
// record of kind "audit" (AuditBatch, sealed). HQ pins the post's audit
// key at enrolment and verifies continuity and signatures per post.

const (
	auditEntryDomain      = "watchpost/v1/audit-entry\n"
	auditCheckpointDomain = "watchpost/v1/audit-checkpoint\n"
)

// AuditHash is the hash of one audit entry.
type AuditHash [32]byte

// String returns the hash in lower-case hex.
func (h AuditHash) String() string { return hex.EncodeToString(h[:]) }

// HashAuditEntry returns the hash of an entry's stored bytes.
func HashAuditEntry(raw []byte) AuditHash {
	s := sha256.New()
	s.Write([]byte(auditEntryDomain))
	s.Write(raw)
	var h AuditHash
	s.Sum(h[:0])
	return h
}

// AuditLink is the part of an audit entry the chain is made of.
type AuditLink struct {
	Seq  uint64 `json:"seq"`
	Prev string `json:"prev"`
}

// DecodeAuditLink reads the chain fields of an entry.
func DecodeAuditLink(raw []byte) (AuditLink, error) {
	var l AuditLink
	if err := json.Unmarshal(raw, &l); err != nil {
		return AuditLink{}, fmt.Errorf("audit entry: %w", err)
	}
	if l.Seq == 0 {
		return AuditLink{}, errors.New("audit entry: no seq")
	}
	return l, nil
}

// AuditCheckpoint is a post's signed statement of its chain's head.
type AuditCheckpoint struct {
	Post string `json:"post"`
	// Seq is the head entry's seq (the chain's length); Head its hash.
	Seq  uint64 `json:"seq"`
	Head string `json:"head"`
	// Time is the post's clock when it signed.
	Time time.Time `json:"time"`
	// Key is the post's audit key (FormatPublicKey); Sig the Ed25519
	// signature over the checkpoint's signed text.
	Key string `json:"key"`
	Sig []byte `json:"sig"`
}

// signedText is what the signature covers: the domain and one field a
// line, the time in RFC 3339 with nanoseconds, UTC.
func (c *AuditCheckpoint) signedText() []byte {
	return []byte(auditCheckpointDomain + c.Post + "\n" + strconv.FormatUint(c.Seq, 10) + "\n" + c.Head + "\n" +
		c.Time.UTC().Format(time.RFC3339Nano) + "\n")
}

// SignAuditCheckpoint fills in c's Key and Sig with priv.
func SignAuditCheckpoint(priv ed25519.PrivateKey, c *AuditCheckpoint) {
	c.Time = c.Time.UTC()
	c.Key = FormatPublicKey(priv.Public().(ed25519.PublicKey))
	c.Sig = ed25519.Sign(priv, c.signedText())
}

// Verify checks c's signature with pub (the post's pinned audit key).
func (c *AuditCheckpoint) Verify(pub ed25519.PublicKey) error {
	if c.Key != FormatPublicKey(pub) {
		return fmt.Errorf("checkpoint %d: signed with key %s, not the post's audit key", c.Seq, c.Key)
	}
	if !ed25519.Verify(pub, c.signedText(), c.Sig) {
		return fmt.Errorf("checkpoint %d: %w", c.Seq, ErrBadSignature)
	}
	return nil
}

// AuditBatch is the payload of a record of kind "audit": the entries
// From..Checkpoint.Seq of the post's chain, as the post holds them and in
// the order its store holds them, and the checkpoint over the last one.
type AuditBatch struct {
	Post string `json:"post"`
	// From is the first seq the batch covers: the one after the previous
	// checkpoint's.
	From       uint64            `json:"from"`
	Entries    []json.RawMessage `json:"entries"`
	Checkpoint AuditCheckpoint   `json:"checkpoint"`
}

// Validate checks the batch's structure (not its chain).
func (b *AuditBatch) Validate() error {
	switch {
	case b.Post == "":
		return errors.New("audit batch: no post")
	case b.Checkpoint.Post != b.Post:
		return fmt.Errorf("audit batch: checkpoint names post %q", b.Checkpoint.Post)
	case b.From == 0 || b.Checkpoint.Seq < b.From:
		return fmt.Errorf("audit batch: covers %d..%d", b.From, b.Checkpoint.Seq)
	case b.Checkpoint.Time.IsZero():
		return errors.New("audit batch: checkpoint has no time")
	}
	if _, err := ParseAuditHash(b.Checkpoint.Head); err != nil {
		return fmt.Errorf("audit batch: checkpoint head: %w", err)
	}
	if _, err := ParsePublicKey(b.Checkpoint.Key); err != nil {
		return fmt.Errorf("audit batch: checkpoint key: %w", err)
	}
	return nil
}

// ParseAuditHash reads a hash's 64 hex digits.
func ParseAuditHash(s string) (AuditHash, error) {
	var h AuditHash
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("hash %q: want %d hex digits", s, 2*len(h))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return AuditHash{}, fmt.Errorf("hash %q: %w", s, err)
	}
	return h, nil
}

// Audit fault kinds.
const (
	// FaultMissing: an entry is not there (deleted).
	FaultMissing = "missing"
	// FaultOutOfOrder: an entry is not in its place (moved or swapped).
	FaultOutOfOrder = "out-of-order"
	// FaultEdited: an entry's bytes are not those the next entry (or a
	// signed checkpoint) holds the hash of.
	FaultEdited = "edited"
	// FaultFork: an entry does not link to the chain as verified before,
	// or differs from the entry of that seq HQ already holds (a store
	// restored from a backup, or a rewritten chain).
	FaultFork = "fork"
	// FaultCheckpoint: a checkpoint's signature does not verify.
	FaultCheckpoint = "bad-checkpoint"
	// FaultKeyChanged: the post signs with another audit key than the one
	// pinned at enrolment.
	FaultKeyChanged = "key-changed"
	// FaultMalformed: an entry is not an audit entry.
	FaultMalformed = "malformed"
)

// AuditFault names the first bad place of a chain.
type AuditFault struct {
	// Seq is the bad entry's seq (for a checkpoint, its head's).
	Seq    uint64 `json:"seq"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

func (f *AuditFault) Error() string {
	return fmt.Sprintf("audit entry %d: %s: %s", f.Seq, f.Kind, f.Detail)
}

// AuditVerifier checks a chain fed entry by entry in the order it is
// held. After a fault it resynchronises on the entry it was fed, so one
// bad place is reported once and the rest of the chain is still checked.
type AuditVerifier struct {
	next uint64
	head AuditHash
	// fed: head is the hash of an entry fed to this verifier (so a bad
	// link blames that entry), not one it was started from.
	fed bool
	// unknown: the entry before next is missing; its hash is not known.
	unknown bool
}

// NewAuditVerifier returns a verifier expecting entry 1.
func NewAuditVerifier() *AuditVerifier { return &AuditVerifier{next: 1} }

// ResumeAuditVerifier returns a verifier expecting the entry after seq,
// whose hash is head (seq and head verified before).
func ResumeAuditVerifier(seq uint64, head AuditHash) *AuditVerifier {
	return &AuditVerifier{next: seq + 1, head: head}
}

// Next is the seq the verifier expects next; Head the hash of the entry
// before it.
func (v *AuditVerifier) Next() uint64    { return v.next }
func (v *AuditVerifier) Head() AuditHash { return v.head }

// Entry checks the entry held at position pos (the store's index, or
// the batch's running count) and returns the first fault it shows, or
// nil. laterHas, if not nil, says whether an entry with a given seq comes
// later in the same stream (to tell a reordering from a deletion).
func (v *AuditVerifier) Entry(pos uint64, raw []byte, laterHas func(seq uint64) bool) *AuditFault {
	h := HashAuditEntry(raw)
	l, err := DecodeAuditLink(raw)
	if err != nil {
		f := &AuditFault{Seq: pos, Kind: FaultMalformed, Detail: err.Error()}
		v.resync(pos, h)
		return f
	}
	switch {
	case pos != v.next && pos > v.next:
		f := &AuditFault{Seq: v.next, Kind: FaultMissing, Detail: missing(v.next, pos-1)}
		if laterHas != nil && laterHas(v.next) {
			f.Kind, f.Detail = FaultOutOfOrder, fmt.Sprintf("entry %d comes after entry %d", v.next, l.Seq)
		}
		v.resync(l.Seq, h)
		return f
	case pos != v.next:
		f := &AuditFault{Seq: pos, Kind: FaultOutOfOrder, Detail: fmt.Sprintf("entry %d comes after entry %d", pos, v.next-1)}
		v.resync(max(l.Seq, v.next-1), h)
		return f
	case l.Seq != pos:
		f := &AuditFault{Seq: pos, Kind: FaultOutOfOrder, Detail: fmt.Sprintf("the place of entry %d holds entry %d", pos, l.Seq)}
		v.resync(pos, h)
		return f
	}
	want := ""
	if pos > 1 {
		want = v.head.String()
	}
	if l.Prev != want && !v.unknown {
		var f *AuditFault
		if v.fed {
			f = &AuditFault{Seq: pos - 1, Kind: FaultEdited, Detail: fmt.Sprintf("its hash is not the one entry %d holds", pos)}
		} else {
			f = &AuditFault{Seq: pos, Kind: FaultFork, Detail: fmt.Sprintf("it does not link to entry %d as verified before", pos-1)}
		}
		v.resync(pos, h)
		return f
	}
	v.resync(pos, h)
	return nil
}

// Lost records that the entry at pos is known to be gone (its index row
// remains, its entry does not) and returns the fault.
func (v *AuditVerifier) Lost(pos uint64) *AuditFault {
	f := &AuditFault{Seq: pos, Kind: FaultMissing, Detail: fmt.Sprintf("entry %d was deleted", pos)}
	if pos > v.next {
		f = &AuditFault{Seq: v.next, Kind: FaultMissing, Detail: missing(v.next, pos)}
	}
	v.next, v.unknown, v.fed = pos+1, true, false
	return f
}

// Skip passes over from..to, entries the post purged by retention, whose
// last hash was declared; from must be the seq expected next.
func (v *AuditVerifier) Skip(from, to uint64, last AuditHash) *AuditFault {
	if from != v.next || to < from {
		f := &AuditFault{Seq: v.next, Kind: FaultMissing, Detail: missing(v.next, max(from, v.next+1)-1)}
		v.next, v.head, v.fed, v.unknown = to+1, last, false, false
		return f
	}
	v.next, v.head, v.fed, v.unknown = to+1, last, false, false
	return nil
}

// Checkpoint checks a checkpoint over the entry just fed (c.Seq must be
// Next()-1) with the post's audit key: its signature and its head.
func (v *AuditVerifier) Checkpoint(c *AuditCheckpoint, key ed25519.PublicKey) *AuditFault {
	if err := c.Verify(key); err != nil {
		return &AuditFault{Seq: c.Seq, Kind: FaultCheckpoint, Detail: err.Error()}
	}
	if c.Seq+1 != v.next || v.unknown {
		return nil // not over the entry just fed: nothing to compare
	}
	if c.Head != v.head.String() {
		k := FaultFork
		if v.fed {
			k = FaultEdited
		}
		return &AuditFault{Seq: c.Seq, Kind: k, Detail: "its hash is not the one the signed checkpoint holds"}
	}
	return nil
}

func (v *AuditVerifier) resync(seq uint64, h AuditHash) {
	v.next, v.head, v.fed, v.unknown = seq+1, h, true, false
}

func missing(from, to uint64) string {
	if from == to {
		return fmt.Sprintf("entry %d is not there", from)
	}
	return fmt.Sprintf("entries %d to %d are not there", from, to)
}

// VerifyAuditBatch checks a batch's entries and checkpoint, as they came,
// from v (which must expect b.From) with the post's audit key, and
// returns every fault in order (nil: the stretch is sound).
func VerifyAuditBatch(v *AuditVerifier, b *AuditBatch, key ed25519.PublicKey) []*AuditFault {
	var faults []*AuditFault
	if b.From != v.Next() {
		faults = append(faults, &AuditFault{Seq: v.Next(), Kind: FaultFork,
			Detail: fmt.Sprintf("the batch starts at entry %d, the chain continues at %d", b.From, v.Next())})
		v.next = b.From
	}
	seqs := make([]uint64, len(b.Entries))
	for i, raw := range b.Entries {
		if l, err := DecodeAuditLink(raw); err == nil {
			seqs[i] = l.Seq
		}
	}
	for i, raw := range b.Entries {
		pos := seqs[i]
		if pos == 0 {
			pos = v.Next()
		}
		rest := seqs[i+1:]
		later := func(seq uint64) bool {
			for _, s := range rest {
				if s == seq {
					return true
				}
			}
			return false
		}
		if f := v.Entry(pos, raw, later); f != nil {
			faults = append(faults, f)
		}
	}
	if v.Next() <= b.Checkpoint.Seq {
		faults = append(faults, &AuditFault{Seq: v.Next(), Kind: FaultMissing, Detail: missing(v.Next(), b.Checkpoint.Seq)})
		v.next, v.unknown = b.Checkpoint.Seq+1, true
	}
	if f := v.Checkpoint(&b.Checkpoint, key); f != nil {
		faults = append(faults, f)
	}
	// The signed head is where the next batch continues: a bad link there
	// is the new entry's fault, not this batch's.
	if h, err := ParseAuditHash(b.Checkpoint.Head); err == nil {
		v.next, v.head, v.unknown, v.fed = b.Checkpoint.Seq+1, h, false, false
	}
	return faults
}
