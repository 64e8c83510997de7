package web

import (
	"context"
	"errors"
	"time"

	"github.com/watchpost/watchpost/engine"
)

// The HQ console: the watchlist team's fleet, hits across posts, editions
// published by two people, and keys. It consumes the interfaces below
// (the wiring in daemon/ implements them over HQ's server, store and
// publisher) and renders their view types.

// Roles at HQ.
const (
	RoleViewer    = "viewer"    // sees the fleet, the charts, editions and keys; no traveller
	RoleAnalyst   = "analyst"   // a viewer who also reads hits and exports them
	RolePublisher = "publisher" // a viewer who proposes and approves editions
	RoleAdmin     = "admin"     // everything, and the audit trail
)

// HQRoles are the roles of HQ's accounts.
var HQRoles = []string{RoleViewer, RoleAnalyst, RolePublisher, RoleAdmin}

// Permissions of the HQ console.
const (
	PermFleet    = "fleet"    // the fleet, a post's page, the charts, the keys, the editions
	PermHits     = "hits"     // hits with travellers' data, CSV export
	PermPublish  = "publish"  // upload, approve and reject editions
	PermHQAudit  = "hq_audit" // HQ's audit trail
	maxDiffNames = 200
)

// HQPermissions maps HQ's roles to their permissions.
var HQPermissions = map[string][]string{
	RoleViewer:    {PermFleet},
	RoleAnalyst:   {PermFleet, PermHits},
	RolePublisher: {PermFleet, PermPublish},
	RoleAdmin:     {PermFleet, PermHits, PermPublish, PermHQAudit},
}

// Actions the HQ console audits (besides the foundation's).
const (
	ActionProposed       = "edition_proposed"
	ActionApproved       = "edition_approved"
	ActionRejected       = "edition_rejected"
	ActionApproveRefused = "edition_approve_refused"
	ActionPublishFailed  = "edition_publish_failed"
	ActionSinglePerson   = "edition_single_person"
	// ActionShrinkConfirmed: the actor confirmed an edition past the
	// shrink guard; Detail states the counts.
	ActionShrinkConfirmed = "edition_shrink_confirmed"
	ActionHitsExported    = "hits_exported"
)

// Errors of the Editions interface, for errors.Is.
var (
	// ErrSelfApproval: the user who uploaded an edition may not approve
	// it: editions are published by two people.
	ErrSelfApproval = errors.New("the uploader cannot approve their own edition")
	// ErrNotPending: the proposal was already approved, rejected or
	// replaced.
	ErrNotPending = errors.New("the proposal is no longer pending")
	// ErrListMoved: the list has a newer version than the one the
	// proposal's diff was made against; upload the edition again.
	ErrListMoved = errors.New("the list changed since the proposal was made")
	// ErrShrinkUnconfirmed: the edition removes more of the list than the
	// guard allows, and the approver did not confirm it.
	ErrShrinkUnconfirmed = errors.New("the edition shrinks the list past the guard; confirm it")
)

// Fleet is every post HQ has heard from.
type Fleet interface {
	Posts(ctx context.Context) ([]FleetPost, error)
	// History returns a post's samples since from (oldest first), for its
	// page and the charts; nil without any.
	History(ctx context.Context, post string, from time.Time) ([]Sample, error)
}

// HQHits are the hits across posts.
type HQHits interface {
	// Hits returns one page of the hits f selects, newest first.
	Hits(ctx context.Context, f HQHitFilter) (HQHitPage, error)
	// Hit returns one hit with its decisions; ErrNotFound when unknown.
	Hit(ctx context.Context, post, id string) (HQHit, error)
	// Export calls fn for every hit f selects (no page limit), newest
	// first, until fn returns false.
	Export(ctx context.Context, f HQHitFilter, fn func(HQHit) bool) error
	// PerDay counts hits per day (YYYY-MM-DD in UTC), post and list, for
	// the days from ≤ day < to.
	PerDay(ctx context.Context, from, to time.Time) ([]DayCount, error)
}

// Editions are HQ's lists and the proposals to publish new editions.
type Editions interface {
	Lists(ctx context.Context) ([]PublishedList, error)
	// Formats are the formats an upload may have.
	Formats() []string
	// Propose imports an uploaded edition and holds it, with its diff
	// against the list's current version, as a pending proposal. Nothing
	// is signed. An edition that cannot be read fails with
	// ErrInvalidInput (its text says why).
	Propose(ctx context.Context, actor string, up EditionUpload) (Proposal, error)
	// Proposals returns the most recent proposals, newest first.
	Proposals(ctx context.Context, limit int) ([]Proposal, error)
	// Proposal returns one proposal with its diff; ErrNotFound when
	// unknown.
	Proposal(ctx context.Context, id string) (Proposal, error)
	// Approve signs and publishes a pending proposal; actor must not be
	// its uploader (ErrSelfApproval). confirmShrink confirms an edition
	// the shrink guard would refuse (ErrShrinkUnconfirmed without it).
	Approve(ctx context.Context, id, actor string, confirmShrink bool) (Proposal, error)
	// Reject closes a pending proposal without publishing it.
	Reject(ctx context.Context, id, actor, note string) (Proposal, error)
}

// KeySource says which keys HQ signs with and which posts trust them.
type KeySource interface {
	Keys(ctx context.Context) (KeysView, error)
}

