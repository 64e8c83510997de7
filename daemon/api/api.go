// Package api is the post's local HTTP API: the one door through which the
// officer's workstation, document readers and local systems screen
// travellers and manifests, list hits and record the officer's decision on
// each, read the post's status, and through which the service manager and
// Prometheus probe the daemon.
//
// The package owns four small interfaces (Screener, Ledger, StatusSource,
// Readiness) and knows no concrete implementation; the wiring in daemon/
// provides them. Nothing here decides about a traveller: a hit is recorded
// and shown, and an officer disposes of it.
//
// # Security
//
// The server listens on 127.0.0.1:8640 unless told otherwise. Any bind
// address that is not loopback requires at least one API token, and New
// refuses the options otherwise. When tokens are configured every route
// except /healthz, /readyz and /v1/openapi.json requires
// "Authorization: Bearer <token>" (compared in constant time), and the
// token's name is the actor passed to the Ledger. On loopback with no
// tokens configured there is no authentication: anyone who can run a
// process on the post machine can use the API, and the actor is "local".
//
// # Hostile input
//
// What a client can make the server hold is bounded whatever it announces:
// a body is read into a buffer that grows as its bytes arrive, by at most
// BodyReaders requests at a time, each within BodyTimeout; other requests
// are refused (503 with Retry-After) after BodyWait, and a refused
// request's connection is closed instead of its unread body being read
// (see DefaultBodyReaders).
//
// # Privacy
//
// Requests are logged with route, method, status, duration and byte counts
// only, at debug level (server errors at warn). Traveller data is never
// logged.
package api

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/mrz"
	"github.com/watchpost/watchpost/engine/option"
	"github.com/watchpost/watchpost/sync/protocol"
)

// DefaultAddr is where the API listens when Options.Addr is empty: loopback
// only, so that a post with no tokens configured is not open to its network.
const DefaultAddr = "127.0.0.1:8640"

// Body size limits. Larger bodies are refused with 413 before they are
// parsed; a body announced larger is refused before it is read.
const (
	MaxScreenBody     = 64 << 10 // POST /v1/screen, POST /v1/hits/{id}/disposition
	MaxManifestBody   = 4 << 20  // POST /v1/manifests
	DefaultHitsLimit  = 50       // GET /v1/hits without limit=
	MaxHitsLimit      = 500      // largest limit= GET /v1/hits accepts
	MaxNoteLength     = 2000     // characters of a disposition note
	MaxOfficerLength  = 128      // characters of an officer id
	DefaultLocalActor = "local"  // the actor when no tokens are configured
	readHeaderTimeout = 5 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 16 << 10
)

// Defaults of the limits on reading request bodies (Options.BodyReaders,
// BodyWait, BodyTimeout). A body is read into a buffer that grows as its
// bytes arrive, never sized from the announced Content-Length, so what
// hostile clients can make the post hold is bounded by the readers: at
// most 64 bodies of 64 KiB (screenings) to 4 MiB (manifests) at a time,
// each for at most 10 s. Every other request waiting for a body reader
// is refused after 250 ms (503, Retry-After), and a refused request's
// connection is closed rather than its unread body read.
const (
	DefaultBodyReaders = 64
	DefaultBodyWait    = 250 * time.Millisecond
	// DefaultBodyTimeout: 4 MiB in 10 s is 3.4 Mbit/s, a slow LAN.
	DefaultBodyTimeout = 10 * time.Second
)

// Screening sources, the Source of a Screening.
const (
	SourceAPI      = "api"      // POST /v1/screen
	SourceManifest = "manifest" // POST /v1/manifests; Ref is the flight
)

// Decisions an officer can record on a hit (the values of protocol's
// Disposition* constants).
const (
	DecisionConfirmed     = protocol.DispositionConfirmed
	DecisionFalsePositive = protocol.DispositionFalsePositive
	DecisionReferred      = protocol.DispositionReferred
)

