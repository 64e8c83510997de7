package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/watchpost/watchpost/daemon/ledger/ledgertest"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/protocol"
)

// chainEnv records a small trail: two non-hits, a hit (screened and
// hit_opened), a decision: entries 1 to 5.
func chainEnv(t *testing.T) (*env, Recorded) {
	t.Helper()
	e := newEnv(t)
	mustRecord(t, e.l, screening(0))
	mustRecord(t, e.l, screening(0))
	hit := mustRecord(t, e.l, screening(1))
	e.clock.Advance(time.Second)
	if _, err := e.l.Dispose(context.Background(), hit.HitID, Disposition{Decision: protocol.DispositionConfirmed, Officer: "off-7"}); err != nil {
		t.Fatal(err)
	}
	if seq, _ := e.l.ChainHead(); seq != 5 {
		t.Fatalf("chain head %d, want 5", seq)
	}
	return e, hit
}

// entryKey finds the key of the audit entry whose seq is seq (a/ or s/ rows).
func entryKey(t *testing.T, e *env, seq uint64) []byte {
	t.Helper()
	return ledgertest.EntryKey(t, e.store.Records(Namespace), seq, prefixAudit, prefixScreening)
}

func tamper(t *testing.T, e *env, fn func(tx *badgerstore.RecordsTxn) error) {
	t.Helper()
	ledgertest.Tamper(t, e.store.Records(Namespace), fn)
}

