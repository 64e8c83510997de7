package hqserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/option"
	"github.com/watchpost/watchpost/sync/protocol"
)

// Default retention of the records HQ stores, by HQ's received_at.
const (
	// DefaultRetainHits applies to hits and dispositions: 5 years, the
	// deletion limit of the EU PNR Directive (Art. 12). National
	// law sets the real period: configure it.
	DefaultRetainHits = 5 * 365 * 24 * time.Hour
	// DefaultRetainStatus: status records are superseded every minute; a
	// month of them is enough to look back at an incident.
	DefaultRetainStatus = 30 * 24 * time.Hour
	// DefaultRetainTelemetry: operational counters, a week.
	DefaultRetainTelemetry = 7 * 24 * time.Hour
	// DefaultPurgeInterval between purges.
	DefaultPurgeInterval = time.Hour
)

// Retention says how long HQ keeps each kind of record, counted from
// HQ's received_at. Zero means the Default* value; a negative duration
// means forever.
type Retention struct {
	// Hits applies to kinds hit and disposition.
	Hits      time.Duration
	Status    time.Duration
	Telemetry time.Duration
}

// withDefaults fills in the zero fields.
func (r Retention) withDefaults() Retention {
	r.Hits = option.Or(r.Hits, DefaultRetainHits)
	r.Status = option.Or(r.Status, DefaultRetainStatus)
	r.Telemetry = option.Or(r.Telemetry, DefaultRetainTelemetry)
	return r
}

// of returns the retention of kind; ok is false when it is kept forever.
func (r Retention) of(k protocol.RecordKind) (time.Duration, bool) {
	var d time.Duration
	switch k {
	case protocol.RecordHit, protocol.RecordDisposition:
		d = r.Hits
	case protocol.RecordStatus:
		d = r.Status
	case protocol.RecordTelemetry:
		d = r.Telemetry
	default:
		return 0, false
	}
	return d, d > 0
}

// Per-kind time index (see the package doc): k/<kind>/<the t/ key's
// suffix>, empty value. It lets a purge read only the rows it deletes.
var (
	prefixKind = []byte("k/")
	// keyKindIndex marks a store whose rows all have their k/ entry (rows
	// stored before the index existed get theirs in New).
	keyKindIndex = []byte("m/kind-index")
)

// purgeBatch bounds the rows deleted (three keys each) per transaction.
const purgeBatch = 1000

func kindPrefix(kind string) []byte {
	return append(append(append([]byte(nil), prefixKind...), kind...), '/')
}

// kindKey is the k/ entry of the row whose t/ key is tk.
func kindKey(kind string, tk []byte) []byte {
	return append(kindPrefix(kind), tk[len(prefixTime):]...)
}

// kindIndexed writes the k/ entries of the rows stored before the index
// existed, in batches, then the marker. A crash half-way repeats it.
func kindIndexed(ctx context.Context, rec *badgerstore.Records) error {
	done := false
	if err := rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		_, err := tx.Get(keyKindIndex)
		if err == nil {
			done = true
			return nil
		}
		if errors.Is(err, badgerstore.ErrRecordNotFound) {
			return nil
		}
		return err
	}); err != nil || done {
		return err
	}
	start := prefixTime
	for {
		type row struct {
			tk   []byte
			kind string
		}
		var rows []row
		err := rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
			return tx.IterateFrom(prefixTime, start, func(key, value []byte) error {
				var r struct {
					Kind string `json:"kind"`
				}
				if err := json.Unmarshal(value, &r); err != nil {
					return fmt.Errorf("record %q: %w", key, err)
				}
				rows = append(rows, row{tk: append([]byte(nil), key...), kind: r.Kind})
				if len(rows) >= purgeBatch {
					return badgerstore.StopIteration
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
		if err := rec.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
			for _, r := range rows {
				if err := tx.Set(kindKey(r.kind, r.tk), []byte{}); err != nil {
					return err
				}
			}
			if len(rows) < purgeBatch {
				return tx.Set(keyKindIndex, []byte{1})
			}
			return nil
		}); err != nil {
			return err
		}
		if len(rows) < purgeBatch {
			return nil
		}
		start = append(rows[len(rows)-1].tk, 0)
	}
}

// PurgeResult says what a purge deleted, per kind.
type PurgeResult struct {
	Deleted map[string]int
}

// Purge deletes the records older than their kind's retention (by HQ's
// received_at, against Config.Clock), with their dedupe index entries,
// in transactions of at most 1,000 records. Serve runs it every
// PurgeInterval; a purged id that a post sends again is stored again
// (see the package doc).
func (s *Server) Purge(ctx context.Context) (PurgeResult, error) {
	now := s.clock.Now()
	res := PurgeResult{Deleted: map[string]int{}}
	for _, k := range []protocol.RecordKind{protocol.RecordHit, protocol.RecordDisposition, protocol.RecordStatus, protocol.RecordTelemetry} {
		keep, ok := s.cfg.Retention.of(k)
		if !ok {
			continue
		}
		n, err := s.purgeKind(ctx, k.String(), now.Add(-keep))
		res.Deleted[k.String()] += n
		s.n.purged.Add(uint64(n))
		if err != nil {
			return res, fmt.Errorf("purge %s records: %w", k, err)
		}
	}
	return res, nil
}

