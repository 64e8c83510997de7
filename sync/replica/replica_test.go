package replica

import (
	"context"
	"errors"
	mrand "math/rand/v2"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/protocol"
)

// TestInOrder applies 30 deltas in order and reaches HQ's hash after each
// one; every delta changes data and state in exactly one UpdateEntries
// call, and the state stored with each version names that version.
func TestInOrder(t *testing.T) {
	c, _, h, p := newRig(t, 1, 1, Config{})
	p.bootstrap(h, 1)
	if got := p.rec.take(); !slices.Equal(got, []string{"ReplaceEntries"}) {
		t.Fatalf("bootstrap wrote %v, want one ReplaceEntries (the head had no list to be stored with)", got)
	}
	for range 30 {
		c.Advance(time.Minute)
		msg := h.publish(nil)
		out := p.delta(msg, Applied)
		if out.FromVersion != h.version()-1 || out.ToVersion != h.version() || out.Reason != nil {
			t.Fatalf("outcome %+v", out)
		}
		if got := p.rec.take(); !slices.Equal(got, []string{"UpdateEntries"}) {
			t.Fatalf("delta %d wrote %v, want exactly one UpdateEntries", h.version(), got)
		}
		info := p.info("un")
		st, err := decodeState("un", info.Replica)
		if err != nil {
			t.Fatal(err)
		}
		if st.Version != h.version() || st.Hash.String() != info.Hash || info.Hash != h.hash(h.version()).String() {
			t.Fatalf("version %d: state %+v, store hash %s", h.version(), st, info.Hash)
		}
	}
	p.requireAt(h, "un", 31)
}

// TestShuffledWithinWindow delivers 30 deltas in a random order, with
// QoS 1 redeliveries, and converges to HQ's hash.
func TestShuffledWithinWindow(t *testing.T) {
	c, _, h, p := newRig(t, 1, 2, Config{})
	p.bootstrap(h, 1)
	var msgs [][]byte
	for range 30 {
		c.Advance(time.Minute)
		msgs = append(msgs, h.publish(nil))
	}
	rng := mrand.New(mrand.NewPCG(42, 42))
	order := rng.Perm(len(msgs))
	for i := range 10 { // redeliveries
		order = append(order, order[i*3])
	}
	rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	counts := map[Action]int{}
	for _, i := range order {
		out, err := p.ap.HandleDelta(context.Background(), msgs[i])
		if err != nil {
			t.Fatalf("delta %d: %s: %v", i+2, out.Action, err)
		}
		switch out.Action {
		case Applied, Buffered, Dropped:
		default:
			t.Fatalf("delta %d: %s (%v)", i+2, out.Action, out.Reason)
		}
		counts[out.Action]++
	}
	p.requireAt(h, "un", 31)
	st, _ := p.ap.Status("un")
	if st.Pending != 0 || !st.GapSince.IsZero() {
		t.Fatalf("after convergence: %d pending, gap since %s", st.Pending, st.GapSince)
	}
	if counts[Dropped] != 10 {
		t.Fatalf("actions %v: want the 10 redeliveries dropped", counts)
	}
	t.Logf("actions: %v", counts)
}

