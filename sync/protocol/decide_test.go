package protocol

import (
	"errors"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
)

// held is a post at epoch 2, version 100, whose last head (issued at
// t0-1h) named version 100.
func held() ListState {
	return ListState{
		List: "un", Epoch: 2, Version: 100, Hash: engine.SetHash{1},
		HighestSeen:      Position{2, 100},
		LastHeadIssuedAt: t0.Add(-time.Hour), HeadValidUntil: t0.Add(23 * time.Hour),
	}
}

func delta(epoch, from uint64) *Delta {
	return &Delta{List: "un", Epoch: epoch, FromVersion: from, ToVersion: from + 1,
		IssuedAt: t0.Add(-time.Minute), ValidUntil: t0.Add(30 * 24 * time.Hour)}
}

func TestDecide(t *testing.T) {
	mod := func(d *Delta, f func(*Delta)) *Delta { f(d); return d }
	tests := []struct {
		name  string
		state ListState
		d     *Delta
		now   time.Time
		want  Action
		err   error
	}{
		{"next in order", held(), delta(2, 100), t0, Apply, nil},
		{"duplicate (QoS 1 redelivery)", held(), delta(2, 99), t0, Drop, ErrDuplicate},
		{"replay of an old delta", held(), delta(2, 50), t0, Drop, ErrReplay},
		{"gap of one", held(), delta(2, 101), t0, NeedSnapshot, ErrGap},
		{"backlog beyond the window", held(), delta(2, 100+DefaultPolicy.DeltaWindow), t0, NeedSnapshot, ErrBacklog},
		{"fast-forward by 10^9", held(), delta(2, 100+1e9), t0, Reject, ErrFastForward},
		{"new epoch", held(), delta(3, 1), t0, NeedSnapshot, ErrNewEpoch},
		{"epoch fast-forward", held(), delta(2+1e6, 1), t0, Reject, ErrFastForward},
		{"older epoch", held(), delta(1, 100), t0, Reject, ErrRollback},
		{"older epoch than a verified head", func() ListState { s := held(); s.HighestSeen = Position{3, 5}; return s }(), delta(2, 100), t0, Reject, ErrRollback},
		{"wrong list", held(), mod(delta(2, 100), func(d *Delta) { d.List = "ofac" }), t0, Reject, ErrWrongList},
		{"expired", held(), delta(2, 100), t0.Add(31 * 24 * time.Hour), Reject, ErrExpired},
		{"expired at exactly valid_until", held(), delta(2, 100), t0.Add(30 * 24 * time.Hour), Reject, ErrExpired},
		{"clock at 1970 is floored to the last head", func() ListState {
			s := held()
			s.LastHeadIssuedAt = t0.Add(40 * 24 * time.Hour)
			s.HighestSeen = Position{2, 101}
			return s
		}(),
			mod(delta(2, 100), func(d *Delta) { d.IssuedAt = t0.Add(-time.Hour) }), time.Unix(0, 0), Reject, ErrExpired},
		{"clock at 1970, delta valid against the floor", held(), delta(2, 100), time.Unix(0, 0), Apply, nil},
		{"issued before the last head, beyond its version", held(),
			mod(delta(2, 100), func(d *Delta) { d.IssuedAt = t0.Add(-2 * time.Hour) }), t0, Reject, ErrStaleBranch},
		{"issued before the last head, within its version (catch-up)", func() ListState { s := held(); s.HighestSeen = Position{2, 105}; return s }(),
			mod(delta(2, 100), func(d *Delta) { d.IssuedAt = t0.Add(-2 * time.Hour) }), t0, Apply, nil},
		{"nothing held", ListState{List: "un"}, delta(2, 100), t0, NeedSnapshot, ErrNoBase},
		{"malformed versions", held(), mod(delta(2, 100), func(d *Delta) { d.ToVersion = 200 }), t0, Reject, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Decide(tc.state, tc.d, tc.now)
			if a != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("got %s, %v; want %s, %v", a, err, tc.want, tc.err)
			}
			if err != nil {
				t.Logf("%s: %v", a, err)
			}
		})
	}
}

func head(epoch, version uint64, hash engine.SetHash, issued time.Time) *Head {
	return &Head{List: "un", Epoch: epoch, Version: version, Hash: hash, IssuedAt: issued, ValidUntil: issued.Add(24 * time.Hour)}
}