// purgeKind deletes the rows of kind received before cutoff.
func (s *Server) purgeKind(ctx context.Context, kind string, cutoff time.Time) (int, error) {
	prefix := kindPrefix(kind)
	start := append(append([]byte(nil), prefix...), timeKeyBound(cutoff)[len(prefixTime):]...)
	total := 0
	for {
		var keys [][]byte
		err := s.rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
			return tx.IterateFrom(prefix, start, func(key, _ []byte) error {
				keys = append(keys, append([]byte(nil), key...))
				if len(keys) >= purgeBatch {
					return badgerstore.StopIteration
				}
				return nil
			})
		})
		if err != nil || len(keys) == 0 {
			return total, err
		}
		// Serialised with the record writer (which holds postMu for its
		// transaction), so that a purged id arriving again is not a
		// transaction conflict.
		s.postMu.Lock()
		err = s.rec.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
			for _, kk := range keys {
				suffix := kk[len(prefix):]
				if len(suffix) < 8 {
					return fmt.Errorf("bad index key %q", kk)
				}
				tk := append(append([]byte(nil), prefixTime...), suffix...)
				rk := append(append([]byte(nil), prefixRecord...), suffix[8:]...)
				// The dedupe entry is deleted only if it still points at
				// this row.
				if v, err := tx.Get(rk); err == nil && string(v) == string(tk) {
					if err := tx.Delete(rk); err != nil {
						return err
					}
				} else if err != nil && !errors.Is(err, badgerstore.ErrRecordNotFound) {
					return err
				}
				if kind == protocol.RecordDisposition.String() {
					if err := dropDecision(tx, tk); err != nil {
						return err
					}
				}
				if kind == protocol.RecordHit.String() {
					v, err := tx.Get(tk)
					if err == nil {
						err = unindexHit(tx, v, suffix)
					}
					if err != nil && !errors.Is(err, badgerstore.ErrRecordNotFound) {
						return err
					}
				}
				if err := tx.Delete(tk); err != nil {
					return err
				}
				if err := tx.Delete(kk); err != nil {
					return err
				}
			}
			return nil
		})
		s.postMu.Unlock()
		if err != nil {
			return total, err
		}
		total += len(keys)
		if len(keys) < purgeBatch {
			return total, nil
		}
	}
}

// purger purges at start and then every PurgeInterval; a failed run is
// counted, logged and tried again at the next interval.
func (s *Server) purger(ctx context.Context) {
	s.every(ctx, nil, func() time.Duration {
		wait := s.cfg.PurgeInterval
		err := kindIndexed(ctx, s.rec)
		var res PurgeResult
		if err == nil {
			res, err = s.Purge(ctx)
		}
		if err == nil {
			err = s.trimIndex(ctx)
		}
		s.n.purgeRuns.Add(1)
		if err != nil {
			if ctx.Err() == nil { // else every returns: ctx has ended
				s.n.purgeErrors.Add(1)
				s.log.Error("Could not purge old records; trying again later", logkey.Error, err.Error(), logkey.Retry, wait)
			}
			return wait
		}
		n := 0
		for _, c := range res.Deleted {
			n += c
		}
		if n > 0 {
			s.log.Info("Purged records past their retention", logkey.Count, n,
				logkey.Hits, res.Deleted["hit"], logkey.Dispositions, res.Deleted["disposition"],
				logkey.Statuses, res.Deleted["status"], logkey.Telemetry, res.Deleted["telemetry"])
		}
		return wait
	})
}

// every runs run at once, then again each time the wait run returned has
// passed on the server's clock or wake (nil: never) fires, until ctx ends
// (checked after each run too, so a run cut short by the end is not
// repeated).
func (s *Server) every(ctx context.Context, wake <-chan struct{}, run func() (wait time.Duration)) {
	wait := time.Duration(0)
	for {
		t := s.clock.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
		case <-wake:
			t.Stop()
		}
		if wait = run(); ctx.Err() != nil {
			return
		}
	}
}

// dropDecision deletes the d/ index entry of the disposition row at tk.
func dropDecision(tx *badgerstore.RecordsTxn, tk []byte) error {
	v, err := tx.Get(tk)
	if errors.Is(err, badgerstore.ErrRecordNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var r Record
	var d protocol.DispositionReport
	if json.Unmarshal(v, &r) != nil || json.Unmarshal(r.Payload, &d) != nil || d.HitID == "" {
		return nil // an unreadable row has no index entry to find
	}
	return tx.Delete(append(decisionPrefix(r.Post, d.HitID), r.ID...))
}
