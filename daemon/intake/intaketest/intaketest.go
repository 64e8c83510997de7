// Package intaketest is the contract suite every intake.Processor
// implementation runs (the daemon's, which screens and records in the
// ledger, and the intake tests' own). Its one job is to pin down, with the
// same tests for every implementation, what Intake relies on: every
// traveller counted, and idempotence per File.ID, across a new instance
// over the same state too.
package intaketest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/watchpost/watchpost/daemon/api/input"
	"github.com/watchpost/watchpost/daemon/intake"
	"github.com/watchpost/watchpost/engine"
)

// Harness connects the suite to one implementation.
type Harness struct {
	// New returns a Processor over state that nothing has used yet.
	New func(t *testing.T) intake.Processor
	// Reopen, if set, returns a second Processor over the state of p, as
	// after a restart of the post.
	Reopen func(t *testing.T, p intake.Processor) intake.Processor
	// Listed is a traveller the implementation's screening hits once;
	// Clean one it does not hit.
	Listed, Clean engine.Query
}

// Run runs the contract suite.
func Run(t *testing.T, h Harness) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Harness)
	}{
		{"CountsEveryTraveller", testCounts},
		{"IdempotentPerID", testIdempotent},
		{"ReplayedAfterReopen", testReopen},
		{"CancelledThenRetried", testCancelled},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

// file is a claimed file of the given travellers; name sets its ID.
func file(name string, qs ...engine.Query) *intake.File {
	sum := sha256.Sum256([]byte(name))
	f := &intake.File{ID: hex.EncodeToString(sum[:]), Name: name, Format: intake.FormatJSONL, Size: 100}
	for i, q := range qs {
		f.Travellers = append(f.Travellers, intake.Traveller{Index: i + 1, Line: i + 1, Traveller: input.Traveller{Query: q}})
	}
	return f
}

func process(t *testing.T, p intake.Processor, f *intake.File) intake.Result {
	t.Helper()
	res, err := p.Process(context.Background(), f)
	if err != nil {
		t.Fatalf("Process %s: %v", f.Name, err)
	}
	return res
}

func wantCounts(t *testing.T, what string, got intake.Result, travellers, hitTravellers int, replayed bool) {
	t.Helper()
	if got.Screened+got.Errors != travellers || got.Errors != 0 || got.HitTravellers != hitTravellers || got.Hits < hitTravellers || got.Replayed != replayed {
		t.Fatalf("%s: %+v, want %d screened, %d with hits, replayed %v", what, got, travellers, hitTravellers, replayed)
	}
}

func testCounts(t *testing.T, h Harness) {
	p := h.New(t)
	res := process(t, p, file("a.jsonl", h.Clean, h.Listed, h.Clean))
	wantCounts(t, "first file", res, 3, 1, false)
	res = process(t, p, file("b.jsonl", h.Clean))
	wantCounts(t, "a file without hits", res, 1, 0, false)
}

func testIdempotent(t *testing.T, h Harness) {
	p := h.New(t)
	f := file("a.jsonl", h.Listed, h.Clean)
	first := process(t, p, f)
	wantCounts(t, "first call", first, 2, 1, false)
	again := process(t, p, f)
	wantCounts(t, "same file again", again, 2, 1, true)
	if again.Hits != first.Hits || again.Screened != first.Screened {
		t.Fatalf("replay %+v differs from the first call %+v", again, first)
	}
	// Another file with the same travellers is new work.
	other := process(t, p, file("b.jsonl", h.Listed, h.Clean))
	wantCounts(t, "another file", other, 2, 1, false)
}

func testReopen(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("the implementation keeps no state across instances")
	}
	p := h.New(t)
	f := file("a.jsonl", h.Listed)
	first := process(t, p, f)
	again := process(t, h.Reopen(t, p), f)
	wantCounts(t, "after reopen", again, 1, 1, true)
	if again.Hits != first.Hits {
		t.Fatalf("replay after reopen %+v differs from the first call %+v", again, first)
	}
}

// testCancelled: a call whose context has ended returns an error, and the
// retry the intake then makes counts the file once.
func testCancelled(t *testing.T, h Harness) {
	p := h.New(t)
	f := file("a.jsonl", h.Listed, h.Clean)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := p.Process(ctx, f); err == nil {
		t.Fatal("Process with an ended context returned no error")
	}
	res := process(t, p, f)
	if res.Screened+res.Errors != 2 || res.HitTravellers != 1 {
		t.Fatalf("retry after a cancelled call: %+v", res)
	}
	again := process(t, p, f)
	wantCounts(t, "after the retry", again, 2, 1, true)
}
