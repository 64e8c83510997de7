package web

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/watchpost/watchpost/daemon/api/input"
	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
)

// OfficerOptions configure the officer console.
type OfficerOptions struct {
	Users     *UserStore
	Screener  Screener
	Hits      HitStore
	Manifests ManifestStore
	Status    StatusSource
	Audit     AuditTrail
	// PostID is shown at the bottom of every page.
	PostID      string
	IdleTimeout time.Duration
	Clock       clock.Clock
	Logger      *slog.Logger
	Options     func(*Options) // adjusts the foundation's options (tests)
}

// officer is the officer console's handlers.
type officer struct {
	o   OfficerOptions
	app *App
	seq atomic.Uint64 // numbers the results kept in sessions
}

// Session keys of the officer console's scratch data.
const (
	scratchScreening = "officer.screening"
	scratchManifests = "officer.manifests"
	maxKeptManifests = 3
	maxManifestFile  = 4 << 20
	maxNote          = 2000
	queuePage        = 50
)

// NewOfficer builds the officer's console: the foundation with the post's
// roles, and its pages.
func NewOfficer(o OfficerOptions) (*App, error) {
	if o.Screener == nil || o.Hits == nil || o.Manifests == nil || o.Status == nil || o.Audit == nil {
		return nil, errors.New("web: the officer console needs a screener, hits, manifests, status and audit trail")
	}
	of := &officer{o: o}
	opts := Options{
		AppKey: "post.app", CookiePrefix: "wp_post", Users: o.Users, Audit: o.Audit,
		Permissions: PostPermissions, IdleTimeout: o.IdleTimeout, Clock: o.Clock, Footer: o.PostID,
		Nav: []NavItem{
			{"/screen", "nav.screen", PermScreen},
			{"/hits", "nav.hits", PermScreen},
			{"/manifests", "nav.manifests", PermScreen},
			{"/status", "nav.status", PermStatus},
			{"/audit", "nav.audit", PermAudit},
		},
		Home: func(role string) string {
			if role == RoleTechnician {
				return "/status"
			}
			return "/screen"
		},
		Banners: of.banners, Logger: o.Logger,
	}
	if o.Options != nil {
		o.Options(&opts)
	}
	app, err := New(opts)
	if err != nil {
		return nil, err
	}
	of.app = app
	app.Handle("GET /{$}", "", func(q *Request) { q.Redirect(app.home(q.Session.Role)) })
	app.Handle("GET /screen", PermScreen, of.screenPage)
	app.Handle("POST /screen", PermScreen, of.screen)
	app.Handle("GET /hits", PermScreen, of.queue)
	app.Handle("GET /hits/{id}", PermScreen, of.hitPage)
	app.Handle("POST /hits/{id}/decide", PermScreen, of.decide)
	app.Handle("GET /manifests", PermScreen, of.manifestsPage)
	app.Handle("POST /manifests", PermScreen, of.upload)
	app.Handle("GET /manifests/u/{n}", PermScreen, of.uploadedPage)
	app.Handle("GET /manifests/u/{n}/{i}", PermScreen, of.uploadedTraveller)
	app.Handle("GET /status", PermStatus, of.statusPage)
	app.Handle("GET /audit", PermAudit, of.auditPage)
	app.Handle("GET /audit.csv", PermAudit, of.auditCSV)
	return app, nil
}

// banners: a STALE list is shown on top of every page.
func (of *officer) banners(ctx context.Context) []Banner {
	var out []Banner
	lists := of.o.Status.Lists(ctx)
	if len(lists) == 0 {
		return []Banner{{Level: "danger", Key: "banner.no_list"}}
	}
	for _, l := range lists {
		if l.Stale != "" {
			out = append(out, Banner{Level: "danger", Key: "banner.stale", Args: []any{l.Name, l.Version}})
		}
	}
	return out
}