// Hit statuses, for HitFilter.Status and HitRecord.Status.
const (
	StatusOpen     = "open"     // no decision yet
	StatusDisposed = "disposed" // an officer decided
)

// BandNone is the band of a screening without hits.
const BandNone engine.Band = "none"

// Errors an implementation of the interfaces returns so that the API can
// answer with the right status; anything else is a 500.
var (
	// ErrNotFound: the hit id is unknown (404).
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the ledger refuses what the request asks as invalid, e.g.
	// a malformed cursor or a decision it cannot record (400).
	ErrInvalid = errors.New("invalid")
	// ErrUnavailable: the service cannot answer now, e.g. no list is
	// loaded (503).
	ErrUnavailable = errors.New("unavailable")
	// ErrInsufficientStorage: the post's disk is short of its reserve and
	// the ledger cannot record (507 Insufficient Storage). A screening is
	// still answered with its result, marked not recorded.
	ErrInsufficientStorage = errors.New("insufficient storage")
)

// Screener gives the edition of the screening in use. The daemon passes
// the post, whose screening index is an atomic pointer swapped whole when
// a list changes.
type Screener interface {
	// Edition returns the screening in use now. The API screens one
	// answer (a traveller, or every traveller of a manifest) with one
	// edition, so that its hits and its "checked" lists name the same
	// list versions even while a list update swaps in the next.
	Edition() Edition
}

// Edition is one edition of the screening: the lists it checks against
// and the matcher over exactly those lists.
type Edition interface {
	Screen(q *engine.Query) ([]engine.Hit, error)
	// Checked returns the lists Screen checks against, with their
	// versions and STALE flags, and the lists the post is meant to hold
	// but does not. With no list checked the API screens nothing: it
	// answers 503, never "no hit".
	Checked() (checked []engine.CheckedList, missing []string)
}

// NotScreenedNoList is the NotScreened reason of a 503 when no list is
// loaded.
const NotScreenedNoList = "no_list"

// NotScreened is the answer (503) when the post cannot screen: no
// traveller was checked, so there is no "no hit" either.
type NotScreened struct {
	Error string `json:"error"`
	// NotScreened is the reason, NotScreenedNoList.
	NotScreened string `json:"not_screened"`
	// ListsMissing are the lists the post is configured to hold and does
	// not ([] when none is configured).
	ListsMissing []string `json:"lists_missing"`
	// Checked are the lists loaded ([] here).
	Checked []engine.CheckedList `json:"checked"`
}

// Ledger keeps screenings and hits and the decisions on them.
type Ledger interface {
	// Record stores one screening and returns its id and, when it has hits,
	// the id of its hit record.
	Record(ctx context.Context, s Screening) (Recorded, error)
	// Hits lists hit records matching f, newest first, and the cursor of
	// the next page ("" at the end).
	Hits(ctx context.Context, f HitFilter) (hits []HitRecord, next string, err error)
	// Hit returns one hit record, or an error wrapping ErrNotFound.
	Hit(ctx context.Context, id string) (HitRecord, error)
	// Dispose records an officer's decision on hit id and returns the
	// updated record. A decision on a decided hit supersedes the one in
	// force, which stays in Decisions; repeating the decision in force
	// changes nothing. ErrNotFound for an unknown id, ErrInvalid when the
	// ledger refuses the decision.
	Dispose(ctx context.Context, id string, d Disposition) (HitRecord, error)
}

// Screening is one traveller screened, as handed to Ledger.Record.
type Screening struct {
	Source     string       // SourceAPI or SourceManifest
	Ref        string       // the flight for a manifest; "" otherwise
	Actor      string       // the API token's name, or DefaultLocalActor
	Traveller  engine.Query // as screened
	Hits       []engine.Hit // best first; empty for no hit
	ScreenedAt time.Time
}

// Recorded is what Ledger.Record stored.
type Recorded struct {
	ScreeningID string
	HitID       string // "" when the screening had no hit
}

