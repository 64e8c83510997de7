package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/watchpost/watchpost/engine"
)

// Post → HQ records (PROTOCOL.md §6). They are JSON, readable with
// mosquitto_sub, and not signed: the broker authenticates the post (its
// certificate CN or username is the post id in the topic, enforced by the
// ACL), and HQ treats their content as the post's claim.

// Presence states.
const (
	Online  = "online"
	Offline = "offline"
)

// PresenceRecord is a post's online/offline record. Boot counts the post
// process's starts (persisted by the post); HQ keeps the record with the
// highest Boot, and within one boot the latest to arrive, so an old
// process's will delivered late cannot mark a restarted post offline.
type PresenceRecord struct {
	Post  string `json:"post"`
	State string `json:"state"`
	Boot  uint64 `json:"boot"`
}

// ListHeld is one list in a post's status.
type ListHeld struct {
	List    string `json:"list"`
	Epoch   uint64 `json:"epoch"`
	Version uint64 `json:"version"`
	Hash    string `json:"hash,omitempty"`
	Entries int    `json:"entries"`
	// HeadIssuedAt and HeadValidUntil are from the last verified head.
	HeadIssuedAt   time.Time `json:"head_issued_at,omitzero"`
	HeadValidUntil time.Time `json:"head_valid_until,omitzero"`
	// Behind is how many versions the last head is ahead of the held one.
	Behind uint64 `json:"behind,omitempty"`
	// Stale says why the list is STALE ("" when fresh).
	Stale    string `json:"stale,omitempty"`
	Diverged bool   `json:"diverged,omitempty"`
	// Conflict, when not "", says that HQ signed two different heads for
	// one position of the list (the list, the version, what to do); the
	// post keeps the first and screens on it until a new edition.
	Conflict string `json:"conflict,omitempty"`
	// Rejected counts HQ messages for this list the post rejected since it
	// started; LastError is the latest rejection or failed catch-up.
	Rejected  uint64 `json:"rejected,omitempty"`
	LastError string `json:"last_error,omitempty"`
}

// OutboxState is the post's outbox depth in its status.
type OutboxState struct {
	Records    int    `json:"records"`
	High       int    `json:"high"`
	Bytes      int64  `json:"bytes"`
	Budget     int64  `json:"budget"`
	OverBudget bool   `json:"over_budget,omitempty"`
	Dropped    uint64 `json:"dropped,omitempty"`
}

// PostStatus is a post's status record: sent retained on
// watchpost/v1/posts/<post>/status and, as kind "status", through the
// outbox.
type PostStatus struct {
	Post     string `json:"post"`
	Software string `json:"software"`
	Boot     uint64 `json:"boot"`
	// Clock is the post's clock when the record was made, so HQ can spot a
	// wrong clock.
	Clock  time.Time   `json:"clock"`
	Lists  []ListHeld  `json:"lists"`
	Outbox OutboxState `json:"outbox"`
	// Screenings since the post started; LastScreening is the latest.
	Screenings    uint64    `json:"screenings"`
	LastScreening time.Time `json:"last_screening,omitzero"`
	// Keys are the ids (16 hex digits) of the HQ keys the post trusts,
	// sorted, expired ones included: HQ checks that every post has
	// accepted a rotation before it signs with the new key. Absent from
	// posts older than the field.
	Keys []string `json:"keys,omitempty"`
	// AuditKey is the post's audit key (FormatPublicKey), which signs its
	// audit checkpoints: HQ pins the first it sees. Absent from posts
	// older than the field.
	AuditKey string `json:"audit_key,omitempty"`
	// SealKey is the id of the HQ key whose encryption key the post seals
	// to now; "" while it knows none (sealed records wait in its outbox).
	SealKey string `json:"seal_key,omitempty"`
}

// HitReport is the payload of an outbox record of kind "hit": one
// screening that matched, with only what HQ needs to act on it
// (data minimisation: nothing more leaves the post). The record's id is the hit's id.
type HitReport struct {
	Post       string    `json:"post"`
	ScreenedAt time.Time `json:"screened_at"`
	// Source says where the traveller came from: "api", "manifest",
	// "intake" or "demo"; Ref names the flight or file, if any.
	Source    string       `json:"source"`
	Ref       string       `json:"ref,omitempty"`
	Traveller engine.Query `json:"traveller"`
	Hits      []engine.Hit `json:"hits"`
}

// Validate checks the fields HQ relies on.
func (h *HitReport) Validate() error {
	switch {
	case h.Post == "":
		return fmt.Errorf("hit report: no post")
	case h.ScreenedAt.IsZero():
		return fmt.Errorf("hit report: no screened_at")
	case len(h.Hits) == 0:
		return fmt.Errorf("hit report: no hits")
	}
	for i, x := range h.Hits {
		if x.List == "" || x.EntryID == "" {
			return fmt.Errorf("hit report: hit %d: list and entry_id are required", i)
		}
	}
	return nil
}

// Disposition values: the officer's decision on a hit.
const (
	DispositionConfirmed     = "confirmed"
	DispositionFalsePositive = "false_positive"
	DispositionReferred      = "referred"
)

// DispositionReport is the payload of an outbox record of kind
// "disposition": what the officer decided about hit HitID.
type DispositionReport struct {
	Post      string    `json:"post"`
	HitID     string    `json:"hit_id"`
	Decision  string    `json:"decision"`
	Officer   string    `json:"officer"`
	Note      string    `json:"note,omitempty"`
	DecidedAt time.Time `json:"decided_at"`
}

// Validate checks the decision and the required fields.
func (d *DispositionReport) Validate() error {
	switch d.Decision {
	case DispositionConfirmed, DispositionFalsePositive, DispositionReferred:
	default:
		return fmt.Errorf("disposition: decision %q is not one of %s, %s, %s", d.Decision,
			DispositionConfirmed, DispositionFalsePositive, DispositionReferred)
	}
	switch {
	case d.HitID == "":
		return fmt.Errorf("disposition: no hit_id")
	case d.Officer == "":
		return fmt.Errorf("disposition: no officer")
	case d.DecidedAt.IsZero():
		return fmt.Errorf("disposition: no decided_at")
	}
	return nil
}

// DecodeJSON decodes exactly one JSON document into v; trailing data is
// an error.
func DecodeJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON document")
	}
	return nil
}
