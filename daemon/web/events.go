package web

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/clock"
)

// Actions the foundation audits. Consoles add their own.
const (
	ActionLogin       = "login"
	ActionLoginFailed = "login_failed"
	ActionLocked      = "locked"
	ActionLogout      = "logout"
	ActionExpired     = "session_expired"
	ActionUserAdded   = "user_added"
	ActionPassword    = "password_changed"
	ActionDisabled    = "user_disabled"
	ActionEnabled     = "user_enabled"
	ActionLanguage    = "language_changed"
	ActionCSRF        = "csrf_refused"
)

// Event is one action in a console's own audit trail: who did what to
// which account. It never holds a password, a traveller's data or a
// note.
type Event struct {
	ID     string    `json:"id"`
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	Action string    `json:"action"`
	// Subject is the account acted on, when not the actor's own.
	Subject string `json:"subject,omitempty"`
	// Detail is a role, a language code, a count: never personal data.
	Detail string `json:"detail,omitempty"`
}

// Auditor records console actions. EventLog implements it; a console's
// wiring may route them elsewhere.
type Auditor interface {
	Append(ctx context.Context, e Event) error
}

// EventLog keeps Events in a records namespace
// (e/<time><seq><id> → JSON Event, oldest first), for ever: entries are
// small and hold no personal data.
type EventLog struct {
	recs  *badgerstore.Records
	clock clock.Clock
	seq   atomic.Uint64
}

// NewEventLog returns the event log kept in recs (clock nil: the system
// clock).
func NewEventLog(recs *badgerstore.Records, clk clock.Clock) *EventLog {
	l := &EventLog{recs: recs, clock: clock.OrSystem(clk)}
	l.seq.Store(uint64(max(time.Now().UnixNano(), 0)))
	return l
}

const eventPrefix = "e/"

func eventKey(t time.Time, n uint64, id string) []byte {
	k := append([]byte(eventPrefix), make([]byte, 0, 16+len(id))...)
	k = binary.BigEndian.AppendUint64(k, uint64(max(t.UnixNano(), 0)))
	k = binary.BigEndian.AppendUint64(k, n)
	return append(k, id...)
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Append stores e, filling its ID and Time when empty.
func (l *EventLog) Append(ctx context.Context, e Event) error {
	if e.ID == "" {
		e.ID = newID()
	}
	if e.Time.IsZero() {
		e.Time = l.clock.Now()
	}
	e.Time = e.Time.UTC()
	b, err := json.Marshal(&e)
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	err = l.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.Set(eventKey(e.Time, l.seq.Add(1), e.ID), b)
	})
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return nil
}

// Each calls fn for the events from from (inclusive) to to (exclusive; zero
// for no end), oldest first, until fn returns false.
func (l *EventLog) Each(ctx context.Context, from, to time.Time, fn func(Event) bool) error {
	start := binary.BigEndian.AppendUint64([]byte(eventPrefix), uint64(max(from.UnixNano(), 0)))
	var end uint64
	if !to.IsZero() {
		end = uint64(max(to.UnixNano(), 0))
	}
	err := l.recs.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.IterateFrom([]byte(eventPrefix), start, func(key, v []byte) error {
			if end != 0 && len(key) >= len(eventPrefix)+8 && binary.BigEndian.Uint64(key[len(eventPrefix):]) >= end {
				return badgerstore.StopIteration
			}
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("event %x: decode: %w", key, err)
			}
			if !fn(e) {
				return badgerstore.StopIteration
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("read events: %w", err)
	}
	return nil
}
