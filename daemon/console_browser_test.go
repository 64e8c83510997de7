package daemon

import (
	"context"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/watchpost/watchpost/daemon/ledger"
	"github.com/watchpost/watchpost/daemon/web"
	"github.com/watchpost/watchpost/daemon/web/webtest"
	"github.com/watchpost/watchpost/engine/badgerstore"
	"github.com/watchpost/watchpost/sync/outbox"
)

// The officer console in a real headless Chromium, against a running
// post. Screenshots go to $WATCHPOST_SCREENSHOTS (or the test's temporary
// folder); the paths are logged.

// officerSignedIn starts a console post (withList: with the UN list
// loaded) and a browser signed in as the officer omar.
func officerSignedIn(t *testing.T, withList bool) (*consolePost, context.Context) {
	t.Helper()
	cp := startConsolePost(t, withList)
	ctx := webtest.Browser(t, 1280, 800)
	login(t, ctx, cp.base, "omar", consolePassword)
	return cp, ctx
}

func login(t *testing.T, ctx context.Context, base, user, password string) {
	t.Helper()
	webtest.Login(t, ctx, base, user, password)
}

func newPage(t *testing.T, ctx context.Context, a chromedp.Action[chromedp.Void]) {
	t.Helper()
	webtest.NewPage(t, ctx, a)
}

func location(t *testing.T, ctx context.Context) string {
	t.Helper()
	return webtest.Get(t, ctx, chromedp.Location())
}

// typeMRZ types both lines as a keyboard-wedge reader does (Enter between
// them, no button pressed) and waits for the new result. It returns how
// long after the last character the result was shown, as the test saw it
// (with the DevTools round trips), and as the browser timed it (from the
// form's submission, which the last check digit triggers, to the first
// paint of the result page).
func typeMRZ(t *testing.T, ctx context.Context, lines [2]string) (wall, browser time.Duration) {
	t.Helper()
	all := lines[0] + "\n" + lines[1]
	webtest.Run(t, ctx,
		chromedp.WaitVisible(chromedp.CSS("#mrz")),
		chromedp.SendKeys(chromedp.CSS("#mrz"), all[:len(all)-1]),
	)
	prev := webtest.Eval[string](t, ctx, `(document.getElementById("result") || {dataset: {}}).dataset.n || ""`)
	start := time.Now()
	webtest.Run(t, ctx,
		chromedp.SendKeys(chromedp.CSS("#mrz"), all[len(all)-1:]),
		chromedp.WaitVisible(chromedp.CSS(`#result:not([data-n="`+prev+`"])`)),
	)
	wall = time.Since(start)
	ms := webtest.Eval[float64](t, ctx, `(() => { const p = performance.getEntriesByName("first-contentful-paint")[0]; return p ? p.startTime : performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd; })()`)
	return wall, time.Duration(ms * float64(time.Millisecond))
}

