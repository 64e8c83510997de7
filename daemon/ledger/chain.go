package ledger

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/option"
	"github.com/watchpost/watchpost/sync/outbox"
	"github.com/watchpost/watchpost/sync/protocol"
)

// The audit chain: every audit entry (the kept a/ entries and the non-hit
// s/ rows alike) is one link of one chain per post, in the order the
// entries were written, across restarts. See the package doc for the keys
// and protocol's audit.go for the hashes.

// Defaults of the checkpoints.
const (
	// DefaultCheckpointEvery: a checkpoint is due once this many entries
	// are not yet covered by one.
	DefaultCheckpointEvery = 256
	// DefaultCheckpointInterval: RunCheckpoints signs one this often
	// when entries are waiting, so a quiet post's last actions reach HQ
	// within minutes.
	DefaultCheckpointInterval = 5 * time.Minute
	// maxAuditBatchBytes bounds the entries of one audit record, well
	// inside protocol.MaxRecordPayload with the checkpoint and the JSON
	// around them.
	maxAuditBatchBytes = 48 << 10
	// maxCheckpointBatches bounds the audit records one checkpoint
	// transaction writes; Checkpoint loops for more.
	maxCheckpointBatches = 32
)

var (
	keyChain      = []byte("m/chain")
	keyCheckpoint = []byte("m/checkpoint")
	keyAuditKey   = []byte("m/audit-key")
)

// chainHead is the chain's last entry, as stored under m/chain.
type chainHead struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
}

// ChainRun is a run of chain entries the purge deleted (non-hit
// screening rows past Retention), stored under ch/<from> and listed in
// the purge's own entry: the verifier passes over it, and Hash (of entry
// To) links the entry after it.
type ChainRun struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
	Hash string `json:"hash"`
}

func seqKey(prefix string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte(prefix), seq)
}

// chainIndex is the value of c/<seq>: the entry's hash when it was
// written, then the entry's key.
func chainIndex(h protocol.AuditHash, key []byte) []byte {
	return append(h[:], key...)
}

func parseChainIndex(v []byte) (protocol.AuditHash, []byte, error) {
	var h protocol.AuditHash
	if len(v) <= len(h) {
		return h, nil, errors.New("chain index row too short")
	}
	copy(h[:], v)
	return h, v[len(h):], nil
}

// chainTx appends entries within one transaction. lockChain makes it; the
// chain's lock is held from then until the transaction has ended.
type chainTx struct {
	l    *Ledger
	tx   *badgerstore.RecordsTxn
	head chainHead
	hash protocol.AuditHash
	// checkpointed, if not 0, is the new last checkpointed seq.
	checkpointed uint64
}

// lockChain takes the chain's lock for tx (released when tx ends) and
// returns the appender. Call it once per transaction, inside it.
func (l *Ledger) lockChain(tx *badgerstore.RecordsTxn) *chainTx {
	l.chainMu.Lock()
	c := &chainTx{l: l, tx: tx, head: l.head, hash: l.headHash}
	tx.OnDone(func(committed bool) {
		due := false
		if committed {
			l.head, l.headHash = c.head, c.hash
			l.checkpointed = max(l.checkpointed, c.checkpointed)
			due = l.head.Seq-l.checkpointed >= uint64(l.opts.CheckpointEvery)
		}
		l.chainMu.Unlock()
		if due {
			select {
			case l.checkpointKick <- struct{}{}:
			default:
			}
		}
	})
	return c
}

// append writes e as the chain's next entry under key: its seq and the
// previous entry's hash are filled in, the bytes are stored once and
// indexed under c/<seq> with their hash.
func (c *chainTx) append(key []byte, e *AuditEntry) error {
	e.Seq = c.head.Seq + 1
	e.Prev = ""
	if c.head.Seq > 0 {
		e.Prev = c.hash.String()
	}
	b, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode audit entry %d: %w", e.Seq, err)
	}
	h := protocol.HashAuditEntry(b)
	if err := c.tx.Set(key, b); err != nil {
		return err
	}
	if err := c.tx.Set(seqKey(prefixChain, e.Seq), chainIndex(h, key)); err != nil {
		return err
	}
	c.head, c.hash = chainHead{Seq: e.Seq, Hash: h.String()}, h
	return nil
}

