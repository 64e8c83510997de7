package replica

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/sync/protocol"
)

// stateFormat is the version of stateRecord. A record of another format
// is refused rather than guessed at; a later format gets a
// migration here.
const stateFormat = 1

// stateRecord is protocol.ListState as stored in ListInfo.Replica. Every
// field comes from a signed message; none from the post's clock. The list
// name is the ListInfo's own.
type stateRecord struct {
	Format  int    `json:"format"`
	Epoch   uint64 `json:"epoch,omitempty"`
	Version uint64 `json:"version,omitempty"`
	// Hash is the hash HQ signed for Version (a delta's hash_after or a
	// snapshot's hash), not the store's: the two differing is the durable
	// mark of a divergence (see the package doc).
	Hash             string            `json:"hash,omitempty"`
	HighestSeen      protocol.Position `json:"highest_seen"`
	LastHeadIssuedAt time.Time         `json:"last_head_issued_at,omitzero"`
	HeadValidUntil   time.Time         `json:"head_valid_until,omitzero"`
	// HeadDigest is the last verified head's protocol.HeadDigest (absent
	// from records written before digests were kept).
	HeadDigest string          `json:"head_digest,omitempty"`
	Conflict   *conflictRecord `json:"conflict,omitempty"`
}

// conflictRecord is protocol.HeadConflict as stored.
type conflictRecord struct {
	At          protocol.Position `json:"at"`
	IssuedAt    time.Time         `json:"issued_at"`
	Kept        string            `json:"kept,omitempty"`
	Refused     string            `json:"refused"`
	RefusedHash string            `json:"refused_hash"`
}

func encodeState(s protocol.ListState) json.RawMessage {
	r := stateRecord{
		Format:           stateFormat,
		Epoch:            s.Epoch,
		Version:          s.Version,
		HighestSeen:      s.HighestSeen,
		LastHeadIssuedAt: s.LastHeadIssuedAt.UTC(),
		HeadValidUntil:   s.HeadValidUntil.UTC(),
	}
	if s.Version > 0 {
		r.Hash = s.Hash.String()
	}
	if !s.HeadDigest.IsZero() {
		r.HeadDigest = s.HeadDigest.String()
	}
	if c := s.Conflict; !c.IsZero() {
		r.Conflict = &conflictRecord{At: c.At, IssuedAt: c.IssuedAt.UTC(), Refused: c.Refused.String(), RefusedHash: c.RefusedHash.String()}
		if !c.Kept.IsZero() {
			r.Conflict.Kept = c.Kept.String()
		}
	}
	b, err := json.Marshal(r)
	if err != nil { // only plain fields: cannot happen
		panic(fmt.Sprintf("replica: encode state of list %q: %v", s.List, err))
	}
	return b
}

// decodeState reads the replication state of list; an empty record is
// the state of a list that was never synced.
func decodeState(list string, raw json.RawMessage) (protocol.ListState, error) {
	s := protocol.ListState{List: list}
	if len(raw) == 0 || string(raw) == "null" {
		return s, nil
	}
	fail := func(err error) (protocol.ListState, error) {
		return protocol.ListState{}, fmt.Errorf("list %q: read replication state %s: %w", list, raw, err)
	}
	var r stateRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return fail(err)
	}
	if r.Format != stateFormat {
		return fail(fmt.Errorf("format %d, this program reads format %d", r.Format, stateFormat))
	}
	if (r.Epoch == 0) != (r.Version == 0) {
		return fail(fmt.Errorf("epoch %d with version %d", r.Epoch, r.Version))
	}
	if r.Version > 0 {
		h, err := protocol.ParseSetHash(r.Hash)
		if err != nil {
			return fail(err)
		}
		s.Hash = h
	} else if r.Hash != "" {
		return fail(fmt.Errorf("hash without a version"))
	}
	s.Epoch, s.Version = r.Epoch, r.Version
	s.HighestSeen = r.HighestSeen
	s.LastHeadIssuedAt, s.HeadValidUntil = r.LastHeadIssuedAt, r.HeadValidUntil
	var err error
	if r.HeadDigest != "" {
		if s.HeadDigest, err = protocol.ParseHeadDigest(r.HeadDigest); err != nil {
			return fail(err)
		}
	}
	if c := r.Conflict; c != nil {
		if s.Conflict, err = c.decode(); err != nil {
			return fail(fmt.Errorf("conflict: %w", err))
		}
	}
	return s, nil
}

// view is one list as loaded at the start of an operation.
type view struct {
	info   engine.ListInfo
	exists bool               // the store holds the list
	state  protocol.ListState // persisted (or, without a stored list, in-memory head bookkeeping)
	actual engine.SetHash     // the store's hash of the list (zero without it)
}

// diverged reports whether the store's hash differs from the one HQ
// signed for the held version.
func (v view) diverged() bool { return v.state.Version > 0 && v.actual != v.state.Hash }

// usable reports whether deltas can be applied on top of what is held.
func (v view) usable() bool { return v.state.Version > 0 && !v.diverged() }

// decision is the state the protocol rules see: the held position with
// the store's actual hash, so that a head at the held version with HQ's
// hash asks for a snapshot when the store diverged (DecideHead rule 9').
func (v view) decision() protocol.ListState {
	s := v.state
	if s.Version > 0 {
		s.Hash = v.actual
	}
	return s
}

func (c *conflictRecord) decode() (protocol.HeadConflict, error) {
	hc := protocol.HeadConflict{At: c.At, IssuedAt: c.IssuedAt}
	if hc.IsZero() {
		return hc, fmt.Errorf("no position")
	}
	var err error
	if c.Kept != "" {
		if hc.Kept, err = protocol.ParseHeadDigest(c.Kept); err != nil {
			return hc, err
		}
	}
	if hc.Refused, err = protocol.ParseHeadDigest(c.Refused); err != nil {
		return hc, err
	}
	if hc.RefusedHash, err = protocol.ParseSetHash(c.RefusedHash); err != nil {
		return hc, err
	}
	return hc, nil
}