// HitFilter selects hit records. The zero value lists the newest
// DefaultHitsLimit hits.
type HitFilter struct {
	Status string    // StatusOpen, StatusDisposed or "" for both
	Since  time.Time // screened at or after; zero for any time
	Limit  int       // 1..MaxHitsLimit
	Cursor string    // from a previous page; "" for the first
}

// Disposition is an officer's decision on a hit, as handed to
// Ledger.Dispose.
type Disposition struct {
	Decision  string    `json:"decision"` // DecisionConfirmed, DecisionFalsePositive or DecisionReferred
	Officer   string    `json:"officer"`  // the officer's id, as typed
	Note      string    `json:"note,omitempty"`
	Actor     string    `json:"actor"` // the API token's name, or DefaultLocalActor
	DecidedAt time.Time `json:"decided_at"`
}

// HitRecord is a stored screening with hits and its decision, if any.
type HitRecord struct {
	ID          string       `json:"id"`
	ScreeningID string       `json:"screening_id,omitempty"`
	Status      string       `json:"status"` // StatusOpen or StatusDisposed
	Source      string       `json:"source"`
	Ref         string       `json:"ref,omitempty"`
	Band        engine.Band  `json:"band"`
	Traveller   engine.Query `json:"traveller"`
	Hits        []engine.Hit `json:"hits"`
	ScreenedAt  time.Time    `json:"screened_at"`
	Actor       string       `json:"actor,omitempty"`
	// Disposition is the decision in force (the last of Decisions); nil
	// while the hit is open.
	Disposition *Disposition `json:"disposition,omitempty"`
	// Decisions are every decision on the hit, oldest first; empty while
	// the hit is open.
	Decisions []Disposition `json:"decisions"`
}

// StatusSource reports the post's status for GET /v1/status.
type StatusSource interface {
	Status(ctx context.Context) (Status, error)
}

// Status is the post's status: the record it sends HQ plus the state of
// its link.
type Status struct {
	protocol.PostStatus
	Link Link `json:"link"`
	Disk Disk `json:"disk"`
}

// Disk is the free space of the post's store against its reserve. While
// Low, the store refuses writes: screenings are answered 507, not
// recorded, and list updates from HQ wait.
type Disk struct {
	Dir     string `json:"dir,omitempty"`
	Free    uint64 `json:"free_bytes"`
	Reserve uint64 `json:"reserve_bytes"`
	Low     bool   `json:"low"`
	// Error says why the free space could not be measured.
	Error string `json:"error,omitempty"`
}

// Link is the state of the post's link to HQ.
type Link struct {
	Up        bool      `json:"up"`
	Since     time.Time `json:"since,omitzero"`     // when Up last changed
	LastSync  time.Time `json:"last_sync,omitzero"` // last delta or head applied
	LastError string    `json:"last_error,omitempty"`
	// UnackedSince: HQ has not acknowledged records the broker took
	// since then. PublishesRefused: that has lasted PublishRefusedAfter
	// while the link is up, which is what a broker whose ACL refuses the
	// post's topics looks like (MQTT 3.1.1 acknowledges and drops; a
	// certificate CN other than post_id does it).
	UnackedSince     time.Time `json:"unacked_since,omitzero"`
	PublishesRefused bool      `json:"publishes_refused,omitempty"`
}

// PublishRefusedAfter is how long records the broker took may go without
// HQ's ack before the link counts as refusing publishes: HQ acks within
// seconds, and the outbox resends after 2 minutes without an ack, so 5
// minutes is two sends unanswered.
const PublishRefusedAfter = 5 * time.Minute

// Refused reports whether, at now, the link is up but its publishes go
// unanswered (see Link.PublishesRefused).
func (l Link) Refused(now time.Time) bool {
	return l.Up && !l.UnackedSince.IsZero() && now.Sub(l.UnackedSince) >= PublishRefusedAfter
}