// ScreenForm is the manual entry of a traveller and the MRZ field.
type ScreenForm struct {
	MRZ, Surname, GivenNames, BirthDate, Nationality, Sex, Document, DocumentCountry string
	// Errors maps a field to a catalog key.
	Errors map[string]string
	// Problem is a catalog key about the whole input, with Detail as
	// written by the parser (an MRZ layout error).
	Problem, Detail string
}

// ScreenPage is the data of the screen page.
type ScreenPage struct {
	Form   ScreenForm
	Result *Screening
	N      uint64
}

type keptScreening struct {
	n uint64
	s Screening
}

func (of *officer) screenPage(q *Request) {
	d := ScreenPage{}
	if n, err := strconv.ParseUint(q.URL.Query().Get("r"), 10, 64); err == nil {
		if k, ok := q.Session.Get(scratchScreening).(*keptScreening); ok && k.n == n {
			d.Result, d.N = &k.s, n
		}
	}
	q.Render(http.StatusOK, "screen", "screen.title", d)
}

func (of *officer) screen(q *Request) {
	f := ScreenForm{
		MRZ: q.PostFormValue("mrz"), Surname: strings.TrimSpace(q.PostFormValue("surname")),
		GivenNames: strings.TrimSpace(q.PostFormValue("given_names")), BirthDate: strings.TrimSpace(q.PostFormValue("birth_date")),
		Nationality: strings.ToUpper(strings.TrimSpace(q.PostFormValue("nationality"))), Sex: q.PostFormValue("sex"),
		Document: strings.TrimSpace(q.PostFormValue("document")), DocumentCountry: strings.ToUpper(strings.TrimSpace(q.PostFormValue("document_country"))),
		Errors: map[string]string{},
	}
	var (
		res Screening
		err error
	)
	if strings.TrimSpace(f.MRZ) != "" {
		if len(f.MRZ) > 400 {
			f.Problem = "screen.mrz_too_long"
		} else {
			res, err = of.o.Screener.ScreenMRZ(q.Context(), q.Session.User, NormalizeMRZ(f.MRZ))
		}
	} else {
		var tq engine.Query
		if tq, f.Errors = validateManual(&f); len(f.Errors) == 0 {
			res, err = of.o.Screener.ScreenTraveller(q.Context(), q.Session.User, tq)
		}
	}
	if errors.Is(err, ErrInvalidInput) {
		f.Problem, f.Detail = "screen.mrz_unreadable", strings.TrimPrefix(err.Error(), ErrInvalidInput.Error()+": ")
		err = nil
	}
	if err != nil {
		of.app.log.Error("screening from the console failed", logkey.Error, err)
		res = Screening{NotScreened: NotScreenedFailed, At: q.Now()}
	}
	if f.Problem != "" || len(f.Errors) > 0 {
		q.Render(http.StatusUnprocessableEntity, "screen", "screen.title", ScreenPage{Form: f})
		return
	}
	n := of.seq.Add(1)
	q.Session.Put(scratchScreening, &keptScreening{n: n, s: res})
	q.Redirect("/screen?r=" + strconv.FormatUint(n, 10))
}

// validateManual checks the manual fields and returns the traveller.
func validateManual(f *ScreenForm) (engine.Query, map[string]string) {
	errs := map[string]string{}
	q := engine.Query{Surname: f.Surname, GivenNames: f.GivenNames, BirthDate: f.BirthDate, Nationality: f.Nationality,
		DocumentNumber: f.Document, DocumentCountry: f.DocumentCountry}
	for name, v := range map[string]string{"surname": f.Surname, "given_names": f.GivenNames, "document": f.Document} {
		if utf8.RuneCountInString(v) > 200 || !utf8.ValidString(v) {
			errs[name] = "screen.err_too_long"
		}
	}
	if f.Surname == "" && f.GivenNames == "" && engine.DocumentKey(f.Document) == "" {
		errs["surname"] = "screen.err_need_name"
	}
	if f.BirthDate != "" {
		if d, err := engine.ParseBirthDate(f.BirthDate); err != nil || d.Approx || d.Precision() == engine.PrecisionRange {
			errs["birth_date"] = "screen.err_date"
		}
	}
	// A code of two or three letters or an English name, screened as the
	// alpha-3 code (KP and North Korea are PRK, never "differs").
	for _, name := range input.NormaliseCountries(&q) {
		errs[name] = "screen.err_country"
	}
	switch f.Sex {
	case "", "M", "F", "X":
		q.Sex = f.Sex
	default:
		errs["sex"] = "screen.err_sex"
	}
	return q, errs
}

