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
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/watchpost/watchpost/engine"
	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/option"
)

// HQOptions configure the HQ console.
type HQOptions struct {
	Users    *UserStore
	Fleet    Fleet
	Hits     HQHits
	Editions Editions
	Keys     KeySource
	// Audit is HQ's event log (the console's and the CLI's entries).
	Audit *EventLog
	// OfflineAfter: a post that sent nothing live for this long is shown
	// offline (DefaultOfflineAfter when 0).
	OfflineAfter time.Duration
	// ClockSlack: a post clock further off than this is a problem
	// (DefaultClockSlack when 0).
	ClockSlack  time.Duration
	IdleTimeout time.Duration
	Clock       clock.Clock
	Logger      *slog.Logger
	Options     func(*Options) // adjusts the foundation's options (tests)
}

// Defaults of HQOptions.
const (
	// DefaultOfflineAfter is five status intervals of a post (60 s each).
	DefaultOfflineAfter = 5 * time.Minute
	DefaultClockSlack   = 2 * time.Minute
	// CertWarning: a post certificate expiring sooner is a problem.
	CertWarning = 30 * 24 * time.Hour
	// HQMaxUpload bounds an edition uploaded in the browser (the OFAC set
	// as a zip of its files is tens of MB).
	HQMaxUpload   = 64 << 20
	hqHitsPage    = 50
	hqProposals   = 50
	chartDays     = 30
	historyWindow = 7 * 24 * time.Hour
)

type hqConsole struct {
	o   HQOptions
	app *App
	log *slog.Logger
}

// NewHQConsole builds HQ's console: the foundation with HQ's roles, and
// its pages.
func NewHQConsole(o HQOptions) (*App, error) {
	if o.Fleet == nil || o.Hits == nil || o.Editions == nil || o.Keys == nil || o.Audit == nil {
		return nil, errors.New("web: the HQ console needs the fleet, hits, editions, keys and an event log")
	}
	o.OfflineAfter = option.Positive(o.OfflineAfter, DefaultOfflineAfter)
	o.ClockSlack = option.Positive(o.ClockSlack, DefaultClockSlack)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	c := &hqConsole{o: o, log: o.Logger}
	opts := Options{
		AppKey: "hq.app", CookiePrefix: "wp_hq", Users: o.Users, Audit: o.Audit,
		Permissions: HQPermissions, IdleTimeout: o.IdleTimeout, Clock: o.Clock, Logger: o.Logger,
		MaxBody: HQMaxUpload,
		Nav: []NavItem{
			{"/fleet", "hqnav.fleet", PermFleet},
			{"/charts", "hqnav.charts", PermFleet},
			{"/hits", "hqnav.hits", PermHits},
			{"/editions", "hqnav.editions", PermFleet},
			{"/keys", "hqnav.keys", PermFleet},
			{"/audit", "nav.audit", PermHQAudit},
		},
		Home: func(string) string { return "/fleet" },
	}
	if o.Options != nil {
		o.Options(&opts)
	}
	app, err := New(opts)
	if err != nil {
		return nil, err
	}
	c.app = app
	app.Handle("GET /{$}", "", func(q *Request) { q.Redirect("/fleet") })
	app.Handle("GET /fleet", PermFleet, c.fleetPage)
	app.Handle("GET /fleet/{post}", PermFleet, c.postPage)
	app.Handle("GET /charts", PermFleet, c.chartsPage)
	app.Handle("GET /hits", PermHits, c.hitsPage)
	app.Handle("GET /hits.csv", PermHits, c.hitsCSV)
	app.Handle("GET /hits/{post}/{id}", PermHits, c.hitPage)
	app.Handle("GET /editions", PermFleet, c.editionsPage)
	app.Handle("POST /editions", PermPublish, c.propose)
	app.Handle("GET /editions/{id}", PermFleet, c.proposalPage)
	app.Handle("POST /editions/{id}/approve", PermPublish, c.approve)
	app.Handle("POST /editions/{id}/reject", PermPublish, c.reject)
	app.Handle("GET /keys", PermFleet, c.keysPage)
	trail := EventTrail{o.Audit}
	app.Handle("GET /audit", PermHQAudit, func(q *Request) { serveAudit(q, trail, c.log) })
	app.Handle("GET /audit.csv", PermHQAudit, func(q *Request) { serveAuditCSV(q, trail, c.log) })
	return app, nil
}