// TestConsoleScreenDecide: an officer logs in, types a listed person's
// passport into the MRZ field (screened on the last check digit, no
// button), sees the hit with the listed person beside the traveller,
// decides "confirmed" (refused without a note), and the hit leaves the
// open queue; the decision is in the outbox for HQ.
func TestConsoleScreenDecide(t *testing.T) {
	cp := startConsolePost(t, true)
	ctx := webtest.Browser(t, 1280, 800)

	webtest.Run(t, ctx, chromedp.Navigate(cp.base+"/"), chromedp.WaitVisible(chromedp.CSS("#login-submit")))
	if loc := location(t, ctx); !strings.Contains(loc, "/login") {
		t.Fatalf("not logged in, / went to %s, want the login page", loc)
	}
	webtest.Screenshot(t, ctx, "login-en")
	login(t, ctx, cp.base, "omar", consolePassword)
	webtest.Run(t, ctx, chromedp.WaitVisible(chromedp.CSS("#mrz")))
	if loc := location(t, ctx); !strings.HasSuffix(loc, "/screen") {
		t.Fatalf("after login: %s, want /screen", loc)
	}

	// Warm up the page once (the first screening builds caches), then
	// measure typed-to-shown on the next traveller.
	typeMRZ(t, ctx, td3(t, "GBR", "SMITH", "JOHN", "123456789", "GBR", "800101", "M", "300101"))
	if band := webtest.Eval[string](t, ctx, `document.getElementById("result").dataset.band`); band != "none" {
		t.Errorf("an ordinary traveller: band %q, want none", band)
	}
	if got := webtest.Text(t, ctx, "#result .checked"); !strings.Contains(got, "un v1") {
		t.Errorf("no-hit result says %q, want the list and version checked (un v1)", got)
	}
	wall, took := typeMRZ(t, ctx, saadiMRZ(t))
	t.Logf("MRZ typed to result shown: %s in the browser (submission to first paint), %s as the test saw it", took, wall)
	if band := webtest.Eval[string](t, ctx, `document.getElementById("result").dataset.band`); band != "match" {
		t.Fatalf("listed person: band %q, want match", band)
	}
	res := webtest.Text(t, ctx, "#result")
	for _, want := range []string{"QADHAFI", "SAADI", "1973-05-27", "LYi.015", "AA862825", "refer to secondary", "un v1"} {
		if !strings.Contains(res, want) {
			t.Errorf("result lacks %q", want)
		}
	}
	webtest.Screenshot(t, ctx, "screen-hit-en")

	newPage(t, ctx, chromedp.Click(chromedp.CSS("#open-hit")))
	hitURL := location(t, ctx)
	hitID := hitURL[strings.LastIndex(hitURL, "/")+1:]
	webtest.FullScreenshot(t, ctx, "hit-en")

	// Confirmed needs a note: the page says so and records nothing.
	webtest.Run(t, ctx, chromedp.Click(chromedp.CSS("#decide-confirmed")), chromedp.WaitVisible(chromedp.CSS("#decide-error")))
	if got := location(t, ctx); got != hitURL {
		t.Errorf("confirmed without a note left the page for %s", got)
	}
	if h, err := cp.p.Ledger().Hit(context.Background(), hitID); err != nil || len(h.Decisions) != 0 {
		t.Fatalf("a confirmed without note was recorded: %+v, %v", h.Decisions, err)
	}
	webtest.Run(t, ctx, chromedp.SendKeys(chromedp.CSS("#note"), "Passport and face checked against the notice; held for the liaison officer."))
	newPage(t, ctx, chromedp.Click(chromedp.CSS("#decide-confirmed")))
	webtest.Run(t, ctx, chromedp.WaitVisible(chromedp.CSS("#decided")))
	if got := webtest.Text(t, ctx, "#history"); !strings.Contains(got, "omar") || !strings.Contains(got, "in force") {
		t.Errorf("history after the decision: %q", got)
	}
	webtest.FullScreenshot(t, ctx, "hit-decided-en")

	// A later decision supersedes it visibly.
	webtest.Run(t, ctx, chromedp.SendKeys(chromedp.CSS("#note"), "Secondary check done."))
	newPage(t, ctx, chromedp.Click(chromedp.CSS("#decide-referred")))
	if n := webtest.Eval[int](t, ctx, `document.querySelectorAll("#history li.superseded").length`); n != 1 {
		t.Errorf("superseded decisions shown: %d, want 1", n)
	}

	// The open queue no longer has it.
	webtest.Run(t, ctx, chromedp.Navigate(cp.base+"/hits"), chromedp.WaitVisible(chromedp.CSS("#hits-count")))
	if n := webtest.Eval[int](t, ctx, `document.querySelectorAll('a[href="/hits/`+hitID+`"]').length`); n != 0 {
		t.Errorf("the decided hit is still in the open queue")
	}
	webtest.Run(t, ctx, chromedp.Navigate(cp.base+"/hits?status=decided"), chromedp.WaitVisible(chromedp.CSS("#hits-count")))
	if n := webtest.Eval[int](t, ctx, `document.querySelectorAll('a[href="/hits/`+hitID+`"]').length`); n != 1 {
		t.Errorf("the decided hit is not under status=decided")
	}
	webtest.Screenshot(t, ctx, "queue-decided-en")

	// Both decisions are in the outbox for HQ, with the officer.
	h, err := cp.p.Ledger().Hit(context.Background(), hitID)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Decisions) != 2 || h.Decisions[0].Officer != "omar" || h.Decisions[0].Decision != "confirmed" || h.Status != ledger.StatusReferred {
		t.Fatalf("ledger: %+v", h)
	}
	for _, d := range h.Decisions {
		if !outboxHas(t, cp, d.ID) {
			t.Errorf("decision %s (%s) is not in the outbox", d.ID, d.Decision)
		}
	}
	if !outboxHas(t, cp, hitID) {
		t.Errorf("the hit %s is not in the outbox", hitID)
	}
	if took > 200*time.Millisecond {
		t.Logf("note: MRZ to result took %s, above the 200 ms target", took)
	}

	// A supervisor's audit page lists both decisions with their places in
	// the post's hash-chained trail, as the ledger holds them.
	page, err := cp.p.Ledger().Audit(context.Background(), ledger.AuditFilter{Limit: ledger.MaxPageLimit})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, e := range page.Entries {
		if e.Action == ledger.ActionDisposition && e.Seq != 0 {
			want = append(want, strconv.FormatUint(e.Seq, 10))
		}
	}
	newPage(t, ctx, chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	login(t, ctx, cp.base, "anna", consolePassword)
	webtest.Run(t, ctx, chromedp.Navigate(cp.base+"/audit?action=disposition"), chromedp.WaitVisible(chromedp.CSS("#audit")))
	got := webtest.Eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#audit td.seq")).map(td => td.textContent)`)
	if len(want) != 2 || !slices.Equal(got, want) {
		t.Errorf("audit page entry numbers %q, want the ledger's %q (two decisions)", got, want)
	}
	webtest.Screenshot(t, ctx, "audit-chain-en")
}