// ReadyState is what /readyz reports.
type ReadyState int

// Ready states.
const (
	NotReady ReadyState = iota // no list loaded: 503
	Ready                      // screening against current lists: 200
	Degraded                   // screening, but some list is stale: 200 "degraded"
)

func (s ReadyState) String() string {
	switch s {
	case Ready:
		return "ready"
	case Degraded:
		return "degraded"
	}
	return "not ready"
}

// Readiness says whether the post can screen. The reason ("no list
// loaded", "list un is STALE") is shown on /readyz and must hold no
// traveller data.
type Readiness interface {
	Ready(ctx context.Context) (state ReadyState, reason string)
}

// Token is one API token: Name is the actor recorded in the ledger, Secret
// what the client sends as "Authorization: Bearer <Secret>".
type Token struct {
	Name   string
	Secret string
}

// Options configure a Server. Screener, Ledger, Status and Readiness are
// required.
type Options struct {
	// Addr is host:port to listen on; DefaultAddr when empty. Any host
	// other than a loopback address or "localhost" requires Tokens.
	Addr   string
	Tokens []Token

	Screener  Screener
	Ledger    Ledger
	Status    StatusSource
	Readiness Readiness
	// Metrics receives the API's counters; New makes one when nil. The
	// daemon feeds its gauges (SetOutboxDepth, SetListImported, SetLinkUp)
	// and registers its own collectors through Metrics.Registerer.
	Metrics *Metrics
	// Logger for request and error lines (slog.Default() when nil).
	Logger *slog.Logger
	// Clock is the clock for ScreenedAt, DecidedAt and MRZ dates
	// (clock.System when nil).
	Clock clock.Clock
	// Console, if set, answers every path outside /v1/, /healthz, /readyz
	// and /metrics (the officer's console in a browser, with its own
	// sessions); bearer tokens are not asked there.
	Console http.Handler

	// BodyReaders is how many requests may read their body at once
	// (DefaultBodyReaders when 0); one that finds none free within
	// BodyWait (DefaultBodyWait) is answered 503 with Retry-After.
	BodyReaders int
	BodyWait    time.Duration
	// BodyTimeout is how long a body may take to arrive once its
	// request has a reader (DefaultBodyTimeout when 0); then the answer
	// is 408. These times are the network's, not Clock's.
	BodyTimeout time.Duration
}

// Server is the local HTTP API. Build it with New, then Listen and Serve
// (or mount Handler elsewhere), and stop it with Shutdown.
type Server struct {
	screener  Screener
	ledger    Ledger
	status    StatusSource
	readiness Readiness
	metrics   *Metrics
	log       *slog.Logger
	clock     clock.Clock
	mrz       mrz.Parser
	addr      string
	tokens    []tokenHash
	handler   http.Handler
	routes    []*route
	console   http.Handler

	// readers holds a token per request reading its body.
	readers     chan struct{}
	bodyWait    time.Duration
	bodyTimeout time.Duration

	metricsHandler http.Handler // answers /metrics from metrics' registry

	mu     sync.Mutex
	srv    *http.Server
	ln     net.Listener
	closed bool
}

type tokenHash struct {
	name string
	sum  [sha256.Size]byte
}

