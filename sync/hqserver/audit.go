package hqserver

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/sync/protocol"
)

// The posts' audit chains at HQ. Each audit record (protocol.AuditBatch)
// is stored like any record, and its entries and checkpoint also under
// the post, by seq:
//
//	ae/<post>/<seq: 8 bytes big-endian>  the entry's bytes as the post sent them (the first copy)
//	ac/<post>/<seq>                      the checkpoint over entry <seq> (JSON)
//	ap/<post>/<from>                     a batch that arrived before the one ahead of
//	                                     it: the t/ key of its record
//
// A batch is checked when it continues the verified chain (its From is
// the seq after the last verified one); one that arrives early waits in
// ap/ for the missing one (the outbox delivers every record, in any
// order). The first fault and the number of faults stay in the post's
// state until an operator looks: watchpost-hq posts shows them.

var (
	prefixAuditEntry      = []byte("ae/")
	prefixAuditCheckpoint = []byte("ac/")
	prefixAuditPending    = []byte("ap/")
)

func auditKey(prefix []byte, post string, seq uint64) []byte {
	k := append(append(append([]byte(nil), prefix...), post...), '/')
	return binary.BigEndian.AppendUint64(k, seq)
}

// AuditState is what HQ knows of a post's audit chain.
type AuditState struct {
	// Key is the post's audit key, pinned at enrolment (the first status
	// or checkpoint that named one); OtherKey a different key the post
	// later presented (an alarm).
	Key      string `json:"key,omitempty"`
	OtherKey string `json:"other_key,omitempty"`
	// Verified is the last seq of the chain HQ has verified, Head its
	// hash; CheckpointAt the post's time of the last checkpoint checked.
	Verified     uint64    `json:"verified"`
	Head         string    `json:"head,omitempty"`
	CheckpointAt time.Time `json:"checkpoint_at,omitzero"`
	// Waiting is the number of batches held for an earlier one.
	Waiting int `json:"waiting,omitempty"`
	// Fault is the first bad place HQ found; Faults counts them.
	Fault  *protocol.AuditFault `json:"fault,omitempty"`
	Faults int                  `json:"faults,omitempty"`
}

func (a *AuditState) fault(f *protocol.AuditFault) {
	if a.Fault == nil {
		a.Fault = f
	}
	a.Faults++
}

// pinKey pins the post's audit key or, if another one is pinned, records
// the alarm.
func (a *AuditState) pinKey(key string) {
	switch {
	case key == "" || key == a.Key:
	case a.Key == "":
		a.Key = key
	case a.OtherKey != key:
		a.OtherKey = key
		a.fault(&protocol.AuditFault{Seq: a.Verified + 1, Kind: protocol.FaultKeyChanged,
			Detail: fmt.Sprintf("the post presents audit key %s, pinned %s", key, a.Key)})
	}
}

func (a *AuditState) verifier() *protocol.AuditVerifier {
	if a.Verified == 0 {
		return protocol.NewAuditVerifier()
	}
	h, _ := protocol.ParseAuditHash(a.Head)
	return protocol.ResumeAuditVerifier(a.Verified, h)
}