// TestMissingDeltaSnapshot loses one delta: the later ones wait in the
// reorder window until the gap times out (NeedSnapshot); a snapshot then
// bridges the gap, the buffered deltas after it apply, and the post
// converges to HQ's final hash.
func TestMissingDeltaSnapshot(t *testing.T) {
	c, _, h, p := newRig(t, 1, 3, Config{GapTimeout: 2 * time.Minute})
	p.bootstrap(h, 1)
	for range 29 {
		c.Advance(time.Second)
		h.publish(nil)
	}
	for v := uint64(2); v <= 10; v++ {
		p.delta(h.delta(v), Applied)
	}
	// Delta 10->11 is lost by the broker.
	for v := uint64(12); v <= 25; v++ {
		out := p.delta(h.delta(v), Buffered)
		if !errors.Is(out.Reason, protocol.ErrGap) {
			t.Fatalf("delta %d: reason %v", v, out.Reason)
		}
	}
	st, _ := p.ap.Status("un")
	if st.Version != 10 || st.Pending != 14 || st.GapSince.IsZero() {
		t.Fatalf("status %+v", st)
	}
	c.Advance(3 * time.Minute)
	out := p.delta(h.delta(26), NeedSnapshot)
	if !errors.Is(out.Reason, protocol.ErrGap) {
		t.Fatalf("after the gap timeout: %v", out.Reason)
	}
	// HQ's head names a snapshot of version 20; deltas 21..26 are buffered.
	hd, msg, path := h.head(20)
	if out := p.head(msg, FetchDeltas); out.FromVersion != 10 || out.ToVersion != 30 {
		t.Fatalf("head outcome %+v", out)
	}
	if got, ok := p.ap.LastHead("un"); !ok || !reflect.DeepEqual(got, hd) {
		t.Fatalf("LastHead: %+v %v, want %+v", got, ok, hd)
	}
	out = p.install(hd, path, Applied)
	if out.FromVersion != 10 || out.ToVersion != 26 {
		t.Fatalf("install: %+v, want 10 -> 26 (snapshot 20, buffered 21..26)", out)
	}
	p.requireAt(h, "un", 26)
	for v := uint64(27); v <= 30; v++ {
		p.delta(h.delta(v), Applied)
	}
	p.requireAt(h, "un", 30)
	if st, _ := p.ap.Status("un"); st.Pending != 0 || st.Stale != nil || st.Behind != 0 {
		t.Fatalf("final status %+v", st)
	}
	// The lost delta arrives at last: old news.
	p.delta(h.delta(11), Dropped)
	// The same snapshot again changes nothing.
	p.install(hd, path, Dropped)
}

// TestWindowTooSmall: a gap the reorder window cannot hold asks for a
// snapshot at once.
func TestWindowTooSmall(t *testing.T) {
	_, _, h, p := newRig(t, 1, 4, Config{ReorderWindow: 4})
	p.bootstrap(h, 1)
	for range 8 {
		h.publish(nil)
	}
	p.delta(h.delta(2), Applied)
	for v := uint64(4); v <= 5; v++ { // 2->3 is missing; 3..4 and 4..5 fit in (2, 2+4]
		p.delta(h.delta(v), Buffered)
	}
	out := p.delta(h.delta(7), NeedSnapshot)
	if !errors.Is(out.Reason, protocol.ErrGap) {
		t.Fatalf("reason %v", out.Reason)
	}
	p.delta(h.delta(3), Applied)
	if st, _ := p.ap.Status("un"); st.Version != 5 {
		t.Fatalf("after the gap filled: version %d, want 5", st.Version)
	}
}

// TestSnapshotRace: deltas published while a fresh post downloads the
// snapshot are kept, those the snapshot already contains are discarded,
// the rest apply after it.
func TestSnapshotRace(t *testing.T) {
	_, _, h, p := newRig(t, 1, 5, Config{})
	for range 9 {
		h.publish(nil)
	}
	hd, msg, path := h.head(10)
	p.head(msg, NeedSnapshot)
	for range 10 {
		h.publish(nil)
	}
	for v := uint64(2); v <= 20; v++ { // the backlog in the persistent session
		out, err := p.ap.HandleDelta(context.Background(), h.delta(v))
		if out.Action != NeedSnapshot || !errors.Is(out.Reason, protocol.ErrNoBase) || err != nil {
			t.Fatalf("delta %d without a base: %s %v %v", v, out.Action, out.Reason, err)
		}
	}
	if st, _ := p.ap.Status("un"); st.Present || st.Pending != 10 || st.Stale != nil {
		t.Fatalf("while downloading: %+v", st)
	}
	out := p.install(hd, path, Applied)
	if out.ToVersion != 20 {
		t.Fatalf("install: %+v", out)
	}
	p.requireAt(h, "un", 20)
}