// auditBatches returns the audit records the outbox holds, opened.
func auditBatches(t *testing.T, e *env) []protocol.AuditBatch {
	t.Helper()
	var out []protocol.AuditBatch
	for _, r := range e.outboxRecords(t) {
		if r.Kind != protocol.RecordAudit {
			continue
		}
		var b protocol.AuditBatch
		if err := protocol.DecodeJSON(r.Payload, &b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

func TestAuditChainVerifies(t *testing.T) {
	e, _ := chainEnv(t)
	ctx := context.Background()
	rep, err := e.l.VerifyAudit(ctx)
	if err != nil || len(rep.Faults) != 0 || rep.Entries != 5 || rep.Head != 5 {
		t.Fatalf("report %+v, %v", rep, err)
	}
	if n, err := e.l.Checkpoint(ctx); err != nil || n != 1 {
		t.Fatalf("Checkpoint = %d, %v", n, err)
	}
	if n, err := e.l.Checkpoint(ctx); err != nil || n != 0 {
		t.Fatalf("second Checkpoint = %d, %v; want nothing to do", n, err)
	}
	// One chain across restarts: the next entry links to the last.
	e.reopen(t)
	mustRecord(t, e.l, screening(0))
	if _, err := e.l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	rep, err = e.l.VerifyAudit(ctx)
	if err != nil || len(rep.Faults) != 0 || rep.Head != 6 || rep.Checkpoints != 2 || rep.Checkpointed != 6 {
		t.Fatalf("after a restart: %+v, %v", rep, err)
	}
	// HQ's check of what the outbox carries: two batches, one chain.
	bs := auditBatches(t, e)
	if len(bs) != 2 {
		t.Fatalf("%d audit batches, want 2", len(bs))
	}
	if bs[0].From > bs[1].From {
		bs[0], bs[1] = bs[1], bs[0]
	}
	v := protocol.NewAuditVerifier()
	for _, b := range bs {
		if f := protocol.VerifyAuditBatch(v, &b, e.l.AuditKey()); f != nil {
			t.Fatalf("HQ's check: %v", f)
		}
	}
	for _, b := range bs {
		for _, raw := range b.Entries {
			if bytes.Contains(raw, []byte("ZZTESTOVA")) || bytes.Contains(raw, []byte("1971")) {
				t.Errorf("an audit entry holds traveller data: %s", raw)
			}
		}
	}
}

func TestAuditTamperNamesTheEntry(t *testing.T) {
	cases := []struct {
		name string
		// tamper changes the trail as someone with the disk would.
		tamper func(t *testing.T, e *env)
		seq    uint64
		kind   string
	}{
		{"DeleteEntry", func(t *testing.T, e *env) {
			k := entryKey(t, e, 3)
			tamper(t, e, func(tx *badgerstore.RecordsTxn) error { return tx.Delete(k) })
		}, 3, protocol.FaultMissing},
		{"DeleteEntryAndIndex", func(t *testing.T, e *env) {
			k := entryKey(t, e, 3)
			tamper(t, e, func(tx *badgerstore.RecordsTxn) error {
				if err := tx.Delete(seqKey(prefixChain, 3)); err != nil {
					return err
				}
				return tx.Delete(k)
			})
		}, 3, protocol.FaultMissing},
		{"EditEntry", func(t *testing.T, e *env) {
			k := entryKey(t, e, 5) // the decision: make another officer decide
			tamper(t, e, func(tx *badgerstore.RecordsTxn) error {
				v, err := tx.Get(k)
				if err != nil {
					return err
				}
				return tx.Set(k, bytes.Replace(v, []byte("off-7"), []byte("off-1"), 1))
			})
		}, 5, protocol.FaultEdited},
		{"EditMiddleEntry", func(t *testing.T, e *env) {
			k := entryKey(t, e, 3)
			tamper(t, e, func(tx *badgerstore.RecordsTxn) error {
				v, err := tx.Get(k)
				if err != nil {
					return err
				}
				var a AuditEntry
				if err := json.Unmarshal(v, &a); err != nil {
					return err
				}
				a.Matches = 0 // hide that the screening hit
				b, _ := json.Marshal(&a)
				return tx.Set(k, b)
			})
		}, 3, protocol.FaultEdited},
		{"ReorderEntries", func(t *testing.T, e *env) {
			k3, k4 := entryKey(t, e, 3), entryKey(t, e, 4)
			ledgertest.Swap(t, e.store.Records(Namespace), k3, k4)
		}, 3, protocol.FaultOutOfOrder},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, _ := chainEnv(t)
			c.tamper(t, e)
			rep, err := e.l.VerifyAudit(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Faults) == 0 || rep.Faults[0].Seq != c.seq || rep.Faults[0].Kind != c.kind {
				t.Fatalf("post's verify: %v, want the first fault at entry %d (%s)", rep.Faults, c.seq, c.kind)
			}
			// What the post sends HQ after the change shows HQ the same place.
			if _, err := e.l.Checkpoint(context.Background()); err != nil {
				t.Fatal(err)
			}
			bs := auditBatches(t, e)
			if len(bs) != 1 {
				t.Fatalf("%d audit batches", len(bs))
			}
			faults := protocol.VerifyAuditBatch(protocol.NewAuditVerifier(), &bs[0], e.l.AuditKey())
			if len(faults) == 0 || faults[0].Seq != c.seq || faults[0].Kind != c.kind {
				t.Fatalf("HQ's check: %v, want the first fault at entry %d (%s)", faults, c.seq, c.kind)
			}
		})
	}
}

func TestAuditCheckpointDueAfterEvery(t *testing.T) {
	e := newEnv(t)
	e.opts.CheckpointEvery = 3
	e.reopen(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.l.RunCheckpoints(ctx, time.Hour) }()
	for range 3 {
		mustRecord(t, e.l, screening(0))
	}
	testkit.CheckFor(t, 10*time.Second, "a checkpoint after 3 entries", testkit.True(func() bool {
		_, cp := e.l.ChainHead()
		return cp == 3
	}), testkit.Every(time.Millisecond))
	// And on the interval for fewer.
	mustRecord(t, e.l, screening(0))
	testkit.CheckFor(t, 10*time.Second, "the interval's timer", testkit.True(func() bool { return e.clock.Waiters() > 0 }), testkit.Every(time.Millisecond))
	e.clock.Advance(time.Hour)
	testkit.CheckFor(t, 10*time.Second, "a checkpoint on the interval", testkit.True(func() bool {
		_, cp := e.l.ChainHead()
		return cp == 4
	}), testkit.Every(time.Millisecond))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
