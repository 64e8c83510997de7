package replica

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
	"github.com/watchpost/watchpost/engine/synth"
	"github.com/watchpost/watchpost/sync/protocol"
)

// t0 is the fake clock's start: every test runs at fixed times.
var t0 = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

// newClock returns the injected clock, at t0.
func newClock() *clocktest.Clock { return clocktest.NewAt(t0) }

func newSigner(t testing.TB) *protocol.Signer {
	t.Helper()
	s, err := protocol.GenerateSigner(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func keySet(t testing.TB, signers ...*protocol.Signer) *protocol.KeySet {
	t.Helper()
	var keys []protocol.TrustedKey
	for _, s := range signers {
		keys = append(keys, protocol.TrustedKey{Public: s.Public()})
	}
	ks, err := protocol.NewKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func cloneSet(m map[string]engine.Entry) map[string]engine.Entry {
	c := make(map[string]engine.Entry, len(m))
	for k, v := range m {
		c[k] = v // entries are never mutated in place
	}
	return c
}

// hq simulates HQ for one list with protocol's helpers: each edition,
// the signed delta that leads to it (Diff, ApplyToSet, SealDelta), heads
// (SealHead) and snapshot files (SnapshotWriter).
type hq struct {
	t        *testing.T
	signer   *protocol.Signer
	clock    *clocktest.Clock
	list     string
	epoch    uint64
	rng      *mrand.Rand
	pool     []engine.Entry
	next     int
	editions []map[string]engine.Entry // editions[v-1] is version v
	deltas   [][]byte                  // deltas[v-2] leads from v-1 to v
	dir      string
}

func newHQ(t *testing.T, signer *protocol.Signer, c *clocktest.Clock, list string, epoch uint64, seed uint64) *hq {
	t.Helper()
	h := &hq{t: t, signer: signer, clock: c, list: list, epoch: epoch, rng: mrand.New(mrand.NewPCG(seed, 7)), dir: t.TempDir()}
	if err := synth.Persons(seed, 3000, func(e *engine.Entry) error {
		h.pool = append(h.pool, *e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	first := map[string]engine.Entry{}
	for range 150 {
		e := h.take()
		first[e.ID] = e
	}
	h.editions = append(h.editions, first)
	return h
}

func (h *hq) take() engine.Entry { e := h.pool[h.next]; h.next++; return e }

func (h *hq) version() uint64 { return uint64(len(h.editions)) }

func (h *hq) hash(v uint64) engine.SetHash { return protocol.SetHashOf(h.editions[v-1]) }

func (h *hq) delta(to uint64) []byte { return h.deltas[to-2] }

// publish makes the next edition (additions, changes and removals) and
// returns its signed delta. mutate, if not nil, alters the delta before
// it is signed (to simulate an HQ bug).
func (h *hq) publish(mutate func(*protocol.Delta)) []byte {
	h.t.Helper()
	prev := h.editions[len(h.editions)-1]
	ed := cloneSet(prev)
	ids := make([]string, 0, len(ed))
	for id := range ed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for range 1 + h.rng.IntN(5) {
		e := h.take()
		ed[e.ID] = e
	}
	for range h.rng.IntN(5) {
		id := ids[h.rng.IntN(len(ids))]
		e := ed[id]
		e.Remarks = fmt.Sprintf("amended in edition %d", h.version()+1)
		ed[id] = e
	}
	for range h.rng.IntN(4) {
		delete(ed, ids[h.rng.IntN(len(ids))])
	}
	up, del := protocol.Diff(prev, ed)
	now := h.clock.Now()
	d := &protocol.Delta{List: h.list, Epoch: h.epoch, FromVersion: h.version(), ToVersion: h.version() + 1,
		Upserts: up, Deletes: del, IssuedAt: now, ValidUntil: now.Add(30 * 24 * time.Hour)}
	after, err := protocol.ApplyToSet(cloneSet(prev), d)
	if err != nil {
		h.t.Fatal(err)
	}
	if want := protocol.SetHashOf(ed); after != want {
		h.t.Fatalf("edition %d: ApplyToSet %s, edition %s", d.ToVersion, after, want)
	}
	d.HashAfter = after
	if mutate != nil {
		mutate(d)
	}
	msg, err := protocol.SealDelta(h.signer, d)
	if err != nil {
		h.t.Fatal(err)
	}
	h.editions = append(h.editions, ed)
	h.deltas = append(h.deltas, msg)
	return msg
}

// seal signs an arbitrary delta with signer.
func seal(t testing.TB, s *protocol.Signer, d *protocol.Delta) []byte {
	t.Helper()
	msg, err := protocol.SealDelta(s, d)
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// head returns a head at the current version issued now (valid 48 h),
// naming a snapshot file of version snap (0: none) that it writes.
func (h *hq) head(snap uint64) (protocol.Head, []byte, string) {
	h.t.Helper()
	now := h.clock.Now()
	hd := protocol.Head{List: h.list, Epoch: h.epoch, Version: h.version(), Hash: h.hash(h.version()),
		Entries: uint64(len(h.editions[h.version()-1])), IssuedAt: now, ValidUntil: now.Add(48 * time.Hour)}
	var path string
	if snap > 0 {
		path = filepath.Join(h.dir, protocol.SnapshotFileName(h.list, h.epoch, snap))
		sha, size := h.writeSnapshot(path, snap)
		hd.SnapshotURL = protocol.SnapshotsURL("https://hq.example") + "/" + protocol.SnapshotFileName(h.list, h.epoch, snap)
		hd.SnapshotVersion, hd.SnapshotSHA256, hd.SnapshotSize = snap, sha, uint64(size)
	}
	msg, err := protocol.SealHead(h.signer, &hd)
	if err != nil {
		h.t.Fatal(err)
	}
	return hd, msg, path
}

func (h *hq) writeSnapshot(path string, v uint64) ([32]byte, int64) {
	h.t.Helper()
	ed := h.editions[v-1]
	f, err := os.Create(path)
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	sw, err := protocol.NewSnapshotWriter(f, h.signer, protocol.SnapshotHeader{
		List: h.list, Epoch: h.epoch, Version: v, Hash: h.hash(v), Count: uint64(len(ed)), IssuedAt: h.clock.Now()})
	if err != nil {
		h.t.Fatal(err)
	}
	ids := make([]string, 0, len(ed))
	for id := range ed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		e := ed[id]
		if err := sw.Add(&e); err != nil {
			h.t.Fatal(err)
		}
	}
	if err := sw.Close(); err != nil {
		h.t.Fatal(err)
	}
	return sw.FileSHA256(), sw.Size()
}

// recorder is the real store with a log of the writes the applier makes,
// so tests can check that data and state change in one call.
type recorder struct {
	Store
	mu    sync.Mutex
	calls []string
}

func (r *recorder) note(s string) {
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func (r *recorder) UpdateEntries(ctx context.Context, name string, from uint64, up []engine.Entry, del []string, state json.RawMessage) (engine.ListInfo, error) {
	r.note("UpdateEntries")
	return r.Store.UpdateEntries(ctx, name, from, up, del, state)
}

func (r *recorder) ReplaceEntries(ctx context.Context, meta ListMeta, src func(emit func(*engine.Entry) error) error) (engine.ListInfo, error) {
	r.note("ReplaceEntries")
	return r.Store.ReplaceEntries(ctx, meta, src)
}

func (r *recorder) SetReplica(ctx context.Context, name string, version uint64, state json.RawMessage) error {
	r.note("SetReplica")
	return r.Store.SetReplica(ctx, name, version, state)
}

// post is one border post: a real badgerstore in a temp dir and an Applier.
type post struct {
	t     *testing.T
	dir   string
	db    *badgerstore.Store
	rec   *recorder
	ap    *Applier
	clock *clocktest.Clock
	keys  *protocol.KeySet
	cfg   Config
	free  *atomic.Uint64 // the free disk space the store sees
}

func openPost(t *testing.T, dir string, ks *protocol.KeySet, c *clocktest.Clock, cfg Config) *post {
	t.Helper()
	free := new(atomic.Uint64)
	free.Store(1 << 40)
	o := storetest.Small()
	o.FreeSpace = func(string) (uint64, error) { return free.Load(), nil }
	db := storetest.OpenWith(t, dir, o)
	rec := &recorder{Store: FromBadger(db)}
	given := cfg
	cfg.Keys, cfg.Clock = ks, c
	if cfg.Lists == nil {
		cfg.Lists = []string{"un"}
	}
	ap, err := New(rec, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &post{t: t, dir: dir, db: db, rec: rec, ap: ap, clock: c, keys: ks, cfg: given, free: free}
}

// reopen opens the post's store again (after close) with a new Applier,
// as a restart does.
func (p *post) reopen() *post {
	p.t.Helper()
	return openPost(p.t, p.dir, p.keys, p.clock, p.cfg)
}

// newRig is HQ publishing list "un" (epoch, seed) signed by a fresh key
// s, and a post in a new directory trusting s with cfg, both on one fake
// clock c.
func newRig(t *testing.T, epoch, seed uint64, cfg Config) (c *clocktest.Clock, s *protocol.Signer, h *hq, p *post) {
	t.Helper()
	c = newClock()
	s = newSigner(t)
	return c, s, newHQ(t, s, c, "un", epoch, seed), openPost(t, t.TempDir(), keySet(t, s), c, cfg)
}

func (p *post) close() {
	p.t.Helper()
	if err := p.db.Close(); err != nil {
		p.t.Fatal(err)
	}
}

func (p *post) info(list string) engine.ListInfo {
	p.t.Helper()
	info, err := p.db.List(list)
	if err != nil {
		p.t.Fatal(err)
	}
	return info
}

// want fails the test unless op's outcome is the action want.
func (p *post) want(op string, out Outcome, err error, want Action) Outcome {
	p.t.Helper()
	if out.Action != want {
		p.t.Fatalf("%s: %s (%v), want %s; error %v", op, out.Action, out.Reason, want, err)
	}
	return out
}

// delta hands a delta to the applier and checks the action.
func (p *post) delta(msg []byte, want Action) Outcome {
	p.t.Helper()
	out, err := p.ap.HandleDelta(context.Background(), msg)
	return p.want("HandleDelta", out, err, want)
}

func (p *post) head(msg []byte, want Action) Outcome {
	p.t.Helper()
	out, err := p.ap.HandleHead(context.Background(), msg)
	return p.want("HandleHead", out, err, want)
}

func (p *post) install(h protocol.Head, path string, want Action) Outcome {
	p.t.Helper()
	out, err := p.ap.InstallSnapshot(context.Background(), h, path)
	return p.want("InstallSnapshot", out, err, want)
}

// follow has HQ publish n deltas a minute apart, each of which the post
// applies, and a minute later a head, which the post finds current; it
// returns the head's message.
func (p *post) follow(h *hq, c *clocktest.Clock, n int) []byte {
	p.t.Helper()
	for range n {
		c.Advance(time.Minute)
		p.delta(h.publish(nil), Applied)
	}
	c.Advance(time.Minute)
	_, msg, _ := h.head(0)
	p.head(msg, Current)
	return msg
}

// bootstrap brings a post without the list to HQ's version snap through
// a head and a snapshot, as a fresh post does.
func (p *post) bootstrap(h *hq, snap uint64) {
	p.t.Helper()
	hd, msg, path := h.head(snap)
	out := p.head(msg, NeedSnapshot)
	if !errorsIs(out.Reason, protocol.ErrNoBase) {
		p.t.Fatalf("first head: reason %v, want ErrNoBase", out.Reason)
	}
	p.install(hd, path, Applied)
	p.requireAt(h, h.list, snap)
}

// requireAt checks that the post holds HQ's version v: the state, the
// store's hash, and the stored rows (Verify).
func (p *post) requireAt(h *hq, list string, v uint64) {
	p.t.Helper()
	st, err := p.ap.Status(list)
	if err != nil {
		p.t.Fatal(err)
	}
	if st.Version != v || st.Epoch != h.epoch || st.Diverged {
		p.t.Fatalf("status %+v, want epoch %d version %d, not diverged", st, h.epoch, v)
	}
	if want := h.hash(v).String(); st.Hash != want {
		p.t.Fatalf("store hash %s, HQ's hash at version %d is %s", st.Hash, v, want)
	}
	if err := p.db.Verify(context.Background(), list); err != nil {
		p.t.Fatal(err)
	}
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func badgerMeta(name string) badgerstore.ListMeta {
	return badgerstore.ListMeta{Name: name, Source: "local.xml", Format: "un-xml"}
}