// applyAudit stores a batch's entries and checkpoint and checks what
// continues the verified chain, in the writer's transaction (postMu
// held). tk is the t/ key of the batch's record.
func (s *Server) applyAudit(tx *badgerstore.RecordsTxn, ps *postState, b *protocol.AuditBatch, tk []byte) error {
	if ps.Audit == nil {
		ps.Audit = &AuditState{}
	}
	a := ps.Audit
	a.pinKey(b.Checkpoint.Key)
	switch {
	case b.From > a.Verified+1:
		a.Waiting++
		return tx.Set(auditKey(prefixAuditPending, ps.Post, b.From), tk)
	case b.From <= a.Verified:
		// A stretch HQ has verified already: the post's chain forked (a
		// store restored from a backup, a rewritten chain).
		return s.compareAudit(tx, ps, b)
	}
	for {
		if err := s.checkAudit(tx, ps, b); err != nil {
			return err
		}
		// A batch waiting for this one?
		pk := auditKey(prefixAuditPending, ps.Post, a.Verified+1)
		tk, err := tx.Get(pk)
		if errors.Is(err, badgerstore.ErrRecordNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := tx.Delete(pk); err != nil {
			return err
		}
		a.Waiting = max(a.Waiting-1, 0)
		v, err := tx.Get(tk)
		if err != nil {
			return fmt.Errorf("waiting audit batch of %s: %w", ps.Post, err)
		}
		var r Record
		if err := json.Unmarshal(v, &r); err != nil {
			return err
		}
		b = &protocol.AuditBatch{}
		if err := protocol.DecodeJSON(r.Payload, b); err != nil {
			return err
		}
	}
}

// checkAudit verifies a batch that continues the chain, stores it and
// moves the verified head.
func (s *Server) checkAudit(tx *badgerstore.RecordsTxn, ps *postState, b *protocol.AuditBatch) error {
	a := ps.Audit
	pub, err := protocol.ParsePublicKey(a.Key)
	if err != nil {
		return fmt.Errorf("pinned audit key of %s: %w", ps.Post, err)
	}
	v := a.verifier()
	for _, f := range protocol.VerifyAuditBatch(v, b, pub) {
		a.fault(f)
		s.log.Warn("Audit chain fault", logkey.Post, ps.Post, logkey.Reason, f.Error())
	}
	if err := s.storeAudit(tx, ps, b); err != nil {
		return err
	}
	a.Verified, a.Head, a.CheckpointAt = b.Checkpoint.Seq, v.Head().String(), b.Checkpoint.Time
	return nil
}

// storeAudit keeps the batch's entries (first copy of each seq) and its
// checkpoint; an entry whose seq HQ holds with other bytes is a fork.
func (s *Server) storeAudit(tx *badgerstore.RecordsTxn, ps *postState, b *protocol.AuditBatch) error {
	for _, raw := range b.Entries {
		l, err := protocol.DecodeAuditLink(raw)
		if err != nil {
			continue // stored in the record; the verifier named it
		}
		k := auditKey(prefixAuditEntry, ps.Post, l.Seq)
		switch old, err := tx.Get(k); {
		case err == nil:
			if !bytes.Equal(old, raw) {
				ps.Audit.fault(&protocol.AuditFault{Seq: l.Seq, Kind: protocol.FaultFork, Detail: "the post sent other bytes for an entry HQ holds"})
			}
			continue
		case !errors.Is(err, badgerstore.ErrRecordNotFound):
			return err
		}
		if err := tx.Set(k, raw); err != nil {
			return err
		}
	}
	return setJSONTx(tx, auditKey(prefixAuditCheckpoint, ps.Post, b.Checkpoint.Seq), &b.Checkpoint)
}

// compareAudit checks a batch over entries HQ verified before against the
// stored ones: the first that differs is a fork.
func (s *Server) compareAudit(tx *badgerstore.RecordsTxn, ps *postState, b *protocol.AuditBatch) error {
	for _, raw := range b.Entries {
		l, err := protocol.DecodeAuditLink(raw)
		if err != nil || l.Seq > ps.Audit.Verified {
			continue
		}
		old, err := tx.Get(auditKey(prefixAuditEntry, ps.Post, l.Seq))
		if err != nil && !errors.Is(err, badgerstore.ErrRecordNotFound) {
			return err
		}
		if !bytes.Equal(old, raw) {
			ps.Audit.fault(&protocol.AuditFault{Seq: l.Seq, Kind: protocol.FaultFork,
				Detail: fmt.Sprintf("the post sent entry %d again with other bytes than HQ verified", l.Seq)})
			s.log.Warn("Audit chain fork", logkey.Post, ps.Post, logkey.Seq, l.Seq)
			return nil
		}
	}
	return nil
}

func setJSONTx(tx *badgerstore.RecordsTxn, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Set(key, b)
}

// AuditReport is what VerifyAudit found for one post.
type AuditReport struct {
	Post string `json:"post"`
	// Key is the pinned audit key the checkpoints are checked with.
	Key string `json:"key"`
	// Entries and Checkpoints HQ holds; Head the last seq.
	Entries, Checkpoints int
	Head                 uint64
	// Faults found now, in chain order, and the first one HQ found when
	// the records arrived (State.Fault: it also covers what the stored
	// copies cannot show, as the order the post held its entries in).
	Faults []*protocol.AuditFault `json:"faults"`
	State  AuditState             `json:"state"`
}

// VerifyAudit checks again, from HQ's copy, the audit chain of post:
// every stored entry in seq order and every checkpoint with the pinned
// key.
func (s *Server) VerifyAudit(ctx context.Context, post string) (AuditReport, error) {
	s.postMu.Lock()
	ps := s.posts[post]
	var st AuditState
	if ps != nil && ps.Audit != nil {
		st = *ps.Audit
	}
	s.postMu.Unlock()
	if ps == nil {
		return AuditReport{}, fmt.Errorf("verify audit: HQ has heard nothing from post %q", post)
	}
	rep := AuditReport{Post: post, Key: st.Key, State: st}
	pub, err := protocol.ParsePublicKey(st.Key)
	if err != nil {
		return rep, fmt.Errorf("verify audit of %s: no pinned audit key", post)
	}
	v := protocol.NewAuditVerifier()
	err = s.rec.View(ctx, func(tx *badgerstore.RecordsTxn) error {
		cps := map[uint64]protocol.AuditCheckpoint{}
		if err := tx.Iterate(auditKey(prefixAuditCheckpoint, post, 0)[:len(prefixAuditCheckpoint)+len(post)+1], func(key, val []byte) error {
			var cp protocol.AuditCheckpoint
			if err := json.Unmarshal(val, &cp); err != nil {
				return fmt.Errorf("checkpoint %x: %w", key, err)
			}
			cps[cp.Seq] = cp
			return nil
		}); err != nil {
			return err
		}
		rep.Checkpoints = len(cps)
		prefix := auditKey(prefixAuditEntry, post, 0)[:len(prefixAuditEntry)+len(post)+1]
		err := tx.Iterate(prefix, func(key, raw []byte) error {
			if len(key) != len(prefix)+8 {
				return nil
			}
			seq := binary.BigEndian.Uint64(key[len(prefix):])
			rep.Entries++
			rep.Head = seq
			if f := v.Entry(seq, raw, nil); f != nil && len(rep.Faults) < 100 {
				rep.Faults = append(rep.Faults, f)
			}
			if cp, ok := cps[seq]; ok {
				if f := v.Checkpoint(&cp, ed25519.PublicKey(pub)); f != nil && len(rep.Faults) < 100 {
					rep.Faults = append(rep.Faults, f)
				}
			}
			return nil
		})
		return err
	})
	if err != nil {
		return rep, fmt.Errorf("verify audit of %s: %w", post, err)
	}
	return rep, nil
}
