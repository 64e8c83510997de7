package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
)

// Audit actions.
const (
	// ActionScreened: a traveller was screened (one per screening, hit or
	// not).
	ActionScreened = "screened"
	// ActionHitOpened: a screening hit; its hit record awaits an officer.
	ActionHitOpened = "hit_opened"
	// ActionDisposition: an officer decided about a hit.
	ActionDisposition = "disposition"
	// ActionPurge: retention deleted screening rows and hit records.
	ActionPurge = "purge"
	// ActionListShrink: a person confirmed an edition of a list that
	// removes more of it than the shrink guard allows, or empties it
	// (watchpost import --allow-shrink).
	ActionListShrink = "list_shrink"
)

// AuditEntry is one action in the audit trail. It never holds a
// traveller's data: ids, counts, decisions and who acted.
type AuditEntry struct {
	ID     string    `json:"id"`
	Time   time.Time `json:"time"`
	Action string    `json:"action"`
	// Actor: the officer's id, the API token's name, or ActorSystem.
	Actor string `json:"actor"`
	// Via is the API token a disposition came through, if known.
	Via         string `json:"via,omitempty"`
	ScreeningID string `json:"screening_id,omitempty"`
	HitID       string `json:"hit_id,omitempty"`
	// OutboxID is the id of the record sent to HQ, if any.
	OutboxID string `json:"outbox_id,omitempty"`
	Source   string `json:"source,omitempty"`
	Ref      string `json:"ref,omitempty"`
	// Matches is the number of hits a screening found.
	Matches int `json:"matches,omitempty"`
	// Decision and Previous (the status it replaced) of a disposition.
	Decision string `json:"decision,omitempty"`
	Previous string `json:"previous,omitempty"`
	// Purged is what a purge deleted.
	Purged *Purged `json:"purged,omitempty"`
	// Shrink is the edition a list_shrink entry confirmed.
	Shrink *ListShrink `json:"shrink,omitempty"`
	// Seq is the entry's place in the post's audit chain (1, 2, …) and
	// Prev the hash of the entry before it ("" for the first); entries
	// written before the chain existed have neither.
	Seq  uint64 `json:"seq,omitempty"`
	Prev string `json:"prev,omitempty"`
}

// ListShrink is an edition the shrink guard refused until a person
// confirmed it: the list, the version it became, and the counts.
type ListShrink struct {
	List    string  `json:"list"`
	Version uint64  `json:"version"`
	Current int     `json:"current"`
	Next    int     `json:"next"`
	Removed int     `json:"removed"`
	Limit   float64 `json:"limit"`
}

// Purged describes one purge batch (in an audit entry) or one Purge call.
type Purged struct {
	// Screenings is the number of non-hit screening rows deleted, recorded
	// From..To.
	Screenings int       `json:"screenings,omitempty"`
	From       time.Time `json:"from,omitzero"`
	To         time.Time `json:"to,omitzero"`
	// Hits is the number of hit records deleted, OpenHits of which had no
	// decision; HitIDs names them (in an audit entry).
	Hits     int      `json:"hits,omitempty"`
	OpenHits int      `json:"open_hits,omitempty"`
	HitIDs   []string `json:"hit_ids,omitempty"`
	// Batches is the number of RecordBatch markers deleted.
	Batches int `json:"batches,omitempty"`
	// Chain lists the runs of chain entries (non-hit screening rows) the
	// batch deleted, each with the hash of its last entry, so that the
	// chain still verifies across them (in an audit entry).
	Chain []ChainRun `json:"chain,omitempty"`
}

// HitFilter selects hits, newest first.
type HitFilter struct {
	// Status: "" for any, StatusDecided for any but open, else one status.
	Status Status
	// Since: only hits recorded at or after it (zero: all).
	Since time.Time
	// Limit: DefaultPageLimit when 0, at most MaxPageLimit.
	Limit int
	// Cursor: HitPage.Next of the previous page, "" for the first.
	Cursor string
}

// HitPage is one page of hits.
type HitPage struct {
	Hits []HitRecord
	// Next is the cursor of the next page, "" when this is the last.
	Next string
}

// AuditFilter selects audit entries, oldest first.
type AuditFilter struct {
	// Since: only entries at or after it (zero: all).
	Since time.Time
	// Limit: DefaultPageLimit when 0, at most MaxPageLimit.
	Limit int
	// Cursor: AuditPage.Next of the previous page, "" for the first.
	Cursor string
}

// AuditPage is one page of the audit trail.
type AuditPage struct {
	Entries []AuditEntry
	// Next is the cursor to pass for the entries after this page: the
	// last entry's, or the request's cursor when the page is empty, so a
	// reader can tail the trail. More says whether entries followed.
	Next string
	More bool
}

