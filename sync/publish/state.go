package publish

import (
	"encoding/json"
	"fmt"
	"time"
)

// stateFormat is the version of state. Another format is refused rather
// than guessed at; a later format gets a migration here.
const stateFormat = 1

// stateRole tells HQ's record from a post's replication state.
const stateRole = "hq"

// state is HQ's bookkeeping of one list, stored as ListInfo.Replica of
// the version it belongs to (see the package doc).
type state struct {
	Format int    `json:"format"`
	Role   string `json:"role"`
	Epoch  uint64 `json:"epoch"`
	// Published is the newest version whose delta (if any) and head were
	// acknowledged by the broker. Below the store's version means an
	// announcement is pending.
	Published uint64 `json:"published"`
	// HeadIssuedAt is the issued-at of the newest head signed for the
	// list; the next one is at least a second later.
	HeadIssuedAt time.Time    `json:"head_issued_at,omitzero"`
	Snapshot     *snapshotRef `json:"snapshot,omitempty"`
	// Source and EditionFormat describe the edition of the current version.
	Source        string `json:"source,omitempty"`
	EditionFormat string `json:"edition_format,omitempty"`
}

// snapshotRef is the snapshot file of one version.
type snapshotRef struct {
	Version uint64 `json:"version"`
	File    string `json:"file"`
	SHA256  string `json:"sha256"`
	Size    uint64 `json:"size"`
}

func (s state) encode() json.RawMessage {
	s.Format, s.Role = stateFormat, stateRole
	s.HeadIssuedAt = s.HeadIssuedAt.UTC()
	b, err := json.Marshal(s)
	if err != nil { // plain fields only: cannot happen
		panic(fmt.Sprintf("publish: encode state: %v", err))
	}
	return b
}

// decodeState reads HQ's record of list. A list without one was not
// created by HQ's publisher (a post's store, a local import): refused.
func decodeState(list string, raw json.RawMessage) (state, error) {
	var s state
	if len(raw) == 0 || string(raw) == "null" {
		return s, fmt.Errorf("list %q has no HQ publishing state: it was not created by watchpost-hq publish", list)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("list %q: read HQ state %s: %w", list, raw, err)
	}
	switch {
	case s.Role != stateRole:
		return s, fmt.Errorf("list %q: replication state is not HQ's (role %q): is this a post's data directory?", list, s.Role)
	case s.Format != stateFormat:
		return s, fmt.Errorf("list %q: HQ state format %d, this program reads format %d", list, s.Format, stateFormat)
	case s.Epoch == 0:
		return s, fmt.Errorf("list %q: HQ state has epoch 0", list)
	}
	return s, nil
}
