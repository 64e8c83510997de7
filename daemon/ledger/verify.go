package ledger

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/protocol"
)

// AuditReport is what VerifyAudit found.
type AuditReport struct {
	// Entries is the number of chain entries read; Purged the entries
	// passed over as purged by retention; Head the chain's length as the
	// ledger holds it.
	Entries, Purged int
	Head            uint64
	// Checkpoints is the number of signed checkpoints checked;
	// Checkpointed the last seq one covers.
	Checkpoints  int
	Checkpointed uint64
	// Faults, in chain order; the first is the first bad entry. Empty:
	// the chain verifies.
	Faults []*protocol.AuditFault
}

// maxReportFaults bounds the faults a report lists.
const maxReportFaults = 100

// VerifyAudit checks the post's audit chain as its store holds it: every
// entry in seq order against the link the next one holds and against the
// hash recorded when it was written, the runs the purge removed (each
// must be declared by a purge entry), the head, and every checkpoint's
// signature and head. It reads the store in one consistent view.
//
// It detects what a person with the disk changes with the store's own
// tools: a deleted, edited or moved entry. Whoever also holds the audit
// key (it is in the same store) can rewrite the chain consistently from
// the changed entry on; only HQ's copy of what was already sent, checked
// by HQ against the pinned key, shows that.
func (l *Ledger) VerifyAudit(ctx context.Context) (AuditReport, error) {
	var rep AuditReport
	add := func(f *protocol.AuditFault) {
		if f == nil || len(rep.Faults) >= maxReportFaults {
			return
		}
		for _, g := range rep.Faults {
			if g.Seq == f.Seq && g.Kind == f.Kind {
				return // one place seen twice (its own hash, then the next link)
			}
		}
		rep.Faults = append(rep.Faults, f)
	}
	err := l.recs.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		var head chainHead
		if err := getJSON(tx, keyChain, &head); err != nil && !errors.Is(err, badgerstore.ErrRecordNotFound) {
			return err
		}
		rep.Head = head.Seq
		// m/chain is the head at the last checkpoint: the entry of its seq
		// must still have its hash, and the chain goes on from there.
		headSeen := head.Seq == 0
		seen := func(seq uint64, h protocol.AuditHash) {
			if seq == head.Seq && head.Seq > 0 {
				headSeen = true
				if h.String() != head.Hash {
					add(&protocol.AuditFault{Seq: seq, Kind: protocol.FaultEdited, Detail: "its hash is not the one the chain head recorded"})
				}
			}
			rep.Head = max(rep.Head, seq)
		}
		v := protocol.NewAuditVerifier()
		used := map[uint64]ChainRun{}     // runs passed over
		declared := map[uint64]ChainRun{} // runs purge entries declare
		skip := func(upTo uint64) error {
			for v.Next() < upTo {
				var run ChainRun
				switch err := getJSON(tx, seqKey(prefixHole, v.Next()), &run); {
				case errors.Is(err, badgerstore.ErrRecordNotFound):
					return nil
				case err != nil:
					return err
				}
				h, err := protocol.ParseAuditHash(run.Hash)
				if err != nil {
					return fmt.Errorf("purged run %d-%d: %w", run.From, run.To, err)
				}
				add(v.Skip(run.From, run.To, h))
				used[run.From] = run
				rep.Purged += int(run.To - run.From + 1)
				if head.Seq >= run.From && head.Seq <= run.To {
					headSeen = true // its entry was purged; the run's hash is of To
				}
				if run.To == head.Seq {
					seen(run.To, h)
				}
			}
			return nil
		}
		err := tx.Iterate([]byte(prefixChain), func(key, val []byte) error {
			if len(key) != len(prefixChain)+8 {
				return nil
			}
			pos := binary.BigEndian.Uint64(key[len(prefixChain):])
			if err := skip(pos); err != nil {
				return err
			}
			written, ek, err := parseChainIndex(val)
			if err != nil {
				add(v.Lost(pos))
				return nil
			}
			seen(pos, written)
			raw, err := tx.Get(ek)
			if errors.Is(err, badgerstore.ErrRecordNotFound) {
				add(v.Lost(pos))
				return nil
			}
			if err != nil {
				return err
			}
			rep.Entries++
			add(v.Entry(pos, raw, nil))
			if protocol.HashAuditEntry(raw) != written {
				add(&protocol.AuditFault{Seq: pos, Kind: protocol.FaultEdited, Detail: "its hash is not the one recorded when it was written"})
			}
			var e AuditEntry
			if json.Unmarshal(raw, &e) == nil && e.Action == ActionPurge && e.Purged != nil {
				for _, r := range e.Purged.Chain {
					declared[r.From] = r
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := skip(head.Seq + 1); err != nil {
			return err
		}
		if !headSeen || v.Next() <= head.Seq {
			add(&protocol.AuditFault{Seq: v.Next(), Kind: protocol.FaultMissing, Detail: fmt.Sprintf("the chain ends at %d, its recorded head is %d", v.Next()-1, head.Seq)})
		}
		for from, r := range used {
			if d, ok := declared[from]; !ok || d != r {
				add(&protocol.AuditFault{Seq: r.From, Kind: protocol.FaultMissing,
					Detail: fmt.Sprintf("entries %d to %d are gone and no purge entry says it purged them", r.From, r.To)})
			}
		}
		return tx.Iterate([]byte(prefixCheckpoint), func(key, val []byte) error {
			if len(key) != len(prefixCheckpoint)+8 {
				return nil
			}
			seq := binary.BigEndian.Uint64(key[len(prefixCheckpoint):])
			var cp protocol.AuditCheckpoint
			if err := json.Unmarshal(val, &cp); err != nil || cp.Seq != seq {
				add(&protocol.AuditFault{Seq: seq, Kind: protocol.FaultCheckpoint, Detail: "the stored checkpoint does not decode"})
				return nil
			}
			rep.Checkpoints++
			rep.Checkpointed = max(rep.Checkpointed, seq)
			if err := cp.Verify(l.AuditKey()); err != nil {
				add(&protocol.AuditFault{Seq: seq, Kind: protocol.FaultCheckpoint, Detail: err.Error()})
				return nil
			}
			if idx, err := tx.Get(seqKey(prefixChain, seq)); err == nil {
				if h, _, err := parseChainIndex(idx); err == nil && h.String() != cp.Head {
					add(&protocol.AuditFault{Seq: seq, Kind: protocol.FaultEdited, Detail: "its hash is not the one the signed checkpoint holds"})
				}
			}
			return nil
		})
	})
	if err != nil {
		return AuditReport{}, fmt.Errorf("verify audit: %w", err)
	}
	slices.SortStableFunc(rep.Faults, func(a, b *protocol.AuditFault) int { return cmp.Compare(a.Seq, b.Seq) })
	return rep, nil
}