// FleetPost is one post in the fleet table.
type FleetPost struct {
	Post string
	// Presence is "online", "offline" or "" (never heard).
	Presence string
	LastSeen time.Time
	Software string
	// StatusAt is HQ's time of the post's latest status.
	StatusAt time.Time
	Lists    []FleetList
	Outbox   OutboxDepth
	// ClockOffset is the post's clock minus HQ's, when Measured.
	ClockOffset time.Duration
	Measured    bool
	// Keys are the HQ key ids the post trusts (nil: not reported).
	Keys []string
	// CertExpiry is when the post's client certificate expires (zero:
	// not reported).
	CertExpiry    time.Time
	Screenings    uint64
	LastScreening time.Time
	// Audit sums up the post's audit chain at HQ: "" (nothing received),
	// "ok", or the first fault.
	Audit string
}

// FleetList compares one list a post holds with HQ's.
type FleetList struct {
	List      string
	Held      uint64
	Published uint64
	Lag       uint64
	Stale     string
	Diverged  bool
}

// OutboxDepth is a post's outbox as its status reports it.
type OutboxDepth struct {
	Records, High int
	Bytes, Budget int64
	OverBudget    bool
}

// Sample is one hour of a post's history, kept by HQ from the post's
// status: its cumulative screenings counter at the hour's last status
// (At) and, within the same boot, at its first (Start), and the deepest
// outbox of the hour.
type Sample struct {
	At         time.Time
	Boot       uint64
	Screenings uint64
	Start      uint64
	Outbox     int
	Online     bool
}

// HQHitFilter selects hits; zero fields select everything. From ≤
// received < To. Cursor continues a page (HQHitPage.Next).
type HQHitFilter struct {
	Post     string
	List     string
	Band     engine.Band
	Decision string // "open", a decision, or ""
	From, To time.Time
	Cursor   string
	Limit    int
}

// HQHitPage is one page of hits; Next is the cursor of the following
// page ("" on the last).
type HQHitPage struct {
	Rows []HQHitRow
	Next string
}

// HQHitRow is one row of the hits table.
type HQHitRow struct {
	Post, ID   string
	ReceivedAt time.Time
	ScreenedAt time.Time
	Band       engine.Band
	Name       string
	Lists      []string
	Status     string // "open" or the decision in force
	Officer    string // of the decision in force
	Source     string
	Ref        string
}

// HQHit is one hit as the post reported it, with its decisions.
type HQHit struct {
	Post, ID   string
	ReceivedAt time.Time
	ScreenedAt time.Time
	Source     string
	Ref        string
	Traveller  engine.Query
	Hits       []engine.Hit
	// Listed[i] is the entry Hits[i] names as HQ holds it now (nil when
	// HQ no longer has it); ListedVersion[i] the version it was read at.
	Listed        []*engine.Entry
	ListedVersion []uint64
	Decisions     []Decision
	// Invalid says why the report failed validation at HQ ("" when
	// valid).
	Invalid string
}

// Band returns the strongest band among the hits.
func (h HQHit) Band() engine.Band { return engine.Strongest(h.Hits) }

// Status is "open" or the decision in force.
func (h HQHit) Status() string {
	if n := len(h.Decisions); n > 0 {
		return h.Decisions[n-1].Decision
	}
	return "open"
}

// DayCount is the number of hits of one post and list on one day.
type DayCount struct {
	Day        string // YYYY-MM-DD, UTC
	Post, List string
	N          int
}

// PublishedList is one list HQ publishes.
type PublishedList struct {
	Name      string
	Epoch     uint64
	Version   uint64
	Published uint64
	Entries   int
	Hash      string
	Source    string
	Format    string
	HeadAt    time.Time
}

// EditionUpload is an edition uploaded in the browser.
type EditionUpload struct {
	List, Format, Source, Action string
	FileName                     string
	Data                         []byte
}

// Proposal states.
const (
	ProposalPending  = "pending"
	ProposalApproved = "approved"
	ProposalRejected = "rejected"
	ProposalFailed   = "failed"
)

// Proposal is an uploaded edition held at HQ until a second publisher
// approves it.
type Proposal struct {
	ID         string
	List       string
	Format     string
	Source     string
	FileName   string
	Uploader   string
	UploadedAt time.Time
	State      string
	// BaseVersion is the list's version the diff was made against (0: the
	// edition creates the list).
	BaseVersion uint64
	Current     int // entries of BaseVersion
	Next        int // entries of the edition
	Added       int
	Removed     int
	Changed     int
	// The entries added, removed and changed, by id and first name (at
	// most 200 of each; the counts are complete).
	AddedEntries, RemovedEntries, ChangedEntries []DiffEntry
	// Shrink is Removed / Current; ShrinkWarn says it is more than
	// MaxShrink, the guard's share.
	Shrink     float64
	MaxShrink  float64
	ShrinkWarn bool
	// Decider decided at DecidedAt (approved or rejected), with Note.
	Decider   string
	DecidedAt time.Time
	Note      string
	// Version is the version published on approval; Error why the
	// publication failed.
	Version uint64
	Error   string
}

// DiffEntry is one entry of a proposal's diff.
type DiffEntry struct {
	ID, Name string
}

// KeysView is HQ's signing key, its announced rotations and who trusts
// what.
type KeysView struct {
	Current   KeyInfo
	Announced []KeyInfo
	Posts     []PostKeys
}

// KeyInfo is one signing key.
type KeyInfo struct {
	ID        string
	Public    string
	NotBefore time.Time
	NotAfter  time.Time
	IssuedAt  time.Time
}

// PostKeys are the key ids one post trusts.
type PostKeys struct {
	Post string
	Keys []string
	// Trusts maps each key id of the view (current and announced) to
	// whether the post trusts it; Reported is false for a post that does
	// not report its keys.
	Trusts   map[string]bool
	Reported bool
}
