package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/watchpost/watchpost/engine/clock"
	"github.com/watchpost/watchpost/engine/logkey"
	"github.com/watchpost/watchpost/engine/option"
)

// MaxBody bounds every request body. Multipart forms are parsed in memory
// up to this size, so an upload never spills to a temporary file on disk
// (it may hold travellers' data).
const MaxBody = 8 << 20

// Options configure an App, the part of a console that is the same for
// every console.
type Options struct {
	// AppKey is the catalog key of the console's name ("post.app").
	AppKey string
	// CookiePrefix names the console's cookies ("wp_post"), so that two
	// consoles on one host (other ports) keep theirs apart.
	CookiePrefix string
	Users        *UserStore
	// Audit receives the foundation's events (logins, lockouts, logouts,
	// language changes) and the console's own.
	Audit Auditor
	// Permissions maps each role to the permissions it has.
	Permissions map[string][]string
	// Nav is the menu, in order; an item shows when the role has its
	// permission.
	Nav []NavItem
	// Home is where a role lands after login ("/" when nil or "").
	Home func(role string) string
	// Banners returns what every page shows on top (a STALE list); nil
	// for none.
	Banners func(ctx context.Context) []Banner
	// Footer is a line shown at the bottom of every page (the post id);
	// data, shown as written.
	Footer string
	// MaxBody bounds a request's body (the package's MaxBody when 0):
	// HQ's console takes editions of tens of MB.
	MaxBody int64
	// IdleTimeout ends sessions (DefaultIdleTimeout when 0).
	IdleTimeout time.Duration
	// Clock times sessions, lockouts and the pages' dates; nil means
	// clock.System.
	Clock  clock.Clock
	Logger *slog.Logger
}

// NavItem is one entry of the menu.
type NavItem struct {
	Path, Key, Perm string
}

// Banner is a message on top of every page: a catalog key and its
// arguments; Level is "warn" or "danger".
type Banner struct {
	Level string
	Key   string
	Args  []any
}

// App serves a console: its login, logout and language routes, the
// assets, and the pages the console registers with Handle. It is an
// http.Handler.
type App struct {
	opts     Options
	log      *slog.Logger
	clock    clock.Clock
	cats     Catalogs
	tmpl     *templates
	assets   *assets
	sessions *Sessions
	mux      *http.ServeMux
}

// Request is one request to a console page: the session, the language
// and helpers to answer.
type Request struct {
	*http.Request
	W       http.ResponseWriter
	Session *Session
	Lang    string
	Catalog *Catalog
	app     *App
	// loginTok is a login CSRF token set on this answer.
	loginTok string
}

// HandlerFunc answers a console page.
type HandlerFunc func(q *Request)

// New builds the foundation of a console.
func New(opts Options) (*App, error) {
	switch {
	case opts.Users == nil:
		return nil, errors.New("web: no user store")
	case opts.Audit == nil:
		return nil, errors.New("web: no auditor")
	case opts.CookiePrefix == "" || strings.ContainsAny(opts.CookiePrefix, "=;, \t"):
		return nil, fmt.Errorf("web: cookie prefix %q: want a token such as wp_post", opts.CookiePrefix)
	}
	opts.Clock = clock.OrSystem(opts.Clock)
	opts.MaxBody = option.Positive(opts.MaxBody, MaxBody)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	cats, err := LoadCatalogs()
	if err != nil {
		return nil, err
	}
	as, err := loadAssets()
	if err != nil {
		return nil, err
	}
	tmpl, err := parseTemplates(cats, as)
	if err != nil {
		return nil, err
	}
	a := &App{
		opts: opts, log: opts.Logger, clock: opts.Clock, cats: cats, tmpl: tmpl, assets: as,
		sessions: NewSessions(opts.IdleTimeout, opts.Clock), mux: http.NewServeMux(),
	}
	a.mux.HandleFunc("GET /assets/", as.serve)
	a.mux.HandleFunc("GET /favicon.ico", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, as.url("icon.svg"), http.StatusMovedPermanently)
	})
	a.mux.HandleFunc("GET /login", a.public(a.loginPage))
	a.mux.HandleFunc("POST /login", a.public(a.login))
	a.mux.HandleFunc("POST /lang", a.public(a.setLang))
	a.Handle("POST /logout", "", a.logout)
	return a, nil
}

// Sessions returns the live sessions.
func (a *App) Sessions() *Sessions { return a.sessions }

// Catalogs returns the message catalogs.
func (a *App) Catalogs() Catalogs { return a.cats }

