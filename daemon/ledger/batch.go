package ledger

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/outbox"
)

// MaxBatch is the most screenings RecordBatch takes in one call.
//
// All of a batch is one Badger transaction, which Badger limits to 15% of
// the memtable: 5,033,164 bytes and 52,428 entries with
// badgerstore.DefaultMemTableSize (32 MB). Measured with realistic intake
// screenings (BenchmarkBatchBound; a full traveller, a file name as
// Ref, two hits with their explanations per hit traveller), every audit
// entry with its chain index row. The largest batches that fit one
// transaction, measured:
//
//	memtable   no hits   5% hits   every traveller hits
//	32 MB      10,846     7,260      999
//	 8 MB       2,714     1,817      249
//
// So a 1,000-passenger manifest at 5% hits fits with a wide margin, and
// so do 500 passengers who all hit; MaxBatch at 5% hits fits the default
// memtable. A batch within MaxBatch can still be too big (a high hit
// rate, hits with many matches, a smaller memtable): RecordBatch then
// fails with ErrBatchTooBig and writes nothing, and a retry fails the
// same way.
const MaxBatch = 5000

// maxKeyLen bounds a batch key.
const maxKeyLen = 128

// ErrBatchTooBig: a RecordBatch batch has more than MaxBatch screenings or
// does not fit one transaction (it also matches badgerstore.ErrTxnTooBig
// then). Nothing was written, and retrying the same batch fails the same
// way: split it, or reject it (an intake Processor wraps
// intake.ErrRejected, so the file goes to failed/).
var ErrBatchTooBig = errors.New("ledger batch too big")

// BatchResult is what RecordBatch recorded under a key: counts and ids,
// never a traveller's data. It is stored as the key's marker and returned
// again, with Replayed set, for a repeated key.
type BatchResult struct {
	// Key is the caller's idempotency key.
	Key string `json:"key"`
	// Screened is the number of screenings recorded, Hits the number of
	// individual hits, HitTravellers the screenings with at least one.
	Screened      int `json:"screened"`
	Hits          int `json:"hits"`
	HitTravellers int `json:"hit_travellers"`
	// RecordedAt is when the batch was recorded (the ledger's clock).
	RecordedAt time.Time `json:"recorded_at"`
	// HitRecords names the hit record of each screening that hit, in
	// batch order.
	HitRecords []BatchHit `json:"hit_records,omitempty"`
	// Refs counts the batch's screenings by source and ref (the flight
	// and file of an intake or an upload), in order of first appearance:
	// what a manifest's summary shows once its non-hit rows are purged.
	Refs []BatchRef `json:"refs,omitempty"`
	// Recorded says what was stored for each screening, in batch order.
	// Only the call that recorded the batch has it (nil when Replayed):
	// the marker keeps no screening ids.
	Recorded []Recorded `json:"-"`
	// Replayed is true when the key was already recorded: nothing was
	// written and the fields are those of the first recording.
	Replayed bool `json:"-"`
}

// BatchHit is a screening of a batch that hit.
type BatchHit struct {
	// Index is the screening's position in the batch.
	Index int `json:"index"`
	// HitID is its hit record's id (and its outbox record's).
	HitID string `json:"hit_id"`
}

// BatchRef is the screenings of a batch with one source and ref.
type BatchRef struct {
	Source        string `json:"source"`
	Ref           string `json:"ref,omitempty"`
	Screened      int    `json:"screened"`
	HitTravellers int    `json:"hit_travellers,omitempty"`
}

// addRef counts screening s (hit or not) in refs.
func addRef(refs []BatchRef, s *Screening) []BatchRef {
	for i := range refs {
		if refs[i].Source == s.Source && refs[i].Ref == s.Ref {
			refs[i].Screened++
			if len(s.Hits) > 0 {
				refs[i].HitTravellers++
			}
			return refs
		}
	}
	r := BatchRef{Source: s.Source, Ref: s.Ref, Screened: 1}
	if len(s.Hits) > 0 {
		r.HitTravellers = 1
	}
	return append(refs, r)
}

// validKey reports whether k is a usable batch key: 1 to maxKeyLen
// characters of [0-9A-Za-z._:-].
func validKey(k string) bool {
	if k == "" || len(k) > maxKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' ||
			c == '.' || c == '_' || c == ':' || c == '-') {
			return false
		}
	}
	return true
}

func batchKey(key string) []byte { return append([]byte(prefixBatch), key...) }

