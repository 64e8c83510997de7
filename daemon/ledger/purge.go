package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
)

// Purge batch sizes: each batch is one transaction, well inside Badger's
// limit, with one audit entry. Variables so that tests can make them
// small.
var (
	purgeScreeningBatch = 2000
	purgeHitBatch       = 500
	purgeBatchBatch     = 2000
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
	for {
		b, err := l.purgeScreenings(ctx, now, now.Add(-l.opts.Retention))
		total.Screenings += b.Screenings
		if total.From.IsZero() {
			total.From = b.From
		}
		if !b.To.IsZero() {
			total.To = b.To
		}
		if err != nil {
			return total, fmt.Errorf("purge screenings: %w", err)
		}
		if b.Screenings < purgeScreeningBatch {
			break
		}
	}
	for {
		b, err := l.purgeHits(ctx, now, now.Add(-l.opts.HitRetention))
		total.Hits += b.Hits
		total.OpenHits += b.OpenHits
		if err != nil {
			return total, fmt.Errorf("purge hits: %w", err)
		}
		if b.Hits < purgeHitBatch {
			break
		}
	}
	for {
		b, err := l.purgeBatches(ctx, now, now.Add(-l.opts.HitRetention))
		total.Batches += b.Batches
		if err != nil {
			return total, fmt.Errorf("purge batch markers: %w", err)
		}
		if b.Batches < purgeBatchBatch {
			break
		}
	}
	if total.Screenings > 0 || total.Hits > 0 || total.Batches > 0 {
		l.log.Info("Purged records past retention", LogKeyScreenings, total.Screenings,
			LogKeyHits, total.Hits, LogKeyOpenHits, total.OpenHits, LogKeyBatches, total.Batches)
	}
	return total, nil
}

// purgeScreenings deletes up to one batch of non-hit rows recorded at or
// before cutoff.
func (l *Ledger) purgeScreenings(ctx context.Context, now, cutoff time.Time) (Purged, error) {
	var p Purged
	err := l.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		p = Purged{}
		c := l.lockChain(tx)
		prefix := []byte(prefixScreening)
		limit := nanos(cutoff)
		var keys [][]byte
		var seqs []uint64
		err := tx.Iterate(prefix, func(key, v []byte) error {
			s := key[len(prefix):]
			if len(s) < 8 {
				keys = append(keys, bytes.Clone(key)) // not ours: drop it
				return nil
			}
			t := binary.BigEndian.Uint64(s)
			if t > limit {
				return badgerstore.StopIteration
			}
			if link, err := protocol.DecodeAuditLink(v); err == nil {
				if link.Seq > l.checkpointed {
					return badgerstore.StopIteration // not at HQ yet
				}
				seqs = append(seqs, link.Seq)
			}
			at := time.Unix(0, int64(t)).UTC()
			if p.From.IsZero() {
				p.From = at
			}
			p.To = at
			keys = append(keys, bytes.Clone(key))
			if len(keys) >= purgeScreeningBatch {
				return badgerstore.StopIteration
			}
			return nil
		})
		if err != nil || len(keys) == 0 {
			return err
		}
		for _, k := range keys {
			if err := tx.Delete(k); err != nil {
				return err
			}
		}
		if p.Chain, err = unchain(tx, seqs); err != nil {
			return err
		}
		p.Screenings = len(keys)
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
			if len(suffixes) >= purgeHitBatch {
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
					l.log.Warn("Purging an unreadable hit record", LogKeyHit, id, LogKeyError, err)
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
		if _, err := l.Purge(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, badgerstore.ErrClosed) {
				return fmt.Errorf("ledger purge loop: %w", err)
			}
			l.log.Error("Purge failed; retrying at the next interval", LogKeyError, err)
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