// outboxHas reports whether the post's outbox holds a record with id.
func outboxHas(t *testing.T, cp *consolePost, id string) bool {
	t.Helper()
	found := false
	err := cp.p.Store().Records(outbox.DefaultNamespace).View(context.Background(), func(tx *badgerstore.RecordsTxn) error {
		_, err := tx.Get([]byte("i/" + id))
		found = err == nil
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestConsoleManifest: an uploaded PAXLST file shows its flight and every
// traveller with a band; the manifests page lists it with counts only.
func TestConsoleManifest(t *testing.T) {
	cp, ctx := officerSignedIn(t, true)
	file, err := filepath.Abs("../engine/paxlst/testdata/gtas_parsers_apisMessage.txt")
	if err != nil {
		t.Fatal(err)
	}
	webtest.Run(t, ctx,
		chromedp.Navigate(cp.base+"/manifests"),
		chromedp.WaitVisible(chromedp.CSS("#file")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}),
	)
	newPage(t, ctx, chromedp.Click(chromedp.CSS("#upload-submit")))
	flights := webtest.Text(t, ctx, "#flights")
	if !regexp.MustCompile(`[A-Z0-9]{2}\d+`).MatchString(flights) {
		t.Errorf("flights table: %q, want a flight number", flights)
	}
	rows := webtest.Eval[int](t, ctx, `document.querySelectorAll("table.travellers tbody tr").length`)
	if rows == 0 {
		t.Errorf("no traveller rows")
	}
	t.Logf("flight %q, %d travellers", strings.Fields(flights), rows)
	webtest.FullScreenshot(t, ctx, "manifest-en")
	webtest.Run(t, ctx, chromedp.Navigate(cp.base+"/manifests"), chromedp.WaitVisible(chromedp.CSS("table.list")))
	webtest.Screenshot(t, ctx, "manifests-en")
}

// latinWords lists the words of Latin letters on the page that are not
// data (names, codes, ids inside <bdi class="data">) and not text marked
// as another language (the language menu's own names): on an Arabic page
// any such word is an English string left untranslated. Attributes a
// person reads (placeholder, title, aria-label, alt, value of buttons) are
// checked too.
const latinWords = `(() => {
  const skip = el => el.closest('.data, [lang]:not([lang="ar"]), script, style, kbd');
  const out = new Set();
  const add = s => { for (const m of (s.match(/[A-Za-z]{2,}/g) || [])) out.add(m); };
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (w.nextNode()) { const n = w.currentNode; if (!skip(n.parentElement)) add(n.nodeValue); }
  for (const el of document.querySelectorAll('[placeholder],[title],[aria-label],[alt],input[type=submit],button')) {
    if (skip(el)) continue;
    for (const a of ['placeholder','title','aria-label','alt']) if (el.hasAttribute(a)) add(el.getAttribute(a));
  }
  add(document.title);
  return Array.from(out);
})()`

// TestConsoleArabic: switching to Arabic lays every page out right to
// left and leaves no English string on it; names and MRZ stay as written.
func TestConsoleArabic(t *testing.T) {
	cp, ctx := officerSignedIn(t, true)
	typeMRZ(t, ctx, saadiMRZ(t))
	newPage(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => { const s = document.getElementById("lang-select"); s.value = "ar"; s.dispatchEvent(new Event("change")); })()`))
	check := func(page string) {
		t.Helper()
		if dir := webtest.Eval[string](t, ctx, `document.documentElement.dir + " " + document.documentElement.lang`); dir != "rtl ar" {
			t.Errorf("%s: dir and lang %q, want rtl ar", page, dir)
		}
		if words := webtest.Eval[[]string](t, ctx, latinWords); len(words) > 0 {
			t.Errorf("%s: English left on the Arabic page: %q", page, words)
		}
	}
	check("screen")
	webtest.Screenshot(t, ctx, "screen-ar")
	// The language is the user's: it holds for the next screening.
	typeMRZ(t, ctx, saadiMRZ(t))
	check("screen with a hit")
	if !strings.Contains(webtest.Text(t, ctx, "#result"), "QADHAFI") {
		t.Errorf("the name is not shown as written on the Arabic page")
	}
	webtest.Screenshot(t, ctx, "screen-hit-ar")
	newPage(t, ctx, chromedp.Click(chromedp.CSS("#open-hit")))
	check("hit")
	webtest.FullScreenshot(t, ctx, "hit-ar")
	for _, p := range []string{"/hits", "/manifests", "/status"} {
		webtest.Run(t, ctx, chromedp.Navigate(cp.base+p), chromedp.WaitVisible(chromedp.CSS("main")))
		check(p)
	}
	webtest.Screenshot(t, ctx, "status-ar")
}

// TestConsoleCSRF: a form sent without the session's token is refused and
// records nothing.
func TestConsoleCSRF(t *testing.T) {
	cp, ctx := officerSignedIn(t, true)
	before := cp.p.Ledger().Stats().Screenings
	webtest.Run(t, ctx,
		chromedp.WaitVisible(chromedp.CSS("#screen-form")),
		chromedp.SendKeys(chromedp.CSS("#surname"), "QADHAFI"),
	)
	newPage(t, ctx, chromedp.Evaluate[chromedp.Void](`(() => { document.querySelector('#screen-form input[name="csrf"]').remove(); document.getElementById("screen-form").submit(); })()`))
	if got := webtest.Text(t, ctx, "#error-message"); !strings.Contains(got, "refused") {
		t.Errorf("error page: %q", got)
	}
	status := webtest.Eval[int](t, ctx, `performance.getEntriesByType("navigation")[0].responseStatus`)
	if status != 403 {
		t.Errorf("status %d, want 403", status)
	}
	if after := cp.p.Ledger().Stats().Screenings; after != before {
		t.Errorf("screenings %d → %d: the refused form was screened", before, after)
	}
	webtest.Screenshot(t, ctx, "csrf-refused-en")
}

// TestConsoleLockout: five wrong passwords lock the account; the right
// password is then refused until the lockout has passed (on the post's
// clock).
func TestConsoleLockout(t *testing.T) {
	cp := startConsolePost(t, true)
	ctx := webtest.Browser(t, 1280, 800)
	for i := 0; i < web.MaxFailures; i++ {
		login(t, ctx, cp.base, "anna", "wrong-password-"+string(rune('a'+i)))
		webtest.Run(t, ctx, chromedp.WaitVisible(chromedp.CSS("#login-error")))
	}
	login(t, ctx, cp.base, "anna", consolePassword)
	webtest.Run(t, ctx, chromedp.WaitVisible(chromedp.CSS("#login-error")))
	if got := webtest.Text(t, ctx, "#login-error"); !strings.Contains(got, "locked") {
		t.Fatalf("right password on a locked account: %q, want the lockout message", got)
	}
	webtest.Screenshot(t, ctx, "locked-en")
	cp.clock.Advance(web.LockoutDuration)
	login(t, ctx, cp.base, "anna", consolePassword)
	webtest.Run(t, ctx, chromedp.WaitVisible(chromedp.CSS("#mrz")))
	// A supervisor reads the trail: the lockout is in it.
	webtest.Run(t, ctx, chromedp.Navigate(cp.base+"/audit?action=locked"), chromedp.WaitVisible(chromedp.CSS("#audit")))
	if got := webtest.Text(t, ctx, "#audit"); !strings.Contains(got, "anna") {
		t.Errorf("audit of lockouts: %q", got)
	}
	webtest.Screenshot(t, ctx, "audit-en")
}

// TestConsoleSessionExpiry: a session survives 14 idle minutes and ends at
// 15 (the default idle timeout, on the post's clock); the next page is the
// login page saying why.
func TestConsoleSessionExpiry(t *testing.T) {
	cp, ctx := officerSignedIn(t, true)
	webtest.Run(t, ctx, chromedp.WaitVisible(chromedp.CSS("#mrz")))
	cp.clock.Advance(web.DefaultIdleTimeout - time.Minute)
	webtest.Run(t, ctx, chromedp.Navigate(cp.base+"/hits"), chromedp.WaitVisible(chromedp.CSS("#hits-count")))
	cp.clock.Advance(web.DefaultIdleTimeout)
	webtest.Run(t, ctx, chromedp.Navigate(cp.base+"/hits"), chromedp.WaitVisible(chromedp.CSS("#login-submit")))
	if got := webtest.Text(t, ctx, "main"); !strings.Contains(got, "without activity") {
		t.Errorf("login page after expiry: %q", got)
	}
	webtest.Screenshot(t, ctx, "expired-en")
}

// TestConsoleNotScreened: with no list loaded, a screening is "not
// screened", never "no hit", and every page says so.
func TestConsoleNotScreened(t *testing.T) {
	_, ctx := officerSignedIn(t, false)
	typeMRZ(t, ctx, td3(t, "GBR", "SMITH", "JOHN", "123456789", "GBR", "800101", "M", "300101"))
	if band := webtest.Eval[string](t, ctx, `document.getElementById("result").dataset.band`); band != "notscreened" {
		t.Errorf("no list: band %q, want notscreened", band)
	}
	if got := webtest.Text(t, ctx, ".banner"); !strings.Contains(got, "No watchlist") {
		t.Errorf("banner: %q", got)
	}
	webtest.Screenshot(t, ctx, "not-screened-en")
}