// Can reports whether role has permission perm ("" is every logged-in
// user's).
func (a *App) Can(role, perm string) bool {
	return perm == "" || slices.Contains(a.opts.Permissions[role], perm)
}

func (a *App) cookie(name string) string { return a.opts.CookiePrefix + "_" + name }

// ServeHTTP answers every console request.
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/assets/") {
		setPageHeaders(w.Header())
	}
	a.mux.ServeHTTP(w, r)
}

// Handle registers a page: pattern is a net/http pattern with its method
// ("GET /hits/{id}"), perm the permission it needs ("" for any logged-in
// user). Every POST must carry the session's CSRF token.
func (a *App) Handle(pattern, perm string, h HandlerFunc) {
	a.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		q := a.newRequest(w, r)
		s, state := a.sessions.Lookup(a.readCookie(r, "session"))
		switch state {
		case SessionExpired:
			a.audit(r.Context(), Event{Actor: s.User, Action: ActionExpired})
			a.toLogin(q, "expired")
			return
		case SessionNone:
			a.toLogin(q, "")
			return
		}
		// The account may have been disabled or changed since login.
		u, err := a.opts.Users.Get(r.Context(), s.User)
		if err != nil || u.Disabled {
			a.sessions.End(s)
			a.toLogin(q, "")
			return
		}
		s.Role = u.Role
		q.setSession(s)
		if r.Method == http.MethodPost && !a.checkPost(q, s.CSRF) {
			return
		}
		if !a.Can(s.Role, perm) {
			q.Error(http.StatusForbidden, "error.forbidden")
			return
		}
		h(q)
	})
}

// public wraps the handlers that need no session (login, language).
func (a *App) public(h HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := a.newRequest(w, r)
		if s, state := a.sessions.Lookup(a.readCookie(r, "session")); state == SessionOK {
			q.setSession(s)
		}
		h(q)
	}
}

func (a *App) newRequest(w http.ResponseWriter, r *http.Request) *Request {
	q := &Request{Request: r, W: w, app: a}
	q.Lang = Negotiate(r.Header.Get("Accept-Language"), a.readCookie(r, "lang"))
	q.Catalog = a.cats[q.Lang]
	return q
}

func (q *Request) setSession(s *Session) {
	q.Session = s
	if s.Lang != "" {
		q.Lang = Negotiate(q.Header.Get("Accept-Language"), s.Lang)
		q.Catalog = q.app.cats[q.Lang]
	}
}

func (a *App) readCookie(r *http.Request, name string) string {
	c, err := r.Cookie(a.cookie(name))
	if err != nil {
		return ""
	}
	return c.Value
}

// setCookie sets an HttpOnly, SameSite=Strict cookie, Secure when the
// request came over TLS; maxAge 0 makes it a session cookie, < 0 deletes
// it.
func (a *App) setCookie(q *Request, name, value string, maxAge int) {
	http.SetCookie(q.W, &http.Cookie{
		Name: a.cookie(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: q.TLS != nil,
	})
}

// checkPost refuses a POST from another site or without the CSRF token
// want; it parses the form (multipart in memory, at most Options.MaxBody).
func (a *App) checkPost(q *Request, want string) bool {
	q.Body = http.MaxBytesReader(q.W, q.Body, a.opts.MaxBody)
	var err error
	if strings.HasPrefix(q.Header.Get("Content-Type"), "multipart/form-data") {
		err = q.ParseMultipartForm(a.opts.MaxBody)
	} else {
		err = q.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			q.Error(http.StatusRequestEntityTooLarge, "error.too_large")
		} else {
			q.Error(http.StatusBadRequest, "error.bad_form")
		}
		return false
	}
	got := q.PostFormValue("csrf")
	if !sameOrigin(q.Request) || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		actor := "anonymous"
		if q.Session != nil {
			actor = q.Session.User
		}
		a.audit(q.Context(), Event{Actor: actor, Action: ActionCSRF, Detail: q.URL.Path})
		q.Error(http.StatusForbidden, "error.csrf")
		return false
	}
	return true
}