// QueuePage is the data of the hits queue.
type QueuePage struct {
	Filter    HitFilter
	Hits      []HitSummary
	Total     int
	Page      int
	Pages     int
	Truncated bool
	Statuses  []string
	Bands     []engine.Band
	Lists     []string
	PrevURL   string
	NextURL   string
}

var queueStatuses = []string{"open", "decided", DecisionConfirmed, DecisionFalsePositive, DecisionReferred, "all"}

func bandRank(b engine.Band) int {
	switch b {
	case engine.BandMatch:
		return 0
	case engine.BandPossible:
		return 1
	}
	return 2
}

func (of *officer) queue(q *Request) {
	v := q.URL.Query()
	f := HitFilter{Status: v.Get("status"), List: strings.TrimSpace(v.Get("list")), Flight: strings.TrimSpace(v.Get("flight")), Band: engine.Band(v.Get("band"))}
	if !slices.Contains(queueStatuses, f.Status) {
		f.Status = "open"
	}
	if f.Band != engine.BandMatch && f.Band != engine.BandPossible {
		f.Band = ""
	}
	query := f
	if query.Status == "all" {
		query.Status = ""
	}
	list, err := of.o.Hits.Hits(q.Context(), query)
	if err != nil {
		of.app.log.Error("hits queue", logkey.Error, err)
		q.Error(http.StatusInternalServerError, "error.internal")
		return
	}
	hits := list.Hits
	// Open hits first; then the strongest band; then the one waiting
	// longest.
	slices.SortStableFunc(hits, func(a, b HitSummary) int {
		if c := cmp.Compare(boolRank(a.Status != "open"), boolRank(b.Status != "open")); c != 0 {
			return c
		}
		if c := cmp.Compare(bandRank(a.Band), bandRank(b.Band)); c != 0 {
			return c
		}
		if a.Status == "open" {
			return a.ScreenedAt.Compare(b.ScreenedAt)
		}
		return b.ScreenedAt.Compare(a.ScreenedAt)
	})
	d := QueuePage{Filter: f, Total: len(hits), Truncated: list.Truncated, Statuses: queueStatuses,
		Bands: []engine.Band{engine.BandMatch, engine.BandPossible}}
	for _, l := range of.o.Status.Lists(q.Context()) {
		d.Lists = append(d.Lists, l.Name)
	}
	d.Pages = max(1, (len(hits)+queuePage-1)/queuePage)
	d.Page, _ = strconv.Atoi(v.Get("page"))
	d.Page = min(max(d.Page, 1), d.Pages)
	lo := (d.Page - 1) * queuePage
	d.Hits = hits[lo:min(lo+queuePage, len(hits))]
	pageURL := func(p int) string {
		u := *q.URL
		vv := u.Query()
		vv.Set("page", strconv.Itoa(p))
		u.RawQuery = vv.Encode()
		return u.RequestURI()
	}
	if d.Page > 1 {
		d.PrevURL = pageURL(d.Page - 1)
	}
	if d.Page < d.Pages {
		d.NextURL = pageURL(d.Page + 1)
	}
	q.Render(http.StatusOK, "hits", "hits.title", d)
}

func boolRank(b bool) int {
	if b {
		return 1
	}
	return 0
}

// HitPage is the data of a hit's page.
type HitPage struct {
	Hit       Hit
	Decisions []string
	// Error is a catalog key (a refused decision), Note the note typed.
	Error string
	Note  string
	Done  string // the decision just recorded
}