func (c *hqConsole) fail(q *Request, what string, err error) {
	c.log.Error("HQ console: "+what, logkey.Error, err)
	q.Error(http.StatusInternalServerError, "error.hq_internal")
}

// failed answers a page whose data could not be read: 404 with the
// message notFound for ErrNotFound, otherwise as fail does. It reports
// whether err was an error.
func (c *hqConsole) failed(q *Request, what string, err error, notFound string) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrNotFound):
		q.Error(http.StatusNotFound, notFound)
	default:
		c.fail(q, what, err)
	}
	return true
}

// Problem is one thing wrong with a post: a catalog key ("problem.<code>")
// and its argument.
type Problem struct {
	Code string
	Arg  any
}

// FleetRow is a post in the fleet table with what the console makes of
// it.
type FleetRow struct {
	FleetPost
	Online   bool
	MaxLag   uint64
	Problems []Problem
}

// Problem codes, worst first.
const (
	problemOffline  = "offline"
	problemAudit    = "audit"
	problemStale    = "stale"
	problemDiverged = "diverged"
	problemLag      = "lag"
	problemOutbox   = "outbox"
	problemClock    = "clock"
	problemCert     = "cert"
	problemKey      = "key"
)

// assess makes a fleet row: online or not on the console's clock, and
// the post's problems, worst first.
func (c *hqConsole) assess(p FleetPost, now time.Time, signing string) FleetRow {
	r := FleetRow{FleetPost: p}
	r.Online = p.Presence != "offline" && !p.LastSeen.IsZero() && now.Sub(p.LastSeen) <= c.o.OfflineAfter
	if !r.Online {
		r.Problems = append(r.Problems, Problem{problemOffline, FormatDateTime(p.LastSeen)})
	}
	if p.Audit != "" && p.Audit != "ok" {
		r.Problems = append(r.Problems, Problem{problemAudit, p.Audit})
	}
	for _, l := range p.Lists {
		r.MaxLag = max(r.MaxLag, l.Lag)
		switch {
		case l.Stale != "":
			r.Problems = append(r.Problems, Problem{problemStale, l.List})
		case l.Diverged:
			r.Problems = append(r.Problems, Problem{problemDiverged, l.List})
		case l.Lag > 0:
			r.Problems = append(r.Problems, Problem{problemLag, l.List})
		}
	}
	if p.Outbox.OverBudget || p.Outbox.High > 100 {
		r.Problems = append(r.Problems, Problem{problemOutbox, p.Outbox.High})
	}
	if p.Measured && (p.ClockOffset > c.o.ClockSlack || p.ClockOffset < -c.o.ClockSlack) {
		r.Problems = append(r.Problems, Problem{problemClock, FormatOffset(p.ClockOffset)})
	}
	if !p.CertExpiry.IsZero() && p.CertExpiry.Sub(now) < CertWarning {
		r.Problems = append(r.Problems, Problem{problemCert, FormatDate(p.CertExpiry)})
	}
	if signing != "" && p.Keys != nil && !slices.Contains(p.Keys, signing) {
		r.Problems = append(r.Problems, Problem{problemKey, signing})
	}
	return r
}

// FormatOffset formats a clock offset in digits, +H:MM:SS or -H:MM:SS.
func FormatOffset(d time.Duration) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	s := int64(d.Round(time.Second) / time.Second)
	return fmt.Sprintf("%s%d:%02d:%02d", sign, s/3600, s/60%60, s%60)
}

// fleetSorts are the fleet table's sort keys.
var fleetSorts = []string{"problems", "post", "seen", "software", "lag", "outbox", "offset", "cert"}

// FleetPage is the data of the fleet page.
type FleetPage struct {
	Rows                          []FleetRow
	Sort                          string
	Desc                          bool
	Online, Offline, WithProblems int
	Now                           time.Time
	SortURLs                      map[string]string
}

