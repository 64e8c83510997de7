package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Post → HQ records on HitsTopic and HQ's acknowledgements of them on
// AcksTopic (PROTOCOL.md §6). The post's outbox stores and sends them;
// HQ decodes, stores once by id, and acknowledges.

// RecordKind is what a post → HQ record carries.
type RecordKind uint8

// Record kinds. The numbers are stored on disk by the post's outbox:
// never renumber.
const (
	// RecordHit: a screening matched a watchlist entry (payload
	// HitReport).
	RecordHit RecordKind = 1
	// RecordDisposition: what the officer decided about a hit (payload
	// DispositionReport).
	RecordDisposition RecordKind = 2
	// RecordStatus: the post's status report (payload PostStatus); a
	// newer one supersedes older ones.
	RecordStatus RecordKind = 3
	// RecordTelemetry: counters and health samples.
	RecordTelemetry RecordKind = 4
	// RecordAudit: a stretch of the post's audit chain with its signed
	// checkpoint (payload AuditBatch).
	RecordAudit RecordKind = 5
)

var recordKindNames = [...]string{RecordHit: "hit", RecordDisposition: "disposition", RecordStatus: "status", RecordTelemetry: "telemetry", RecordAudit: "audit"}

// String returns the kind's wire name ("hit", "disposition", "status",
// "telemetry", "audit").
func (k RecordKind) String() string {
	if k.Valid() {
		return recordKindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Valid reports whether k is one of the kinds above.
func (k RecordKind) Valid() bool { return k >= RecordHit && k <= RecordAudit }

// Sealed reports whether records of kind k travel sealed to HQ's
// encryption key (SealRecord): hits and decisions hold travellers' data
// and officers' notes, audit entries name officers and flights. Status
// and telemetry hold neither and travel in clear.
func (k RecordKind) Sealed() bool {
	return k == RecordHit || k == RecordDisposition || k == RecordAudit
}

// ParseRecordKind is the inverse of RecordKind.String.
func ParseRecordKind(s string) (RecordKind, error) {
	for k, n := range recordKindNames {
		if n != "" && n == s {
			return RecordKind(k), nil
		}
	}
	return 0, fmt.Errorf("unknown record kind %q", s)
}

// Record is one post → HQ record as it travels.
type Record struct {
	// ID identifies the record end to end and never changes
	// (ValidateRecordID): HQ deduplicates by it and acknowledges it.
	ID   string
	Kind RecordKind
	// CreatedAt is when the post made the record; sent in UTC to the
	// nanosecond.
	CreatedAt time.Time
	// Payload is one JSON document of at most MaxRecordPayload bytes,
	// sent as is. A record decoded from a sealed message has no Payload
	// and no CreatedAt until OpenRecord has opened Sealed.
	Payload []byte
	// Sealed is the sealed form of CreatedAt and Payload (SealRecord);
	// nil for a record in clear.
	Sealed *SealedPayload
}

// MaxRecordPayload bounds a record's payload. A hit with its screening
// context is a few KB; the bound keeps a message well inside one Badger
// transaction and a thin link's patience.
const MaxRecordPayload = 64 << 10

// MaxRecordMessage bounds a whole record message: the payload and the
// fields around it, or the sealed payload in base64 (4/3 of the
// plaintext, which adds the creation time and HPKE's 48 bytes).
const MaxRecordMessage = (MaxRecordPayload+1024)*4/3 + 4096

// MaxRecordIDLen bounds a record id.
const MaxRecordIDLen = 64

// ErrInvalidRecord: a record message failed to decode or check (bad JSON,
// unknown kind, bad id, no payload).
var ErrInvalidRecord = errors.New("invalid record")

// ValidateRecordID checks a record id: 1..64 bytes of [0-9A-Za-z._:-].
func ValidateRecordID(id string) error {
	if id == "" || len(id) > MaxRecordIDLen {
		return fmt.Errorf("id %q: want 1 to %d characters", id, MaxRecordIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_' || c == ':' || c == '-') {
			return fmt.Errorf("id %q: only 0-9, A-Z, a-z, '.', '_', ':' and '-' are allowed", id)
		}
	}
	return nil
}

// RecordMessage is the JSON of one record on HitsTopic, in clear:
//
//	{"id":"01J…","kind":"status","created_at":"2026-07-01T10:00:00.123456789Z","payload":{…}}
//
// payload is the record's JSON document, embedded as is. A sealed record
// (RecordKind.Sealed) carries only its routing fields and the sealed box:
//
//	{"id":"01J…","kind":"hit","sealed":{"key":"<HQ key id>","box":"<base64>"}}
type RecordMessage struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	CreatedAt time.Time       `json:"created_at,omitzero"`
	Payload   json.RawMessage `json:"payload,omitempty"`
	Sealed    *SealedPayload  `json:"sealed,omitempty"`
}

// EncodeRecord returns the wire form of r in clear (SealRecord seals it).
func EncodeRecord(r Record) ([]byte, error) {
	if r.Sealed != nil {
		b, err := json.Marshal(RecordMessage{ID: r.ID, Kind: r.Kind.String(), Sealed: r.Sealed})
		if err != nil {
			return nil, fmt.Errorf("encode record %s: %w", r.ID, err)
		}
		return b, nil
	}
	b, err := json.Marshal(RecordMessage{ID: r.ID, Kind: r.Kind.String(), CreatedAt: r.CreatedAt.UTC(), Payload: r.Payload})
	if err != nil {
		return nil, fmt.Errorf("encode record %s: %w", r.ID, err)
	}
	return b, nil
}

// DecodeRecord parses and checks a record message; every failure wraps
// ErrInvalidRecord. A sealed message decodes to a Record with Sealed set
// and no payload: OpenRecord opens it.
func DecodeRecord(b []byte) (Record, error) {
	var m RecordMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return Record{}, fmt.Errorf("decode record: %w: %w", ErrInvalidRecord, err)
	}
	k, err := ParseRecordKind(m.Kind)
	if err != nil {
		return Record{}, fmt.Errorf("decode record: %w: %w", ErrInvalidRecord, err)
	}
	if err := ValidateRecordID(m.ID); err != nil {
		return Record{}, fmt.Errorf("decode record: %w: %w", ErrInvalidRecord, err)
	}
	if m.Sealed != nil {
		if len(m.Payload) != 0 {
			return Record{}, fmt.Errorf("decode record %s: %w: both a payload and a sealed one", m.ID, ErrInvalidRecord)
		}
		if len(m.Sealed.Box) == 0 {
			return Record{}, fmt.Errorf("decode record %s: %w: empty sealed box", m.ID, ErrInvalidRecord)
		}
		return Record{ID: m.ID, Kind: k, Sealed: m.Sealed}, nil
	}
	if len(m.Payload) == 0 {
		return Record{}, fmt.Errorf("decode record %s: %w: no payload", m.ID, ErrInvalidRecord)
	}
	return Record{ID: m.ID, Kind: k, CreatedAt: m.CreatedAt, Payload: m.Payload}, nil
}

// AckMessage is HQ's application-level acknowledgement on AcksTopic:
// {"ids":["01J…",…]}. HQ sends it only after the records are stored
// (deduplicated by id), and acks a duplicate again.
type AckMessage struct {
	IDs []string `json:"ids"`
}

// MaxAckIDs bounds the ids in one ack message: HQ sends no more, a post
// accepts no more.
const MaxAckIDs = 4096

// EncodeAck returns the wire form of an ack.
func EncodeAck(ids []string) ([]byte, error) {
	b, err := json.Marshal(AckMessage{IDs: ids})
	if err != nil {
		return nil, fmt.Errorf("encode ack: %w", err)
	}
	return b, nil
}

// DecodeAck parses an ack message; ids that are not valid record ids are
// an error (the whole message is ignored).
func DecodeAck(b []byte) ([]string, error) {
	var a AckMessage
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("decode ack: %w", err)
	}
	if len(a.IDs) > MaxAckIDs {
		return nil, fmt.Errorf("decode ack: %d ids, limit %d", len(a.IDs), MaxAckIDs)
	}
	for _, id := range a.IDs {
		if err := ValidateRecordID(id); err != nil {
			return nil, fmt.Errorf("decode ack: %w", err)
		}
	}
	return a.IDs, nil
}
