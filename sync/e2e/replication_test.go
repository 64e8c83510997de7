package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/synth"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/brokertest"
	"github.com/watchpost/watchpost/sync/mqtt/mqtttest"
	"github.com/watchpost/watchpost/sync/protocol"
)

const (
	listName    = "un"
	listSize    = 3000
	convergeMax = 30 * time.Second
)

func TestReplicationMochi(t *testing.T) { testReplication(t, brokertest.StartMochi(t)) }

func TestReplicationMosquitto(t *testing.T) { testReplication(t, startMosquitto(t)) }

// editor makes editions of a synthetic list: each new edition changes,
// adds and deletes a few entries of the previous one.
type editor struct {
	cur   map[string]engine.Entry
	round int
}

func newEditor(t testing.TB, n int) *editor {
	ed := &editor{cur: map[string]engine.Entry{}}
	if err := synth.Persons(42, n, func(e *engine.Entry) error { ed.cur[e.ID] = *e; return nil }); err != nil {
		t.Fatal(err)
	}
	return ed
}

// next returns the next edition: changes entries, deletes some and adds
// new ones (about 1 % of the list in all).
func (ed *editor) next() map[string]engine.Entry {
	ed.round++
	next := maps.Clone(ed.cur)
	ids := slices.Sorted(maps.Keys(next))
	step := len(ids) / 30
	for i := ed.round % step; i < len(ids); i += step {
		id := ids[i]
		switch (i / step) % 3 {
		case 0, 1:
			e := next[id]
			e.Remarks = fmt.Sprintf("amended in edition %d", ed.round+1)
			e.Names = append(slices.Clone(e.Names), engine.Name{Value: fmt.Sprintf("Alias Edition %d", ed.round+1), Kind: engine.NameAlias})
			next[id] = e
		case 2:
			delete(next, id)
		}
	}
	for j := 0; j < 10; j++ {
		id := fmt.Sprintf("ADD-%03d-%02d", ed.round, j)
		next[id] = engine.Entry{ID: id, Kind: engine.KindPerson, Names: []engine.Name{{Value: fmt.Sprintf("Added Person %d %d", ed.round, j), Kind: engine.NamePrimary}}, Nationalities: []string{"FRA"}}
	}
	ed.cur = next
	return next
}

