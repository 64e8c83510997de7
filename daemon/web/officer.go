package web

import (
	"context"
	"errors"
	"time"

	"github.com/watchpost/watchpost/engine"
)

// The officer's console at a border post. It consumes the interfaces
// below (the wiring in daemon/ implements them over the post's ledger,
// screening index and link to HQ) and renders their view types.

// Roles at a post.
const (
	RoleOfficer    = "officer"    // screens, reviews and decides hits
	RoleSupervisor = "supervisor" // an officer who also reads the audit trail
	RoleTechnician = "technician" // looks at the post's status, sees no traveller
)

// PostRoles are the roles of a post's accounts.
var PostRoles = []string{RoleOfficer, RoleSupervisor, RoleTechnician}

// Permissions of the officer console.
const (
	PermScreen = "screen" // screen travellers and manifests, see and decide hits
	PermStatus = "status" // see the post's status
	PermAudit  = "audit"  // read and export the audit trail
)

// PostPermissions maps the post's roles to their permissions.
var PostPermissions = map[string][]string{
	RoleOfficer:    {PermScreen, PermStatus},
	RoleSupervisor: {PermScreen, PermStatus, PermAudit},
	RoleTechnician: {PermStatus},
}

// Console actions the officer console audits (besides the foundation's;
// screenings and decisions are audited by the ledger with the user as
// actor).
const (
	ActionManifestUploaded = "manifest_uploaded"
	ActionAuditExported    = "audit_exported"
)

// Errors the officer console's interfaces return so that it answers
// right.
var (
	// ErrNotFound: no such hit (never recorded, or purged).
	ErrNotFound = errors.New("not found")
	// ErrInvalidInput: the input cannot be read (an MRZ of the wrong
	// layout, a file that is no PAXLST); the error's text says what, and
	// is shown to the officer.
	ErrInvalidInput = errors.New("invalid input")
)

// Screener screens what an officer submits and records it with the
// officer as actor. A result that could not be made or recorded says so
// in NotScreened; it is never an empty list of hits.
type Screener interface {
	ScreenTraveller(ctx context.Context, actor string, q engine.Query) (Screening, error)
	ScreenMRZ(ctx context.Context, actor, text string) (Screening, error)
	ScreenManifest(ctx context.Context, actor, name string, data []byte) (Manifest, error)
}

// HitStore lists hits, shows one with its listed entries, and records
// decisions.
type HitStore interface {
	Hits(ctx context.Context, f HitFilter) (HitList, error)
	Hit(ctx context.Context, id string) (Hit, error)
	// Decide records a decision by officer and returns the hit after it;
	// ErrNotFound for an unknown id.
	Decide(ctx context.Context, id string, d Decision) (Hit, error)
}

// ManifestStore lists the manifests recorded at the post (uploaded or
// arrived by folder intake): flight, counts and hits only, since a
// screening without a hit keeps no traveller data.
type ManifestStore interface {
	Manifests(ctx context.Context, limit int) ([]ManifestSummary, error)
}

// StatusSource reports the post's status, and the lists' state on every
// page (the STALE banner).
type StatusSource interface {
	Status(ctx context.Context) (Status, error)
	Lists(ctx context.Context) []CheckedList
}

// AuditTrail is the post's audit trail: it appends the console's events
// and lists every entry (the ledger's and the console's) for a
// supervisor.
type AuditTrail interface {
	Auditor
	Audit(ctx context.Context, f AuditFilter, fn func(AuditEntry) bool) error
}

// Reasons a screening has no result, as NotScreened; each has a catalog
// key "notscreened.<reason>".
const (
	NotScreenedNoList     = "no_list"      // no list is loaded: nothing to screen against
	NotScreenedNotRecord  = "not_recorded" // the store could not record the screening
	NotScreenedFailed     = "failed"       // the screening itself failed
	NotScreenedNotRunning = "not_running"  // the post is starting or stopping
)

// CheckedList is one list a screening was checked against, as it was.
type CheckedList struct {
	Name    string
	Version uint64
	Entries int
	// Stale says why the list is STALE ("" when fresh): its signed head
	// from HQ has expired or is missing.
	Stale string
}

// MRZInfo is what an MRZ said about itself.
type MRZInfo struct {
	Format string
	Lines  []string
	Valid  bool
	Errors []string
	// Repairs are the characters read otherwise (OCR confusions fixed).
	Repairs []string
}

// Screening is the result of screening one traveller.
type Screening struct {
	Traveller engine.Query
	MRZ       *MRZInfo
	// Checked are the lists screened against, with their versions.
	Checked []CheckedList
	// NotScreened, when set, is why there is no result (NotScreened*);
	// Hits may still hold hits found before recording failed: they are
	// shown, never hidden.
	NotScreened string
	Hits        []engine.Hit
	// Listed[i] is the entry Hits[i] names (nil when unknown).
	Listed []*engine.Entry
	// HitID is the recorded hit's id ("" without hits or when not
	// recorded).
	HitID string
	At    time.Time
}

// Band returns the strongest band among the hits, "" without.
func (s Screening) Band() engine.Band { return engine.Strongest(s.Hits) }

// Stale reports whether any checked list is STALE.
func (s Screening) Stale() bool { return anyStale(s.Checked) }