// openChain loads the chain's head and the audit key, making the key at
// first start (kept in the store, which is encrypted at rest when the
// post has a store key). m/chain is written by each checkpoint, not by
// each append (a transaction's size counts every write of one key): the
// head is the last index row from there on.
func (l *Ledger) openChain(tx *badgerstore.RecordsTxn) error {
	switch err := getJSON(tx, keyChain, &l.head); {
	case errors.Is(err, badgerstore.ErrRecordNotFound):
		l.head = chainHead{}
	case err != nil:
		return err
	default:
		h, err := protocol.ParseAuditHash(l.head.Hash)
		if err != nil {
			return fmt.Errorf("chain head: %w", err)
		}
		l.headHash = h
	}
	err := tx.IterateFrom([]byte(prefixChain), seqKey(prefixChain, l.head.Seq+1), func(key, v []byte) error {
		if len(key) != len(prefixChain)+8 {
			return nil
		}
		h, _, err := parseChainIndex(v)
		if err != nil {
			return fmt.Errorf("chain index %x: %w", key, err)
		}
		l.head = chainHead{Seq: binary.BigEndian.Uint64(key[len(prefixChain):]), Hash: h.String()}
		l.headHash = h
		return nil
	})
	if err != nil {
		return err
	}
	var cp chainHead
	switch err := getJSON(tx, keyCheckpoint, &cp); {
	case err == nil:
		l.checkpointed = cp.Seq
	case !errors.Is(err, badgerstore.ErrRecordNotFound):
		return err
	}
	seed, err := tx.Get(keyAuditKey)
	if errors.Is(err, badgerstore.ErrRecordNotFound) {
		seed = make([]byte, ed25519.SeedSize)
		if _, err := rand.Read(seed); err != nil {
			return err
		}
		if err := tx.Set(keyAuditKey, seed); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	if len(seed) != ed25519.SeedSize {
		return fmt.Errorf("audit key: %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	l.auditKey = ed25519.NewKeyFromSeed(seed)
	return nil
}

// AuditKey returns the post's audit key, which signs its checkpoints; its
// text form (protocol.FormatPublicKey) goes into the status for HQ to pin.
func (l *Ledger) AuditKey() ed25519.PublicKey { return l.auditKey.Public().(ed25519.PublicKey) }

// ChainHead returns the chain's length and the last checkpointed seq.
func (l *Ledger) ChainHead() (seq, checkpointed uint64) {
	l.chainMu.Lock()
	defer l.chainMu.Unlock()
	return l.head.Seq, l.checkpointed
}

// Checkpoint signs checkpoints over the entries written since the last
// one and puts them, with those entries as the post's store holds them,
// in the outbox for HQ (kind audit; one record per at most
// CheckpointEvery entries or 48 KiB). It does nothing when no entry is
// waiting, and returns the number of audit records made.
func (l *Ledger) Checkpoint(ctx context.Context) (int, error) {
	total := 0
	for {
		n, more, err := l.checkpointOnce(ctx)
		total += n
		if err != nil {
			return total, fmt.Errorf("audit checkpoint: %w", err)
		}
		if !more {
			return total, nil
		}
	}
}

func (l *Ledger) checkpointOnce(ctx context.Context) (made int, more bool, err error) {
	var done uint64
	err = l.recs.Update(ctx, func(tx *badgerstore.RecordsTxn) error {
		c := l.lockChain(tx)
		made, more, done = 0, false, l.checkpointed
		now := l.clock.Now()
		for done < c.head.Seq && made < maxCheckpointBatches {
			b, last, err := l.auditBatch(tx, done, c.head.Seq)
			if err != nil {
				return err
			}
			b.Checkpoint.Time = now
			protocol.SignAuditCheckpoint(l.auditKey, &b.Checkpoint)
			payload, err := json.Marshal(b)
			if err != nil {
				return err
			}
			if err := setJSON(tx, seqKey(prefixCheckpoint, last), &b.Checkpoint); err != nil {
				return err
			}
			if _, err := l.ob.PutTx(tx, outbox.Record{Kind: protocol.RecordAudit, Payload: payload, CreatedAt: now}); err != nil {
				return err
			}
			done = last
			made++
		}
		more = done < c.head.Seq
		if made == 0 {
			return nil
		}
		c.checkpointed = done
		if err := setJSON(tx, keyChain, &c.head); err != nil {
			return err
		}
		return setJSON(tx, keyCheckpoint, &chainHead{Seq: done})
	})
	return made, more, err
}

// auditBatch reads the entries after `after`, up to head, as the store's
// index holds them (an entry whose row is gone is left out: HQ sees the
// gap), bounded by CheckpointEvery and maxAuditBatchBytes. The checkpoint
// is over the last index row read, with the hash written then.
func (l *Ledger) auditBatch(tx *badgerstore.RecordsTxn, after, head uint64) (*protocol.AuditBatch, uint64, error) {
	b := &protocol.AuditBatch{Post: l.opts.Post, From: after + 1, Entries: []json.RawMessage{}}
	size, count := 0, 0
	var last uint64
	var lastHash protocol.AuditHash
	err := tx.IterateFrom([]byte(prefixChain), seqKey(prefixChain, after+1), func(key, v []byte) error {
		if len(key) != len(prefixChain)+8 {
			return nil
		}
		seq := binary.BigEndian.Uint64(key[len(prefixChain):])
		if seq > head || count >= l.opts.CheckpointEvery {
			return badgerstore.StopIteration
		}
		h, ek, err := parseChainIndex(v)
		if err != nil {
			return nil // a broken index row is left out like a missing entry
		}
		raw, err := tx.Get(ek)
		switch {
		case errors.Is(err, badgerstore.ErrRecordNotFound):
		case err != nil:
			return err
		default:
			if count > 0 && size+len(raw) > maxAuditBatchBytes {
				return badgerstore.StopIteration
			}
			b.Entries = append(b.Entries, raw)
			size += len(raw)
		}
		count++
		last, lastHash = seq, h
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	if last == 0 { // every index row after `after` is gone: cover the head
		last, lastHash = head, l.headHashOf(head)
	}
	b.Checkpoint = protocol.AuditCheckpoint{Post: l.opts.Post, Seq: last, Head: lastHash.String()}
	return b, last, nil
}

// headHashOf returns the head's hash when seq is the head (chainMu held).
func (l *Ledger) headHashOf(seq uint64) protocol.AuditHash {
	if seq == l.head.Seq {
		return l.headHash
	}
	return protocol.AuditHash{}
}

// RunCheckpoints runs Checkpoint every interval (DefaultCheckpointInterval
// when 0) and whenever CheckpointEvery entries are waiting, until ctx
// ends; it then returns nil. A failed checkpoint is logged and retried
// next time; a closed store ends the loop with its error.
func (l *Ledger) RunCheckpoints(ctx context.Context, interval time.Duration) error {
	interval = option.Positive(interval, DefaultCheckpointInterval)
	for {
		t := l.clock.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C():
		case <-l.checkpointKick:
			t.Stop()
		}
		_, err := l.Checkpoint(ctx)
		if stop, err := l.loopFailed(ctx, err, "ledger checkpoint loop", "Audit checkpoint failed; retrying at the next interval"); stop {
			return err
		}
	}
}