func TestDecideHead(t *testing.T) {
	h1 := engine.SetHash{1}
	later := t0
	tests := []struct {
		name   string
		state  ListState
		h      *Head
		now    time.Time
		want   HeadAction
		behind uint64
		err    error
	}{
		{"up to date (quiet feed, re-signed)", held(), head(2, 100, h1, later), t0, HeadCurrent, 0, nil},
		{"behind by 5", held(), head(2, 105, engine.SetHash{9}, later), t0, HeadFetchDeltas, 5, nil},
		{"behind beyond the window", held(), head(2, 100+DefaultPolicy.DeltaWindow+1, engine.SetHash{9}, later), t0, HeadNeedSnapshot, DefaultPolicy.DeltaWindow + 1, ErrBacklog},
		{"same version, other hash", held(), head(2, 100, engine.SetHash{7}, later), t0, HeadNeedSnapshot, 0, ErrDiverged},
		{"new epoch", held(), head(3, 1, h1, later), t0, HeadNeedSnapshot, 0, ErrNewEpoch},
		{"nothing held", ListState{List: "un"}, head(1, 7, h1, later), t0, HeadNeedSnapshot, 0, ErrNoBase},
		{"replay of an older head", held(), head(2, 99, h1, t0.Add(-2*time.Hour)), t0, HeadDrop, 0, ErrReplay},
		{"same head again", held(), &Head{List: "un", Epoch: 2, Version: 100, Hash: h1, IssuedAt: t0.Add(-time.Hour), ValidUntil: t0.Add(23 * time.Hour)}, t0, HeadDrop, 0, ErrDuplicate},
		{"other head, same issue time", held(), head(2, 101, h1, t0.Add(-time.Hour)), t0, HeadReject, 0, ErrConflict},
		{"same head again, digest recorded", withDigest(sameHead(h1)), sameHead(h1), t0, HeadDrop, 0, ErrDuplicate},
		{"same issue time and position, other content", withDigest(sameHead(h1)), sameHead(engine.SetHash{7}), t0, HeadReject, 0, ErrConflict},
		{"same issue time and position, no digest recorded (older state)", held(), sameHead(engine.SetHash{7}), t0, HeadDrop, 0, ErrDuplicate},
		{"expired head (frozen feed)", held(), head(2, 100, h1, later), t0.Add(25 * time.Hour), HeadReject, 0, ErrExpired},
		{"newer head naming an older version", held(), head(2, 90, h1, later), t0, HeadReject, 0, ErrRollback},
		{"newer head naming an older epoch", held(), head(1, 500, h1, later), t0, HeadReject, 0, ErrRollback},
		{"fast-forward by 10^9", held(), head(2, 100+1e9, h1, later), t0, HeadReject, 0, ErrFastForward},
		{"wrong list", held(), &Head{List: "ofac", Epoch: 2, Version: 100, IssuedAt: later, ValidUntil: later.Add(time.Hour)}, t0, HeadReject, 0, ErrWrongList},
		{"head behind deltas already applied", func() ListState { s := held(); s.Version = 102; return s }(), head(2, 101, h1, later), t0, HeadDrop, 0, ErrReplay},
		{"clock at 1970: an older, expired head is a replay", func() ListState { s := held(); s.LastHeadIssuedAt = t0.Add(-time.Hour); return s }(),
			head(2, 100, h1, t0.Add(-time.Hour).Add(-24*time.Hour+time.Second)), time.Unix(0, 0), HeadDrop, 0, ErrReplay},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := DecideHead(tc.state, tc.h, tc.now)
			if d.Action != tc.want || d.Behind != tc.behind || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("got %s (behind %d), %v; want %s (behind %d), %v", d.Action, d.Behind, err, tc.want, tc.behind, tc.err)
			}
			if err != nil {
				t.Logf("%s: %v", d.Action, err)
			}
		})
	}
}

// sameHead is the head held() last accepted (epoch 2, version 100,
// issued t0-1h), with hash h.
func sameHead(h engine.SetHash) *Head {
	return &Head{List: "un", Epoch: 2, Version: 100, Hash: h, IssuedAt: t0.Add(-time.Hour), ValidUntil: t0.Add(23 * time.Hour)}
}

