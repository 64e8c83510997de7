package publish

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/watchpost/watchpost/engine"
)

// keep returns the first n entries of m by id.
func keep(m map[string]engine.Entry, n int) map[string]engine.Entry {
	ids := slices.Sorted(maps.Keys(m))
	out := map[string]engine.Entry{}
	for _, id := range ids[:n] {
		out[id] = m[id]
	}
	return out
}

// TestPublishShrinkGuard is the field report: a one-entry file over a
// long list published its deletes with no warning. It is refused with the
// counts, publishing nothing, until confirmed; the confirmation's record
// runs first, and its failure publishes nothing either.
func TestPublishShrinkGuard(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	all := persons(t, 200)
	if _, err := r.pub.PublishEntries(ctx, Edition{List: "un"}, source(all)); err != nil {
		t.Fatal(err)
	}
	r.waitCount(0, 1)
	one := keep(all, 1)
	_, err := r.pub.PublishEntries(ctx, Edition{List: "un"}, source(one))
	var se *engine.ShrinkError
	if !errors.As(err, &se) || se.Current != 200 || se.Next != 1 || se.Removed != 199 || !strings.Contains(err.Error(), "--confirm-shrink") {
		t.Fatalf("one entry over 200: %v", err)
	}
	if info, _ := r.st.List("un"); info.Version != 1 || info.Entries != 200 {
		t.Fatalf("after the refusal: version %d with %d entries", info.Version, info.Entries)
	}

	boom := errors.New("audit trail unavailable")
	_, err = r.pub.PublishEntries(ctx, Edition{List: "un", ConfirmShrink: true,
		ShrinkConfirmed: func(context.Context, engine.Shrink) error { return boom }}, source(one))
	if !errors.Is(err, boom) {
		t.Fatalf("with a failing record: %v", err)
	}
	if info, _ := r.st.List("un"); info.Version != 1 {
		t.Fatalf("published without its record: version %d", info.Version)
	}

	var recorded []engine.Shrink
	res, err := r.pub.PublishEntries(ctx, Edition{List: "un", ConfirmShrink: true,
		ShrinkConfirmed: func(_ context.Context, s engine.Shrink) error { recorded = append(recorded, s); return nil }}, source(one))
	if err != nil || res.Version != 2 || res.Deletes != 199 {
		t.Fatalf("confirmed: %+v, %v", res, err)
	}
	if len(recorded) != 1 || recorded[0].Removed != 199 || recorded[0].Limit != engine.DefaultMaxShrink {
		t.Errorf("recorded %+v", recorded)
	}
	r.waitCount(1, 2) // exactly one delta: the refusals published nothing

	// Growing back, and a change within the share, need no confirmation
	// and record nothing.
	recorded = nil
	noted := func(_ context.Context, s engine.Shrink) error { recorded = append(recorded, s); return nil }
	if _, err := r.pub.PublishEntries(ctx, Edition{List: "un", ShrinkConfirmed: noted}, source(all)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.pub.PublishEntries(ctx, Edition{List: "un", ShrinkConfirmed: noted}, source(keep(all, 190))); err != nil {
		t.Fatalf("5 %% removed: %v", err)
	}
	if len(recorded) != 0 {
		t.Errorf("shrinks within the guard were recorded: %+v", recorded)
	}
}

func TestPublishMaxShrinkConfig(t *testing.T) {
	r := newRig(t)
	cfg := r.pub.cfg
	cfg.MaxShrink = 1.5
	if _, err := New(cfg); err == nil {
		t.Error("a shrink share of 1.5 was accepted")
	}
	cfg.MaxShrink = 0.5
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	all := persons(t, 100)
	if _, err := p.PublishEntries(ctx, Edition{List: "un"}, source(all)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.PublishEntries(ctx, Edition{List: "un"}, source(keep(all, 60))); err != nil {
		t.Errorf("40 %% removed with a share of 0.5: %v", err)
	}
	if _, err := p.PublishEntries(ctx, Edition{List: "un"}, source(keep(all, 20))); !errors.Is(err, engine.ErrShrink) {
		t.Errorf("67 %% removed with a share of 0.5: %v", err)
	}
}
