package web

import (
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/watchpost/watchpost/engine/logkey"
)

// LoginData is the data of the login page.
type LoginData struct {
	Name  string
	Next  string
	Why   string // "expired", "logout" or ""
	Error string // a catalog key
	Until time.Time
}

// loginToken returns the CSRF token of a visitor without a session: a
// random value kept in a cookie for the login and language forms (set on
// the first page that needs it).
func (q *Request) loginToken() string {
	if v := q.app.readCookie(q.Request, "login"); len(v) >= 32 {
		return v
	}
	if q.loginTok == "" {
		q.loginTok = randomToken()
		q.app.setCookie(q, "login", q.loginTok, 0)
	}
	return q.loginTok
}

func (a *App) loginPage(q *Request) {
	if q.Session != nil {
		q.Redirect(a.home(q.Session.Role))
		return
	}
	d := LoginData{Next: localPath(q.URL.Query().Get("next")), Why: q.URL.Query().Get("why")}
	if !slices.Contains([]string{"expired", "logout"}, d.Why) {
		d.Why = ""
	}
	q.Render(http.StatusOK, "login", "login.title", d)
}

func (a *App) login(q *Request) {
	want := a.readCookie(q.Request, "login")
	if !a.checkPost(q, want) {
		return
	}
	name, pw := q.PostFormValue("name"), q.PostFormValue("password")
	d := LoginData{Name: name, Next: localPath(q.PostFormValue("next"))}
	u, res, err := a.opts.Users.Authenticate(q.Context(), name, pw)
	if err != nil {
		a.log.Error("login failed on the store", logkey.Error, err)
		q.Error(http.StatusInternalServerError, "error.internal")
		return
	}
	actor := u.Name
	if actor == "" {
		actor = "unknown" // never the name typed: it may be a password typed in the wrong field
	}
	switch res {
	case LoginOK:
		token, s := a.sessions.New(u)
		a.setCookie(q, "session", token, 0)
		a.setCookie(q, "login", "", -1)
		a.audit(q.Context(), Event{Actor: u.Name, Action: ActionLogin, Detail: u.Role})
		a.log.Info("console login", logkey.User, u.Name, logkey.Role, u.Role)
		next := d.Next
		if next == "/" || next == "/login" {
			next = a.home(s.Role)
		}
		q.Redirect(next)
		return
	case LoginNowLocked:
		a.audit(q.Context(), Event{Actor: actor, Action: ActionLocked, Detail: strconv.Itoa(int(LockoutDuration.Minutes()))})
		a.log.Warn("console account locked after repeated failures", logkey.User, u.Name)
		d.Error, d.Until = "login.locked", u.LockedUntil
	case LoginLocked:
		a.audit(q.Context(), Event{Actor: actor, Action: ActionLoginFailed, Detail: "locked"})
		d.Error, d.Until = "login.locked", u.LockedUntil
	case LoginDisabled:
		a.audit(q.Context(), Event{Actor: actor, Action: ActionLoginFailed, Detail: "disabled"})
		d.Error = "login.wrong"
	default:
		a.audit(q.Context(), Event{Actor: actor, Action: ActionLoginFailed})
		d.Error = "login.wrong"
	}
	q.Render(http.StatusUnauthorized, "login", "login.title", d)
}

func (a *App) logout(q *Request) {
	a.sessions.End(q.Session)
	a.setCookie(q, "session", "", -1)
	q.Audit(ActionLogout, "", "")
	q.Redirect("/login?why=logout")
}

// setLang records a language choice: on the account when logged in, in a
// cookie otherwise (the login page).
func (a *App) setLang(q *Request) {
	want := ""
	if q.Session != nil {
		want = q.Session.CSRF
	} else {
		want = a.readCookie(q.Request, "login")
	}
	if !a.checkPost(q, want) {
		return
	}
	lang := q.PostFormValue("lang")
	if !slices.Contains(Languages, lang) {
		q.Error(http.StatusBadRequest, "error.bad_form")
		return
	}
	if s := q.Session; s != nil {
		if err := a.opts.Users.SetLang(q.Context(), s.User, lang); err != nil {
			a.log.Error("language choice not saved", logkey.User, s.User, logkey.Error, err)
		}
		s.Lang = lang
		q.Audit(ActionLanguage, "", lang)
	} else {
		a.setCookie(q, "lang", lang, 365*24*3600)
	}
	q.Redirect(localPath(q.PostFormValue("back")))
}