func (c *hqConsole) rows(q *Request) ([]FleetRow, error) {
	posts, err := c.o.Fleet.Posts(q.Context())
	if err != nil {
		return nil, err
	}
	signing := ""
	if kv, err := c.o.Keys.Keys(q.Context()); err == nil {
		signing = kv.Current.ID
	}
	now := q.Now()
	rows := make([]FleetRow, len(posts))
	for i, p := range posts {
		rows[i] = c.assess(p, now, signing)
	}
	return rows, nil
}

func (c *hqConsole) fleetPage(q *Request) {
	rows, err := c.rows(q)
	if err != nil {
		c.fail(q, "fleet", err)
		return
	}
	v := q.URL.Query()
	d := FleetPage{Sort: v.Get("sort"), Desc: v.Get("dir") == "desc", Now: q.Now(), SortURLs: map[string]string{}}
	if !slices.Contains(fleetSorts, d.Sort) {
		d.Sort = "problems"
	}
	sortFleet(rows, d.Sort, d.Desc)
	for _, r := range rows {
		if r.Online {
			d.Online++
		} else {
			d.Offline++
		}
		if len(r.Problems) > 0 {
			d.WithProblems++
		}
	}
	for _, s := range fleetSorts {
		dir := ""
		if s == d.Sort && !d.Desc {
			dir = "&dir=desc"
		}
		d.SortURLs[s] = "/fleet?sort=" + s + dir
	}
	d.Rows = rows
	q.Render(http.StatusOK, "hq_fleet", "hqfleet.title", d)
}

// sortFleet orders the fleet: by the key, then the post id; "problems"
// puts the posts with the worst problems first, offline worst of all.
func sortFleet(rows []FleetRow, key string, desc bool) {
	rank := func(r FleetRow) int {
		if len(r.Problems) == 0 {
			return 100
		}
		return slices.Index([]string{problemOffline, problemAudit, problemStale, problemDiverged, problemLag,
			problemOutbox, problemClock, problemCert, problemKey}, r.Problems[0].Code)
	}
	abs := func(d time.Duration) time.Duration { return max(d, -d) }
	slices.SortStableFunc(rows, func(a, b FleetRow) int {
		var c int
		switch key {
		case "post":
		case "seen":
			c = b.LastSeen.Compare(a.LastSeen)
		case "software":
			c = strings.Compare(a.Software, b.Software)
		case "lag":
			c = cmp.Compare(b.MaxLag, a.MaxLag)
		case "outbox":
			c = cmp.Compare(b.Outbox.High, a.Outbox.High)
		case "offset":
			c = cmp.Compare(abs(b.ClockOffset), abs(a.ClockOffset))
		case "cert":
			c = cmp.Compare(certRank(a.CertExpiry), certRank(b.CertExpiry))
		default:
			if c = cmp.Compare(rank(a), rank(b)); c == 0 {
				c = cmp.Compare(len(b.Problems), len(a.Problems))
			}
		}
		if desc {
			c = -c
		}
		if c == 0 {
			c = strings.Compare(a.Post, b.Post)
		}
		return c
	})
}

func certRank(t time.Time) int64 {
	if t.IsZero() {
		return 1 << 62
	}
	return t.Unix()
}

// PostPage is the data of a post's page.
type PostPage struct {
	Row FleetRow
	// Charts of the last week: screenings per hour, outbox depth, hits
	// per day (the last only for those who may see hits).
	Screenings, Outbox, HitsPerDay Chart
	Hits                           []HQHitRow
	CanHits                        bool
	Samples                        int
}

func (c *hqConsole) postPage(q *Request) {
	name := q.PathValue("post")
	rows, err := c.rows(q)
	if err != nil {
		c.fail(q, "post", err)
		return
	}
	i := slices.IndexFunc(rows, func(r FleetRow) bool { return r.Post == name })
	if i < 0 {
		q.Error(http.StatusNotFound, "error.post_not_found")
		return
	}
	now := q.Now()
	hist, err := c.o.Fleet.History(q.Context(), name, now.Add(-historyWindow))
	if err != nil {
		c.fail(q, "post history", err)
		return
	}
	d := PostPage{Row: rows[i], CanHits: c.app.Can(q.Session.Role, PermHits), Samples: len(hist)}
	d.Screenings = screeningsChart(q, hist, now)
	d.Outbox = outboxChart(q, map[string][]Sample{name: hist}, now)
	if d.CanHits {
		counts, err := c.o.Hits.PerDay(q.Context(), dayStart(now).AddDate(0, 0, -chartDays+1), dayStart(now).AddDate(0, 0, 1))
		if err != nil {
			c.fail(q, "hits per day", err)
			return
		}
		d.HitsPerDay = hitsPerDayChart(q, counts, now, func(dc DayCount) string {
			if dc.Post != name {
				return ""
			}
			return dc.List
		})
		page, err := c.o.Hits.Hits(q.Context(), HQHitFilter{Post: name, Limit: 10})
		if err != nil {
			c.fail(q, "post hits", err)
			return
		}
		d.Hits = page.Rows
	}
	q.Render(http.StatusOK, "hq_post", "hqpost.title", d)
}

