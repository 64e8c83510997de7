package web

import (
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/engine/badgerstore/storetest"
	"github.com/watchpost/watchpost/engine/clock/clocktest"
)

// TestCatalogsHaveTheSameKeys fails when any catalog lacks a key another
// has, or has one the others lack.
func TestCatalogsHaveTheSameKeys(t *testing.T) {
	cats, err := LoadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	en := cats["en"].Keys()
	for _, l := range Languages {
		got := cats[l].Keys()
		for _, k := range en {
			if !cats[l].Has(k) {
				t.Errorf("catalog %s lacks %q", l, k)
			}
		}
		for _, k := range got {
			if !cats["en"].Has(k) {
				t.Errorf("catalog %s has %q, which en does not", l, k)
			}
		}
		for _, k := range got {
			m, _ := cats[l].T(k)
			e, _ := cats["en"].T(k)
			if strings.TrimSpace(m) == "" {
				t.Errorf("catalog %s: %q is empty", l, k)
			}
			if ph := regexp.MustCompile(`\{\d\}`); !slices.Equal(sortedMatches(ph, m), sortedMatches(ph, e)) {
				t.Errorf("catalog %s: %q has placeholders %v, en has %v", l, k, sortedMatches(ph, m), sortedMatches(ph, e))
			}
		}
	}
}

func sortedMatches(re *regexp.Regexp, s string) []string {
	m := re.FindAllString(s, -1)
	slices.Sort(m)
	return m
}

// TestArabicCatalogHasNoLatin: an Arabic page must not fall back on
// English words; data (names, codes) come from arguments, not the
// catalog.
func TestArabicCatalogHasNoLatin(t *testing.T) {
	cats, err := LoadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	latin := regexp.MustCompile(`[A-Za-z]`)
	for _, k := range cats["ar"].Keys() {
		m, _ := cats["ar"].T(k)
		if latin.MatchString(regexp.MustCompile(`\{\d\}`).ReplaceAllString(m, "")) {
			t.Errorf("ar %q: %q has Latin letters", k, m)
		}
	}
}