func (of *officer) hitPage(q *Request) {
	h, err := of.o.Hits.Hit(q.Context(), q.PathValue("id"))
	if errors.Is(err, ErrNotFound) {
		q.Error(http.StatusNotFound, "error.hit_not_found")
		return
	}
	if err != nil {
		of.app.log.Error("hit page", logkey.Error, err)
		q.Error(http.StatusInternalServerError, "error.internal")
		return
	}
	d := HitPage{Hit: h, Decisions: Decisions}
	if dd := q.URL.Query().Get("done"); slices.Contains(Decisions, dd) {
		d.Done = dd
	}
	q.Render(http.StatusOK, "hit", "hit.title", d)
}

func (of *officer) decide(q *Request) {
	id := q.PathValue("id")
	dec := q.PostFormValue("decision")
	note := strings.TrimSpace(q.PostFormValue("note"))
	problem := ""
	switch {
	case !slices.Contains(Decisions, dec):
		problem = "hit.err_decision"
	case dec == DecisionConfirmed && note == "":
		problem = "hit.err_note_required"
	case utf8.RuneCountInString(note) > maxNote || !utf8.ValidString(note):
		problem = "hit.err_note_long"
	}
	if problem == "" {
		_, err := of.o.Hits.Decide(q.Context(), id, Decision{Decision: dec, Officer: q.Session.User, Note: note, Via: "console"})
		switch {
		case err == nil:
			q.Redirect("/hits/" + id + "?done=" + dec)
			return
		case errors.Is(err, ErrNotFound):
			q.Error(http.StatusNotFound, "error.hit_not_found")
			return
		default:
			of.app.log.Error("decision not recorded", logkey.HitID, id, logkey.Error, err)
			problem = "hit.err_not_recorded"
		}
	}
	h, err := of.o.Hits.Hit(q.Context(), id)
	if err != nil {
		q.Error(http.StatusNotFound, "error.hit_not_found")
		return
	}
	q.Render(http.StatusUnprocessableEntity, "hit", "hit.title", HitPage{Hit: h, Decisions: Decisions, Error: problem, Note: note})
}

// ManifestsPage is the data of the manifests page.
type ManifestsPage struct {
	Uploaded []*keptManifest
	Recorded []ManifestSummary
	Error    string
	Detail   string
}

type keptManifest struct {
	N uint64
	M Manifest
}

func (of *officer) kept(q *Request) []*keptManifest {
	ks, _ := q.Session.Get(scratchManifests).([]*keptManifest)
	return ks
}

func (of *officer) manifestsPage(q *Request) {
	of.renderManifests(q, http.StatusOK, "", "")
}

func (of *officer) renderManifests(q *Request, status int, problem, detail string) {
	rec, err := of.o.Manifests.Manifests(q.Context(), 100)
	if err != nil {
		of.app.log.Error("manifests", logkey.Error, err)
	}
	q.Render(status, "manifests", "manifests.title", ManifestsPage{Uploaded: of.kept(q), Recorded: rec, Error: problem, Detail: detail})
}