// TestHostile offers every hostile update: each is refused (or, for a
// replay, dropped) and the store is left exactly as it was.
func TestHostile(t *testing.T) {
	c, s, h, p := newRig(t, 2, 6, Config{Lists: []string{"un", "eu"}})
	p.bootstrap(h, 1)
	headMsg := p.follow(h, c, 5)
	c.Advance(time.Minute)
	next := h.publish(nil) // version 7, not delivered yet
	hd7, head7, snap7 := h.head(7)
	p.head(head7, FetchDeltas)
	p.rec.take()

	before := p.info("un")
	now := c.Now()
	valid := func(d *protocol.Delta) *protocol.Delta {
		if d.IssuedAt.IsZero() {
			d.IssuedAt, d.ValidUntil = now, now.Add(24*time.Hour)
		}
		if d.List == "" {
			d.List = "un"
		}
		d.HashAfter = h.hash(6)
		return d
	}
	entry := h.pool[len(h.pool)-1]
	enc := func(d *protocol.Delta) []byte {
		b, err := protocol.EncodeDelta(d)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	zeroSig := append([]byte(nil), next...)
	clear(zeroSig[12:76])
	tampered := append([]byte(nil), next...)
	tampered[len(tampered)-1] ^= 1
	other := newSigner(t)

	var checkState func(name string, noWrites bool)
	cases := []struct {
		name string
		msg  []byte
		want error
	}{
		{"unsigned payload", enc(valid(&protocol.Delta{Epoch: 2, FromVersion: 7, ToVersion: 8, Upserts: []engine.Entry{entry}})), protocol.ErrUnsigned},
		{"empty signature", zeroSig, protocol.ErrUnsigned},
		{"wrong key", seal(t, other, valid(&protocol.Delta{Epoch: 2, FromVersion: 7, ToVersion: 8, Upserts: []engine.Entry{entry}})), protocol.ErrUnknownKey},
		{"bad signature", tampered, protocol.ErrBadSignature},
		{"truncated", next[:len(next)-1], protocol.ErrMalformed},
		{"padded", append(append([]byte(nil), next...), 0), protocol.ErrMalformed},
		{"wrong list", seal(t, s, valid(&protocol.Delta{List: "ofac", Epoch: 2, FromVersion: 7, ToVersion: 8, Upserts: []engine.Entry{entry}})), protocol.ErrWrongList},
		{"rollback to an older epoch", seal(t, s, valid(&protocol.Delta{Epoch: 1, FromVersion: 7, ToVersion: 8, Upserts: []engine.Entry{entry}})), protocol.ErrRollback},
		{"fast-forward", seal(t, s, valid(&protocol.Delta{Epoch: 2, FromVersion: 7 + 20_000, ToVersion: 7 + 20_001, Upserts: []engine.Entry{entry}})), protocol.ErrFastForward},
		{"expired", seal(t, s, valid(&protocol.Delta{Epoch: 2, FromVersion: 7, ToVersion: 8, Upserts: []engine.Entry{entry},
			IssuedAt: now.Add(-48 * time.Hour), ValidUntil: now.Add(-time.Hour)})), protocol.ErrExpired},
		{"stale branch", seal(t, s, valid(&protocol.Delta{Epoch: 2, FromVersion: 7, ToVersion: 8, Upserts: []engine.Entry{entry},
			IssuedAt: now.Add(-time.Hour), ValidUntil: now.Add(time.Hour)})), protocol.ErrStaleBranch},
	}
	check := func(name string) {
		t.Helper()
		checkState(name, true)
	}
	checkState = func(name string, noWrites bool) {
		t.Helper()
		if got := p.info("un"); !reflect.DeepEqual(got, before) {
			t.Fatalf("%s: store changed:\n%+v\n%+v", name, before, got)
		}
		if err := p.db.Verify(context.Background(), "un"); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if w := p.rec.take(); noWrites && len(w) != 0 {
			t.Fatalf("%s: wrote %v", name, w)
		}
	}
	for _, tc := range cases {
		out, err := p.ap.HandleDelta(context.Background(), tc.msg)
		if out.Action != Rejected || !errors.Is(err, tc.want) || !errors.Is(out.Reason, tc.want) {
			t.Fatalf("%s: %s, %v; want Rejected, %v", tc.name, out.Action, err, tc.want)
		}
		t.Logf("%s: %v", tc.name, err)
		check(tc.name)
	}

	// Replays of old deltas (a replayed removal among them) are dropped.
	for v := uint64(2); v <= 6; v++ {
		out, err := p.ap.HandleDelta(context.Background(), h.delta(v))
		if out.Action != Dropped || err != nil || !(errors.Is(out.Reason, protocol.ErrReplay) || errors.Is(out.Reason, protocol.ErrDuplicate)) {
			t.Fatalf("replay of delta %d: %s %v %v", v, out.Action, out.Reason, err)
		}
		check("replay")
	}

	// Heads: a replayed one, a rollback (issued later, naming an older
	// version), an expired one, one signed by an unknown key.
	heads := []struct {
		name   string
		msg    []byte
		action Action
		want   error
	}{
		{"replayed head", headMsg, Dropped, protocol.ErrReplay},
	}
	c.Advance(time.Minute)
	rb := protocol.Head{List: "un", Epoch: 2, Version: 4, Hash: h.hash(4), IssuedAt: c.Now(), ValidUntil: c.Now().Add(time.Hour)}
	exp := protocol.Head{List: "un", Epoch: 2, Version: 7, Hash: h.hash(7), IssuedAt: c.Now().Add(-2 * time.Hour), ValidUntil: c.Now().Add(-time.Hour)}
	exp.IssuedAt = c.Now().Add(-30 * time.Second) // after the last head, yet expired
	exp.ValidUntil = c.Now().Add(-time.Second)
	sealHead := func(sg *protocol.Signer, hd protocol.Head) []byte {
		b, err := protocol.SealHead(sg, &hd)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	heads = append(heads,
		struct {
			name   string
			msg    []byte
			action Action
			want   error
		}{"rollback head", sealHead(s, rb), Rejected, protocol.ErrRollback},
		struct {
			name   string
			msg    []byte
			action Action
			want   error
		}{"expired head", sealHead(s, exp), Rejected, protocol.ErrExpired},
		struct {
			name   string
			msg    []byte
			action Action
			want   error
		}{"head by an unknown key", sealHead(other, rb), Rejected, protocol.ErrUnknownKey},
	)
	for _, tc := range heads {
		out, err := p.ap.HandleHead(context.Background(), tc.msg)
		if out.Action != tc.action || !errors.Is(out.Reason, tc.want) || (tc.action == Rejected) != (err != nil) {
			t.Fatalf("%s: %s, %v, %v; want %s, %v", tc.name, out.Action, out.Reason, err, tc.action, tc.want)
		}
		check(tc.name)
	}

	// Snapshots: truncated, padded, and one of another list, for the head
	// that named version 7.
	good, err := os.ReadFile(snap7)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range map[string][]byte{
		"truncated snapshot": good[:len(good)-10],
		"padded snapshot":    append(append([]byte(nil), good...), 0),
		"corrupt snapshot":   func() []byte { b := append([]byte(nil), good...); b[len(b)/2] ^= 0x40; return b }(),
	} {
		path := dir + "/" + name
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := p.ap.InstallSnapshot(context.Background(), hd7, path)
		if out.Action != Rejected || err == nil {
			t.Fatalf("%s: %s %v", name, out.Action, err)
		}
		t.Logf("%s: %v", name, err)
		checkState(name, false) // ReplaceEntries started and was aborted
	}
	eu := hd7
	eu.List = "eu"
	if out, err := p.ap.InstallSnapshot(context.Background(), eu, snap7); out.Action != Rejected || err == nil {
		t.Fatalf("snapshot of another list: %s %v", out.Action, err)
	}
	check("snapshot of another list")

	// After all that, the genuine delta still applies.
	p.delta(next, Applied)
	p.requireAt(h, "un", 7)
}

// TestStale: a post with no fresh head is stale; a new head makes it
// fresh again; an expired head does not.
func TestStale(t *testing.T) {
	c, s, h, p := newRig(t, 1, 7, Config{})
	if st, _ := p.ap.Status("un"); !errors.Is(st.Stale, protocol.ErrNoBase) {
		t.Fatalf("before any head: stale %v", st.Stale)
	}
	p.bootstrap(h, 1)
	if st, _ := p.ap.Status("un"); st.Stale != nil || st.HeadAge != 0 {
		t.Fatalf("after the first head: %+v", st)
	}
	c.Advance(49 * time.Hour) // the feed is frozen: heads are valid 48 h
	st, _ := p.ap.Status("un")
	if !errors.Is(st.Stale, protocol.ErrExpired) || st.HeadAge != 49*time.Hour {
		t.Fatalf("after 49 h of silence: %+v", st)
	}
	// A head issued long ago, replayed by the broker now: rejected, still stale.
	old := protocol.Head{List: "un", Epoch: 1, Version: 1, Hash: h.hash(1), IssuedAt: t0.Add(time.Hour), ValidUntil: t0.Add(2 * time.Hour)}
	oldMsg, err := protocol.SealHead(s, &old)
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.ap.HandleHead(context.Background(), oldMsg)
	if out.Action != Rejected || !out.Stale || !errors.Is(err, protocol.ErrExpired) {
		t.Fatalf("expired head: %+v %v", out, err)
	}
	_, msg, _ := h.head(0)
	if out := p.head(msg, Current); out.Stale {
		t.Fatalf("fresh head: %+v", out)
	}
	if st, _ := p.ap.Status("un"); st.Stale != nil || st.HeadAge != 0 {
		t.Fatalf("after a fresh head: %+v", st)
	}
}

// TestRestart: the state lives in the store; a new Applier on the
// reopened store carries on where the old one stopped.
func TestRestart(t *testing.T) {
	c, _, h, p := newRig(t, 1, 8, Config{})
	p.bootstrap(h, 1)
	hmsg := p.follow(h, c, 10)
	before, _ := p.ap.Status("un")
	p.close()

	c.Advance(time.Hour)
	q := p.reopen()
	after, _ := q.ap.Status("un")
	before.HeadAge, after.HeadAge = 0, 0
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("status changed over a restart:\n%+v\n%+v", before, after)
	}
	q.delta(h.delta(5), Dropped) // replay protection survives
	q.head(hmsg, Dropped)
	c.Advance(time.Minute)
	q.delta(h.publish(nil), Applied)
	q.requireAt(h, "un", 12)
}

// TestDivergence: a delta whose signed hash_after does not match its
// operations (an HQ bug) is committed with the mismatch as the durable
// mark; deltas stop applying, the mark survives a restart, heads ask for a
// snapshot, and the snapshot heals the list and applies what was buffered.
func TestDivergence(t *testing.T) {
	c, _, h, p := newRig(t, 1, 9, Config{})
	p.bootstrap(h, 1)
	p.delta(h.publish(nil), Applied)
	bad := h.publish(func(d *protocol.Delta) { d.HashAfter[0]++ })
	out, err := p.ap.HandleDelta(context.Background(), bad)
	if out.Action != NeedSnapshot || out.ToVersion != 3 || !errors.Is(err, protocol.ErrDiverged) {
		t.Fatalf("mismatching delta: %+v %v", out, err)
	}
	if w := p.rec.take(); w[len(w)-1] != "UpdateEntries" || slices.Contains(w[len(w)-1:], "SetReplica") {
		t.Fatalf("writes %v", w)
	}
	st, _ := p.ap.Status("un")
	if !st.Diverged || st.Version != 3 {
		t.Fatalf("status %+v", st)
	}
	// The next delta is not built on the diverged version.
	before := p.info("un")
	next := h.publish(nil)
	out, err = p.ap.HandleDelta(context.Background(), next)
	if out.Action != NeedSnapshot || !errors.Is(err, protocol.ErrDiverged) || !reflect.DeepEqual(p.info("un"), before) {
		t.Fatalf("delta on a diverged list: %+v %v", out, err)
	}
	// The mark is in the store: a restarted post knows.
	p.close()
	p = p.reopen()
	if st, _ := p.ap.Status("un"); !st.Diverged {
		t.Fatalf("after restart: %+v", st)
	}
	p.delta(next, NeedSnapshot) // re-delivered after the restart: buffered again
	c.Advance(time.Minute)
	hd, msg, path := h.head(3)
	out, err = p.ap.HandleHead(context.Background(), msg)
	if out.Action != NeedSnapshot || !errors.Is(err, protocol.ErrDiverged) {
		t.Fatalf("head on a diverged list: %+v %v", out, err)
	}
	out = p.install(hd, path, Applied)
	if out.ToVersion != 4 {
		t.Fatalf("install: %+v", out)
	}
	p.requireAt(h, "un", 4)
}

// TestLocalList: a list imported locally has no replication state. HQ's
// first head is adopted when the hashes match; otherwise it asks for a
// snapshot and its bookkeeping is stored with the local version.
func TestLocalList(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	s := newSigner(t)
	h := newHQ(t, s, c, "un", 1, 10)
	for range 4 {
		h.publish(nil)
	}
	local := func(p *post, ed map[string]engine.Entry) {
		_, err := p.db.ReplaceEntries(ctx, badgerMeta("un"), func(emit func(*engine.Entry) error) error {
			for _, e := range ed {
				if err := emit(&e); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Run("same edition", func(t *testing.T) {
		p := openPost(t, t.TempDir(), keySet(t, s), c, Config{})
		local(p, h.editions[4])
		if st, _ := p.ap.Status("un"); st.Replicated || !st.Present {
			t.Fatalf("local list: %+v", st)
		}
		_, msg, _ := h.head(0)
		p.head(msg, Current)
		p.requireAt(h, "un", 5)
		c.Advance(time.Minute)
		p.delta(h.publish(nil), Applied)
		p.requireAt(h, "un", 6)
	})
	t.Run("other edition", func(t *testing.T) {
		p := openPost(t, t.TempDir(), keySet(t, s), c, Config{})
		local(p, h.editions[2])
		c.Advance(time.Minute)
		hd, msg, path := h.head(h.version())
		out := p.head(msg, NeedSnapshot)
		if !errors.Is(out.Reason, protocol.ErrNoBase) {
			t.Fatalf("reason %v", out.Reason)
		}
		st, _ := p.ap.Status("un")
		if st.Replicated || !st.HeadIssuedAt.Equal(c.Now()) || st.Stale != nil {
			t.Fatalf("head not recorded with the local list: %+v", st)
		}
		p.install(hd, path, Applied)
		p.requireAt(h, "un", h.version())
	})
}

func TestConfig(t *testing.T) {
	c := newClock()
	ks := keySet(t, newSigner(t))
	for _, cfg := range []Config{
		{Lists: []string{"un"}},
		{Keys: ks},
		{Keys: ks, Lists: []string{"UN!"}},
		{Keys: ks, Lists: []string{"un", "un"}},
	} {
		if _, err := New(nil, cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
	p := openPost(t, t.TempDir(), ks, c, Config{})
	if _, err := p.ap.Status("eu"); !errors.Is(err, protocol.ErrWrongList) {
		t.Fatalf("status of an unknown list: %v", err)
	}
}

// TestTransientFailure: a store write that fails for a passing reason
// (here a cancelled context) changes nothing, keeps the delta, and the
// next message applies it.
func TestTransientFailure(t *testing.T) {
	_, _, h, p := newRig(t, 1, 11, Config{})
	p.bootstrap(h, 1)
	before := p.info("un")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := p.ap.HandleDelta(ctx, h.publish(nil))
	if out.Action != Failed || !errors.Is(err, context.Canceled) || !reflect.DeepEqual(p.info("un"), before) {
		t.Fatalf("cancelled apply: %+v %v", out, err)
	}
	if st, _ := p.ap.Status("un"); st.Pending != 1 {
		t.Fatalf("delta not kept: %+v", st)
	}
	out = p.delta(h.publish(nil), Applied)
	if out.ToVersion != 3 {
		t.Fatalf("outcome %+v", out)
	}
	p.requireAt(h, "un", 3)
}

// TestDiskLowPausesApply: a delta the store refuses because the disk is
// short of its reserve is a transient failure, not a divergence: nothing
// changes, no snapshot is asked for (its download would take the space
// that is short), the delta waits in the buffer, and it is applied with
// the next one once space returns.
func TestDiskLowPausesApply(t *testing.T) {
	c := newClock()
	s := newSigner(t)
	h := newHQ(t, s, c, "un", 1, 12)
	p := openPost(t, t.TempDir(), keySet(t, s), c, Config{})
	p.bootstrap(h, 1)
	before := p.info("un")
	p.free.Store(1 << 20)
	out, err := p.ap.HandleDelta(context.Background(), h.publish(nil))
	if out.Action != Failed || !errors.Is(err, ErrDiskLow) || !errors.Is(err, badgerstore.ErrDiskLow) || !reflect.DeepEqual(p.info("un"), before) {
		t.Fatalf("delta on a low disk: %s %v, want Failed with ErrDiskLow and nothing changed", out.Action, err)
	}
	if st, _ := p.ap.Status("un"); st.Pending != 1 || st.Diverged {
		t.Fatalf("after the refused delta: %+v, want it pending and the list not diverged", st)
	}
	p.free.Store(1 << 40)
	if out := p.delta(h.publish(nil), Applied); out.ToVersion != 3 {
		t.Fatalf("outcome once space is back: %+v", out)
	}
	p.requireAt(h, "un", 3)
}