// Hit returns the hit record id, or ErrNotFound.
func (l *Ledger) Hit(ctx context.Context, id string) (HitRecord, error) {
	if !validID(id) {
		return HitRecord{}, fmt.Errorf("hit %q: %w", id, ErrNotFound)
	}
	var h storedHit
	err := l.recs.View(ctx, func(tx *badgerstore.RecordsTxn) error { return getJSON(tx, hitKey(id), &h) })
	if errors.Is(err, badgerstore.ErrRecordNotFound) {
		return HitRecord{}, fmt.Errorf("hit %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return HitRecord{}, fmt.Errorf("hit %s: %w", id, err)
	}
	return h.HitRecord, nil
}

// Hits returns a page of hits, newest first.
func (l *Ledger) Hits(ctx context.Context, f HitFilter) (HitPage, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return HitPage{}, err
	}
	prefix := []byte(prefixHitIndex)
	decided := f.Status == StatusDecided
	if f.Status != "" && !decided {
		if !f.Status.valid() {
			return HitPage{}, fmt.Errorf("%w: status %q", ErrInvalid, f.Status)
		}
		prefix = statusPrefix(f.Status)
	}
	var start []byte
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return HitPage{}, err
		}
		start = append(bytes.Clone(prefix), after...)
	}
	var since uint64
	if !f.Since.IsZero() {
		since = nanos(f.Since)
	}
	var page HitPage
	err = l.recs.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		var suffixes [][]byte
		err := tx.IterateFrom(prefix, start, func(key, _ []byte) error {
			s := key[len(prefix):]
			if len(s) != suffixLen {
				return fmt.Errorf("index key %q: %w", key, engine.ErrCorruptRecord)
			}
			if ^binary.BigEndian.Uint64(s) < since {
				return badgerstore.StopIteration
			}
			if decided { // skip the open ones: one point read each
				switch _, err := tx.Get(append(statusPrefix(StatusOpen), s...)); {
				case err == nil:
					return nil
				case !errors.Is(err, badgerstore.ErrRecordNotFound):
					return err
				}
			}
			suffixes = append(suffixes, bytes.Clone(s))
			if len(suffixes) > limit {
				return badgerstore.StopIteration
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(suffixes) > limit {
			suffixes = suffixes[:limit]
			page.Next = encodeCursor(suffixes[limit-1])
		}
		page.Hits = make([]HitRecord, 0, len(suffixes))
		for _, s := range suffixes {
			var h storedHit
			if err := getJSON(tx, hitKey(string(s[orderLen:])), &h); err != nil {
				return fmt.Errorf("hit %s: %w", s[orderLen:], err)
			}
			page.Hits = append(page.Hits, h.HitRecord)
		}
		return nil
	})
	if err != nil {
		return HitPage{}, fmt.Errorf("list hits: %w", err)
	}
	return page, nil
}

// Audit returns a page of the audit trail, oldest first: the kept entries
// and the non-hit screening rows not yet purged, merged by time.
func (l *Ledger) Audit(ctx context.Context, f AuditFilter) (AuditPage, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return AuditPage{}, err
	}
	var from []byte // relative to the prefix
	if !f.Since.IsZero() {
		from = binary.BigEndian.AppendUint64(nil, nanos(f.Since))
	}
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor)
		if err != nil {
			return AuditPage{}, err
		}
		if bytes.Compare(after, from) > 0 {
			from = after
		}
	}
	type row struct {
		suffix []byte
		value  []byte
	}
	collect := func(tx *badgerstore.RecordsTxn, prefix string) ([]row, error) {
		var rows []row
		p := []byte(prefix)
		err := tx.IterateFrom(p, append(bytes.Clone(p), from...), func(key, v []byte) error {
			rows = append(rows, row{bytes.Clone(key[len(p):]), bytes.Clone(v)})
			if len(rows) > limit {
				return badgerstore.StopIteration
			}
			return nil
		})
		return rows, err
	}
	var page AuditPage
	err = l.recs.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		a, err := collect(tx, prefixAudit)
		if err != nil {
			return err
		}
		s, err := collect(tx, prefixScreening)
		if err != nil {
			return err
		}
		merged := make([]row, 0, min(len(a)+len(s), limit+1))
		for len(merged) <= limit && (len(a) > 0 || len(s) > 0) {
			if len(s) == 0 || len(a) > 0 && bytes.Compare(a[0].suffix, s[0].suffix) < 0 {
				merged, a = append(merged, a[0]), a[1:]
			} else {
				merged, s = append(merged, s[0]), s[1:]
			}
		}
		page.Next = f.Cursor
		if len(merged) > limit {
			merged, page.More = merged[:limit], true
		}
		if len(merged) > 0 {
			page.Next = encodeCursor(merged[len(merged)-1].suffix)
		}
		page.Entries = make([]AuditEntry, len(merged))
		for i, r := range merged {
			if err := json.Unmarshal(r.value, &page.Entries[i]); err != nil {
				return fmt.Errorf("audit entry: %w: %w", engine.ErrCorruptRecord, err)
			}
		}
		return nil
	})
	if err != nil {
		return AuditPage{}, fmt.Errorf("read audit: %w", err)
	}
	return page, nil
}