func anyStale(ls []CheckedList) bool {
	for _, l := range ls {
		if l.Stale != "" {
			return true
		}
	}
	return false
}

// Flight is one leg of a manifest.
type Flight struct {
	Number, Departure, Arrival, DepartureTime, ArrivalTime string
}

// ManifestTraveller is one traveller of an uploaded manifest and the
// screening's outcome.
type ManifestTraveller struct {
	// Index is the traveller's place in Manifest.Travellers.
	Index             int
	Message, Position int
	Role              string
	Flight            string
	Traveller         engine.Query
	Band              engine.Band // "" without hits
	Hits              int
	HitID             string
	// Error says why this traveller was not screened ("" when screened).
	Error string
}

// Manifest is the result of screening an uploaded PAXLST file. It lives
// in the session only: travellers without a hit are not stored.
type Manifest struct {
	Name        string
	Flights     []Flight
	Travellers  []ManifestTraveller
	Screened    int
	WithHits    int
	Warnings    []string
	Checked     []CheckedList
	NotScreened string
	// Replayed: the same file had been recorded before against the same
	// lists; nothing was recorded again.
	Replayed bool
	At       time.Time
}

// ManifestSummary is a recorded manifest as the post keeps it.
type ManifestSummary struct {
	Key           string
	Source        string // "intake" or "manifest" (uploaded)
	Flights       []string
	Files         []string
	Screened      int
	HitTravellers int
	HitIDs        []string
	At            time.Time
}

// HitFilter selects hits for the queue.
type HitFilter struct {
	// Status: "open", "decided", a decision, or "" for all.
	Status string
	List   string
	Flight string
	Band   engine.Band
}

// HitList is the hits a filter selected. Truncated: there were more than
// the store reads for one page (MaxQueue).
type HitList struct {
	Hits      []HitSummary
	Truncated bool
}

// MaxQueue is the most hits the queue reads for one view.
const MaxQueue = 2000

// HitSummary is one row of the hits queue.
type HitSummary struct {
	ID         string
	Status     string // "open" or the decision in force
	Band       engine.Band
	Name       string // the traveller's name, as written
	Lists      []string
	Ref        string
	Source     string
	ScreenedAt time.Time
	Matches    int
}

// Decision is an officer's decision on a hit.
type Decision struct {
	ID       string
	Decision string // confirmed, false_positive or referred
	Officer  string
	Note     string
	// Via is the channel it came through (the console, an API token).
	Via       string
	DecidedAt time.Time
}

// Hit decisions.
const (
	DecisionConfirmed     = "confirmed"
	DecisionFalsePositive = "false_positive"
	DecisionReferred      = "referred"
)

// Decisions lists the decisions in the order of the buttons.
var Decisions = []string{DecisionConfirmed, DecisionFalsePositive, DecisionReferred}

// Hit is one hit record with what the officer compares.
type Hit struct {
	ID         string
	Status     string
	Source     string
	Ref        string
	Actor      string
	ScreenedAt time.Time
	Traveller  engine.Query
	Hits       []engine.Hit
	// Listed[i] is the entry Hits[i] names, as the list holds it now (nil
	// when the list no longer has it, or for a document-only list).
	Listed []*engine.Entry
	// ListedVersion[i] is the list version Listed[i] was read at.
	ListedVersion []uint64
	// Decisions, oldest first; the last one is in force.
	Decisions []Decision
}

// Band returns the strongest band among the hits.
func (h Hit) Band() engine.Band { return engine.Strongest(h.Hits) }

// Status is the post's status.
type Status struct {
	Post     string
	Software string
	Clock    time.Time
	Lists    []ListStatus
	// Link to HQ: Configured false when the post runs without HQ.
	Link          Link
	HQURL         string
	OutboxRecords int
	OutboxHigh    int
	OutboxBytes   int64
	OutboxBudget  int64
	OverBudget    bool
	Screenings    uint64
	LastScreening time.Time
	OpenHits      int
}

// Link is the state of the link to HQ.
type Link struct {
	Configured bool
	Up         bool
	LastSync   time.Time
	LastError  string
}

// ListStatus is one list held at the post.
type ListStatus struct {
	Name       string
	Version    uint64
	Entries    int
	ImportedAt time.Time
	Action     string
	// Replicated: from HQ (signed heads); false for a list imported at the
	// post.
	Replicated     bool
	HeadIssuedAt   time.Time
	HeadValidUntil time.Time
	Behind         uint64
	Stale          string
	Diverged       bool
}

// AuditFilter selects audit entries: From ≤ time < To, and the actor and
// action when set.
type AuditFilter struct {
	From, To time.Time
	Actor    string
	Action   string
}

// AuditEntry is one entry of the audit trail, from the ledger (screened,
// hit_opened, disposition, purge) or the console (logins, …).
type AuditEntry struct {
	// Seq is a ledger entry's place in the post's hash-chained audit
	// trail; 0 for the console's own events, which are not chained.
	Seq      uint64
	Time     time.Time
	Actor    string
	Action   string
	Via      string
	Subject  string
	HitID    string
	Ref      string
	Source   string
	Decision string
	Previous string
	Matches  int
	Detail   string
	// Purged is what a retention purge deleted.
	Purged *PurgeCounts
}

// PurgeCounts are the counts of a retention purge.
type PurgeCounts struct {
	Screenings, Hits, OpenHits, Manifests int
}