// ChartsPage is the data of the charts page.
type ChartsPage struct {
	HitsByPost, HitsByList, Lag, Outbox, Screenings Chart
	CanHits                                         bool
}

func (c *hqConsole) chartsPage(q *Request) {
	rows, err := c.rows(q)
	if err != nil {
		c.fail(q, "charts", err)
		return
	}
	now := q.Now()
	d := ChartsPage{CanHits: c.app.Can(q.Session.Role, PermHits)}
	d.Lag = lagChart(q, rows)
	// The busiest posts' outbox and screenings over the last week; a
	// chart of 500 lines helps nobody.
	hist := map[string][]Sample{}
	byOutbox := slices.Clone(rows)
	slices.SortStableFunc(byOutbox, func(a, b FleetRow) int { return cmp.Compare(b.Outbox.High, a.Outbox.High) })
	for _, r := range byOutbox[:min(len(byOutbox), maxSeries)] {
		if hist[r.Post], err = c.o.Fleet.History(q.Context(), r.Post, now.Add(-historyWindow)); err != nil {
			c.fail(q, "history", err)
			return
		}
	}
	d.Outbox = outboxChart(q, hist, now)
	d.Screenings = fleetScreeningsChart(q, hist, now)
	if d.CanHits {
		counts, err := c.o.Hits.PerDay(q.Context(), dayStart(now).AddDate(0, 0, -chartDays+1), dayStart(now).AddDate(0, 0, 1))
		if err != nil {
			c.fail(q, "hits per day", err)
			return
		}
		d.HitsByPost = hitsPerDayChart(q, counts, now, func(dc DayCount) string { return dc.Post })
		d.HitsByList = hitsPerDayChart(q, counts, now, func(dc DayCount) string { return dc.List })
	}
	q.Render(http.StatusOK, "hq_charts", "hqcharts.title", d)
}

// HQHitsPage is the data of the hits page.
type HQHitsPage struct {
	Post, List, Band, Decision, From, To string
	Rows                                 []HQHitRow
	NextURL, FirstURL, CSVURL            string
	Decisions                            []string
	Bands                                []engine.Band
	Lists                                []string
	Error                                string
}

var hqDecisions = []string{"open", DecisionConfirmed, DecisionFalsePositive, DecisionReferred}

// hitFilter reads the hits filter of a request; from and to are
// YYYY-MM-DD days (UTC, to inclusive).
func hitFilter(q *Request) (HQHitFilter, HQHitsPage, bool) {
	v := q.URL.Query()
	d := HQHitsPage{Post: strings.TrimSpace(v.Get("post")), List: strings.TrimSpace(v.Get("list")), Band: v.Get("band"),
		Decision: v.Get("decision"), From: strings.TrimSpace(v.Get("from")), To: strings.TrimSpace(v.Get("to")),
		Decisions: hqDecisions, Bands: []engine.Band{engine.BandMatch, engine.BandPossible}}
	f := HQHitFilter{Post: d.Post, List: d.List, Cursor: v.Get("after")}
	if b := engine.Band(d.Band); b == engine.BandMatch || b == engine.BandPossible {
		f.Band = b
	} else {
		d.Band = ""
	}
	if slices.Contains(hqDecisions, d.Decision) {
		f.Decision = d.Decision
	} else {
		d.Decision = ""
	}
	ok := true
	if d.From != "" {
		t, err := time.Parse(DateLayout, d.From)
		ok = ok && err == nil
		f.From = t
	}
	if d.To != "" {
		t, err := time.Parse(DateLayout, d.To)
		ok = ok && err == nil
		f.To = t.AddDate(0, 0, 1)
	}
	if ok && !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		ok = false
	}
	if !ok {
		d.Error = "hqhits.err_dates"
	}
	return f, d, ok
}

