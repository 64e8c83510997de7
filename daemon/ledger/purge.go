package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/outbox"
)

// Purge deletes what is past retention: non-hit screening rows recorded
// Retention ago or earlier, hit records recorded HitRetention ago or
// earlier (open or decided), and RecordBatch markers recorded HitRetention
// ago or earlier. Each batch commits with a purge audit entry;
// the audit entries of the deleted records stay. It returns what it
// deleted, also when it fails part way (the batches before the failure
// are committed).
func (l *Ledger) Purge(ctx context.Context) (Purged, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	var total Purged
	// Each kind batch by batch, until a batch comes back short.
	for _, k := range []struct {
		what string
		max  int
		one  func() (Purged, error)
		add  func(b Purged) int // adds b to total, returns b's count
	}{
		{"screenings", l.opts.PurgeBatch.Screenings,
			func() (Purged, error) { return l.purgeScreenings(ctx, now, now.Add(-l.opts.Retention)) },
			func(b Purged) int {
				total.Screenings += b.Screenings
				if total.From.IsZero() {
					total.From = b.From
				}
				if !b.To.IsZero() {
					total.To = b.To
				}
				return b.Screenings
			}},
		{"hits", l.opts.PurgeBatch.Hits,
			func() (Purged, error) { return l.purgeHits(ctx, now, now.Add(-l.opts.HitRetention)) },
			func(b Purged) int { total.Hits += b.Hits; total.OpenHits += b.OpenHits; return b.Hits }},
		{"batch markers", l.opts.PurgeBatch.BatchMarkers,
			func() (Purged, error) { return l.purgeBatches(ctx, now, now.Add(-l.opts.HitRetention)) },
			func(b Purged) int { total.Batches += b.Batches; return b.Batches }},
	} {
		for {
			b, err := k.one()
			n := k.add(b)
			if err != nil {
				return total, fmt.Errorf("purge %s: %w", k.what, err)
			}
			if n < k.max {
				break
			}
		}
	}
	if total.Screenings > 0 || total.Hits > 0 || total.Batches > 0 {
		l.log.Info("Purged records past retention", logkey.Screenings, total.Screenings,
			logkey.Hits, total.Hits, logkey.OpenHits, total.OpenHits, logkey.Batches, total.Batches)
	}
	return total, nil
}

// purgeScreenings deletes up to one batch of non-hit rows recorded at or
// before cutoff.
func (l *Ledger) purgeScreenings(ctx context.Context, now, cutoff time.Time) (Purged, error) {
	return l.purgeTimed(ctx, now, cutoff, prefixScreening, l.opts.PurgeBatch.Screenings, nil,
		func(p *Purged, n int, from, to time.Time) { p.Screenings, p.From, p.To = n, from, to })
}

// purgeTimed deletes, in one transaction with its audit entry, up to max
// keys under prefix whose recording time (the 8 bytes after the prefix)
// is at or before cutoff, oldest first; a key too short to hold a time is
// deleted too. also, if set, deletes what belongs to a key first; count
// puts the number deleted and the first and last time into the result.
func (l *Ledger) purgeTimed(ctx context.Context, now, cutoff time.Time, prefix string, max int,
	also func(tx *badgerstore.RecordsTxn, suffix []byte) error, count func(p *Purged, n int, from, to time.Time)) (Purged, error) {
	var p Purged
	err := l.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		p = Purged{}
		limit := nanos(cutoff)
		var keys [][]byte
		var from, to time.Time
		err := tx.Iterate([]byte(prefix), func(key, _ []byte) error {
			if s := key[len(prefix):]; len(s) >= 8 {
				t := binary.BigEndian.Uint64(s)
				if t > limit {
					return badgerstore.StopIteration
				}
				at := time.Unix(0, int64(t)).UTC()
				if from.IsZero() {
					from = at
				}
				to = at
			}
			keys = append(keys, bytes.Clone(key)) // a malformed one is dropped too
			if len(keys) >= max {
				return badgerstore.StopIteration
			}
			return nil
		})
		if err != nil || len(keys) == 0 {
			return err
		}
		for _, k := range keys {
			if also != nil {
				if err := also(tx, k[len(prefix):]); err != nil {
					return err
				}
			}
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		count(&p, len(keys), from, to)
		return l.auditPurge(tx, now, p)
	})
	if err != nil {
		return Purged{}, err
	}
	return p, nil
}

// purgeHits deletes up to one batch of hit records recorded at or before
// cutoff, with their index rows.
func (l *Ledger) purgeHits(ctx context.Context, now, cutoff time.Time) (Purged, error) {
	var p Purged
	err := l.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		p = Purged{}
		prefix := []byte(prefixHitIndex)
		start := binary.BigEndian.AppendUint64(bytes.Clone(prefix), ^nanos(cutoff))
		var suffixes [][]byte
		err := tx.IterateFrom(prefix, start, func(key, _ []byte) error {
			suffixes = append(suffixes, bytes.Clone(key[len(prefix):]))
			if len(suffixes) >= l.opts.PurgeBatch.Hits {
				return badgerstore.StopIteration
			}
			return nil
		})
		if err != nil || len(suffixes) == 0 {
			return err
		}
		for _, s := range suffixes {
			if len(s) == suffixLen {
				id := string(s[orderLen:])
				var h storedHit
				switch err := getJSON(tx, hitKey(id), &h); {
				case err == nil:
					if h.Status == StatusOpen {
						p.OpenHits++
					}
				case !errors.Is(err, badgerstore.ErrRecordNotFound):
					// A record that does not decode is deleted all the
					// same: retention applies to it too.
					l.log.Warn("Purging an unreadable hit record", logkey.HitID, id, logkey.Error, err)
				}
				if err := tx.Delete(hitKey(id)); err != nil {
					return err
				}
				for _, st := range []Status{StatusOpen, StatusConfirmed, StatusFalsePositive, StatusReferred} {
					if err := tx.Delete(append(statusPrefix(st), s...)); err != nil {
						return err
					}
				}
				p.HitIDs = append(p.HitIDs, id)
			}
			if err := tx.Delete(append(bytes.Clone(prefix), s...)); err != nil {
				return err
			}
		}
		p.Hits = len(suffixes)
		return l.auditPurge(tx, now, p)
	})
	if err != nil {
		return Purged{}, err
	}
	return p, nil
}

// auditPurge writes the purge batch's audit entry and moves the counters
// after the commit.
func (l *Ledger) auditPurge(tx *badgerstore.RecordsTxn, now time.Time, p Purged) error {
	entry := AuditEntry{ID: outbox.NewID(now), Time: now, Action: ActionPurge, Actor: ActorSystem, Purged: &p}
	if err := setJSON(tx, timeKey(prefixAudit, now, l.seq.Add(1), entry.ID), &entry); err != nil {
		return err
	}
	tx.OnDone(func(committed bool) {
		if committed {
			l.stats.purged(p)
		}
	})
	return nil
}

// RunPurge runs Purge now and then every interval (on the ledger's clock)
// until ctx ends; it then returns nil. A failed purge is logged and
// retried at the next tick; a closed store ends the loop with its error.
func (l *Ledger) RunPurge(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("ledger purge loop: interval %s must be positive", interval)
	}
	for {
		if _, err := l.Purge(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, badgerstore.ErrClosed) {
				return fmt.Errorf("ledger purge loop: %w", err)
			}
			l.log.Error("Purge failed; retrying at the next interval", logkey.Error, err)
		}
		t := l.clock.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		}
	}
}
