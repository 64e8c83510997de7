package protocol

import (
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// chain makes n linked entries.
func chain(t *testing.T, n int) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	prev := ""
	for i := 1; i <= n; i++ {
		raw := json.RawMessage(fmt.Sprintf(`{"seq":%d,"prev":%q,"action":"disposition","actor":"officer-%d"}`, i, prev, i))
		out = append(out, raw)
		prev = HashAuditEntry(raw).String()
	}
	return out
}

func batchOf(t *testing.T, priv ed25519.PrivateKey, entries []json.RawMessage, from uint64, head json.RawMessage, seq uint64) *AuditBatch {
	t.Helper()
	b := &AuditBatch{Post: "post-1", From: from, Entries: entries,
		Checkpoint: AuditCheckpoint{Post: "post-1", Seq: seq, Head: HashAuditEntry(head).String(), Time: t0}}
	SignAuditCheckpoint(priv, &b.Checkpoint)
	if err := b.Validate(); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyAuditBatchNamesTheBadEntry(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	pub := priv.Public().(ed25519.PublicKey)
	good := chain(t, 6)
	edited := json.RawMessage(strings.Replace(string(good[2]), "officer-3", "officer-9", 1))
	cases := []struct {
		name    string
		entries []json.RawMessage
		seq     uint64
		kind    string
	}{
		{"deleted", []json.RawMessage{good[0], good[1], good[3], good[4], good[5]}, 3, FaultMissing},
		{"edited", []json.RawMessage{good[0], good[1], edited, good[3], good[4], good[5]}, 3, FaultEdited},
		{"reordered", []json.RawMessage{good[0], good[1], good[3], good[2], good[4], good[5]}, 3, FaultOutOfOrder},
		{"last edited", []json.RawMessage{good[0], good[1], good[2], good[3], good[4], json.RawMessage(strings.Replace(string(good[5]), "officer-6", "x", 1))}, 6, FaultEdited},
	}
	b := batchOf(t, priv, good, 1, good[5], 6)
	if f := VerifyAuditBatch(NewAuditVerifier(), b, pub); f != nil {
		t.Fatalf("sound chain: %v", f)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := batchOf(t, priv, c.entries, 1, good[5], 6)
			faults := VerifyAuditBatch(NewAuditVerifier(), b, pub)
			if len(faults) == 0 || faults[0].Seq != c.seq || faults[0].Kind != c.kind {
				t.Fatalf("faults %v, want the first at entry %d (%s)", faults, c.seq, c.kind)
			}
		})
	}
}

func TestAuditBatchesContinueAndFork(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	pub := priv.Public().(ed25519.PublicKey)
	good := chain(t, 6)
	v := NewAuditVerifier()
	if f := VerifyAuditBatch(v, batchOf(t, priv, good[:3], 1, good[2], 3), pub); f != nil {
		t.Fatal(f)
	}
	if f := VerifyAuditBatch(v, batchOf(t, priv, good[3:], 4, good[5], 6), pub); f != nil {
		t.Fatal(f)
	}
	// A second chain from the same point (a restored backup) forks.
	v = NewAuditVerifier()
	VerifyAuditBatch(v, batchOf(t, priv, good[:3], 1, good[2], 3), pub)
	other := json.RawMessage(fmt.Sprintf(`{"seq":4,"prev":%q,"action":"purge"}`, strings.Repeat("0", 64)))
	faults := VerifyAuditBatch(v, batchOf(t, priv, []json.RawMessage{other}, 4, other, 4), pub)
	if len(faults) == 0 || faults[0].Seq != 4 || faults[0].Kind != FaultFork {
		t.Fatalf("faults %v, want a fork at 4", faults)
	}
	// A checkpoint signed by another key.
	_, stranger, _ := ed25519.GenerateKey(nil)
	faults = VerifyAuditBatch(NewAuditVerifier(), batchOf(t, stranger, good[:3], 1, good[2], 3), pub)
	if len(faults) == 0 || faults[0].Kind != FaultCheckpoint {
		t.Fatalf("faults %v, want a bad checkpoint", faults)
	}
}