func (of *officer) upload(q *Request) {
	file, hdr, err := q.FormFile("file")
	if err != nil {
		of.renderManifests(q, http.StatusUnprocessableEntity, "manifests.err_no_file", "")
		return
	}
	defer file.Close()
	data, err := io.ReadAll(io.LimitReader(file, maxManifestFile+1))
	if err != nil || len(data) > maxManifestFile {
		of.renderManifests(q, http.StatusRequestEntityTooLarge, "manifests.err_too_big", "")
		return
	}
	name := hdr.Filename
	if utf8.RuneCountInString(name) > 100 || !utf8.ValidString(name) {
		name = "manifest"
	}
	m, err := of.o.Screener.ScreenManifest(q.Context(), q.Session.User, name, data)
	if errors.Is(err, ErrInvalidInput) {
		of.renderManifests(q, http.StatusUnprocessableEntity, "manifests.err_unreadable", strings.TrimPrefix(err.Error(), ErrInvalidInput.Error()+": "))
		return
	}
	if err != nil {
		of.app.log.Error("manifest from the console failed", logkey.Error, err)
		m = Manifest{Name: name, NotScreened: NotScreenedFailed, At: q.Now()}
	}
	q.Audit(ActionManifestUploaded, "", strconv.Itoa(len(m.Travellers)))
	n := of.seq.Add(1)
	ks := append([]*keptManifest{{N: n, M: m}}, of.kept(q)...)
	if len(ks) > maxKeptManifests {
		ks = ks[:maxKeptManifests]
	}
	q.Session.Put(scratchManifests, ks)
	q.Redirect("/manifests/u/" + strconv.FormatUint(n, 10))
}

// UploadedPage is the data of an uploaded manifest's page.
type UploadedPage struct {
	N          uint64
	M          *Manifest
	Travellers []ManifestTraveller
}

func (of *officer) findKept(q *Request) *keptManifest {
	n, err := strconv.ParseUint(q.PathValue("n"), 10, 64)
	if err != nil {
		return nil
	}
	for _, k := range of.kept(q) {
		if k.N == n {
			return k
		}
	}
	return nil
}

func (of *officer) uploadedPage(q *Request) {
	k := of.findKept(q)
	if k == nil {
		q.Error(http.StatusNotFound, "error.manifest_gone")
		return
	}
	ts := slices.Clone(k.M.Travellers)
	// Hits first, the strongest first; then the order of the message.
	slices.SortStableFunc(ts, func(a, b ManifestTraveller) int {
		if c := cmp.Compare(bandRank(a.Band), bandRank(b.Band)); c != 0 {
			return c
		}
		return cmp.Compare(boolRank(a.Error == ""), boolRank(b.Error == ""))
	})
	q.Render(http.StatusOK, "manifest", "manifest.title", UploadedPage{N: k.N, M: &k.M, Travellers: ts})
}

// TravellerPage is a traveller of an uploaded manifest.
type TravellerPage struct {
	N uint64
	M *Manifest
	T ManifestTraveller
}

func (of *officer) uploadedTraveller(q *Request) {
	k := of.findKept(q)
	i, err := strconv.Atoi(q.PathValue("i"))
	if k == nil || err != nil || i < 0 || i >= len(k.M.Travellers) {
		q.Error(http.StatusNotFound, "error.manifest_gone")
		return
	}
	t := k.M.Travellers[i]
	if t.HitID != "" {
		q.Redirect("/hits/" + t.HitID)
		return
	}
	q.Render(http.StatusOK, "traveller", "traveller.title", TravellerPage{N: k.N, M: &k.M, T: t})
}