// sameOrigin refuses a request a browser says came from another site:
// Sec-Fetch-Site (sent by current browsers) must not name another site,
// and an Origin, when given and not "null", must be this host.
func sameOrigin(r *http.Request) bool {
	site := r.Header.Get("Sec-Fetch-Site")
	if site == "cross-site" || site == "same-site" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" && site == "same-origin" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

func (a *App) audit(ctx context.Context, e Event) {
	if err := a.opts.Audit.Append(context.WithoutCancel(ctx), e); err != nil {
		a.log.Error("console audit entry not recorded", logkey.Action, e.Action, logkey.Error, err)
	}
}

// Audit records a console action by the request's user.
func (q *Request) Audit(action, subject, detail string) {
	actor := "anonymous"
	if q.Session != nil {
		actor = q.Session.User
	}
	q.app.audit(q.Context(), Event{Actor: actor, Action: action, Subject: subject, Detail: detail})
}

// T returns a message in the request's language, or the key itself if
// the catalog lacks it (for text outside templates, such as CSV
// headers; a test checks every key such code uses).
func (q *Request) T(key string, args ...any) string {
	m, err := q.Catalog.T(key, args...)
	if err != nil {
		q.app.log.Error("message missing", logkey.Error, err)
		return key
	}
	return m
}

// Now returns the console's clock.
func (q *Request) Now() time.Time { return q.app.clock.Now() }

// Page is what the layout renders around a page's content.
type Page struct {
	Lang, Dir string
	AppKey    string
	// Console is the console's key prefix ("post", "hq"): its own login
	// heading and footer are <Console>.login_heading, <Console>.foot.
	Console   string
	TitleKey  string
	User      string
	Role      string
	CSRF      string
	Path      string
	Nav       []NavItem
	Banners   []Banner
	Languages []LanguageChoice
	Footer    string
	// Data is the page's own.
	Data any
}

// LanguageChoice is one entry of the language menu.
type LanguageChoice struct {
	Code, Name string
	Current    bool
}

// Render answers with page (templates/<page>.html) around data.
func (q *Request) Render(status int, page, titleKey string, data any) {
	a := q.app
	p := &Page{Lang: q.Lang, Dir: "ltr", AppKey: a.opts.AppKey, Console: strings.TrimSuffix(a.opts.AppKey, ".app"), TitleKey: titleKey, Path: q.URL.Path, Data: data, Footer: a.opts.Footer}
	if rtl[q.Lang] {
		p.Dir = "rtl"
	}
	for _, l := range Languages {
		p.Languages = append(p.Languages, LanguageChoice{Code: l, Name: Autonyms[l], Current: l == q.Lang})
	}
	if s := q.Session; s != nil {
		p.User, p.Role, p.CSRF = s.User, s.Role, s.CSRF
		for _, n := range a.opts.Nav {
			if a.Can(s.Role, n.Perm) {
				p.Nav = append(p.Nav, n)
			}
		}
		if a.opts.Banners != nil {
			p.Banners = a.opts.Banners(q.Context())
		}
	} else {
		p.CSRF = q.loginToken()
	}
	b, err := a.tmpl.render(q.Lang, page, p)
	if err != nil {
		a.log.Error("page not rendered", logkey.Page, page, logkey.Lang, q.Lang, logkey.Error, err)
		if page != "error" {
			q.Error(http.StatusInternalServerError, "error.internal")
			return
		}
		http.Error(q.W, "internal error", http.StatusInternalServerError)
		return
	}
	h := q.W.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", q.Lang)
	q.W.WriteHeader(status)
	q.W.Write(b)
}

// ErrorData is the data of the error page.
type ErrorData struct {
	Status int
	Key    string
}

// Error answers with the error page and a message key.
func (q *Request) Error(status int, key string) {
	q.Render(status, "error", "error.title", ErrorData{Status: status, Key: key})
}

// Redirect answers 303 See Other to a local path.
func (q *Request) Redirect(path string) {
	http.Redirect(q.W, q.Request, path, http.StatusSeeOther)
}

// localPath returns p if it is a path on this site ("/hits?x=1"), else
// "/": a redirect target from a form must not lead elsewhere.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return "/"
	}
	return p
}

func (a *App) toLogin(q *Request, reason string) {
	if q.Method != http.MethodGet {
		reason = "expired"
		if q.Session == nil && a.readCookie(q.Request, "session") == "" {
			reason = ""
		}
		q.Redirect("/login?why=" + url.QueryEscape(reason))
		return
	}
	v := url.Values{"next": {q.URL.RequestURI()}}
	if reason != "" {
		v.Set("why", reason)
	}
	q.Redirect("/login?" + v.Encode())
}

func (a *App) home(role string) string {
	if a.opts.Home != nil {
		if h := a.opts.Home(role); h != "" {
			return h
		}
	}
	return "/"
}
