package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
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
	// The chain entries about to go (non-hit rows) reach HQ first: a
	// checkpoint puts them in the outbox. Rows a checkpoint does not cover
	// yet are not purged.
	if _, err := l.Checkpoint(ctx); err != nil {
		return Purged{}, fmt.Errorf("purge: %w", err)
	}
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
// before cutoff and covered by a checkpoint.
func (l *Ledger) purgeScreenings(ctx context.Context, now, cutoff time.Time) (Purged, error) {
	return l.purgeTimed(ctx, now, cutoff, prefixScreening, l.opts.PurgeBatch.Screenings, true, nil,
		func(p *Purged, n int, from, to time.Time) { p.Screenings, p.From, p.To = n, from, to })
}

// purgeTimed deletes, in one transaction with its audit entry, up to max
// keys under prefix whose recording time (the 8 bytes after the prefix)
// is at or before cutoff, oldest first; a key too short to hold a time is
// deleted too. When the rows are chained (links of the audit chain), the
// batch ends before the first row no checkpoint covers yet (its entry has
// not reached HQ), and the runs of deleted links are recorded (unchain);
// a row from before the chain has no link and goes all the same. also,
// if set, deletes what belongs to a key first; count puts the number
// deleted and the first and last time into the result.
func (l *Ledger) purgeTimed(ctx context.Context, now, cutoff time.Time, prefix string, max int, chained bool,
	also func(tx *badgerstore.RecordsTxn, suffix []byte) error, count func(p *Purged, n int, from, to time.Time)) (Purged, error) {
	var p Purged
	err := l.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		p = Purged{}
		c := l.lockChain(tx)
		limit := nanos(cutoff)
		var keys [][]byte
		var seqs []uint64
		var from, to time.Time
		err := tx.Iterate([]byte(prefix), func(key, v []byte) error {
			if s := key[len(prefix):]; len(s) >= 8 {
				t := binary.BigEndian.Uint64(s)
				if t > limit {
					return badgerstore.StopIteration
				}
				if chained {
					if link, err := protocol.DecodeAuditLink(v); err == nil {
						if link.Seq > l.checkpointed {
							return badgerstore.StopIteration // not at HQ yet
						}
						seqs = append(seqs, link.Seq)
					}
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
		// Rows are in the order of their times; their links are in
		// commit order, which two writers racing for the chain can swap.
		slices.Sort(seqs)
		if p.Chain, err = unchain(tx, seqs); err != nil {
			return err
		}
		count(&p, len(keys), from, to)
		return l.auditPurge(c, now, p)
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
		return l.auditPurge(l.lockChain(tx), now, p)
	})
	if err != nil {
		return Purged{}, err
	}
	return p, nil
}

// unchain removes the chain's index rows of the purged entries seqs
// (ascending) and records each run of consecutive ones under ch/<from>
// with the hash of its last entry, returning the runs.
func unchain(tx *badgerstore.RecordsTxn, seqs []uint64) ([]ChainRun, error) {
	var runs []ChainRun
	for i := 0; i < len(seqs); {
		j := i
		for j+1 < len(seqs) && seqs[j+1] == seqs[j]+1 {
			j++
		}
		v, err := tx.Get(seqKey(prefixChain, seqs[j]))
		if err != nil && !errors.Is(err, badgerstore.ErrRecordNotFound) {
			return nil, err
		}
		var h protocol.AuditHash
		if err == nil {
			if h, _, err = parseChainIndex(v); err != nil {
				return nil, err
			}
		}
		run := ChainRun{From: seqs[i], To: seqs[j], Hash: h.String()}
		for _, s := range seqs[i : j+1] {
			if err := tx.Delete(seqKey(prefixChain, s)); err != nil {
				return nil, err
			}
		}
		if err := setJSON(tx, seqKey(prefixHole, run.From), &run); err != nil {
			return nil, err
		}
		runs = append(runs, run)
		i = j + 1
	}
	return runs, nil
}

// auditPurge writes the purge batch's audit entry and moves the counters
// after the commit.
func (l *Ledger) auditPurge(c *chainTx, now time.Time, p Purged) error {
	tx := c.tx
	entry := AuditEntry{ID: outbox.NewID(now), Time: now, Action: ActionPurge, Actor: ActorSystem, Purged: &p}
	if err := c.append(timeKey(prefixAudit, now, l.seq.Add(1), entry.ID), &entry); err != nil {
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
		_, err := l.Purge(ctx)
		if stop, err := l.loopFailed(ctx, err, "ledger purge loop", "Purge failed; retrying at the next interval"); stop {
			return err
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

// loopFailed judges one round of a periodic loop that returned err: the
// loop stops when ctx has ended (with nil) or the store is closed (with
// err, prefixed by loop); any other failure is logged as msg and the loop
// goes on to its next interval.
func (l *Ledger) loopFailed(ctx context.Context, err error, loop, msg string) (stop bool, _ error) {
	switch {
	case err == nil:
		return false, nil
	case ctx.Err() != nil:
		return true, nil
	case errors.Is(err, badgerstore.ErrClosed):
		return true, fmt.Errorf("%s: %w", loop, err)
	}
	l.log.Error(msg, logkey.Error, err)
	return false, nil
}

// AuditListShrink records in the audit chain that actor confirmed the
// edition s describes (see ActionListShrink). It is written before the
// edition becomes current, so that no shrink goes unrecorded.
func (l *Ledger) AuditListShrink(ctx context.Context, actor string, s ListShrink) error {
	if actor == "" {
		actor = ActorSystem
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.clock.Now()
	entry := AuditEntry{ID: outbox.NewID(now), Time: now, Action: ActionListShrink, Actor: actor, Shrink: &s}
	err := l.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		return l.lockChain(tx).append(timeKey(prefixAudit, now, l.seq.Add(1), entry.ID), &entry)
	})
	if err != nil {
		return fmt.Errorf("audit the shrink of list %s: %w", s.List, err)
	}
	l.log.Warn("List shrink confirmed", logkey.List, s.List, logkey.Version, s.Version, logkey.User, actor)
	return nil
}