func (c *hqConsole) hitsPage(q *Request) {
	f, d, ok := hitFilter(q)
	if lists, err := c.o.Editions.Lists(q.Context()); err == nil {
		for _, l := range lists {
			d.Lists = append(d.Lists, l.Name)
		}
	}
	if ok {
		f.Limit = hqHitsPage
		page, err := c.o.Hits.Hits(q.Context(), f)
		if err != nil {
			c.fail(q, "hits", err)
			return
		}
		d.Rows = page.Rows
		u := *q.URL
		vv := u.Query()
		vv.Del("after")
		u.RawQuery = vv.Encode()
		if f.Cursor != "" {
			d.FirstURL = u.RequestURI()
		}
		if page.Next != "" {
			vv.Set("after", page.Next)
			u.RawQuery = vv.Encode()
			d.NextURL = u.RequestURI()
			vv.Del("after")
		}
		u.Path, u.RawQuery = "/hits.csv", vv.Encode()
		d.CSVURL = u.RequestURI()
	}
	q.Render(http.StatusOK, "hq_hits", "hqhits.title", d)
}

// HQHitPageData is the data of a hit's page at HQ.
type HQHitPageData struct {
	Hit    HQHit
	Status string
}

func (c *hqConsole) hitPage(q *Request) {
	h, err := c.o.Hits.Hit(q.Context(), q.PathValue("post"), q.PathValue("id"))
	if c.failed(q, "hit", err, "error.hit_not_found") {
		return
	}
	q.Render(http.StatusOK, "hq_hit", "hit.title", HQHitPageData{Hit: h, Status: h.Status()})
}

// hqHitColumns are the CSV header's catalog keys, in column order.
var hqHitColumns = []string{"hqhits.col_received", "hqhits.col_post", "hqhits.col_id", "hits.col_screened", "hits.col_band",
	"hits.col_status", "hqhits.col_officer", "hqhits.col_decided", "hits.col_traveller", "screen.birth_date", "screen.nationality",
	"screen.document", "hits.col_lists", "hqhits.col_entries", "hqhits.col_score", "hits.col_ref"}

func (c *hqConsole) hitsCSV(q *Request) {
	f, _, ok := hitFilter(q)
	if !ok {
		q.Error(http.StatusBadRequest, "hqhits.err_dates")
		return
	}
	f.Cursor = ""
	q.Audit(ActionHitsExported, "", q.URL.RawQuery)
	h := q.W.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	name := "watchpost-hits"
	if !f.From.IsZero() {
		name += "-" + f.From.Format(DateLayout)
	}
	h.Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	q.W.Write([]byte("\uFEFF"))
	cw := csv.NewWriter(q.W)
	head := make([]string, len(hqHitColumns))
	for i, k := range hqHitColumns {
		head[i] = q.T(k)
	}
	cw.Write(head)
	err := c.o.Hits.Export(q.Context(), f, func(x HQHit) bool {
		officer, decided := "", ""
		if n := len(x.Decisions); n > 0 {
			officer, decided = x.Decisions[n-1].Officer, x.Decisions[n-1].DecidedAt.UTC().Format(time.RFC3339)
		}
		var lists, entries, scores []string
		for _, hh := range x.Hits {
			lists = append(lists, hh.List)
			entries = append(entries, hh.EntryID)
			scores = append(scores, strconv.FormatFloat(hh.Score, 'f', 2, 64))
		}
		t := x.Traveller
		doc := strings.TrimSpace(t.DocumentNumber + " " + t.DocumentCountry)
		cw.Write([]string{x.ReceivedAt.UTC().Format(time.RFC3339), csvSafe(x.Post), x.ID, x.ScreenedAt.UTC().Format(time.RFC3339),
			string(x.Band()), x.Status(), csvSafe(officer), decided, csvSafe(t.FullName()), csvSafe(t.BirthDate), csvSafe(t.Nationality),
			csvSafe(doc), csvSafe(strings.Join(lists, " ")), csvSafe(strings.Join(entries, " ")), strings.Join(scores, " "), csvSafe(x.Ref)})
		return cw.Error() == nil
	})
	cw.Flush()
	if err != nil {
		c.log.Error("hits export cut short", logkey.Error, err)
	}
}

