package outbox

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/watchpost/watchpost/sync/protocol"
)

// Priority orders the drain and decides what the budget may drop.
type Priority uint8

const (
	// PriorityHigh records (hits, dispositions, audit) are sent first
	// and are never dropped.
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

// PriorityOf returns the priority of a record kind: hits, dispositions
// and audit checkpoints are high (a dropped audit record would show at HQ
// as a gap in the post's chain), status and telemetry low. The policy is
// fixed, not configurable per record.
func PriorityOf(k protocol.RecordKind) Priority {
	if k == protocol.RecordHit || k == protocol.RecordDisposition || k == protocol.RecordAudit {
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
	Kind protocol.RecordKind
	// Priority is PriorityOf(Kind); Put fills it in, and rejects a record
	// that asks for another one.
	Priority Priority
	// Payload is the record's content: one JSON document (an object for
	// the kinds defined so far), at most protocol.MaxRecordPayload bytes.
	// It is sent as is, inside the message envelope.
	Payload []byte
	// CreatedAt is when the record was made; zero in Put means now (the
	// outbox's clock). Kept to the nanosecond, sent in UTC.
	CreatedAt time.Time
}

// Errors for errors.Is.
var (
	// ErrInvalidRecord: a record failed validation (kind, id, priority,
	// payload not JSON or too big). Nothing was written.
	ErrInvalidRecord = errors.New("invalid outbox record")
	// ErrDuplicateID: a record with this id is already in the outbox.
	ErrDuplicateID = errors.New("record id already in the outbox")
)

func (r *Record) normalise(now time.Time) error {
	if !r.Kind.Valid() {
		return fmt.Errorf("%w: kind %d", ErrInvalidRecord, r.Kind)
	}
	switch p := PriorityOf(r.Kind); r.Priority {
	case 0:
		r.Priority = p
	case p:
	default:
		return fmt.Errorf("%w: a %s record is %s priority, not %s", ErrInvalidRecord, r.Kind, p, r.Priority)
	}
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if r.ID == "" {
		r.ID = NewID(r.CreatedAt)
	} else if err := protocol.ValidateRecordID(r.ID); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRecord, err)
	}
	if len(r.Payload) > protocol.MaxRecordPayload {
		return fmt.Errorf("%w: payload of %d bytes, limit %d", ErrInvalidRecord, len(r.Payload), protocol.MaxRecordPayload)
	}
	if !json.Valid(r.Payload) {
		return fmt.Errorf("%w: payload is not a JSON document", ErrInvalidRecord)
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
	r := Record{Kind: protocol.RecordKind(v[1])}
	if !r.Kind.Valid() {
		return Record{}, fmt.Errorf("decode outbox record: kind %d", v[1])
	}
	r.Priority = PriorityOf(r.Kind)
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

// wire returns the record as it travels to HQ.
func (r *Record) wire() protocol.Record {
	return protocol.Record{ID: r.ID, Kind: r.Kind, CreatedAt: r.CreatedAt, Payload: r.Payload}
}
