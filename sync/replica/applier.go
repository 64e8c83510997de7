package replica

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/option"
	"github.com/watchpost/watchpost/sync/protocol"
)

// Defaults for Config.
const (
	DefaultReorderWindow = 64
	DefaultGapTimeout    = 2 * time.Minute
	// SnapshotFormat is ListInfo.Format of a list installed from an HQ
	// snapshot.
	SnapshotFormat = "watchpost-snapshot-v1"
)

// Config configures an Applier.
type Config struct {
	// Keys verifies every message; required.
	Keys *protocol.KeySet
	// Lists are the names lists this post replicates. A validly signed
	// message for any other list is rejected (protocol.ErrWrongList).
	Lists []string
	// Policy bounds the decision rules; the zero value means
	// protocol.DefaultPolicy.
	Policy protocol.Policy
	// Clock is the post's clock; nil means clock.System. All decisions
	// and Status use it, so tests are deterministic.
	Clock clock.Clock
	// Logger receives what is discarded from the reorder buffer; nil
	// discards. Errors are returned, not logged.
	Logger *slog.Logger
	// ReorderWindow bounds the deltas held per list while a gap is open or
	// a snapshot is awaited (DefaultReorderWindow when 0).
	ReorderWindow int
	// GapTimeout is how long a gap may stay open, with deltas buffered
	// behind it, before a delta's outcome turns from Buffered into
	// NeedSnapshot (DefaultGapTimeout when 0).
	GapTimeout time.Duration
	// Action is ListInfo.Action of a list first created from a snapshot
	// (an existing list keeps its own).
	Action string
}

// Action is what happened to a message.
type Action uint8

// Actions. The zero value, Failed, means the applier could not decide or
// finish (a store error, a cancelled context); the message changed nothing
// and may be offered again.
const (
	Failed Action = iota
	// Applied: the delta or snapshot is now part of the held list.
	Applied
	// Buffered: a delta ahead of the held version is kept until the gap
	// before it fills.
	Buffered
	// Dropped: already held or older (duplicate, replay); nothing changes.
	Dropped
	// Rejected: unsigned, wrongly signed, corrupt, expired, rolled back,
	// fast-forwarded or for another list; nothing changes; alarm.
	Rejected
	// NeedSnapshot: the held version cannot be brought forward with
	// deltas; fetch the snapshot the last head names.
	NeedSnapshot
	// Current: a head names the version and hash the post holds.
	Current
	// FetchDeltas: a head is ahead of the held version within HQ's delta
	// window; fetch versions FromVersion+1 .. ToVersion.
	FetchDeltas
	// Conflict: a validly signed head with the same issue time as the last
	// one accepted but other content (protocol.ErrConflict): HQ signed two
	// different statements for one position. Neither is applied on top
	// of the other: the post keeps what it held, records the conflict
	// (ListStatus.Conflict) and raises the alarm until a head names a
	// later position.
	Conflict
)

func (a Action) String() string {
	switch a {
	case Failed:
		return "failed"
	case Applied:
		return "applied"
	case Buffered:
		return "buffered"
	case Dropped:
		return "dropped"
	case Rejected:
		return "rejected"
	case NeedSnapshot:
		return "need-snapshot"
	case Current:
		return "current"
	case FetchDeltas:
		return "fetch-deltas"
	case Conflict:
		return "conflict"
	}
	return fmt.Sprintf("action-%d", uint8(a))
}

// Outcome says what the applier did with one message.
type Outcome struct {
	Action Action
	// List is the message's list ("" when the message could not be
	// verified far enough to know it).
	List string
	// FromVersion and ToVersion are HQ versions: a delta's own; for a
	// head, the held version and the head's; for a snapshot, the held
	// version before and the snapshot's. For Applied, ToVersion is the
	// version held after the call, beyond the message's own when buffered
	// deltas followed it.
	FromVersion, ToVersion uint64
	// Reason says why the action was not a plain Applied or Current; it
	// matches the protocol sentinels (protocol.ErrGap, ErrDiverged, …).
	Reason error
	// Stale is set by HandleHead when, after the head, the list has no
	// unexpired verified head (ListState.Fresh): WATCHLIST STALE.
	Stale bool
}