func testReplication(t *testing.T, brokerURL string) {
	start := time.Now()
	h := startHQ(t, brokerURL)
	posts := []*post{
		startPost(t, "alpha", listName, brokerURL, h),
		startPost(t, "bravo", listName, brokerURL, h),
		startPost(t, "charlie", listName, brokerURL, h),
	}
	alpha, bravo, charlie := posts[0], posts[1], posts[2]
	converge := func(what string, ps ...*post) {
		t.Helper()
		for _, p := range ps {
			testkit.CheckFor(t, convergeMax, what, func() error { return p.converged(h) })
		}
	}
	ed := newEditor(t, listSize)

	// Edition 1: a new list, reaching the posts as a snapshot.
	res := h.publish(t, listName, ed.cur)
	converge("edition 1", posts...)
	t.Logf("edition 1: %d entries, snapshot %d bytes, head %d bytes", res.Entries, res.SnapshotBytes, res.HeadBytes)
	for _, p := range posts {
		testkit.CheckFor(t, convergeMax, p.name+" to report its snapshot", testkit.True(func() bool { return p.snapshots.Load() >= 1 }))
		if p.snapshots.Load() != 1 {
			t.Fatalf("%s installed %d snapshots for edition 1, want 1", p.name, p.snapshots.Load())
		}
	}

	// Editions 2-4: deltas with changes, additions and deletions.
	for v := 2; v <= 4; v++ {
		res := h.publish(t, listName, ed.next())
		if res.Upserts == 0 || res.Deletes == 0 || res.DeltaBytes == 0 {
			t.Fatalf("edition %d: %+v", v, res)
		}
		converge(fmt.Sprintf("edition %d", v), posts...)
	}
	for _, p := range posts {
		if p.applied.Load() == 0 {
			t.Fatalf("%s applied no delta", p.name)
		}
	}

	// Charlie goes offline while five editions are published; it catches
	// up when it reconnects (retained head and snapshot, or the deltas the
	// broker queued for its persistent session).
	charlie.disconnect()
	appliedBefore, snapsBefore := charlie.applied.Load(), charlie.snapshots.Load()
	for v := 5; v <= 9; v++ {
		h.publish(t, listName, ed.next())
		converge(fmt.Sprintf("edition %d", v), alpha, bravo)
	}
	if err := charlie.converged(h); err == nil {
		t.Fatal("charlie converged while offline")
	}
	charlie.connect()
	converge("charlie after reconnecting", charlie)
	t.Logf("charlie caught up 5 versions with %d deltas and %d snapshots", charlie.applied.Load()-appliedBefore, charlie.snapshots.Load()-snapsBefore)

	// Bravo's link loses every delta: it fetches the missing ones from HQ
	// over HTTPS, and once HQ no longer has them, it takes the snapshot the
	// head names.
	bravo.dropDeltas.Store(true)
	fetched := bravo.fetched.Load()
	h.publish(t, listName, ed.next())
	converge("edition 10", posts...)
	// The store holds the version a moment before the agent reports the
	// fetch that brought it, so wait for the report rather than read it.
	testkit.CheckFor(t, convergeMax, "bravo to report fetching the delta it lost",
		testkit.True(func() bool { return bravo.fetched.Load() > fetched }))
	h.noDeltas.Store(true)
	snaps := bravo.snapshots.Load()
	h.publish(t, listName, ed.next())
	converge("edition 11", posts...)
	testkit.CheckFor(t, convergeMax, "bravo to report a snapshot while dropping deltas that HQ no longer serves",
		testkit.True(func() bool { return bravo.snapshots.Load() > snaps }))
	h.noDeltas.Store(false)
	bravo.dropDeltas.Store(false)

	// A rogue client publishes a delta signed by another key and a real
	// delta with one byte changed: every post rejects both and applies
	// nothing.
	rogue := mqtttest.Connect(t, mqtttest.Options(brokerURL, "watchpost-post-rogue"), nil)
	forgeries := forge(t, h)
	info, err := h.store.List(listName)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string]int64{}
	for _, p := range posts {
		before[p.name] = p.rejected.Load()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, f := range forgeries {
		if err := rogue.Publish(ctx, protocol.DeltaTopic(listName), f, false); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range posts {
		testkit.CheckFor(t, convergeMax, p.name+" rejects the forgeries", func() error {
			if n := p.rejected.Load() - before[p.name]; n != int64(len(forgeries)) {
				return fmt.Errorf("%d rejections", n)
			}
			return nil
		})
		got, err := p.store.List(listName)
		if err != nil {
			t.Fatal(err)
		}
		if got.Hash != info.Hash || p.converged(h) != nil {
			t.Fatalf("%s changed after the forgeries: %v", p.name, p.converged(h))
		}
		for _, err := range p.rejections() {
			if !errors.Is(err, protocol.ErrUnknownKey) && !errors.Is(err, protocol.ErrBadSignature) {
				t.Errorf("%s: rejection for another reason: %v", p.name, err)
			}
		}
	}

	// And the posts keep following HQ.
	h.publish(t, listName, ed.next())
	converge("edition 12", posts...)

	for _, p := range posts {
		for _, err := range p.errors() {
			t.Errorf("%s: %v", p.name, err)
		}
	}
	t.Logf("12 editions of %d entries to 3 posts in %s", listSize, time.Since(start).Round(time.Millisecond))
}

// forge returns a delta from HQ's current version signed by a key the
// posts do not trust, and HQ's last real delta with one payload byte
// changed.
func forge(t *testing.T, h *hqSide) [][]byte {
	t.Helper()
	info, err := h.store.List(listName)
	if err != nil {
		t.Fatal(err)
	}
	rogueKey, err := protocol.GenerateSigner(nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Hour).Truncate(time.Second)
	d := &protocol.Delta{
		List: listName, Epoch: 1, FromVersion: info.Version, ToVersion: info.Version + 1,
		Upserts:  []engine.Entry{{ID: "ROGUE-1", Kind: engine.KindPerson, Names: []engine.Name{{Value: "Nobody Special", Kind: engine.NamePrimary}}}},
		IssuedAt: now, ValidUntil: now.Add(time.Hour),
	}
	forged, err := protocol.SealDelta(rogueKey, d)
	if err != nil {
		t.Fatal(err)
	}
	real, err := readDelta(h, info.Version)
	if err != nil {
		t.Fatal(err)
	}
	real[len(real)-1] ^= 0x01
	return [][]byte{forged, real}
}
