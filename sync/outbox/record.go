package outbox

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Kind is what a record carries.
type Kind uint8

// Record kinds. The numbers are stored on disk: never renumber.
const (
	// KindHit: a screening matched a watchlist entry.
	KindHit Kind = 1
	// KindDisposition: what the officer decided about a hit.
	KindDisposition Kind = 2
	// KindStatus: the post's status report; a newer one supersedes older
	// ones still in the outbox.
	KindStatus Kind = 3
	// KindTelemetry: counters and health samples; dropped oldest-first
	// when the outbox is over its budget.
	KindTelemetry Kind = 4
)

var kindNames = [...]string{KindHit: "hit", KindDisposition: "disposition", KindStatus: "status", KindTelemetry: "telemetry"}

// String returns the kind's wire name ("hit", "disposition", "status",
// "telemetry").
func (k Kind) String() string {
	if k.valid() {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

func (k Kind) valid() bool { return k >= KindHit && k <= KindTelemetry }

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, error) {
	for k, n := range kindNames {
		if n != "" && n == s {
			return Kind(k), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown kind %q", ErrInvalidRecord, s)
}

// Priority orders the drain and decides what the budget may drop.
type Priority uint8

const (
	// PriorityHigh records (hits, dispositions) are sent first and are
	// never dropped.
	PriorityHigh Priority = 1
	// PriorityLow records (status, telemetry) are sent after every high
	// one and yield when the outbox is over its budget.
	PriorityLow Priority = 2
)

// String returns "high" or "low".
func (p Priority) String() string {
	switch p {
	case PriorityHigh:
		return "high"
	case PriorityLow:
		return "low"
	}
	return fmt.Sprintf("priority(%d)", uint8(p))
}

// Priority returns the kind's priority; the policy is fixed, not
// configurable per record.
func (k Kind) Priority() Priority {
	if k == KindHit || k == KindDisposition {
		return PriorityHigh
	}
	return PriorityLow
}

// Record is one message for HQ.
type Record struct {
	// ID identifies the record end to end and never changes: HQ
	// deduplicates by it and acknowledges it. Empty in Put means "generate
	// one" (NewID). A caller-chosen id matches [0-9A-Za-z._:-]{1,64} and
	// must never be reused for different content: HQ acks a duplicate id
	// without storing it again.
	ID string
	// Kind says what Payload is; it sets the priority.
	Kind Kind
	// Priority is Kind.Priority(); Put fills it in, and rejects a record
	// that asks for another one.
	Priority Priority
	// Payload is the record's content: one JSON document (an object for
	// the kinds defined so far), at most MaxPayload bytes. It is sent as
	// is, inside the message envelope.
	Payload []byte
	// CreatedAt is when the record was made; zero in Put means now (the
	// outbox's clock). Kept to the nanosecond, sent in UTC.
	CreatedAt time.Time
}

// MaxPayload bounds a record's payload. A hit with its screening context
// is a few KB; the bound keeps a message well inside one Badger
// transaction and a thin link's patience.
const MaxPayload = 64 << 10

// Errors for errors.Is.
var (
	// ErrInvalidRecord: a record failed validation (kind, id, priority,
	// payload not JSON or too big). Nothing was written.
	ErrInvalidRecord = errors.New("invalid outbox record")
	// ErrDuplicateID: a record with this id is already in the outbox.
	ErrDuplicateID = errors.New("record id already in the outbox")
)

func (r *Record) normalise(now time.Time) error {
	if !r.Kind.valid() {
		return fmt.Errorf("%w: kind %d", ErrInvalidRecord, r.Kind)
	}
	switch r.Priority {
	case 0:
		r.Priority = r.Kind.Priority()
	case r.Kind.Priority():
	default:
		return fmt.Errorf("%w: a %s record is %s priority, not %s", ErrInvalidRecord, r.Kind, r.Kind.Priority(), r.Priority)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if r.ID == "" {
		r.ID = NewID(r.CreatedAt)
	} else if err := validID(r.ID); err != nil {
		return err
	}
	if len(r.Payload) > MaxPayload {
		return fmt.Errorf("%w: payload of %d bytes, limit %d", ErrInvalidRecord, len(r.Payload), MaxPayload)
	}
	if !json.Valid(r.Payload) {
		return fmt.Errorf("%w: payload is not a JSON document", ErrInvalidRecord)
	}
	return nil
}

func validID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("%w: id %q: want 1 to 64 characters", ErrInvalidRecord, id)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '.' || c == '_' || c == ':' || c == '-') {
			return fmt.Errorf("%w: id %q: only 0-9, A-Z, a-z, '.', '_', ':' and '-' are allowed", ErrInvalidRecord, id)
		}
	}
	return nil
}

// crockford is Crockford's base 32 alphabet (no I, L, O, U).
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewID returns a new 26-character, time-ordered id in the ULID layout:
// 48 bits of milliseconds since the Unix epoch (from t) then 80 random
// bits from crypto/rand, in Crockford base 32. Ids made in the same
// millisecond are not ordered among themselves; nothing depends on it
// (the outbox orders by its own sequence).
func NewID(t time.Time) string {
	var b [16]byte
	ms := uint64(max(t.UnixMilli(), 0))
	binary.BigEndian.PutUint16(b[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(b[2:6], uint32(ms))
	_, _ = rand.Read(b[6:]) // never fails (crypto/rand panics instead)
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	// 128 bits = 2 leading bits + 25 groups of 5; emit from the least
	// significant end.
	var out [26]byte
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// Stored value layout (under q/<prio><seq>, see the package doc):
//
//	[0]      codec version (1)
//	[1]      kind
//	[2:10]   created_at, Unix nanoseconds, big-endian int64
//	uvarint  id length, then the id
//	rest     payload
const codecV1 = 1

func encodeValue(r *Record) []byte {
	v := make([]byte, 0, 10+binary.MaxVarintLen16+len(r.ID)+len(r.Payload))
	v = append(v, codecV1, byte(r.Kind))
	v = binary.BigEndian.AppendUint64(v, uint64(r.CreatedAt.UnixNano()))
	v = binary.AppendUvarint(v, uint64(len(r.ID)))
	v = append(v, r.ID...)
	return append(v, r.Payload...)
}

func decodeValue(v []byte) (Record, error) {
	if len(v) < 11 || v[0] != codecV1 {
		return Record{}, fmt.Errorf("decode outbox record: bad header")
	}
	r := Record{Kind: Kind(v[1])}
	if !r.Kind.valid() {
		return Record{}, fmt.Errorf("decode outbox record: kind %d", v[1])
	}
	r.Priority = r.Kind.Priority()
	r.CreatedAt = time.Unix(0, int64(binary.BigEndian.Uint64(v[2:10])))
	n, k := binary.Uvarint(v[10:])
	if k <= 0 || uint64(len(v)-10-k) < n {
		return Record{}, fmt.Errorf("decode outbox record: bad id length")
	}
	rest := v[10+k:]
	r.ID = string(rest[:n])
	r.Payload = append([]byte(nil), rest[n:]...)
	return r, nil
}

// Message is the JSON sent to HQ for one record on
// watchpost/v1/posts/<post>/hits:
//
//	{"id":"01J…","kind":"hit","created_at":"2026-07-01T10:00:00.123456789Z","payload":{…}}
//
// payload is the record's JSON document, embedded as is.
type Message struct {
	ID        string          `json:"id"`
	Kind      string          `json:"kind"`
	CreatedAt time.Time       `json:"created_at"`
	Payload   json.RawMessage `json:"payload"`
}

// EncodeMessage returns the wire form of r.
func EncodeMessage(r Record) ([]byte, error) {
	b, err := json.Marshal(Message{ID: r.ID, Kind: r.Kind.String(), CreatedAt: r.CreatedAt.UTC(), Payload: r.Payload})
	if err != nil {
		return nil, fmt.Errorf("encode message %s: %w", r.ID, err)
	}
	return b, nil
}

// DecodeMessage parses and checks a message (for HQ and tests).
func DecodeMessage(b []byte) (Record, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return Record{}, fmt.Errorf("decode message: %w", err)
	}
	k, err := ParseKind(m.Kind)
	if err != nil {
		return Record{}, fmt.Errorf("decode message: %w", err)
	}
	r := Record{ID: m.ID, Kind: k, Priority: k.Priority(), Payload: m.Payload, CreatedAt: m.CreatedAt}
	if err := validID(r.ID); err != nil {
		return Record{}, fmt.Errorf("decode message: %w", err)
	}
	if len(m.Payload) == 0 {
		return Record{}, fmt.Errorf("decode message %s: %w: no payload", r.ID, ErrInvalidRecord)
	}
	return r, nil
}

// AckMessage is HQ's application-level acknowledgement on
// watchpost/v1/posts/<post>/acks: {"ids":["01J…",…]}. HQ sends it only
// after the records are stored (deduplicated by id), and acks a duplicate
// again.
type AckMessage struct {
	IDs []string `json:"ids"`
}

// MaxAckIDs bounds the ids in one ack message that a post accepts.
const MaxAckIDs = 4096

// EncodeAck returns the wire form of an ack (for HQ and tests).
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
		if err := validID(id); err != nil {
			return nil, fmt.Errorf("decode ack: %w", err)
		}
	}
	return a.IDs, nil
}