// Applier applies HQ's signed updates to a Store. Its methods are safe for
// concurrent use; operations on one list are serialised.
type Applier struct {
	store Store
	cfg   Config
	log   *slog.Logger
	lists map[string]*listRT

	mu    sync.Mutex
	floor time.Time // the newest issued-at of any verified head: clock floor for signatures
}

// listRT is the in-memory part of one list.
type listRT struct {
	mu       sync.Mutex
	buf      map[protocol.Position]*protocol.Delta // by (epoch, from version)
	gapSince time.Time                             // when the current gap was first seen; zero without one
	head     *protocol.Head                        // last head accepted by this process
	conflict protocol.HeadConflict                 // last conflict, for a list the store does not hold
}

// New returns an Applier over store. It reads every list's state once to
// check it and to learn the clock floor.
func New(store Store, cfg Config) (*Applier, error) {
	if store == nil {
		return nil, errors.New("replica: no store")
	}
	if cfg.Keys == nil {
		return nil, errors.New("replica: Config.Keys is required")
	}
	if len(cfg.Lists) == 0 {
		return nil, errors.New("replica: Config.Lists is empty")
	}
	if cfg.Policy == (protocol.Policy{}) {
		cfg.Policy = protocol.DefaultPolicy
	}
	cfg.Clock = clock.OrSystem(cfg.Clock)
	cfg.ReorderWindow = option.Positive(cfg.ReorderWindow, DefaultReorderWindow)
	cfg.GapTimeout = option.Positive(cfg.GapTimeout, DefaultGapTimeout)
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := &Applier{store: store, cfg: cfg, log: log.With(logkey.Component, "replica"), lists: map[string]*listRT{}}
	for _, name := range cfg.Lists {
		if err := protocol.ValidListName(name); err != nil {
			return nil, fmt.Errorf("replica: list %q: %w", name, err)
		}
		if a.lists[name] != nil {
			return nil, fmt.Errorf("replica: list %q named twice", name)
		}
		rt := &listRT{buf: map[protocol.Position]*protocol.Delta{}}
		a.lists[name] = rt
		v, err := a.load(name, rt)
		if err != nil {
			return nil, fmt.Errorf("replica: %w", err)
		}
		a.raiseFloor(v.state.LastHeadIssuedAt)
	}
	return a, nil
}

