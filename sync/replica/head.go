package replica

import (
	"context"
	"errors"
	"fmt"

	"github.com/watchpost/watchpost/sync/protocol"
)

// HandleHead verifies a head envelope, decides with protocol.DecideHead
// and records an accepted head (Current, FetchDeltas, NeedSnapshot) with
// SetReplica at the held store version, so freeze detection
// (LastHeadIssuedAt, HeadValidUntil) survives a restart. A list the store
// does not hold keeps the head in memory. Outcome.Stale reports whether
// the list is stale after the head; an expired head is Rejected and
// leaves it stale.
func (a *Applier) HandleHead(ctx context.Context, payload []byte) (Outcome, error) {
	now := a.cfg.Clock.Now()
	h, _, err := a.cfg.Keys.OpenHead(payload, a.floored(now))
	if err != nil {
		err = fmt.Errorf("head of %d bytes: %w", len(payload), err)
		return Outcome{Action: Rejected, Reason: err}, err
	}
	out := Outcome{List: h.List, ToVersion: h.Version}
	rt, err := a.runtime(h.List, fmt.Sprintf("head %s", h.Position()))
	if err != nil {
		out.Action, out.Reason = Rejected, err
		return out, err
	}
	rt.mu.Lock()
	defer rt.mu.Unlock()
	v, err := a.load(h.List, rt)
	if err != nil {
		return a.failed(out, err)
	}
	out.FromVersion = v.state.Version
	stale := func(o Outcome, s protocol.ListState) Outcome {
		o.Stale = s.Fresh(now) != nil
		return o
	}
	dec, why := a.cfg.Policy.DecideHead(v.decision(), h, now)
	out.Reason = why
	switch dec.Action {
	case protocol.HeadReject:
		out.Action = Rejected
		if errors.Is(why, protocol.ErrConflict) {
			return a.conflict(ctx, rt, v, h, stale(out, v.state), why)
		}
		return stale(out, v.state), why
	case protocol.HeadDrop:
		out.Action = Dropped
		return stale(out, v.state), nil
	case protocol.HeadCurrent:
		out.Action = Current
	case protocol.HeadFetchDeltas:
		out.Action = FetchDeltas
	case protocol.HeadNeedSnapshot:
		out.Action = NeedSnapshot
	default:
		return a.failed(out, fmt.Errorf("head %q %s: unknown decision %s", h.List, h.Position(), dec.Action))
	}

	next := v.state.AfterHead(h)
	switch {
	case out.Action == Current:
		// The store holds the head's hash at the head's version. If an
		// earlier delta's hash_after said otherwise, the newer signed
		// statement (this head) is the one the store matches.
		next.Hash = h.Hash
	case out.Action == FetchDeltas && v.diverged():
		out.Action = NeedSnapshot
		out.Reason = fmt.Errorf("head %q %s: %w: held version %d has store hash %s, HQ signed %s",
			h.List, h.Position(), protocol.ErrDiverged, v.state.Version, v.actual, v.state.Hash)
	case out.Action == NeedSnapshot && v.exists && v.actual == h.Hash &&
		(errors.Is(why, protocol.ErrNoBase) || errors.Is(why, protocol.ErrNewEpoch)):
		// A local list (or the previous epoch's) already holds exactly the
		// head's content: adopt the head's position instead of
		// downloading it, once the stored rows are proven to give the hash.
		if err := a.store.Verify(ctx, h.List); err != nil {
			out.Reason = fmt.Errorf("%w; the local list has the head's hash but fails verification: %w", why, err)
			break
		}
		next.Epoch, next.Version, next.Hash = h.Epoch, h.Version, h.Hash
		out.Action, out.Reason = Current, nil
	}

	if v.exists {
		if err := a.store.SetReplica(ctx, h.List, v.info.Version, encodeState(next)); err != nil {
			return a.failed(out, fmt.Errorf("head %q %s: record at store version %d: %w", h.List, h.Position(), v.info.Version, err))
		}
		v.state = next
	} else {
		v.state = next // nothing to persist it with until a snapshot creates the list
	}
	rt.head = h
	a.raiseFloor(h.IssuedAt)
	if out.Action == Current && out.FromVersion != v.state.Version {
		rt.progress(v, now) // adopted
	}
	nv, err := a.drain(ctx, rt, v, now)
	if err != nil {
		out, err = finish(out, nv, err)
		return stale(out, nv.state), err
	}
	if out.Action == Current && nv.state.Version != h.Version {
		out.Action = Applied // buffered deltas took it beyond the head
		out.ToVersion = nv.state.Version
	}
	if out.Action == FetchDeltas && nv.state.Version >= h.Version {
		out.Action, out.Reason = Current, nil // buffered deltas filled the gap
	}
	return stale(out, nv.state), out.errIfAlarm()
}

// errIfAlarm returns Reason when it is a divergence (HandleHead's
// NeedSnapshot for a hash mismatch at the held version).
func (o Outcome) errIfAlarm() error {
	if o.Action == NeedSnapshot && errors.Is(o.Reason, protocol.ErrDiverged) {
		return o.Reason
	}
	return nil
}

// conflict records that h, validly signed, conflicts with the head the
// list last accepted (same issue time, other content), at the held store
// version; the list's data and position stay as they are.
func (a *Applier) conflict(ctx context.Context, rt *listRT, v view, h *protocol.Head, out Outcome, why error) (Outcome, error) {
	next := v.state.WithConflict(h)
	out.Action, out.Reason = Conflict, why
	if !v.exists {
		rt.conflict = next.Conflict
		return out, why
	}
	if err := a.store.SetReplica(ctx, h.List, v.info.Version, encodeState(next)); err != nil {
		// Not recorded: the retained head brings the conflict back.
		rt.conflict = next.Conflict
		return out, fmt.Errorf("%w; recording it at store version %d failed: %w", why, v.info.Version, err)
	}
	return out, why
}
