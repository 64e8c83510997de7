package hqserver

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/option"
	"github.com/watchpost/watchpost/sync/protocol"
)

// Record is one record a post sent, as HQ stored it.
type Record struct {
	Post string `json:"post"`
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// CreatedAt is the post's time of the record (its clock);
	// ReceivedAt is HQ's, when the record was first stored.
	CreatedAt  time.Time `json:"created_at"`
	ReceivedAt time.Time `json:"received_at"`
	// Lists are the lists a hit matched (kind hit only).
	Lists []string `json:"lists,omitempty"`
	// Invalid says why the payload failed validation; the record was
	// stored and acked anyway (see the package doc).
	Invalid string `json:"invalid,omitempty"`
	// Payload is the record's JSON document as the post sent it (opened,
	// when it came sealed).
	Payload json.RawMessage `json:"payload"`
	// SealedTo is the id of the HQ key whose encryption key the record
	// was sealed to; "" for a record that came in clear.
	SealedTo string `json:"sealed_to,omitempty"`
	// Decisions are, for a hit, every decision the post sent about it,
	// oldest first (by decided_at): the last one is in force. Filled in by
	// Hits, not stored with the hit.
	Decisions []Decision `json:"decisions,omitempty"`
}

// Decision is one officer's decision on a hit, as HQ received it.
type Decision struct {
	// ID is the disposition record's id.
	ID         string    `json:"id"`
	ReceivedAt time.Time `json:"received_at"`
	protocol.DispositionReport
}

// HitFilter selects records for Hits. Zero fields select everything.
type HitFilter struct {
	Post string
	// List keeps hits that matched an entry of this list.
	List string
	// Kind keeps records of one kind ("hit", "disposition", "status",
	// "telemetry").
	Kind string
	// Since keeps records received at or after this time (HQ's clock).
	Since time.Time
	// Limit bounds the records returned (DefaultHitsLimit when 0, at most
	// MaxHitsLimit).
	Limit int
}

// Limits of a Hits query.
const (
	DefaultHitsLimit = 100
	MaxHitsLimit     = 10_000
)