// Lists returns the replicated lists, sorted.
func (a *Applier) Lists() []string {
	out := make([]string, 0, len(a.lists))
	for n := range a.lists {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func (a *Applier) raiseFloor(t time.Time) {
	a.mu.Lock()
	if t.After(a.floor) {
		a.floor = t
	}
	a.mu.Unlock()
}

// floored returns now raised to the newest signed time the post has
// verified, for checking signing keys' windows before the list (and its
// own floor) is known.
func (a *Applier) floored(now time.Time) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	if now.Before(a.floor) {
		return a.floor
	}
	return now
}

// load reads a list and its state. Called with rt.mu held (or from New).
func (a *Applier) load(name string, rt *listRT) (view, error) {
	v := view{state: protocol.ListState{List: name}}
	info, err := a.store.List(name)
	switch {
	case errors.Is(err, ErrNoList):
	case err != nil:
		return view{}, fmt.Errorf("list %q: %w", name, err)
	default:
		actual, err := protocol.ParseSetHash(info.Hash)
		if err != nil {
			return view{}, fmt.Errorf("list %q at store version %d: %w", name, info.Version, err)
		}
		st, err := decodeState(name, info.Replica)
		if err != nil {
			return view{}, err
		}
		v = view{info: info, exists: true, state: st, actual: actual}
	}
	// A head accepted by this process but not persisted (the store has no
	// list yet, or a local import replaced the list and its state) still
	// counts: it is a verified, signed statement.
	if h := rt.head; h != nil && h.IssuedAt.After(v.state.LastHeadIssuedAt) && h.Position().Compare(v.state.HighestSeen) >= 0 {
		v.state = v.state.AfterHead(h)
	}
	if c := rt.conflict; !c.IsZero() && v.state.Conflict.IsZero() && c.At.Compare(v.state.HighestSeen) >= 0 {
		v.state.Conflict = c
	}
	return v, nil
}

// runtime returns the list's in-memory part, or a rejection for a list
// this post does not replicate.
func (a *Applier) runtime(list, what string) (*listRT, error) {
	rt := a.lists[list]
	if rt == nil {
		return nil, fmt.Errorf("%s for list %q: %w: this post replicates %v", what, list, protocol.ErrWrongList, a.Lists())
	}
	return rt, nil
}

// HandleDelta verifies a delta envelope and applies, buffers, drops or
// rejects it. See the package doc for the error convention.
func (a *Applier) HandleDelta(ctx context.Context, payload []byte) (Outcome, error) {
	now := a.cfg.Clock.Now()
	d, _, err := a.cfg.Keys.OpenDelta(payload, a.floored(now))
	if err != nil {
		err = fmt.Errorf("delta of %d bytes: %w", len(payload), err)
		return Outcome{Action: Rejected, Reason: err}, err
	}
	out := Outcome{List: d.List, FromVersion: d.FromVersion, ToVersion: d.ToVersion}
	rt, err := a.runtime(d.List, fmt.Sprintf("delta %d/%d->%d", d.Epoch, d.FromVersion, d.ToVersion))
	if err != nil {
		out.Action, out.Reason = Rejected, err
		return out, err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	v, err := a.load(d.List, rt)
	if err != nil {
		return a.failed(out, err)
	}
	// A delta kept by an earlier transient failure goes first.
	if v, err = a.drain(ctx, rt, v, now); err != nil {
		a.admit(rt, v, d)
		out.Action, out.Reason = Failed, err
		if errors.Is(err, protocol.ErrDiverged) {
			out.Action = NeedSnapshot
		}
		return out, err
	}
	action, why := a.cfg.Policy.Decide(v.decision(), d, now)
	out.Reason = why
	switch action {
	case protocol.Reject:
		out.Action = Rejected
		return out, why
	case protocol.Drop:
		out.Action = Dropped
		return out, nil
	case protocol.NeedSnapshot:
		return a.hold(rt, v, d, out, now), nil
	case protocol.Apply:
	default:
		return a.failed(out, fmt.Errorf("delta %q %d->%d: unknown decision %s", d.List, d.FromVersion, d.ToVersion, action))
	}
	if v.diverged() {
		a.admit(rt, v, d)
		out.Action = NeedSnapshot
		out.Reason = fmt.Errorf("delta %q %d/%d->%d: %w: held version %d has store hash %s, HQ signed %s; not applied, buffered until a snapshot",
			d.List, d.Epoch, d.FromVersion, d.ToVersion, protocol.ErrDiverged, v.state.Version, v.actual, v.state.Hash)
		return out, out.Reason
	}
	nv, err := a.apply(ctx, rt, v, d)
	if err != nil {
		return a.applyFailed(rt, v, nv, d, out, err)
	}
	out.Action, out.Reason = Applied, nil
	nv, err = a.drain(ctx, rt, nv, now)
	return finish(out, nv, err)
}

// finish reports the result of draining the buffer after a change: a
// divergence turns the outcome into NeedSnapshot; another error (the
// store failed; the deltas stay buffered) is returned with the outcome.
func finish(out Outcome, v view, err error) (Outcome, error) {
	if out.Action == Applied {
		out.ToVersion = v.state.Version
	}
	if err == nil {
		return out, nil
	}
	if errors.Is(err, protocol.ErrDiverged) {
		out.Action = NeedSnapshot
		out.ToVersion = v.state.Version
	}
	out.Reason = err
	return out, err
}

func (a *Applier) failed(out Outcome, err error) (Outcome, error) {
	out.Action, out.Reason = Failed, err
	return out, err
}

// apply applies d on top of v with UpdateEntries, storing the new state in
// the same transaction, then checks the resulting hash. On a hash
// mismatch the new version is committed (see the package doc) and the
// returned view is the new one with an error matching
// protocol.ErrDiverged; on any other error nothing changed and the view
// is v.
func (a *Applier) apply(ctx context.Context, rt *listRT, v view, d *protocol.Delta) (view, error) {
	next := v.state.AfterDelta(d)
	var info engine.ListInfo
	var err error
	if d.Documents() {
		info, err = a.store.UpdateDocuments(ctx, d.List, v.info.Version, d.DocUpserts, d.DocDeletes, encodeState(next))
	} else {
		info, err = a.store.UpdateEntries(ctx, d.List, v.info.Version, d.Upserts, d.Deletes, encodeState(next))
	}
	if err != nil {
		err = fmt.Errorf("apply delta %q %d/%d->%d at store version %d: %w", d.List, d.Epoch, d.FromVersion, d.ToVersion, v.info.Version, err)
		if !transient(err) {
			// The store refused a delta that the protocol accepted and
			// whose base hash matched HQ's (a delete of an id the list
			// lacks, a disk error): deltas alone cannot get past it.
			err = fmt.Errorf("%w: the store refused it: %w", protocol.ErrDiverged, err)
		}
		return v, err
	}
	actual, err := protocol.ParseSetHash(info.Hash)
	if err != nil {
		return v, fmt.Errorf("apply delta %q %d->%d: %w", d.List, d.FromVersion, d.ToVersion, err)
	}
	nv := view{info: info, exists: true, state: next, actual: actual}
	if err := protocol.VerifyAfterApply(d.HashAfter, actual); err != nil {
		return nv, fmt.Errorf("delta %q %d/%d->%d applied at store version %d: %w; version %d is marked divergent, a snapshot is needed",
			d.List, d.Epoch, d.FromVersion, d.ToVersion, info.Version, err, d.ToVersion)
	}
	rt.progress(nv, a.cfg.Clock.Now())
	return nv, nil
}

// transient reports whether a store error says nothing about the delta:
// the context ended, the list changed under the applier, or the disk is
// short of the store's reserve (the delta waits in the buffer for space).
func transient(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, ErrVersionMismatch) || errors.Is(err, ErrNoList) || errors.Is(err, ErrDiskLow)
}

// applyFailed reports a failed apply: a divergence (committed, or refused
// by the store) needs a snapshot; a transient failure committed nothing and
// keeps the delta buffered for a retry with the next message.
func (a *Applier) applyFailed(rt *listRT, v, nv view, d *protocol.Delta, out Outcome, err error) (Outcome, error) {
	if errors.Is(err, protocol.ErrDiverged) {
		out.ToVersion = nv.state.Version
		out.Action, out.Reason = NeedSnapshot, err
		return out, err
	}
	a.admit(rt, v, d)
	return a.failed(out, err)
}

// hold handles a delta Decide cannot apply yet (gap, backlog, no base, new
// epoch): it is buffered if the window holds it.
func (a *Applier) hold(rt *listRT, v view, d *protocol.Delta, out Outcome, now time.Time) Outcome {
	buffered, dup := a.admit(rt, v, d)
	switch {
	case dup:
		out.Action = Dropped
		out.Reason = fmt.Errorf("delta %q %d/%d->%d: %w: already buffered", d.List, d.Epoch, d.FromVersion, d.ToVersion, protocol.ErrDuplicate)
		return out
	case !errors.Is(out.Reason, protocol.ErrGap) || !v.usable():
		out.Action = NeedSnapshot
		return out
	case !buffered:
		out.Action = NeedSnapshot
		out.Reason = fmt.Errorf("%w; beyond the reorder window of %d versions", out.Reason, a.cfg.ReorderWindow)
		return out
	}
	if rt.gapSince.IsZero() {
		rt.gapSince = now
	}
	if open := now.Sub(rt.gapSince); open >= a.cfg.GapTimeout {
		out.Action = NeedSnapshot
		out.Reason = fmt.Errorf("%w; gap open since %s (%s, timeout %s)", out.Reason, rt.gapSince.Format(time.RFC3339), open, a.cfg.GapTimeout)
		return out
	}
	out.Action = Buffered
	return out
}

// progress records that the held version moved.
func (rt *listRT) progress(v view, now time.Time) {
	rt.gapSince = time.Time{}
	for p := range rt.buf {
		if p.Epoch > v.state.Epoch || (p.Epoch == v.state.Epoch && p.Version > v.state.Version) {
			rt.gapSince = now // deltas still wait behind a gap: restart its timer
			return
		}
	}
}

// bufferBase returns the epoch whose deltas are worth keeping and the
// lowest from-version worth keeping.
func (rt *listRT) bufferBase(v view) (epoch, base uint64) {
	epoch = max(v.state.Epoch, v.state.HighestSeen.Epoch)
	if v.usable() && v.state.Epoch == epoch {
		return epoch, v.state.Version
	}
	if h := rt.head; h != nil && h.Epoch == epoch && h.SnapshotVersion > 0 {
		return epoch, h.SnapshotVersion
	}
	return epoch, 0
}

// admit buffers d if the window holds it. dup is set when the same delta
// is already buffered.
func (a *Applier) admit(rt *listRT, v view, d *protocol.Delta) (buffered, dup bool) {
	epoch, base := rt.bufferBase(v)
	if epoch == 0 { // nothing known: keep the newest epoch seen
		for p := range rt.buf {
			epoch = max(epoch, p.Epoch)
		}
		epoch = max(epoch, d.Epoch)
	}
	for p := range rt.buf { // forget what can no longer be used
		if p.Epoch != epoch || p.Version < base {
			delete(rt.buf, p)
		}
	}
	if d.Epoch != epoch || d.FromVersion < base {
		return false, false
	}
	key := protocol.Position{Epoch: d.Epoch, Version: d.FromVersion}
	if old, ok := rt.buf[key]; ok {
		if old.HashAfter == d.HashAfter && old.IssuedAt.Equal(d.IssuedAt) {
			return true, true
		}
		// Two signed deltas from the same version: keep the one HQ signed
		// last (the other belongs to a log HQ abandoned; Decide's stale
		// branch rule catches it once a head names the version).
		if d.IssuedAt.After(old.IssuedAt) {
			rt.buf[key] = d
		}
		return true, false
	}
	w := uint64(a.cfg.ReorderWindow)
	if v.usable() && v.state.Epoch == epoch {
		if d.ToVersion-base > w {
			return false, false
		}
		rt.buf[key] = d
		return true, false
	}
	// Awaiting a snapshot: keep the w lowest deltas at or above base.
	rt.buf[key] = d
	if len(rt.buf) > a.cfg.ReorderWindow {
		var top protocol.Position
		for p := range rt.buf {
			if p.Version > top.Version {
				top = p
			}
		}
		delete(rt.buf, top)
		if top == key {
			return false, false
		}
	}
	return true, false
}

// drain applies buffered deltas that continue the held version, in order,
// and discards those that can no longer apply. It returns the final view;
// an error means the list diverged (or the store failed) on the way.
func (a *Applier) drain(ctx context.Context, rt *listRT, v view, now time.Time) (view, error) {
	for v.usable() {
		for p, d := range rt.buf {
			if p.Epoch < v.state.Epoch || (p.Epoch == v.state.Epoch && d.ToVersion <= v.state.Version) {
				delete(rt.buf, p)
			}
		}
		key := protocol.Position{Epoch: v.state.Epoch, Version: v.state.Version}
		d := rt.buf[key]
		if d == nil {
			break
		}
		delete(rt.buf, key)
		action, why := a.cfg.Policy.Decide(v.decision(), d, now)
		if action != protocol.Apply {
			// Expired while it waited, or contradicted by a newer head:
			// HQ's retained head and the delta fetch bring the real one.
			a.log.Info("Buffered delta discarded", logkey.List, d.List, logkey.From, d.FromVersion, logkey.To, d.ToVersion, logkey.Reason, why)
			continue
		}
		nv, err := a.apply(ctx, rt, v, d)
		if err != nil {
			if !errors.Is(err, protocol.ErrDiverged) {
				rt.buf[key] = d // nothing committed; retry later
			}
			return nv, err
		}
		v = nv
	}
	if len(rt.buf) == 0 {
		rt.gapSince = time.Time{}
	}
	return v, nil
}
