package protocol

import (
	"fmt"
	"time"

	"github.com/watchpost/watchpost/engine"
)

// ListState is what a post persists about one list, in the same Badger
// transaction as the list data: the position and hash it holds, and the
// last head it verified. Every field comes from a signed message; none
// comes from the post's clock.
type ListState struct {
	List    string
	Epoch   uint64 // held epoch; 0 when nothing is held
	Version uint64 // held version; 0 when nothing is held
	Hash    engine.SetHash
	// HighestSeen is the position named by the last verified head.
	// Accepted heads never go backwards, so it is also the highest.
	HighestSeen Position
	// LastHeadIssuedAt and HeadValidUntil are the last verified head's
	// times. LastHeadIssuedAt is the clock floor: the post never treats
	// "now" as earlier than it.
	LastHeadIssuedAt time.Time
	HeadValidUntil   time.Time
	// HeadDigest is the last verified head's Head.Digest (zero in a state
	// recorded before digests were kept): a head with the same issue time
	// and position but another digest is a conflict, not a duplicate.
	HeadDigest HeadDigest
	// Conflict is the last conflict between two signed heads the post
	// verified (zero when none): it stays until a head names a later
	// position than either of them (HQ published a new edition).
	Conflict HeadConflict
}

// HeadConflict records two verified heads HQ signed with the same issue
// time but different content. The post keeps what it held, the first
// head's, and screens on it.
type HeadConflict struct {
	// At is the higher of the two heads' positions; IssuedAt their issue
	// time.
	At       Position
	IssuedAt time.Time
	// Kept is the digest of the head the post accepted first; Refused
	// the digest and list hash of the one it refused.
	Kept        HeadDigest
	Refused     HeadDigest
	RefusedHash engine.SetHash
}

// IsZero reports whether no conflict is recorded.
func (c HeadConflict) IsZero() bool { return c.At == (Position{}) }

// Error describes the conflict for an operator: the list, the version,
// and what resolves it.
func (c HeadConflict) Error(list string) string {
	return fmt.Sprintf("list %q: HQ signed two different heads for epoch %d version %d, both issued %s (head digests %.16s and %.16s): "+
		"the post keeps the first and screens on it; HQ must publish a new edition of %q",
		list, c.At.Epoch, c.At.Version, c.IssuedAt.UTC().Format(time.RFC3339), c.Kept, c.Refused, list)
}

// WithConflict returns the state with the conflict between the head it
// last accepted and the verified head h recorded.
func (s ListState) WithConflict(h *Head) ListState {
	at := h.Position()
	if at.Compare(s.HighestSeen) < 0 {
		at = s.HighestSeen
	}
	s.Conflict = HeadConflict{At: at, IssuedAt: h.IssuedAt, Kept: s.HeadDigest, Refused: h.Digest(), RefusedHash: h.Hash}
	return s
}

// Held returns the position the post holds.
func (s ListState) Held() Position { return Position{s.Epoch, s.Version} }

// Clock returns now raised to the clock floor, so a real-time clock reset
// to 1970 after a power loss cannot make an expired message look valid
// again.
func (s ListState) Clock(now time.Time) time.Time {
	if now.Before(s.LastHeadIssuedAt) {
		return s.LastHeadIssuedAt
	}
	return now
}