// withDigest is held() having accepted h, its digest recorded.
func withDigest(h *Head) ListState {
	s := held()
	s.HeadDigest = h.Digest()
	return s
}

// TestHeadDigest: the digest covers every field of a head, and its
// text form round-trips.
func TestHeadDigest(t *testing.T) {
	base := *sameHead(engine.SetHash{1})
	seen := map[HeadDigest]string{base.Digest(): "base"}
	for name, change := range map[string]func(*Head){
		"hash":        func(h *Head) { h.Hash[0] ^= 1 },
		"entries":     func(h *Head) { h.Entries++ },
		"valid_until": func(h *Head) { h.ValidUntil = h.ValidUntil.Add(time.Second) },
		"snapshot":    func(h *Head) { h.SnapshotURL, h.SnapshotVersion, h.SnapshotSize = "https://hq.example/s", 100, 1 },
		"snapshot sha": func(h *Head) {
			h.SnapshotURL, h.SnapshotVersion, h.SnapshotSize, h.SnapshotSHA256 = "https://hq.example/s", 100, 1, [32]byte{1}
		},
	} {
		h := base
		change(&h)
		d := h.Digest()
		if other, dup := seen[d]; dup {
			t.Errorf("changing %s gives the digest of %s", name, other)
		}
		seen[d] = name
	}
	d := base.Digest()
	if back, err := ParseHeadDigest(d.String()); err != nil || back != d || d.IsZero() {
		t.Errorf("ParseHeadDigest(%s) = %s, %v", d, back, err)
	}
	if _, err := ParseHeadDigest("00"); err == nil {
		t.Error("a short digest parsed")
	}
}

// TestClock: a clock reset to 1970 cannot revive
// an expired head, and a clock set to 2099 stops accepting heads and
// deltas (STALE) without changing any persisted state, so correcting the
// clock restores updates at once.
func TestClock(t *testing.T) {
	s := held()
	clock := clocktest.NewAt(t0)
	h := head(2, 101, engine.SetHash{5}, t0)
	if d, err := DecideHead(s, h, clock.Now()); err != nil || d.Action != HeadFetchDeltas {
		t.Fatalf("fresh head: %v %v", d, err)
	}
	s = s.AfterHead(h)
	if err := s.Fresh(clock.Now()); err != nil {
		t.Fatalf("fresh: %v", err)
	}
	// 1970: the floor keeps time at the head's issue time; still fresh, never older.
	if got := s.Clock(time.Unix(0, 0)); !got.Equal(t0) {
		t.Fatalf("floored clock %v", got)
	}
	// Advance past valid-until: stale, and a replay of the same head is no cure.
	clock.Advance(25 * time.Hour)
	if err := s.Fresh(clock.Now()); !errors.Is(err, ErrExpired) {
		t.Fatalf("after 25 h: %v, want ErrExpired", err)
	}
	// 2099: everything looks expired; state is untouched (decisions are pure).
	y2099 := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
	h2 := head(2, 101, engine.SetHash{5}, t0.Add(time.Hour))
	if d, err := DecideHead(s, h2, y2099); d.Action != HeadReject || !errors.Is(err, ErrExpired) {
		t.Fatalf("2099: %v %v", d, err)
	}
	if a, err := Decide(s, delta(2, 100), y2099); a != Reject || !errors.Is(err, ErrExpired) {
		t.Fatalf("2099 delta: %v %v", a, err)
	}
	// Clock corrected: the same messages are accepted.
	if d, err := DecideHead(s, h2, t0.Add(2*time.Hour)); err != nil || d.Action != HeadFetchDeltas {
		t.Fatalf("after correcting the clock: %v %v", d, err)
	}
}

func TestVerifyAfterApply(t *testing.T) {
	if err := VerifyAfterApply(engine.SetHash{1}, engine.SetHash{1}); err != nil {
		t.Fatal(err)
	}
	if err := VerifyAfterApply(engine.SetHash{1}, engine.SetHash{2}); !errors.Is(err, ErrDiverged) {
		t.Fatalf("mismatch: %v", err)
	}
	h := engine.SetHash{1, 2, 3, 4}
	back, err := ParseSetHash(h.String())
	if err != nil || back != h {
		t.Fatalf("ParseSetHash: %v %v", back, err)
	}
	if _, err := ParseSetHash("xyz"); err == nil {
		t.Fatal("ParseSetHash accepted junk")
	}
}