// New checks the options and builds the server. It refuses a non-loopback
// address without tokens, and tokens without a name or secret.
func New(opts Options) (*Server, error) {
	switch {
	case opts.Screener == nil:
		return nil, errors.New("api: no Screener")
	case opts.Ledger == nil:
		return nil, errors.New("api: no Ledger")
	case opts.Status == nil:
		return nil, errors.New("api: no StatusSource")
	case opts.Readiness == nil:
		return nil, errors.New("api: no Readiness")
	}
	addr := opts.Addr
	addr = option.Or(addr, DefaultAddr)
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("api: listen address %q: %w", addr, err)
	}
	s := &Server{
		screener:  opts.Screener,
		ledger:    opts.Ledger,
		status:    opts.Status,
		readiness: opts.Readiness,
		metrics:   opts.Metrics,
		log:       opts.Logger,
		clock:     opts.Clock,
		addr:      addr,
		console:   opts.Console,
	}
	seen := make(map[string]bool, len(opts.Tokens))
	for i, t := range opts.Tokens {
		switch {
		case t.Name == "":
			return nil, fmt.Errorf("api: token %d has no name (the name is the actor in the audit trail)", i+1)
		case t.Secret == "":
			return nil, fmt.Errorf("api: token %q has an empty secret", t.Name)
		case len(t.Secret) < 16:
			return nil, fmt.Errorf("api: token %q is shorter than 16 characters", t.Name)
		case seen[t.Name]:
			return nil, fmt.Errorf("api: token name %q is given twice", t.Name)
		}
		seen[t.Name] = true
		s.tokens = append(s.tokens, tokenHash{name: t.Name, sum: sha256.Sum256([]byte(t.Secret))})
	}
	if !isLoopback(host) && len(s.tokens) == 0 {
		return nil, fmt.Errorf("api: refusing to listen on %q without API tokens: a non-loopback address needs at least one token (or listen on %s)", addr, DefaultAddr)
	}
	switch {
	case opts.BodyReaders < 0, opts.BodyWait < 0, opts.BodyTimeout < 0:
		return nil, fmt.Errorf("api: negative body limits (readers %d, wait %v, timeout %v)", opts.BodyReaders, opts.BodyWait, opts.BodyTimeout)
	}
	s.readers = make(chan struct{}, cmp.Or(opts.BodyReaders, DefaultBodyReaders))
	s.bodyWait = cmp.Or(opts.BodyWait, DefaultBodyWait)
	s.bodyTimeout = cmp.Or(opts.BodyTimeout, DefaultBodyTimeout)
	if s.metrics == nil {
		s.metrics = NewMetrics()
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.clock = clock.OrSystem(s.clock)
	s.mrz.Clock = s.clock
	s.metricsHandler = s.metrics.handler(s.log)
	s.handler = s.buildRoutes()
	return s, nil
}

// isLoopback reports whether host only accepts connections from this
// machine: "localhost" or a loopback IP. An empty host (all interfaces)
// and other names are not.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Handler returns the API's HTTP handler, for tests or to mount elsewhere.
func (s *Server) Handler() http.Handler { return s.handler }

// Metrics returns the metrics the server counts into and /metrics shows.
func (s *Server) Metrics() *Metrics { return s.metrics }

// Listen binds the configured address, so that a bind error is known before
// the daemon reports itself running, and returns the bound address.
func (s *Server) Listen() (net.Addr, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, http.ErrServerClosed
	}
	if s.ln != nil {
		return nil, errors.New("api: already listening")
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return nil, fmt.Errorf("api: listen: %w", err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		// The headers, a wait for a body reader and the body: about 15 s by
		// default (each body has its own deadline, BodyTimeout).
		ReadTimeout:    readHeaderTimeout + s.bodyWait + s.bodyTimeout,
		WriteTimeout:   writeTimeout,
		IdleTimeout:    idleTimeout,
		MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return ln.Addr(), nil
}

// Serve answers requests on the listener Listen bound until Shutdown; it
// returns nil after Shutdown.
func (s *Server) Serve() error {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.mu.Unlock()
	if srv == nil {
		return errors.New("api: Serve before Listen")
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("api: serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections and waits, until ctx is done, for
// requests in flight to finish; then it closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	srv, ln := s.srv, s.ln
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	// Serve closes the listener it serves; this closes it should Serve
	// never have been called (the error of a second close is moot).
	ln.Close()
	if err != nil {
		srv.Close()
		return fmt.Errorf("api: shutdown: %w", err)
	}
	return nil
}