// RecordBatch records screenings, each exactly as Record does, together
// with a marker for key, in ONE transaction: all of it commits or none.
// If key's marker is already there, it writes nothing and returns the
// stored BatchResult with Replayed set, so a caller that cannot know
// whether an earlier call committed (a crash, a lost reply, a double
// submit) calls it again with the same key and the same screenings.
//
// key is the caller's idempotency key, 1 to 128 characters of
// [0-9A-Za-z._:-] (the intake's File.ID, a hex SHA-256). The marker holds
// counts and hit ids only and is kept for HitRetention, like the hit
// records it names, not for Retention: a retry a day later must still be
// recognised. After HitRetention a repeated key is recorded anew.
//
// A batch may be empty (a file whose travellers were all refused): its
// marker records zero screenings. A batch of more than MaxBatch
// screenings, or one that does not fit a transaction, fails with
// ErrBatchTooBig; an invalid screening fails with ErrInvalid, naming its
// index. Either way nothing is written.
func (l *Ledger) RecordBatch(ctx context.Context, key string, screenings []Screening) (BatchResult, error) {
	if !validKey(key) {
		return BatchResult{}, fmt.Errorf("%w: batch key must be 1 to %d characters of [0-9A-Za-z._:-]", ErrInvalid, maxKeyLen)
	}
	if len(screenings) > l.opts.MaxBatch {
		return BatchResult{}, fmt.Errorf("record batch %s: %w: %d screenings, limit %d", key, ErrBatchTooBig, len(screenings), l.opts.MaxBatch)
	}
	now := l.clock.Now()
	res := BatchResult{Key: key, Screened: len(screenings), RecordedAt: now, Recorded: make([]Recorded, len(screenings))}
	ps := make([]*pending, len(screenings))
	for i, s := range screenings {
		p, err := l.prepare(s, now)
		if err != nil {
			return BatchResult{}, fmt.Errorf("record batch %s: screening %d: %w", key, i, err)
		}
		ps[i] = p
		res.Recorded[i] = p.rec
		res.Refs = addRef(res.Refs, &p.s)
		if p.hit != nil {
			res.Hits += len(s.Hits)
			res.HitTravellers++
			res.HitRecords = append(res.HitRecords, BatchHit{Index: i, HitID: p.rec.HitID})
		}
	}

	// Two calls with one key must not both miss the marker: without
	// conflict detection both would commit. Batches are serialised.
	l.batchMu.Lock()
	defer l.batchMu.Unlock()
	var stored BatchResult
	replayed := false
	err := l.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		switch err := getJSON(tx, batchKey(key), &stored); {
		case err == nil:
			replayed = true
			return nil
		case !errors.Is(err, badgerstore.ErrRecordNotFound):
			return err
		}
		c := l.lockChain(tx)
		for _, p := range ps {
			if err := l.write(c, p, now); err != nil {
				return err
			}
			if err := l.inTxn("record"); err != nil {
				return err
			}
		}
		if err := setJSON(tx, batchKey(key), &res); err != nil {
			return err
		}
		if err := tx.Set(timeKey(prefixBatchTime, now, l.seq.Add(1), key), nil); err != nil {
			return err
		}
		if err := l.inTxn("batch"); err != nil {
			return err
		}
		tx.OnDone(func(committed bool) {
			if committed {
				for _, p := range ps {
					l.stats.recorded(now, p.s.Hits)
				}
			}
		})
		return nil
	})
	if err != nil {
		switch {
		case errors.Is(err, badgerstore.ErrTxnTooBig):
			err = fmt.Errorf("%w: %d screenings, %d with hits: %w", ErrBatchTooBig, res.Screened, res.HitTravellers, err)
		case errors.Is(err, outbox.ErrInvalidRecord):
			err = fmt.Errorf("%w: %w", ErrInvalid, err)
		}
		return BatchResult{}, fmt.Errorf("record batch %s: %w", key, err)
	}
	if replayed {
		stored.Replayed = true
		if stored.Screened != len(screenings) {
			// The key decides: the caller reused it, or its screening
			// changed (a traveller refused then, screened now).
			l.log.Warn("Batch key replayed with a number of screenings other than the recorded one",
				logkey.Batch, key, logkey.Screenings, stored.Screened)
		}
		l.log.Info("Batch replayed", logkey.Batch, key, logkey.Screenings, stored.Screened, logkey.Hits, stored.HitTravellers)
		return stored, nil
	}
	for _, p := range ps {
		l.logHit(p)
	}
	l.log.Info("Batch recorded", logkey.Batch, key, logkey.Screenings, res.Screened, logkey.Hits, res.HitTravellers)
	return res, nil
}

// purgeBatches deletes up to one batch of batch markers recorded at or
// before cutoff.
func (l *Ledger) purgeBatches(ctx context.Context, now, cutoff time.Time) (Purged, error) {
	return l.purgeTimed(ctx, now, cutoff, prefixBatchTime, l.opts.PurgeBatch.BatchMarkers, false,
		func(tx *badgerstore.RecordsTxn, s []byte) error {
			if len(s) > orderLen {
				return tx.Delete(batchKey(string(s[orderLen:])))
			}
			return nil
		},
		func(p *Purged, n int, _, _ time.Time) { p.Batches = n })
}