// postState is what HQ knows about one post, stored as p/<post>.
type postState struct {
	Post     string    `json:"post"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Status and the HQ time it was received.
	Status   *protocol.PostStatus `json:"status,omitempty"`
	StatusAt time.Time            `json:"status_at,omitzero"`
	// ClockOffset is the post's clock minus HQ's at OffsetAt, from the
	// last live status message.
	ClockOffset time.Duration `json:"clock_offset,omitempty"`
	OffsetAt    time.Time     `json:"offset_at,omitzero"`
	// Presence and the HQ time it was received.
	Presence   *protocol.PresenceRecord `json:"presence,omitempty"`
	PresenceAt time.Time                `json:"presence_at,omitzero"`
	// Audit is the state of the post's audit chain (nil: nothing yet).
	Audit *AuditState `json:"audit,omitempty"`
}

var (
	prefixTime   = []byte("t/")
	prefixRecord = []byte("r/")
	prefixPost   = []byte("p/")
	// prefixDecision indexes dispositions by hit:
	// d/<post>/<hit id>/<disposition id> -> the disposition's t/ key.
	prefixDecision = []byte("d/")
)

func decisionPrefix(post, hit string) []byte {
	return append(append(append(append(append([]byte(nil), prefixDecision...), post...), '/'), hit...), '/')
}

func recordKey(post, id string) []byte {
	return append(append(append(append([]byte(nil), prefixRecord...), post...), '/'), id...)
}

func postKey(post string) []byte { return append(append([]byte(nil), prefixPost...), post...) }

// timeKey sorts newest first: the received time's nanoseconds, inverted.
func timeKey(received time.Time, post, id string) []byte {
	k := make([]byte, 0, len(prefixTime)+8+len(post)+1+len(id))
	k = append(k, prefixTime...)
	k = binary.BigEndian.AppendUint64(k, ^uint64(received.UnixNano()))
	k = append(k, post...)
	k = append(k, '/')
	return append(k, id...)
}

// timeKeyBound is the first t/ key of records received before t.
func timeKeyBound(t time.Time) []byte {
	k := append([]byte(nil), prefixTime...)
	return binary.BigEndian.AppendUint64(k, ^uint64(t.UnixNano())+1)
}

func loadPosts(ctx context.Context, rec *badgerstore.Records) (map[string]*postState, error) {
	posts := map[string]*postState{}
	err := rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate(prefixPost, func(key, value []byte) error {
			var ps postState
			if err := json.Unmarshal(value, &ps); err != nil {
				return fmt.Errorf("post state %q: %w", key, err)
			}
			posts[ps.Post] = &ps
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("load post states: %w", err)
	}
	return posts, nil
}

// updatePost runs fn on the post's state and, if fn reports a change,
// stores the state, and runs also (if given) in the same transaction.
func (s *Server) updatePost(post string, fn func(*postState) bool, also ...func(*badgerstore.RecordsTxn, *postState) error) error {
	s.postMu.Lock()
	defer s.postMu.Unlock()
	ps := s.postLocked(post)
	if !fn(ps) {
		return nil
	}
	b, err := json.Marshal(ps)
	if err != nil {
		return err
	}
	return s.rec.Update(context.Background(), func(tx *badgerstore.RecordsTxn) error {
		for _, f := range also {
			if err := f(tx, ps); err != nil {
				return err
			}
		}
		return tx.Set(postKey(post), b)
	})
}

// storeBatch stores the records of batch that are not stored yet, and the
// states of the posts they came from, in one transaction. It returns the
// ids to acknowledge per post: every record of the batch, new or
// duplicate.
func (s *Server) storeBatch(ctx context.Context, batch []incoming) (map[string][]string, error) {
	s.postMu.Lock()
	defer s.postMu.Unlock()
	var acks map[string][]string
	var stored, invalid, dups uint64
	err := s.rec.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		acks = map[string][]string{}
		stored, invalid, dups = 0, 0, 0
		seen := map[string]bool{}
		touched := map[string]bool{}
		for _, it := range batch {
			rk := recordKey(it.post, it.rec.ID)
			acks[it.post] = append(acks[it.post], it.rec.ID)
			if seen[string(rk)] {
				dups++
				continue
			}
			switch _, err := tx.Get(rk); {
			case err == nil:
				dups++
				continue
			case !errors.Is(err, badgerstore.ErrRecordNotFound):
				return err
			}
			seen[string(rk)] = true
			row, st, extra := buildRecord(it)
			b, err := json.Marshal(row)
			if err != nil {
				return err
			}
			tk := timeKey(it.received, it.post, it.rec.ID)
			if err := tx.Set(tk, b); err != nil {
				return err
			}
			if err := tx.Set(rk, tk); err != nil {
				return err
			}
			if err := tx.Set(kindKey(row.Kind, tk), []byte{}); err != nil {
				return err
			}
			if err := indexRecord(tx, &row, tk); err != nil {
				return err
			}
			stored++
			if row.Invalid != "" {
				invalid++
			}
			ps := s.postLocked(it.post)
			if st != nil {
				// A status that came through the outbox may be days old:
				// it sets no clock offset, and no sample unless it is the
				// newest.
				if s.applyStatus(ps, st, it.received, false) && it.received.Sub(st.Clock) < time.Hour {
					if err := sample(tx, ps, st, it.received); err != nil {
						return err
					}
				}
			}
			switch x := extra.(type) {
			case *protocol.DispositionReport:
				if err := tx.Set(append(decisionPrefix(it.post, x.HitID), it.rec.ID...), tk); err != nil {
					return err
				}
			case *protocol.AuditBatch:
				if err := s.applyAudit(tx, ps, x, tk); err != nil {
					return err
				}
			}
			touched[it.post] = true
		}
		for post := range touched {
			b, err := json.Marshal(s.posts[post])
			if err != nil {
				return err
			}
			if err := tx.Set(postKey(post), b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store %d records: %w", len(batch), err)
	}
	s.n.stored.Add(stored)
	s.n.invalid.Add(invalid)
	s.n.duplicates.Add(dups)
	if invalid > 0 {
		s.log.Warn("Stored records whose payload failed validation", logkey.Count, invalid)
	}
	return acks, nil
}

// buildRecord makes the stored row of a record, validating its payload
// by kind; a status record's payload is returned when it is valid, and a
// valid disposition's or audit batch's as extra.
func buildRecord(it incoming) (Record, *protocol.PostStatus, any) {
	r := Record{Post: it.post, ID: it.rec.ID, Kind: it.rec.Kind.String(), CreatedAt: it.rec.CreatedAt.UTC(),
		ReceivedAt: it.received.UTC(), Payload: it.rec.Payload}
	if it.rec.Sealed != nil {
		r.SealedTo = it.rec.Sealed.Key
	}
	var reason error
	var status *protocol.PostStatus
	var extra any
	switch it.rec.Kind {
	case protocol.RecordHit:
		var h protocol.HitReport
		if reason = protocol.DecodeJSON(it.rec.Payload, &h); reason == nil {
			reason = h.Validate()
		}
		if reason == nil && h.Post != it.post {
			reason = fmt.Errorf("hit report names post %q", h.Post)
		}
		for _, x := range h.Hits {
			if x.List != "" && !slices.Contains(r.Lists, x.List) {
				r.Lists = append(r.Lists, x.List)
			}
		}
		slices.Sort(r.Lists)
	case protocol.RecordDisposition:
		var d protocol.DispositionReport
		if reason = protocol.DecodeJSON(it.rec.Payload, &d); reason == nil {
			reason = d.Validate()
		}
		if reason == nil && d.Post != "" && d.Post != it.post {
			reason = fmt.Errorf("disposition names post %q", d.Post)
		}
		if reason == nil {
			extra = &d
		}
	case protocol.RecordAudit:
		var b protocol.AuditBatch
		if reason = protocol.DecodeJSON(it.rec.Payload, &b); reason == nil {
			reason = b.Validate()
		}
		if reason == nil && b.Post != it.post {
			reason = fmt.Errorf("audit batch names post %q", b.Post)
		}
		if reason == nil {
			extra = &b
		}
	case protocol.RecordStatus:
		status, reason = decodeStatus(it.post, it.rec.Payload)
		if status != nil && status.Clock.IsZero() {
			status.Clock = it.rec.CreatedAt
		}
	case protocol.RecordTelemetry:
		if !json.Valid(it.rec.Payload) {
			reason = errors.New("telemetry payload is not JSON")
		}
	}
	if reason != nil {
		r.Invalid = reason.Error()
		status, extra = nil, nil
	}
	return r, status, extra
}

// Hits returns the stored records that f selects, newest (by HQ's
// receive time) first. It scans records from the newest down to f.Since,
// so a query for one post of a large fleet reads the other posts' records
// of the period too.
func (s *Server) Hits(ctx context.Context, f HitFilter) ([]Record, error) {
	limit := f.Limit
	limit = option.Positive(limit, DefaultHitsLimit)
	limit = min(limit, MaxHitsLimit)
	var stop []byte
	if !f.Since.IsZero() {
		stop = timeKeyBound(f.Since)
	}
	var out []Record
	err := s.rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		return tx.Iterate(prefixTime, func(key, value []byte) error {
			if stop != nil && bytes.Compare(key, stop) >= 0 {
				return badgerstore.StopIteration
			}
			if f.Post != "" {
				rest := key[len(prefixTime)+8:]
				if !bytes.HasPrefix(rest, []byte(f.Post+"/")) {
					return nil
				}
			}
			var r Record
			if err := json.Unmarshal(value, &r); err != nil {
				return fmt.Errorf("record %q: %w", key, err)
			}
			if f.Kind != "" && r.Kind != f.Kind {
				return nil
			}
			if f.List != "" && !slices.Contains(r.Lists, f.List) {
				return nil
			}
			if r.Kind == protocol.RecordHit.String() {
				var err error
				if r.Decisions, err = decisionsOf(tx, r.Post, r.ID); err != nil {
					return err
				}
			}
			out = append(out, r)
			if len(out) >= limit {
				return badgerstore.StopIteration
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("query records: %w", err)
	}
	return out, nil
}

// decisionsOf returns the decisions stored about a hit, oldest first.
func decisionsOf(tx *badgerstore.RecordsTxn, post, hit string) ([]Decision, error) {
	var out []Decision
	err := tx.Iterate(decisionPrefix(post, hit), func(_, tk []byte) error {
		v, err := tx.Get(tk)
		if errors.Is(err, badgerstore.ErrRecordNotFound) {
			return nil // purged with its retention
		}
		if err != nil {
			return err
		}
		var r Record
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("disposition %q: %w", tk, err)
		}
		d := Decision{ID: r.ID, ReceivedAt: r.ReceivedAt}
		if err := json.Unmarshal(r.Payload, &d.DispositionReport); err != nil {
			return fmt.Errorf("disposition %s: %w", r.ID, err)
		}
		out = append(out, d)
		return nil
	})
	slices.SortStableFunc(out, func(a, b Decision) int {
		if c := a.DecidedAt.Compare(b.DecidedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, err
}

// validKind reports whether k names a record kind.
func validKind(k string) bool {
	_, err := protocol.ParseRecordKind(k)
	return err == nil
}