// Fresh reports whether the post's list is current: a head has been
// verified and has not expired at now (floored). A non-nil error (matching
// ErrExpired or ErrNoBase) means "show WATCHLIST STALE; keep screening".
func (s ListState) Fresh(now time.Time) error {
	if s.HeadValidUntil.IsZero() {
		return fmt.Errorf("list %q: %w: no head verified yet", s.List, ErrNoBase)
	}
	if now = s.Clock(now); !now.Before(s.HeadValidUntil) {
		return fmt.Errorf("list %q: %w: last head was valid until %s, now is %s", s.List, ErrExpired, s.HeadValidUntil.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	return nil
}

// AfterDelta returns the state once d has been applied and verified.
func (s ListState) AfterDelta(d *Delta) ListState {
	s.Epoch, s.Version, s.Hash = d.Epoch, d.ToVersion, d.HashAfter
	return s
}

// AfterHead returns the state once h has been accepted (DecideHead said
// HeadCurrent, HeadFetchDeltas or HeadNeedSnapshot).
func (s ListState) AfterHead(h *Head) ListState {
	s.HighestSeen = h.Position()
	s.LastHeadIssuedAt, s.HeadValidUntil = h.IssuedAt, h.ValidUntil
	s.HeadDigest = h.Digest()
	if !s.Conflict.IsZero() && h.Position().Compare(s.Conflict.At) > 0 {
		s.Conflict = HeadConflict{} // a new edition supersedes both heads
	}
	return s
}

// AfterSnapshot returns the state once a snapshot has been imported and
// its hash verified.
func (s ListState) AfterSnapshot(h *SnapshotHeader) ListState {
	s.Epoch, s.Version, s.Hash = h.Epoch, h.Version, h.Hash
	return s
}

// Policy holds the bounds of the decision rules.
type Policy struct {
	// MaxStep is how far beyond the highest version the post knows of (held
	// or named by a head) a message may claim to be. A signed version
	// 2^62 would otherwise block every later update (TUF fast-forward).
	MaxStep uint64
	// MaxEpochStep bounds an epoch jump the same way.
	MaxEpochStep uint64
	// DeltaWindow is how many versions back HQ keeps deltas. A post
	// further behind needs a snapshot.
	DeltaWindow uint64
}

// DefaultPolicy: HQ publishes a few versions a day, so 10,000 versions is
// years; epochs change only when HQ restarts a log.
var DefaultPolicy = Policy{MaxStep: 10_000, MaxEpochStep: 100, DeltaWindow: 1_000}

// Action is what a post does with a verified delta.
type Action uint8

// Delta actions.
const (
	// Apply: apply the delta atomically (UpdateEntries from FromVersion),
	// then VerifyAfterApply, then persist AfterDelta with the data.
	Apply Action = iota + 1
	// Drop: ignore it; the post already has it (duplicate, replay).
	// Nothing changes; count it.
	Drop
	// NeedSnapshot: the delta cannot be applied (gap, backlog, new epoch,
	// no base). Keep screening on the held version; fetch the snapshot the
	// head names, or the missing deltas (see PROTOCOL.md).
	NeedSnapshot
	// Reject: the message is validly signed but contradicts what HQ has
	// signed or the post's bounds (wrong list, expired, rollback,
	// fast-forward, stale branch). Apply nothing and raise an alarm.
	Reject
)

func (a Action) String() string { return enumName(actionNames[:], uint8(a), "action") }

var actionNames = [...]string{Apply: "apply", Drop: "drop", NeedSnapshot: "need-snapshot", Reject: "reject"}

// Decide is DefaultPolicy.Decide.
func Decide(s ListState, d *Delta, now time.Time) (Action, error) {
	return DefaultPolicy.Decide(s, d, now)
}

// reference returns the highest position the post knows of in epoch, and
// whether it knows any.
func (s ListState) reference(epoch uint64) (uint64, bool) {
	var v uint64
	ok := false
	if s.Version > 0 && s.Epoch == epoch {
		v, ok = s.Version, true
	}
	if s.HighestSeen.Epoch == epoch && s.HighestSeen.Version > 0 {
		v, ok = max(v, s.HighestSeen.Version), true
	}
	return v, ok
}

func (s ListState) topEpoch() uint64 { return max(s.Epoch, s.HighestSeen.Epoch) }

// fastForward checks an epoch and version against the policy's steps.
func (p Policy) fastForward(s ListState, epoch, version uint64) error {
	if top := s.topEpoch(); top > 0 && epoch > top && epoch-top > p.MaxEpochStep {
		return fmt.Errorf("%w: epoch %d, the post knows epoch %d (max step %d)", ErrFastForward, epoch, top, p.MaxEpochStep)
	}
	if ref, ok := s.reference(epoch); ok && version > ref && version-ref > p.MaxStep {
		return fmt.Errorf("%w: version %d, the post knows version %d of epoch %d (max step %d)", ErrFastForward, version, ref, epoch, p.MaxStep)
	}
	return nil
}

// Decide says what a post in state s does with the verified delta d at
// time now. It is pure: the caller persists the outcome. Rules, in order:
// wrong list, malformed versions, expiry (against the floored clock),
// fast-forward, older epoch (rollback), newer epoch or nothing held
// (snapshot), already held (drop), issued before the last head but beyond
// its version (stale branch), gap or backlog (snapshot), else apply.
func (p Policy) Decide(s ListState, d *Delta, now time.Time) (Action, error) {
	at := fmt.Sprintf("delta %q %d/%d->%d", d.List, d.Epoch, d.FromVersion, d.ToVersion)
	fail := func(a Action, format string, args ...any) (Action, error) {
		return a, fmt.Errorf(at+": "+format, args...)
	}
	if d.List != s.List {
		return fail(Reject, "%w: expected list %q", ErrWrongList, s.List)
	}
	if d.FromVersion == 0 || d.ToVersion != d.FromVersion+1 {
		return fail(Reject, "%w: versions must step by one", ErrMalformed)
	}
	if now := s.Clock(now); !now.Before(d.ValidUntil) {
		return fail(Reject, "%w: valid until %s, now is %s", ErrExpired, d.ValidUntil.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if err := p.fastForward(s, d.Epoch, d.ToVersion); err != nil {
		return fail(Reject, "%w", err)
	}
	if top := s.topEpoch(); d.Epoch < top {
		return fail(Reject, "%w: epoch %d is older than epoch %d the post knows", ErrRollback, d.Epoch, top)
	}
	if s.Version == 0 {
		return fail(NeedSnapshot, "%w", ErrNoBase)
	}
	if d.Epoch > s.Epoch {
		return fail(NeedSnapshot, "%w: post holds epoch %d", ErrNewEpoch, s.Epoch)
	}
	if d.ToVersion <= s.Version {
		if d.ToVersion == s.Version {
			return fail(Drop, "%w: post already holds version %d", ErrDuplicate, s.Version)
		}
		return fail(Drop, "%w: post holds version %d", ErrReplay, s.Version)
	}
	if d.IssuedAt.Before(s.LastHeadIssuedAt) && d.Epoch == s.HighestSeen.Epoch && d.ToVersion > s.HighestSeen.Version {
		return fail(Reject, "%w: issued %s, before the head of %s that names version %d", ErrStaleBranch,
			d.IssuedAt.Format(time.RFC3339), s.LastHeadIssuedAt.Format(time.RFC3339), s.HighestSeen.Version)
	}
	if d.FromVersion > s.Version {
		if d.ToVersion-s.Version > p.DeltaWindow {
			return fail(NeedSnapshot, "%w: post holds version %d, %d versions behind (window %d)", ErrBacklog, s.Version, d.ToVersion-s.Version, p.DeltaWindow)
		}
		return fail(NeedSnapshot, "%w: post holds version %d, versions %d..%d are missing", ErrGap, s.Version, s.Version+1, d.FromVersion)
	}
	return Apply, nil
}

// VerifyAfterApply compares the list hash the store reports after
// applying a delta (or importing a snapshot) with the one HQ signed. A
// mismatch (ErrDiverged) means the post's copy is not HQ's: raise an
// alarm, keep screening, and re-fetch the snapshot.
func VerifyAfterApply(expected, got engine.SetHash) error {
	if expected != got {
		return fmt.Errorf("verify list hash: %w: HQ signed %s, store has %s", ErrDiverged, expected, got)
	}
	return nil
}

// HeadAction is what a post does with a verified head.
type HeadAction uint8

// Head actions. For HeadCurrent, HeadFetchDeltas and HeadNeedSnapshot the
// post records the head (ListState.AfterHead).
const (
	// HeadCurrent: the post holds the head's version and hash.
	HeadCurrent HeadAction = iota + 1
	// HeadFetchDeltas: the post is Behind versions behind, within the delta
	// window; wait for or fetch the deltas.
	HeadFetchDeltas
	// HeadNeedSnapshot: fetch the snapshot the head names (new epoch,
	// nothing held, backlog, or a hash mismatch at the same version).
	HeadNeedSnapshot
	// HeadDrop: older news than the post has (replayed or duplicate
	// head, or a head behind the version deltas already brought).
	HeadDrop
	// HeadReject: wrong list, expired, rollback, fast-forward, or a
	// conflicting head. Record nothing, raise an alarm.
	HeadReject
)

func (a HeadAction) String() string { return enumName(headActionNames[:], uint8(a), "head-action") }

var headActionNames = [...]string{
	HeadCurrent: "current", HeadFetchDeltas: "fetch-deltas", HeadNeedSnapshot: "need-snapshot",
	HeadDrop: "drop", HeadReject: "reject",
}

// HeadDecision is the outcome of DecideHead.
type HeadDecision struct {
	Action HeadAction
	Behind uint64 // versions between the held one and the head's, same epoch
}

// DecideHead is DefaultPolicy.DecideHead.
func DecideHead(s ListState, h *Head, now time.Time) (HeadDecision, error) {
	return DefaultPolicy.DecideHead(s, h, now)
}

// DecideHead says what a post in state s does with the verified head h
// at time now. Rules, in order: wrong list, older or equal issue time
// (replay, duplicate or conflict), expiry, a position before the last
// head's (rollback), fast-forward; then the comparison with what the post
// holds.
func (p Policy) DecideHead(s ListState, h *Head, now time.Time) (HeadDecision, error) {
	at := fmt.Sprintf("head %q %s issued %s", h.List, h.Position(), h.IssuedAt.Format(time.RFC3339))
	fail := func(a HeadAction, format string, args ...any) (HeadDecision, error) {
		return HeadDecision{Action: a}, fmt.Errorf(at+": "+format, args...)
	}
	if h.List != s.List {
		return fail(HeadReject, "%w: expected list %q", ErrWrongList, s.List)
	}
	if !s.LastHeadIssuedAt.IsZero() {
		switch {
		case h.IssuedAt.Before(s.LastHeadIssuedAt):
			return fail(HeadDrop, "%w: the last verified head was issued %s", ErrReplay, s.LastHeadIssuedAt.Format(time.RFC3339))
		case h.IssuedAt.Equal(s.LastHeadIssuedAt):
			if h.Position() == s.HighestSeen && h.ValidUntil.Equal(s.HeadValidUntil) {
				if s.HeadDigest.IsZero() || h.Digest() == s.HeadDigest {
					return fail(HeadDrop, "%w: head already verified", ErrDuplicate)
				}
				return fail(HeadReject, "%w: another head with the same issue time and position has other content (head digest %.16s, this one %.16s, list hash %s)",
					ErrConflict, s.HeadDigest, h.Digest(), h.Hash)
			}
			return fail(HeadReject, "%w: another head with the same issue time names %s", ErrConflict, s.HighestSeen)
		}
	}
	if now := s.Clock(now); !now.Before(h.ValidUntil) {
		return fail(HeadReject, "%w: valid until %s, now is %s", ErrExpired, h.ValidUntil.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	if h.Position().Compare(s.HighestSeen) < 0 {
		return fail(HeadReject, "%w: an earlier head named %s", ErrRollback, s.HighestSeen)
	}
	if err := p.fastForward(s, h.Epoch, h.Version); err != nil {
		return fail(HeadReject, "%w", err)
	}
	switch {
	case s.Version == 0:
		return fail(HeadNeedSnapshot, "%w", ErrNoBase)
	case h.Epoch > s.Epoch:
		return fail(HeadNeedSnapshot, "%w: post holds epoch %d", ErrNewEpoch, s.Epoch)
	case h.Epoch < s.Epoch:
		return fail(HeadReject, "%w: post holds epoch %d from a signed snapshot", ErrRollback, s.Epoch)
	case h.Version == s.Version:
		if h.Hash != s.Hash {
			return fail(HeadNeedSnapshot, "%w: at version %d HQ has %s, post has %s", ErrDiverged, s.Version, h.Hash, s.Hash)
		}
		return HeadDecision{Action: HeadCurrent}, nil
	case h.Version < s.Version:
		return fail(HeadDrop, "%w: post already holds version %d", ErrReplay, s.Version)
	}
	behind := h.Version - s.Version
	if behind > p.DeltaWindow {
		return HeadDecision{Action: HeadNeedSnapshot, Behind: behind},
			fmt.Errorf("%s: %w: post holds version %d, %d behind (window %d)", at, ErrBacklog, s.Version, behind, p.DeltaWindow)
	}
	return HeadDecision{Action: HeadFetchDeltas, Behind: behind}, nil
}