// EditionsPage is the data of the editions page.
type EditionsPage struct {
	Lists      []PublishedList
	Proposals  []Proposal
	Formats    []string
	CanPublish bool
	Error      string
	Detail     string
	Form       EditionUpload
}

func (c *hqConsole) editionsPage(q *Request) {
	c.renderEditions(q, http.StatusOK, EditionsPage{})
}

func (c *hqConsole) renderEditions(q *Request, status int, d EditionsPage) {
	var err error
	if d.Lists, err = c.o.Editions.Lists(q.Context()); err != nil {
		c.fail(q, "lists", err)
		return
	}
	if d.Proposals, err = c.o.Editions.Proposals(q.Context(), hqProposals); err != nil {
		c.fail(q, "proposals", err)
		return
	}
	d.Formats = c.o.Editions.Formats()
	d.CanPublish = c.app.Can(q.Session.Role, PermPublish)
	q.Render(status, "hq_editions", "hqeditions.title", d)
}

func (c *hqConsole) propose(q *Request) {
	up := EditionUpload{List: strings.TrimSpace(q.PostFormValue("list")), Format: q.PostFormValue("format"),
		Source: strings.TrimSpace(q.PostFormValue("source")), Action: strings.TrimSpace(q.PostFormValue("action"))}
	d := EditionsPage{Form: up}
	file, hdr, err := q.FormFile("file")
	switch {
	case up.List == "":
		d.Error = "hqeditions.err_list"
	case !slices.Contains(c.o.Editions.Formats(), up.Format):
		d.Error = "hqeditions.err_format"
	case err != nil:
		d.Error = "manifests.err_no_file"
	case utf8.RuneCountInString(up.Source) > 200 || utf8.RuneCountInString(up.Action) > 200:
		d.Error = "screen.err_too_long"
	}
	if d.Error != "" {
		if file != nil {
			file.Close()
		}
		c.renderEditions(q, http.StatusUnprocessableEntity, d)
		return
	}
	defer file.Close()
	if up.Data, err = io.ReadAll(io.LimitReader(file, HQMaxUpload+1)); err != nil || len(up.Data) > HQMaxUpload {
		d.Error = "error.too_large"
		c.renderEditions(q, http.StatusRequestEntityTooLarge, d)
		return
	}
	up.FileName = hdr.Filename
	if utf8.RuneCountInString(up.FileName) > 100 || !utf8.ValidString(up.FileName) {
		up.FileName = "edition"
	}
	p, err := c.o.Editions.Propose(q.Context(), q.Session.User, up)
	if errors.Is(err, ErrInvalidInput) {
		d.Error, d.Detail = "hqeditions.err_unreadable", strings.TrimPrefix(err.Error(), ErrInvalidInput.Error()+": ")
		c.renderEditions(q, http.StatusUnprocessableEntity, d)
		return
	}
	if err != nil {
		c.fail(q, "propose", err)
		return
	}
	q.Audit(ActionProposed, p.ID, p.List+" "+strconv.Itoa(p.Added)+"+ "+strconv.Itoa(p.Removed)+"- "+strconv.Itoa(p.Changed)+"~")
	q.Redirect("/editions/" + url.PathEscape(p.ID))
}

// ProposalPage is the data of a proposal's page.
type ProposalPage struct {
	P          Proposal
	CanPublish bool
	// Own: the viewer uploaded it (and so cannot approve it).
	Own   bool
	Error string
	Done  string
}

func (c *hqConsole) proposalPage(q *Request) {
	p, err := c.o.Editions.Proposal(q.Context(), q.PathValue("id"))
	if c.failed(q, "proposal", err, "error.proposal_not_found") {
		return
	}
	d := ProposalPage{P: p, CanPublish: c.app.Can(q.Session.Role, PermPublish), Own: p.Uploader == q.Session.User}
	if dd := q.URL.Query().Get("done"); dd == ProposalApproved || dd == ProposalRejected {
		d.Done = dd
	}
	q.Render(http.StatusOK, "hq_proposal", "hqproposal.title", d)
}

