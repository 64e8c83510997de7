package protocol

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
)

// hqSim is the HQ side of the sequence tests: a list's editions, the
// signed delta that leads to each, and snapshots on demand.
type hqSim struct {
	t        *testing.T
	signer   *Signer
	editions []map[string]engine.Entry // editions[v-1] is version v
	hashes   []engine.SetHash
	deltas   [][]byte // deltas[v-2] leads from v-1 to v
	clock    *clocktest.Clock
}

// newHQ builds editions 1..n of list "un" with random upserts (new and
// changed entries) and deletes, each delta carrying HashAfter from
// ApplyToSet and checked against the edition's own hash.
func newHQ(t *testing.T, n int, seed uint64) *hqSim {
	rng := rand.New(rand.NewPCG(seed, 1))
	pool := synthEntries(t, seed, 4000)
	next := 0
	take := func() engine.Entry { e := pool[next]; next++; return e.Clone() }
	hq := &hqSim{t: t, signer: testSigner(t, 1), clock: clocktest.NewAt(t0)}
	first := map[string]engine.Entry{}
	for range 200 {
		e := take()
		first[e.ID] = e
	}
	hq.editions = append(hq.editions, first)
	hq.hashes = append(hq.hashes, SetHashOf(first))
	for v := 2; v <= n; v++ {
		hq.clock.Advance(time.Hour)
		prev := hq.editions[len(hq.editions)-1]
		ed := CloneSet(prev)
		ids := make([]string, 0, len(ed))
		for id := range ed {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for range rng.IntN(6) { // additions
			e := take()
			ed[e.ID] = e
		}
		for range rng.IntN(6) { // changes
			id := ids[rng.IntN(len(ids))]
			e := ed[id]
			e.Remarks = fmt.Sprintf("amended in edition %d", v)
			ed[id] = e
		}
		for range rng.IntN(4) { // removals
			delete(ed, ids[rng.IntN(len(ids))])
		}
		up, del := Diff(prev, ed)
		d := &Delta{List: "un", Epoch: 1, FromVersion: uint64(v - 1), ToVersion: uint64(v),
			Upserts: up, Deletes: del, IssuedAt: hq.clock.Now(), ValidUntil: hq.clock.Now().Add(30 * 24 * time.Hour)}
		after, err := ApplyToSet(CloneSet(prev), d)
		if err != nil {
			t.Fatal(err)
		}
		if want := SetHashOf(ed); after != want {
			t.Fatalf("edition %d: ApplyToSet gives %s, the edition hashes to %s", v, after, want)
		}
		d.HashAfter = after
		msg, err := SealDelta(hq.signer, d)
		if err != nil {
			t.Fatal(err)
		}
		hq.editions = append(hq.editions, ed)
		hq.hashes = append(hq.hashes, after)
		hq.deltas = append(hq.deltas, msg)
	}
	return hq
}

// snapshot writes the snapshot file of version v.
func (hq *hqSim) snapshot(v int) []byte {
	ed := hq.editions[v-1]
	ids := make([]string, 0, len(ed))
	for id := range ed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var buf bytes.Buffer
	w, err := NewSnapshotWriter(&buf, hq.signer, SnapshotHeader{List: "un", Epoch: 1, Version: uint64(v), Hash: hq.hashes[v-1], Count: uint64(len(ed)), IssuedAt: hq.clock.Now()})
	if err != nil {
		hq.t.Fatal(err)
	}
	for _, id := range ids {
		e := ed[id]
		if err := w.Add(&e); err != nil {
			hq.t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		hq.t.Fatal(err)
	}
	return buf.Bytes()
}

// postSim is a post as the later applier will be: open (verify), decide,
// apply atomically (all or nothing), verify the hash, persist the state.
type postSim struct {
	keys  *KeySet
	state ListState
	set   map[string]engine.Entry
}

func newPost(ks *KeySet) *postSim {
	return &postSim{keys: ks, state: ListState{List: "un"}, set: map[string]engine.Entry{}}
}

func (p *postSim) receiveDelta(msg []byte, now time.Time) (Action, error) {
	d, _, err := p.keys.OpenDelta(msg, p.state.Clock(now))
	if err != nil {
		return Reject, err
	}
	a, err := Decide(p.state, d, now)
	if a != Apply {
		return a, err
	}
	next := CloneSet(p.set)
	got, err := ApplyToSet(next, d)
	if err != nil {
		return Reject, err
	}
	if err := VerifyAfterApply(d.HashAfter, got); err != nil {
		return NeedSnapshot, err
	}
	p.set, p.state = next, p.state.AfterDelta(d)
	return Apply, nil
}

// mustImport is importSnapshot, failing the test on an error.
func (p *postSim) mustImport(t *testing.T, file []byte, now time.Time) {
	t.Helper()
	if err := p.importSnapshot(file, now); err != nil {
		t.Fatal(err)
	}
}

func (p *postSim) importSnapshot(file []byte, now time.Time) error {
	r, err := NewSnapshotReader(bytes.NewReader(file), p.keys, p.state.Clock(now), nil)
	if err != nil {
		return err
	}
	set := map[string]engine.Entry{}
	for {
		e, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		set[e.ID] = e
	}
	h := r.Header()
	if err := VerifyAfterApply(h.Hash, SetHashOf(set)); err != nil {
		return err
	}
	p.set, p.state = set, p.state.AfterSnapshot(&h)
	return nil
}

func (p *postSim) requireAt(t *testing.T, hq *hqSim, v int) {
	t.Helper()
	if p.state.Version != uint64(v) || p.state.Hash != hq.hashes[v-1] || SetHashOf(p.set) != hq.hashes[v-1] || len(p.set) != len(hq.editions[v-1]) {
		t.Fatalf("post at %d (hash %s, %d entries), want %d (hash %s, %d entries)",
			p.state.Version, p.state.Hash, len(p.set), v, hq.hashes[v-1], len(hq.editions[v-1]))
	}
}

func TestSequence(t *testing.T) {
	const n = 50
	hq := newHQ(t, n, 7)
	ks := keySetOf(t, hq.signer)
	now := hq.clock.Now()

	t.Run("in order", func(t *testing.T) {
		p := newPost(ks)
		if a, err := p.receiveDelta(hq.deltas[0], now); a != NeedSnapshot || !errors.Is(err, ErrNoBase) {
			t.Fatalf("before any snapshot: %s %v", a, err)
		}
		p.mustImport(t, hq.snapshot(1), now)
		p.requireAt(t, hq, 1)
		for v := 2; v <= n; v++ {
			if a, err := p.receiveDelta(hq.deltas[v-2], now); a != Apply {
				t.Fatalf("delta to %d: %s %v", v, a, err)
			}
			p.requireAt(t, hq, v)
		}
	})

	t.Run("one delta missing", func(t *testing.T) {
		p := newPost(ks)
		p.mustImport(t, hq.snapshot(1), now)
		const lost = 20 // the delta 19 -> 20 never arrives
		for v := 2; v <= n; v++ {
			if v == lost {
				continue
			}
			a, err := p.receiveDelta(hq.deltas[v-2], now)
			if v == lost+1 {
				if a != NeedSnapshot || !errors.Is(err, ErrGap) {
					t.Fatalf("after the lost delta: %s %v, want need-snapshot (gap)", a, err)
				}
				t.Log(err)
				p.mustImport(t, hq.snapshot(v), now)
			} else if a != Apply {
				t.Fatalf("delta to %d: %s %v", v, a, err)
			}
			p.requireAt(t, hq, v)
		}
	})

	t.Run("duplicates", func(t *testing.T) {
		p := newPost(ks)
		p.mustImport(t, hq.snapshot(1), now)
		for v := 2; v <= n; v++ {
			for i := range 2 {
				a, err := p.receiveDelta(hq.deltas[v-2], now)
				if want := []Action{Apply, Drop}[i]; a != want {
					t.Fatalf("delta to %d, delivery %d: %s %v", v, i+1, a, err)
				}
			}
			p.requireAt(t, hq, v)
		}
		// A replay of every old delta (removals included) changes nothing.
		for _, msg := range hq.deltas {
			if a, err := p.receiveDelta(msg, now); a != Drop || !(errors.Is(err, ErrReplay) || errors.Is(err, ErrDuplicate)) {
				t.Fatalf("replay: %s %v", a, err)
			}
		}
		p.requireAt(t, hq, n)
	})

	t.Run("shuffled", func(t *testing.T) {
		for seed := range uint64(5) {
			p := newPost(ks)
			p.mustImport(t, hq.snapshot(1), now)
			order := rand.New(rand.NewPCG(seed, 2)).Perm(len(hq.deltas))
			// A reorder window: deltas that arrive early are held and offered
			// again after each apply; Decide never applies one out of order.
			var pending [][]byte
			for _, i := range order {
				a, err := p.receiveDelta(hq.deltas[i], now)
				switch {
				case a == NeedSnapshot && errors.Is(err, ErrGap):
					pending = append(pending, hq.deltas[i])
					continue
				case a != Apply:
					t.Fatalf("seed %d: %s %v", seed, a, err)
				}
				for progress := true; progress; {
					progress = false
					for j := 0; j < len(pending); j++ {
						if a, _ := p.receiveDelta(pending[j], now); a == Apply {
							pending = append(pending[:j], pending[j+1:]...)
							progress = true
							break
						}
					}
				}
			}
			if len(pending) != 0 {
				t.Fatalf("seed %d: %d deltas left pending", seed, len(pending))
			}
			p.requireAt(t, hq, n)
		}
	})
}

// TestHostileBroker plays a hostile broker at the protocol level: each
// hostile message is refused with a reason and leaves the post's state
// and list exactly as they were.
func TestHostileBroker(t *testing.T) {
	const n = 12
	hq := newHQ(t, n, 11)
	ks := keySetOf(t, hq.signer)
	rogue := testSigner(t, 9)
	now := hq.clock.Now()
	p := newPost(ks)
	p.mustImport(t, hq.snapshot(1), now)
	for v := 2; v <= 8; v++ {
		if a, err := p.receiveDelta(hq.deltas[v-2], now); a != Apply {
			t.Fatal(a, err)
		}
	}
	// A removal among the old deltas, to replay.
	var removal []byte
	for _, msg := range hq.deltas[:6] {
		d, _, _ := ks.OpenDelta(msg, now)
		if len(d.Deletes) > 0 {
			removal = msg
			break
		}
	}
	if removal == nil {
		t.Fatal("no old delta removes anything; change the seed")
	}
	d9, _, _ := ks.OpenDelta(hq.deltas[7], now) // 8 -> 9, the next one
	resign := func(s *Signer, f func(*Delta)) []byte {
		c := *d9
		f(&c)
		b, err := SealDelta(s, &c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	payload, _ := EncodeDelta(d9)
	snap := hq.snapshot(8)

	deltas := []struct {
		name string
		msg  []byte
		want error
	}{
		{"unsigned", payload, ErrUnsigned},
		{"signed by the wrong key", resign(rogue, func(*Delta) {}), ErrUnknownKey},
		{"valid delta for the wrong list", resign(hq.signer, func(d *Delta) { d.List = "ofac" }), ErrWrongList},
		{"replay of an old removal", removal, ErrReplay},
		{"reordered (a later delta first)", hq.deltas[9], ErrGap},
		{"fast-forward by 10^9", resign(hq.signer, func(d *Delta) { d.FromVersion, d.ToVersion = 8+1e9, 9+1e9 }), ErrFastForward},
		{"expired", resign(hq.signer, func(d *Delta) { d.IssuedAt, d.ValidUntil = now.Add(-48*time.Hour), now.Add(-24*time.Hour) }), ErrExpired},
		{"wrong hash after", resign(hq.signer, func(d *Delta) { d.HashAfter[0]++ }), ErrDiverged},
		{"truncated", hq.deltas[7][:len(hq.deltas[7])-3], ErrMalformed},
		{"padded", append(bytes.Clone(hq.deltas[7]), 0, 0), ErrMalformed},
	}
	for _, tc := range deltas {
		t.Run(tc.name, func(t *testing.T) {
			before, set := p.state, SetHashOf(p.set)
			a, err := p.receiveDelta(tc.msg, now)
			if a == Apply || !errors.Is(err, tc.want) {
				t.Fatalf("got %s, %v; want a refusal with %v", a, err, tc.want)
			}
			if p.state != before || SetHashOf(p.set) != set {
				t.Fatal("a refused message changed the post")
			}
			t.Logf("%s: %v", a, err)
		})
	}

	t.Run("expired head", func(t *testing.T) {
		h := &Head{List: "un", Epoch: 1, Version: 8, Hash: hq.hashes[7], IssuedAt: now.Add(-48 * time.Hour), ValidUntil: now.Add(-24 * time.Hour)}
		msg, _ := SealHead(hq.signer, h)
		got, _, err := ks.OpenHead(msg, now)
		if err != nil {
			t.Fatal(err)
		}
		if d, err := DecideHead(p.state, got, now); d.Action != HeadReject || !errors.Is(err, ErrExpired) {
			t.Fatalf("%v %v", d, err)
		}
	})

	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"truncated snapshot", snap[:len(snap)-1]},
		{"truncated snapshot mid-record", snap[:len(snap)/2]},
		{"padded snapshot", append(bytes.Clone(snap), 0)},
		{"snapshot with a flipped byte", func() []byte { b := bytes.Clone(snap); b[len(b)/2] ^= 1; return b }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := p.state
			err := p.importSnapshot(tc.file, now)
			if err == nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want ErrMalformed", err)
			}
			if p.state != before {
				t.Fatal("state changed")
			}
			t.Log(err)
		})
	}
}
