package publish

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/synth"
	"github.com/watchpost/watchpost/engine/testkit"
	"github.com/watchpost/watchpost/sync/fake"
	"github.com/watchpost/watchpost/sync/protocol"
	"github.com/watchpost/watchpost/sync/transport"
)

var t0 = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

// rig is a publisher over a real store and the in-memory broker, with a
// subscriber that records everything published on list topics.
type rig struct {
	t      *testing.T
	st     *badgerstore.Store
	pub    *Publisher
	signer *protocol.Signer
	keys   *protocol.KeySet
	broker *fake.Broker
	dir    string

	mu     sync.Mutex
	deltas [][]byte
	heads  [][]byte
}

func newRig(t *testing.T) *rig {
	t.Helper()
	dir := t.TempDir()
	st := storetest.OpenWith(t, filepath.Join(dir, "store"), badgerstore.Options{MemTableSize: 8 << 20, BlockCacheSize: 4 << 20, IndexCacheSize: 4 << 20})
	signer, err := Keygen(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := protocol.NewKeySet(protocol.TrustedKey{Public: signer.Public()})
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, st: st, signer: signer, keys: keys, broker: fake.NewBroker(), dir: dir}
	sub, err := r.broker.Connect(fake.Options{ClientID: "sub"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close(context.Background()) })
	record := func(to *[][]byte) transport.Handler {
		return func(m transport.Message) {
			r.mu.Lock()
			defer r.mu.Unlock()
			*to = append(*to, m.Payload)
		}
	}
	if err := sub.Subscribe(protocol.DeltaTopic("+"), record(&r.deltas)); err != nil {
		t.Fatal(err)
	}
	if err := sub.Subscribe(protocol.HeadTopic("+"), record(&r.heads)); err != nil {
		t.Fatal(err)
	}
	tr, err := r.broker.Connect(fake.Options{ClientID: "hq"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close(context.Background()) })
	r.pub, err = New(Config{
		Store: st, Signer: signer, Transport: tr,
		DeltaDir: filepath.Join(dir, "deltas"), SnapshotDir: filepath.Join(dir, "snapshots"),
		SnapshotBaseURL: protocol.SnapshotsURL("https://hq.example") + "/", DeltaWindow: 3,
		Clock: clocktest.NewAt(t0), // never advanced: issued-at must still increase
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// waitCount polls until the subscriber has n deltas and m heads.
func (r *rig) waitCount(n, m int) {
	r.t.Helper()
	testkit.CheckFor(r.t, 5*time.Second, "deltas and heads", func() error {
		r.mu.Lock()
		d, h := len(r.deltas), len(r.heads)
		r.mu.Unlock()
		if d >= n && h >= m { // a broker coming back re-sends the retained head
			return nil
		}
		return fmt.Errorf("got %d deltas and %d heads, want %d and %d", d, h, n, m)
	}, testkit.Every(5*time.Millisecond))
}

func (r *rig) lastHead() *protocol.Head {
	r.t.Helper()
	return lastOpened(r, &r.heads, r.keys.OpenHead)
}

func (r *rig) lastDelta() *protocol.Delta {
	r.t.Helper()
	return lastOpened(r, &r.deltas, r.keys.OpenDelta)
}

// lastOpened opens, with open at t0, the last message the rig recorded
// in msgs.
func lastOpened[T any](r *rig, msgs *[][]byte, open func([]byte, time.Time) (*T, protocol.KeyID, error)) *T {
	r.t.Helper()
	r.mu.Lock()
	b := (*msgs)[len(*msgs)-1]
	r.mu.Unlock()
	v, _, err := open(b, t0)
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

func persons(t *testing.T, n int) map[string]engine.Entry {
	t.Helper()
	m := map[string]engine.Entry{}
	if err := synth.Persons(7, n, func(e *engine.Entry) error { m[e.ID] = *e; return nil }); err != nil {
		t.Fatal(err)
	}
	return m
}

func source(m map[string]engine.Entry) func(emit func(*engine.Entry) error) error {
	return func(emit func(*engine.Entry) error) error {
		for _, e := range m {
			if err := emit(&e); err != nil {
				return err
			}
		}
		return nil
	}
}

// edit changes, adds and deletes a few entries.
func edit(m map[string]engine.Entry, round int) map[string]engine.Entry {
	n := protocol.CloneSet(m)
	i := 0
	for id, e := range n {
		switch i % 3 {
		case 0:
			e.Remarks = fmt.Sprintf("changed in round %d", round)
			n[id] = e
		case 1:
			delete(n, id)
		}
		if i++; i == 9 {
			break
		}
	}
	for j := 0; j < 4; j++ {
		id := fmt.Sprintf("NEW-%d-%d", round, j)
		n[id] = engine.Entry{ID: id, Kind: engine.KindPerson, Names: []engine.Name{{Value: fmt.Sprintf("Added Person %d %d", round, j)}}}
	}
	return n
}

func TestPublishEditions(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	ed := Edition{List: "un", Source: "synthetic", Format: "test"}
	cur := persons(t, 400)

	res, err := r.pub.PublishEntries(ctx, ed, source(cur))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Created || res.Version != 1 || res.Entries != 400 || res.DeltaBytes != 0 {
		t.Fatalf("first edition: %+v", res)
	}
	r.waitCount(0, 1)
	h := r.lastHead()
	if h.Version != 1 || h.Epoch != 1 || h.Hash != protocol.SetHashOf(cur) || h.SnapshotVersion != 1 ||
		h.SnapshotURL != protocol.SnapshotsURL("https://hq.example")+"/"+protocol.SnapshotFileName("un", 1, 1) || !h.IssuedAt.Equal(t0) || !h.ValidUntil.Equal(t0.Add(DefaultHeadValidity)) {
		t.Fatalf("head 1: %+v", h)
	}
	checkSnapshot(t, r, h)

	prevIssued := h.IssuedAt
	for round := 2; round <= 6; round++ {
		next := edit(cur, round)
		res, err := r.pub.PublishEntries(ctx, ed, source(next))
		if err != nil {
			t.Fatal(err)
		}
		r.waitCount(round-1, round)
		d, h := r.lastDelta(), r.lastHead()
		// The delta is Diff's operations, and its hash is ApplyToSet's,
		// the store's, and the new edition's.
		ups, dels := protocol.Diff(cur, next)
		if len(d.Upserts) != len(ups) || len(d.Deletes) != len(dels) || res.Upserts != len(ups) || res.Deletes != len(dels) {
			t.Fatalf("round %d: delta has %d upserts, %d deletes; Diff says %d, %d", round, len(d.Upserts), len(d.Deletes), len(ups), len(dels))
		}
		ref := protocol.CloneSet(cur)
		want, err := protocol.ApplyToSet(ref, d)
		if err != nil {
			t.Fatal(err)
		}
		info, err := r.st.List("un")
		if err != nil {
			t.Fatal(err)
		}
		if d.HashAfter != want || want != protocol.SetHashOf(next) || info.Hash != want.String() || h.Hash != want {
			t.Fatalf("round %d: hash_after %s, ApplyToSet %s, edition %s, store %s, head %s", round, d.HashAfter, want, protocol.SetHashOf(next), info.Hash, h.Hash)
		}
		if d.FromVersion != uint64(round-1) || d.ToVersion != uint64(round) || h.Version != uint64(round) || info.Version != uint64(round) {
			t.Fatalf("round %d: delta %d->%d, head %d, store %d", round, d.FromVersion, d.ToVersion, h.Version, info.Version)
		}
		if !h.IssuedAt.After(prevIssued) || d.IssuedAt.After(h.IssuedAt) || d.IssuedAt.Before(prevIssued) {
			t.Fatalf("round %d: head issued %s after %s, delta issued %s", round, h.IssuedAt, prevIssued, d.IssuedAt)
		}
		prevIssued = h.IssuedAt
		checkSnapshot(t, r, h)
		cur = next
	}

	// The delta window (3) and the snapshot count (2) are kept.
	deltas, _ := filepath.Glob(filepath.Join(r.dir, "deltas", "un", "*.delta"))
	snaps, _ := filepath.Glob(filepath.Join(r.dir, "snapshots", "*.snap"))
	if len(deltas) != 3 || len(snaps) != 2 {
		t.Fatalf("kept deltas %v and snapshots %v, want 3 and 2", deltas, snaps)
	}

	// An unchanged edition publishes nothing.
	res, err = r.pub.PublishEntries(ctx, ed, source(cur))
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed || res.Version != 6 {
		t.Fatalf("unchanged edition: %+v", res)
	}
	r.waitCount(5, 6)

	// Re-signing heads: same position, later issued-at.
	hr, err := r.pub.RepublishHeads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r.waitCount(5, 7)
	h = r.lastHead()
	if len(hr) != 1 || hr[0].Announced || h.Version != 6 || !h.IssuedAt.After(prevIssued) || h.Hash != protocol.SetHashOf(cur) {
		t.Fatalf("republished %+v, head %+v", hr, h)
	}
}

// checkSnapshot reads the head's snapshot file from SnapshotDir as a post
// would.
func checkSnapshot(t *testing.T, r *rig, h *protocol.Head) {
	t.Helper()
	f, err := os.Open(filepath.Join(r.dir, "snapshots", filepath.Base(h.SnapshotURL)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sr, err := protocol.NewSnapshotReader(f, r.keys, t0, h)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err := sr.Next()
		if err != nil {
			if err.Error() != "EOF" {
				t.Fatalf("snapshot %s: %v", h.SnapshotURL, err)
			}
			break
		}
		n++
	}
	if uint64(n) != h.Entries {
		t.Fatalf("snapshot has %d entries, head says %d", n, h.Entries)
	}
}

func TestPublishRecoversAfterBrokerFailure(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	ed := Edition{List: "un", Format: "test"}
	cur := persons(t, 50)
	if _, err := r.pub.PublishEntries(ctx, ed, source(cur)); err != nil {
		t.Fatal(err)
	}
	r.waitCount(0, 1)

	r.broker.Down()
	next := edit(cur, 2)
	_, err := r.pub.PublishEntries(ctx, ed, source(next))
	if !errors.Is(err, transport.ErrNotConnected) || !strings.Contains(err.Error(), "version 2 committed, not yet announced") {
		t.Fatalf("publish with the broker down: %v", err)
	}
	ls, err := Lists(r.st)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 || !ls[0].Pending() || ls[0].Info.Version != 2 || ls[0].Published != 1 {
		t.Fatalf("lists: %+v", ls)
	}

	r.broker.Up()
	hr, err := r.pub.RepublishHeads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(hr) != 1 || !hr[0].Announced || hr[0].Version != 2 {
		t.Fatalf("republish: %+v", hr)
	}
	r.waitCount(1, 2)
	if d, h := r.lastDelta(), r.lastHead(); d.ToVersion != 2 || h.Version != 2 || d.HashAfter != protocol.SetHashOf(next) {
		t.Fatalf("after recovery: delta to %d, head %d", d.ToVersion, h.Version)
	}
}

func TestPublishEditionFromFile(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "national.csv")
	write := func(body string) {
		if err := os.WriteFile(path, []byte("id,name,remarks\n"+body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("N1,Ivan Petrov,\nN2,Anna Schmidt,\nN3,John Doe,\n")
	ed := Edition{List: "national", Format: "csv"}
	if _, err := r.pub.PublishEdition(ctx, ed, path); err != nil {
		t.Fatal(err)
	}
	write("N1,Ivan Petrov,wanted\nN3,John Doe,\nN4,Maria Rossi,\n")
	ed.ConfirmShrink = true // one of three removed: past the shrink guard
	res, err := r.pub.PublishEdition(ctx, ed, path)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != 2 || res.Upserts != 2 || res.Deletes != 1 || res.Entries != 3 {
		t.Fatalf("second edition: %+v", res)
	}
	r.waitCount(1, 2)
	d := r.lastDelta()
	if len(d.Upserts) != 2 || d.Upserts[0].ID != "N1" || d.Upserts[1].ID != "N4" || len(d.Deletes) != 1 || d.Deletes[0] != "N2" {
		t.Fatalf("delta: %+v", d)
	}
	if _, err := r.pub.PublishEdition(ctx, Edition{List: "national", Format: "docs-csv"}, path); err == nil {
		t.Fatal("a documents edition was accepted")
	}
	write("")
	if _, err := r.pub.PublishEdition(ctx, Edition{List: "other", Format: "csv"}, path); err == nil {
		t.Fatal("an empty first edition was accepted")
	}
}

func TestKeygen(t *testing.T) {
	dir := t.TempDir()
	s, err := Keygen(dir)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, PrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("hq.key mode %v, want 0600", fi.Mode().Perm())
	}
	got, err := LoadSigner(filepath.Join(dir, PrivateKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if got.ID() != s.ID() {
		t.Fatalf("loaded key %s, made %s", got.ID(), s.ID())
	}
	pub, err := os.Open(filepath.Join(dir, PublicKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	ks, err := protocol.ParseKeySet(pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ks.Lookup(s.ID()); !ok {
		t.Fatalf("hq.pub does not hold key %s", s.ID())
	}
	if _, err := Keygen(dir); !errors.Is(err, ErrKeyExists) {
		t.Fatalf("second keygen: %v, want ErrKeyExists", err)
	}
	if err := os.Chmod(filepath.Join(dir, PrivateKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadSigner(filepath.Join(dir, PrivateKeyFile)); err == nil {
		t.Fatal("a world-readable key was loaded")
	}
}