func (of *officer) statusPage(q *Request) {
	st, err := of.o.Status.Status(q.Context())
	if err != nil {
		of.app.log.Error("status", logkey.Error, err)
		q.Error(http.StatusInternalServerError, "error.internal")
		return
	}
	_, offset := q.Now().Zone()
	zone := fmt.Sprintf("%+03d:%02d", offset/3600, abs(offset%3600)/60)
	q.Render(http.StatusOK, "status", "status.title", StatusPage{S: st, Zone: zone, IdleTimeout: int(of.app.sessions.IdleTimeout().Minutes())})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// StatusPage is the data of the status page.
type StatusPage struct {
	S           Status
	Zone        string
	IdleTimeout int
}

// AuditPage is the data of the audit page.
type AuditPage struct {
	From, To, Actor, Action string
	Entries                 []AuditEntry
	More                    bool
	CSVURL                  string
	Error                   string
}

const maxAuditRows = 1000

// auditFilter reads the audit filter of a request: from and to are
// YYYY-MM-DD days in the post's zone (to inclusive); the default is
// today.
func auditFilter(q *Request) (AuditFilter, AuditPage, bool) {
	v := q.URL.Query()
	today := q.Now().Local().Format(DateLayout)
	d := AuditPage{From: cmp.Or(v.Get("from"), today), To: cmp.Or(v.Get("to"), v.Get("from"), today),
		Actor: strings.TrimSpace(v.Get("actor")), Action: strings.TrimSpace(v.Get("action"))}
	from, err1 := time.ParseInLocation(DateLayout, d.From, time.Local)
	to, err2 := time.ParseInLocation(DateLayout, d.To, time.Local)
	if err1 != nil || err2 != nil || to.Before(from) {
		d.Error = "audit.err_dates"
		return AuditFilter{}, d, false
	}
	return AuditFilter{From: from, To: to.AddDate(0, 0, 1), Actor: d.Actor, Action: d.Action}, d, true
}

func (of *officer) auditPage(q *Request) { serveAudit(q, of.o.Audit, of.app.log) }

// serveAudit answers an audit page from trail.
func serveAudit(q *Request, trail AuditTrail, log *slog.Logger) {
	f, d, ok := auditFilter(q)
	if ok {
		err := trail.Audit(q.Context(), f, func(e AuditEntry) bool {
			if len(d.Entries) == maxAuditRows {
				d.More = true
				return false
			}
			d.Entries = append(d.Entries, e)
			return true
		})
		if err != nil {
			log.Error("audit trail", logkey.Error, err)
			q.Error(http.StatusInternalServerError, "error.internal")
			return
		}
		u := *q.URL
		u.Path = "/audit.csv"
		d.CSVURL = u.RequestURI()
	}
	q.Render(http.StatusOK, "audit", "audit.title", d)
}

// auditColumns are the CSV header's catalog keys, in column order.
var auditColumns = []string{"audit.col_seq", "audit.col_time", "audit.col_actor", "audit.col_action", "audit.col_via", "audit.col_subject",
	"audit.col_hit", "audit.col_source", "audit.col_ref", "audit.col_decision", "audit.col_previous", "audit.col_matches", "audit.col_detail"}

func (of *officer) auditCSV(q *Request) { serveAuditCSV(q, of.o.Audit, of.app.log) }

// serveAuditCSV exports the audit entries of a request's filter from
// trail as CSV.
func serveAuditCSV(q *Request, trail AuditTrail, log *slog.Logger) {
	f, _, ok := auditFilter(q)
	if !ok {
		q.Error(http.StatusBadRequest, "audit.err_dates")
		return
	}
	q.Audit(ActionAuditExported, "", q.URL.RawQuery)
	h := q.W.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="watchpost-audit-`+f.From.Format(DateLayout)+`.csv"`)
	q.W.Write([]byte("\uFEFF")) // a byte-order mark, so spreadsheets read UTF-8
	cw := csv.NewWriter(q.W)
	head := make([]string, len(auditColumns))
	for i, k := range auditColumns {
		head[i] = q.T(k)
	}
	cw.Write(head)
	err := trail.Audit(q.Context(), f, func(e AuditEntry) bool {
		detail := e.Detail
		if p := e.Purged; p != nil {
			detail = q.T("audit.purged", p.Screenings, p.Hits, p.OpenHits, p.Manifests)
		}
		seq := ""
		if e.Seq != 0 {
			seq = strconv.FormatUint(e.Seq, 10)
		}
		cw.Write([]string{seq, e.Time.Local().Format(time.RFC3339), csvSafe(e.Actor), e.Action, csvSafe(e.Via), csvSafe(e.Subject), e.HitID,
			e.Source, csvSafe(e.Ref), e.Decision, e.Previous, strconv.Itoa(e.Matches), csvSafe(detail)})
		return cw.Error() == nil
	})
	cw.Flush()
	if err != nil {
		log.Error("audit export cut short", logkey.Error, err)
	}
}

// csvSafe defuses a cell a spreadsheet would run as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