func (c *hqConsole) approve(q *Request) {
	id := q.PathValue("id")
	p, err := c.o.Editions.Approve(q.Context(), id, q.Session.User, q.PostFormValue("confirm_shrink") == "yes")
	problem := ""
	switch {
	case err == nil:
		q.Audit(ActionApproved, id, p.List+" v"+strconv.FormatUint(p.Version, 10))
		q.Redirect("/editions/" + url.PathEscape(id) + "?done=approved")
		return
	case errors.Is(err, ErrNotFound):
		q.Error(http.StatusNotFound, "error.proposal_not_found")
		return
	case errors.Is(err, ErrSelfApproval):
		problem = "hqproposal.err_self"
	case errors.Is(err, ErrNotPending):
		problem = "hqproposal.err_not_pending"
	case errors.Is(err, ErrListMoved):
		problem = "hqproposal.err_moved"
	case errors.Is(err, ErrShrinkUnconfirmed):
		problem = "hqproposal.err_shrink"
	default:
		c.log.Error("HQ console: publication failed", logkey.Error, err)
		q.Audit(ActionPublishFailed, id, "")
		problem = "hqproposal.err_failed"
	}
	if problem != "hqproposal.err_failed" {
		q.Audit(ActionApproveRefused, id, strings.TrimPrefix(problem, "hqproposal.err_"))
	}
	c.renderProposal(q, id, problem)
}

func (c *hqConsole) reject(q *Request) {
	id := q.PathValue("id")
	note := strings.TrimSpace(q.PostFormValue("note"))
	if utf8.RuneCountInString(note) > maxNote || !utf8.ValidString(note) {
		c.renderProposal(q, id, "hit.err_note_long")
		return
	}
	p, err := c.o.Editions.Reject(q.Context(), id, q.Session.User, note)
	switch {
	case err == nil:
		q.Audit(ActionRejected, id, p.List)
		q.Redirect("/editions/" + url.PathEscape(id) + "?done=rejected")
	case errors.Is(err, ErrNotFound):
		q.Error(http.StatusNotFound, "error.proposal_not_found")
	case errors.Is(err, ErrNotPending):
		c.renderProposal(q, id, "hqproposal.err_not_pending")
	default:
		c.fail(q, "reject", err)
	}
}

func (c *hqConsole) renderProposal(q *Request, id, problem string) {
	p, err := c.o.Editions.Proposal(q.Context(), id)
	if err != nil {
		q.Error(http.StatusNotFound, "error.proposal_not_found")
		return
	}
	q.Render(http.StatusUnprocessableEntity, "hq_proposal", "hqproposal.title",
		ProposalPage{P: p, CanPublish: c.app.Can(q.Session.Role, PermPublish), Own: p.Uploader == q.Session.User, Error: problem})
}

// KeysPage is the data of the keys page.
type KeysPage struct {
	K   KeysView
	IDs []string // the current key and the announced ones, in column order
}

func (c *hqConsole) keysPage(q *Request) {
	kv, err := c.o.Keys.Keys(q.Context())
	if err != nil {
		c.fail(q, "keys", err)
		return
	}
	d := KeysPage{K: kv, IDs: []string{kv.Current.ID}}
	for _, a := range kv.Announced {
		d.IDs = append(d.IDs, a.ID)
	}
	q.Render(http.StatusOK, "hq_keys", "hqkeys.title", d)
}

// EventTrail shows an EventLog as an audit trail: HQ's has only the
// consoles' and the command line's events.
type EventTrail struct{ Log *EventLog }

// Append records an event.
func (t EventTrail) Append(ctx context.Context, e Event) error { return t.Log.Append(ctx, e) }

// Audit lists the events f selects, oldest first.
func (t EventTrail) Audit(ctx context.Context, f AuditFilter, fn func(AuditEntry) bool) error {
	return t.Log.Each(ctx, f.From, f.To, func(e Event) bool {
		if f.Actor != "" && e.Actor != f.Actor || f.Action != "" && e.Action != f.Action {
			return true
		}
		return fn(AuditEntry{Time: e.Time, Actor: e.Actor, Action: e.Action, Subject: e.Subject, Detail: e.Detail})
	})
}