// TestTemplateKeysExist: every literal key a template or the Go code
// asks for is in the catalogs (so no page can fail on a missing key).
func TestTemplateKeysExist(t *testing.T) {
	cats, err := LoadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\bt "([a-z_.]+)"`)
	n := 0
	err = fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, p)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			n++
			if !cats["en"].Has(m[1]) {
				t.Errorf("%s asks for %q, which the catalogs lack", p, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Fatalf("found %d keys in the templates: the pattern is wrong", n)
	}
	// Keys the Go code builds.
	var keys []string
	keys = append(keys, auditColumns...)
	keys = append(keys, "audit.purged", "post.app", "banner.no_list", "banner.stale", "error.title", "login.title")
	for _, n := range []string{"screen", "hits", "hit", "manifests", "manifest", "traveller", "status", "audit"} {
		keys = append(keys, n+".title")
	}
	for _, r := range PostRoles {
		keys = append(keys, "role."+r)
	}
	for _, d := range Decisions {
		keys = append(keys, "decision."+d, "hstatus."+d)
	}
	for _, s := range queueStatuses {
		keys = append(keys, "hstatus."+s)
	}
	for _, r := range []string{NotScreenedNoList, NotScreenedNotRecord, NotScreenedFailed, NotScreenedNotRunning} {
		keys = append(keys, "notscreened."+r)
	}
	for _, a := range []string{ActionLogin, ActionLoginFailed, ActionLocked, ActionLogout, ActionExpired, ActionUserAdded, ActionPassword,
		ActionDisabled, ActionEnabled, ActionLanguage, ActionCSRF, ActionManifestUploaded, ActionAuditExported,
		"screened", "hit_opened", "disposition", "purge"} {
		keys = append(keys, "action."+a)
	}
	for _, rs := range explainRules {
		for _, r := range rs {
			keys = append(keys, r.key)
		}
	}
	// The HQ console's.
	keys = append(keys, hqHitColumns...)
	keys = append(keys, "hq.app", "error.hq_internal", "chart.others", "chart.hits_per_day", "chart.screenings_per_hour",
		"chart.screenings", "chart.outbox", "chart.lag")
	for _, c := range []string{"post", "hq"} {
		keys = append(keys, c+".login_heading", c+".login_help", c+".foot", c+".foot_id")
	}
	for _, n := range []string{"hqfleet", "hqpost", "hqcharts", "hqhits", "hqeditions", "hqproposal", "hqkeys"} {
		keys = append(keys, n+".title")
	}
	for _, r := range HQRoles {
		keys = append(keys, "role."+r)
	}
	for _, p := range []string{problemOffline, problemAudit, problemStale, problemDiverged, problemLag, problemOutbox, problemClock, problemCert, problemKey} {
		keys = append(keys, "problem."+p)
	}
	for _, s := range []string{ProposalPending, ProposalApproved, ProposalRejected, ProposalFailed} {
		keys = append(keys, "pstate."+s)
		if s != ProposalPending {
			keys = append(keys, "hqproposal.decided_"+s)
		}
	}
	for _, a := range []string{ActionProposed, ActionApproved, ActionRejected, ActionApproveRefused, ActionPublishFailed, ActionSinglePerson, ActionHitsExported} {
		keys = append(keys, "action."+a)
	}
	for _, k := range keys {
		if !cats["en"].Has(k) {
			t.Errorf("the code uses %q, which the catalogs lack", k)
		}
	}
}

// TestRenderRefusesMissingKey: a page asking for a key its catalog lacks
// is not rendered (no page with a hole in it).
// templateInputs loads what parseTemplates takes: the catalogs and the
// assets.
func templateInputs(t *testing.T) (Catalogs, *assets) {
	t.Helper()
	as, err := loadAssets()
	if err != nil {
		t.Fatal(err)
	}
	cats, err := LoadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	return cats, as
}

func TestRenderRefusesMissingKey(t *testing.T) {
	cat := &Catalog{Lang: "en", msgs: map[string]string{"a": "A {1}"}}
	if _, err := tHTML(cat, "b"); err == nil {
		t.Fatal("a missing key rendered")
	}
	got, err := tHTML(cat, "a", "<x>")
	if err != nil || string(got) != `A <bdi class="data">&lt;x&gt;</bdi>` {
		t.Fatalf("tHTML: %q, %v", got, err)
	}
	if got, _ := tHTML(cat, "a", "1973-05-27"); !strings.Contains(string(got), `dir="ltr"`) {
		t.Errorf("a date argument is not shown left to right: %q", got)
	}
	cats, as := templateInputs(t)
	delete(cats["fr"].msgs, "post.login_heading")
	defer func() { cats["fr"].msgs["post.login_heading"] = "x" }()
	ts, err := parseTemplates(cats, as)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.render("fr", "login", &Page{Lang: "fr", AppKey: "post.app", Console: "post", TitleKey: "login.title", Data: LoginData{}}); err == nil {
		t.Error("the login page rendered in French without its heading")
	}
	if _, err := ts.render("en", "login", &Page{Lang: "en", AppKey: "post.app", Console: "post", TitleKey: "login.title", Data: LoginData{}}); err != nil {
		t.Errorf("the English login page: %v", err)
	}
}

func TestNegotiate(t *testing.T) {
	for _, c := range []struct{ accept, choice, want string }{
		{"ar-SA,ar;q=0.9,en;q=0.5", "", "ar"},
		{"zh-TW,zh;q=0.8", "", "zh"},
		{"fr-CA", "", "fr"},
		{"de-DE,es;q=0.4", "", "es"},
		{"de-DE", "", "en"},
		{"", "", "en"},
		{"ru", "ar", "ar"},
		{"ru", "xx", "ru"},
	} {
		if got := Negotiate(c.accept, c.choice); got != c.want {
			t.Errorf("Negotiate(%q, %q) = %s, want %s", c.accept, c.choice, got, c.want)
		}
	}
}

func TestNormalizeMRZ(t *testing.T) {
	l1 := "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
	l2 := "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
	want := l1 + "\n" + l2
	for _, in := range []string{l1 + "\r\n" + l2, l1 + "\r" + l2 + "\r", l1 + "\n\n" + l2 + "\n", l1 + l2, strings.ToLower(l1) + " \n" + l2} {
		if got := NormalizeMRZ(in); got != want {
			t.Errorf("NormalizeMRZ(%q) = %q", in, got)
		}
	}
}

func TestPassword(t *testing.T) {
	h, err := hashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=65536,t=3,p=2$") {
		t.Errorf("hash %q", h)
	}
	if ok, err := verifyPassword(h, "correct horse"); !ok || err != nil {
		t.Errorf("right password: %v %v", ok, err)
	}
	if ok, _ := verifyPassword(h, "correct horsf"); ok {
		t.Error("wrong password accepted")
	}
	if _, err := verifyPassword("$2a$10$abc", "x"); err == nil {
		t.Error("a bcrypt string was read as argon2id")
	}
	if err := checkPassword("short"); err == nil {
		t.Error("a 5-character password was accepted")
	}
}

func openStore(t *testing.T) *badgerstore.Store {
	t.Helper()
	st := storetest.OpenWith(t, t.TempDir(), badgerstore.Options{})
	return st
}

func TestUserStoreLockout(t *testing.T) {
	ctx := context.Background()
	clock := clocktest.NewAt(time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC))
	us := NewUserStore(openStore(t).Records("console"), PostRoles, clock)
	if _, err := us.Add(ctx, "Omar", RoleOfficer, "long enough pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := us.Add(ctx, "omar", RoleOfficer, "long enough pw"); err == nil {
		t.Error("a second omar was added")
	}
	if _, err := us.Add(ctx, "x", "admin", "long enough pw"); err == nil {
		t.Error("a role the post does not have was accepted")
	}
	for i := 1; i < MaxFailures; i++ {
		if _, res, _ := us.Authenticate(ctx, "omar", "wrong"); res != LoginWrong {
			t.Fatalf("failure %d: %v", i, res)
		}
	}
	if _, res, _ := us.Authenticate(ctx, "omar", "wrong"); res != LoginNowLocked {
		t.Fatalf("failure %d: %v, want locked", MaxFailures, res)
	}
	if _, res, _ := us.Authenticate(ctx, "omar", "long enough pw"); res != LoginLocked {
		t.Fatalf("right password while locked: %v", res)
	}
	clock.Advance(LockoutDuration)
	if u, res, _ := us.Authenticate(ctx, "OMAR", "long enough pw"); res != LoginOK || u.Name != "omar" || u.Hash != "" {
		t.Fatalf("after the lockout: %v %+v", res, u)
	}
	if _, res, _ := us.Authenticate(ctx, "nobody", "x"); res != LoginWrong {
		t.Errorf("unknown user: %v", res)
	}
	if _, err := us.SetDisabled(ctx, "omar", true); err != nil {
		t.Fatal(err)
	}
	if _, res, _ := us.Authenticate(ctx, "omar", "long enough pw"); res != LoginDisabled {
		t.Errorf("disabled: %v", res)
	}
}

func TestSessionsIdle(t *testing.T) {
	clock := clocktest.NewAt(time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC))
	ss := NewSessions(0, clock)
	tok, _ := ss.New(User{Name: "omar", Role: RoleOfficer})
	clock.Advance(DefaultIdleTimeout - time.Second)
	if _, st := ss.Lookup(tok); st != SessionOK {
		t.Fatalf("before the idle timeout: %v", st)
	}
	clock.Advance(DefaultIdleTimeout - time.Second)
	if _, st := ss.Lookup(tok); st != SessionOK {
		t.Fatalf("a request moves the idle timeout: %v", st)
	}
	clock.Advance(DefaultIdleTimeout)
	if _, st := ss.Lookup(tok); st != SessionExpired {
		t.Fatalf("after the idle timeout: %v", st)
	}
	if _, st := ss.Lookup(tok); st != SessionNone {
		t.Fatalf("an expired session is forgotten: %v", st)
	}
	tok, _ = ss.New(User{Name: "anna"})
	for i := 0; i < int(MaxSessionAge/(10*time.Minute)); i++ {
		clock.Advance(10 * time.Minute)
		ss.Lookup(tok)
	}
	if _, st := ss.Lookup(tok); st == SessionOK {
		t.Error("a session outlived MaxSessionAge")
	}
}

// TestPostWithoutToken: over HTTP, a logged-in POST without the CSRF
// token, or with another site's Origin, is refused.
func TestPostWithoutToken(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	clock := clocktest.NewAt(time.Date(2026, 3, 14, 8, 0, 0, 0, time.UTC))
	us := NewUserStore(st.Records("console"), PostRoles, clock)
	if _, err := us.Add(ctx, "omar", RoleOfficer, "long enough pw"); err != nil {
		t.Fatal(err)
	}
	events := NewEventLog(st.Records("console"), clock)
	app, err := New(Options{AppKey: "post.app", CookiePrefix: "wp_test", Users: us, Audit: events, Permissions: PostPermissions, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	handled := 0
	app.Handle("POST /thing", "", func(q *Request) { handled++; q.Redirect("/") })
	srv := httptest.NewServer(app)
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) string {
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	token := func(page string) string {
		m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
		if m == nil {
			t.Fatal("no csrf field")
		}
		return m[1]
	}
	login := token(get("/login"))
	resp, err := c.PostForm(srv.URL+"/login", url.Values{"csrf": {login}, "name": {"omar"}, "password": {"long enough pw"}})
	if err != nil || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %v %v", resp.Status, err)
	}
	resp.Body.Close()
	post := func(v url.Values, origin string) int {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/thing", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(url.Values{}, ""); code != http.StatusForbidden {
		t.Errorf("no token: %d, want 403", code)
	}
	if code := post(url.Values{"csrf": {"forged"}}, ""); code != http.StatusForbidden {
		t.Errorf("wrong token: %d, want 403", code)
	}
	var sess *Session
	app.sessions.mu.Lock()
	for _, x := range app.sessions.m {
		sess = x
	}
	app.sessions.mu.Unlock()
	if code := post(url.Values{"csrf": {sess.CSRF}}, "http://evil.example"); code != http.StatusForbidden {
		t.Errorf("another site's origin: %d, want 403", code)
	}
	if handled != 0 {
		t.Fatalf("a refused POST reached the handler")
	}
	if code := post(url.Values{"csrf": {sess.CSRF}}, srv.URL); code != http.StatusSeeOther || handled != 1 {
		t.Errorf("the right token: %d (handled %d)", code, handled)
	}
	refused := 0
	events.Each(ctx, time.Time{}, time.Time{}, func(e Event) bool {
		if e.Action == ActionCSRF {
			refused++
		}
		return true
	})
	if refused != 3 {
		t.Errorf("%d refusals audited, want 3", refused)
	}
}

// TestManualCountries: the console's manual form takes a country as a
// code of two or three letters or an English name and screens it as the
// alpha-3 code; anything else is refused on its field.
func TestManualCountries(t *testing.T) {
	for in, want := range map[string]string{"PRK": "PRK", "KP": "PRK", "NORTH KOREA": "PRK", "D": "DEU"} {
		q, errs := validateManual(&ScreenForm{Surname: "KIM", Nationality: in, DocumentCountry: in})
		if len(errs) != 0 || q.Nationality != want || q.DocumentCountry != want {
			t.Errorf("%q: %+v %v", in, q, errs)
		}
	}
	_, errs := validateManual(&ScreenForm{Surname: "KIM", Nationality: "NARNIA", DocumentCountry: "ZZ"})
	if errs["nationality"] != "screen.err_country" || errs["document_country"] != "screen.err_country" {
		t.Errorf("errors %v", errs)
	}
}

// TestHistoryPartial: the decision history the officer's and HQ's hit
// pages share marks the last decision in force, shows the channel only
// where asked, and says so when there is no decision.
func TestHistoryPartial(t *testing.T) {
	cats, as := templateInputs(t)
	ts, err := parseTemplates(cats, as)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ds := []Decision{
		{Decision: DecisionReferred, Officer: "off-1", DecidedAt: at},
		{Decision: DecisionConfirmed, Officer: "off-2", Via: "token-x", Note: "seen", DecidedAt: at.Add(time.Minute)},
	}
	run := func(data map[string]any) string {
		t.Helper()
		var b strings.Builder
		if err := ts.byLang["en"]["hit"].ExecuteTemplate(&b, "history", data); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	got := run(map[string]any{"D": ds, "Via": true, "Empty": "none"})
	if strings.Count(got, `class="superseded"`) != 1 || strings.Count(got, `class="inforce"`) != 1 ||
		!strings.Contains(got, "token-x") || !strings.Contains(got, "seen") || strings.Contains(got, "none") {
		t.Errorf("officer history:\n%s", got)
	}
	if got := run(map[string]any{"D": ds, "Via": false, "Empty": "none"}); strings.Contains(got, "token-x") {
		t.Errorf("HQ history shows the channel:\n%s", got)
	}
	if got := run(map[string]any{"D": []Decision(nil), "Via": true, "Empty": "none"}); !strings.Contains(got, `id="history-empty">none<`) {
		t.Errorf("empty history:\n%s", got)
	}
}
