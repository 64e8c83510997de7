package replica

import (
	"time"

	"github.com/watchpost/watchpost/sync/protocol"
)

// ListStatus is what the post knows about one replicated list: what its
// status record and readiness check report.
type ListStatus struct {
	List string
	// Present: the store holds the list. Replicated: it holds a version
	// from HQ (false for a list never synced or imported locally).
	Present, Replicated bool
	StoreVersion        uint64 // the store's version counter (not HQ's)
	Epoch, Version      uint64 // HQ position held (0/0 when not replicated)
	Hash                string // the store's hash of the list
	Entries             int
	// Diverged: the store's hash is not the one HQ signed for Version; a
	// snapshot is needed (screening continues on the held list).
	Diverged bool
	// HighestSeen, HeadIssuedAt and HeadValidUntil come from the last
	// verified head; HeadAge is the time since it was issued (0 when none).
	HighestSeen    protocol.Position
	HeadIssuedAt   time.Time
	HeadValidUntil time.Time
	HeadAge        time.Duration
	// Stale is nil when the list has an unexpired verified head; else it
	// says why (protocol.ErrNoBase: no head yet; ErrExpired: frozen feed):
	// show WATCHLIST STALE and keep screening.
	Stale error
	// Pending deltas are buffered; GapSince is when the gap in front of
	// them opened (zero without one).
	Pending  int
	GapSince time.Time
	// Behind is how many versions the last head is ahead of the held
	// version in the same epoch.
	Behind uint64
	// Conflict is the last conflict between two signed heads (zero when
	// none): HQ signed two different heads for one position; the post
	// keeps the first until HQ publishes a new edition.
	Conflict protocol.HeadConflict
}

// Status returns the status of a replicated list.
func (a *Applier) Status(name string) (ListStatus, error) {
	rt, err := a.runtime(name, "status")
	if err != nil {
		return ListStatus{}, err
	}
	now := a.cfg.Clock.Now()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	v, err := a.load(name, rt)
	if err != nil {
		return ListStatus{}, err
	}
	s := v.state
	st := ListStatus{
		List: name, Present: v.exists, Replicated: s.Version > 0,
		StoreVersion: v.info.Version, Epoch: s.Epoch, Version: s.Version,
		Hash: v.info.Hash, Entries: v.info.Entries, Diverged: v.diverged(),
		HighestSeen: s.HighestSeen, HeadIssuedAt: s.LastHeadIssuedAt, HeadValidUntil: s.HeadValidUntil,
		Stale: s.Fresh(now), Pending: len(rt.buf), GapSince: rt.gapSince, Conflict: s.Conflict,
	}
	if !s.LastHeadIssuedAt.IsZero() && now.After(s.LastHeadIssuedAt) {
		st.HeadAge = now.Sub(s.LastHeadIssuedAt)
	}
	if s.HighestSeen.Epoch == s.Epoch && s.HighestSeen.Version > s.Version {
		st.Behind = s.HighestSeen.Version - s.Version
	}
	return st, nil
}

// Statuses returns the status of every replicated list, sorted by name.
func (a *Applier) Statuses() ([]ListStatus, error) {
	var out []ListStatus
	for _, n := range a.Lists() {
		st, err := a.Status(n)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// LastHead returns the newest head of list that this process verified and
// accepted (what InstallSnapshot needs after HandleHead said
// NeedSnapshot: the snapshot's URL, size and SHA-256). Heads are not kept
// across restarts; HQ's retained head is delivered again on connect.
func (a *Applier) LastHead(list string) (protocol.Head, bool) {
	rt := a.lists[list]
	if rt == nil {
		return protocol.Head{}, false
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.head == nil {
		return protocol.Head{}, false
	}
	return *rt.head, true
}
