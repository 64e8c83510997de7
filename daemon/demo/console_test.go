package demo

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/watchpost/watchpost/daemon/sample"
	"github.com/watchpost/watchpost/daemon/web/webtest"
	"github.com/watchpost/watchpost/engine/clock"
)

// offsetClock is the system clock moved forward by a test: HQ's received
// and last-seen times follow it, its timers are real ones.
type offsetClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *offsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *offsetClock) NewTimer(d time.Duration) clock.Timer { return clock.System{}.NewTimer(d) }

func (c *offsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// upload proposes an edition in the browser and waits for its page.
func upload(t *testing.T, ctx context.Context, base, list, format, path string) {
	t.Helper()
	webtest.Run(t, ctx, chromedp.Navigate(base+"editions"), chromedp.WaitVisible(chromedp.CSS("#upload-form")),
		chromedp.SetValue(chromedp.CSS("#list"), list), chromedp.SetValue(chromedp.CSS("#format"), format),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{path}))
	webtest.NewPage(t, ctx, chromedp.Click(chromedp.CSS("#upload-submit")))
	webtest.WaitFor(t, ctx, `!!document.getElementById("diff-summary")`)
}

// latinOutsideData is JavaScript returning the page's visible text
// outside data (names, codes, numbers) that holds Latin letters.
const latinOutsideData = `(() => {
  const out = [];
  const w = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = w.nextNode(); n; n = w.nextNode()) {
    const p = n.parentElement;
    if (!p || p.closest(".data, code, svg, script, [lang=en], option, .js-hide") || !/[A-Za-z]/.test(n.textContent)) continue;
    out.push(n.textContent.trim());
  }
  return out.join(" | ");
})()`

// TestDemoConsoles runs `watchpost demo --console` and drives HQ's
// console in headless Chromium: log in; the fleet and the demo's hits;
// the four-eyes flow (the uploader cannot approve, a second publisher
// does, both posts converge on the new version); the shrink warning;
// Arabic right to left with no English outside data; a stopped post
// shown offline once HQ's clock has moved past the staleness limit.
// Screenshots are saved (webtest.EnvScreenshots).
func TestDemoConsoles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	browser := webtest.Browser(t, 1280, 900)
	clk := &offsetClock{}
	ready := make(chan Consoles, 1)
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() {
		_, err := Run(ctx, &out, Options{Dir: t.TempDir(), Console: true, HQClock: clk, Ready: func(c Consoles) { ready <- c }})
		done <- err
	}()
	var c Consoles
	select {
	case c = <-ready:
	case err := <-done:
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{"console: " + c.PostURL + " user: demo password: " + c.Password, "hq console: " + c.HQURL + " user: demo password: " + c.Password} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+/$`).MatchString(c.HQURL) {
		t.Errorf("HQ console at %q", c.HQURL)
	}

	// The officer's console takes the demo account too.
	webtest.Login(t, browser, strings.TrimSuffix(c.PostURL, "/"), c.User, c.Password)
	if got := webtest.Eval[string](t, browser, `location.pathname`); got != "/screen" {
		t.Fatalf("post console: landed on %s", got)
	}

	base := c.HQURL
	webtest.Login(t, browser, strings.TrimSuffix(base, "/"), c.User, c.Password)
	webtest.WaitFor(t, browser, `document.querySelectorAll("#fleet tbody tr").length === 2`)
	if s := webtest.Text(t, browser, "#fleet-summary"); !strings.Contains(s, "2 posts: 2 online") {
		t.Errorf("fleet summary %q", s)
	}
	webtest.Screenshot(t, browser, "hq-fleet-en")
	webtest.Run(t, browser, chromedp.Navigate(base+"hits"), chromedp.WaitVisible(chromedp.CSS("#hq-hits")))
	if n := webtest.Eval[int](t, browser, `document.querySelectorAll("#hq-hits tbody tr").length`); n != 4 {
		t.Errorf("hits page shows %d hits, want the demo's 4", n)
	}
	webtest.FullScreenshot(t, browser, "hq-hits-en")
	webtest.NewPage(t, browser, chromedp.Click(chromedp.CSS("#hq-hits tbody tr a.rowlink")))
	webtest.WaitFor(t, browser, `!!document.querySelector(".hitcard table.compare")`)
	webtest.Screenshot(t, browser, "hq-hit-en")
	webtest.Run(t, browser, chromedp.Navigate(base+"charts"), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	webtest.FullScreenshot(t, browser, "hq-charts-en")

	// Four eyes: demo proposes the original UN edition (the demo's
	// update removed one entry and added one).
	dir := t.TempDir()
	unFile := filepath.Join(dir, "un.xml")
	if err := os.WriteFile(unFile, sample.UNList, 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := c.HQ.Store().List("un")
	if err != nil {
		t.Fatal(err)
	}
	upload(t, browser, base, "un", "un-xml", unFile)
	if s := webtest.Text(t, browser, "#diff-summary"); !strings.Contains(s, "1 added") || !strings.Contains(s, "1 removed") {
		t.Errorf("diff summary %q, want 1 added and 1 removed", s)
	}
	if !strings.Contains(webtest.Text(t, browser, "#diff-removed"), "NAT-0001") {
		t.Errorf("the removed entry is not named: %q", webtest.Text(t, browser, "#diff-removed"))
	}
	if webtest.Eval[bool](t, browser, `!!document.getElementById("shrink-warning")`) {
		t.Error("a one-entry change warns of a shrink")
	}
	proposal := webtest.Eval[string](t, browser, `location.pathname`)
	webtest.NewPage(t, browser, chromedp.Click(chromedp.CSS("#approve")))
	if s := webtest.Text(t, browser, "#proposal-error"); !strings.Contains(s, "cannot approve") {
		t.Errorf("the uploader's approval: %q", s)
	}
	webtest.FullScreenshot(t, browser, "hq-proposal-own-en")
	if l, _ := c.HQ.Store().List("un"); l.Version != before.Version {
		t.Fatalf("the uploader's approval published version %d", l.Version)
	}
	webtest.NewPage(t, browser, chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	webtest.Login(t, browser, strings.TrimSuffix(base, "/"), c.Second, c.Password)
	webtest.Run(t, browser, chromedp.Navigate(strings.TrimSuffix(base, "/")+proposal), chromedp.WaitVisible(chromedp.CSS("#approve")))
	webtest.NewPage(t, browser, chromedp.Click(chromedp.CSS("#approve")))
	if s := webtest.Text(t, browser, "#done"); !strings.Contains(s, fmt.Sprintf("version %d", before.Version+1)) {
		t.Fatalf("approval: %q", s)
	}
	webtest.FullScreenshot(t, browser, "hq-proposal-approved-en")
	after, _ := c.HQ.Store().List("un")
	if err := waitUntil(ctx, time.Minute, "posts converge on the approved edition", func() error {
		for i, p := range c.Posts {
			st, ok := p.SyncStatus()
			if !ok || len(st.Lists) == 0 || st.Lists[0].Version != after.Version || st.Lists[0].Hash != after.Hash {
				return fmt.Errorf("post %d: %+v", i, st.Lists)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// The shrink warning: a three-entry CSV as the next UN edition.
	csvFile := filepath.Join(dir, "small.csv")
	if err := os.WriteFile(csvFile, []byte("id,name\nS1,Small One\nS2,Small Two\nS3,Small Three\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	upload(t, browser, base, "un", "csv", csvFile)
	if s := webtest.Text(t, browser, "#shrink-warning"); !strings.Contains(s, "removes") || !strings.Contains(s, "10 %") {
		t.Errorf("shrink warning %q", s)
	}
	webtest.FullScreenshot(t, browser, "hq-shrink-en")
	shrink := webtest.Eval[string](t, browser, `location.pathname`)
	webtest.NewPage(t, browser, chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)))
	webtest.Login(t, browser, strings.TrimSuffix(base, "/"), c.User, c.Password)
	webtest.Run(t, browser, chromedp.Navigate(strings.TrimSuffix(base, "/")+shrink), chromedp.WaitVisible(chromedp.CSS("#approve")))
	webtest.NewPage(t, browser, chromedp.Click(chromedp.CSS("#approve")))
	if s := webtest.Text(t, browser, "#proposal-error"); !strings.Contains(s, "Tick the box") {
		t.Errorf("an unconfirmed shrink: %q", s)
	}
	webtest.NewPage(t, browser, chromedp.Click(chromedp.CSS("#reject")))
	if l, _ := c.HQ.Store().List("un"); l.Version != after.Version {
		t.Fatalf("the rejected shrink published version %d", l.Version)
	}

	// Arabic: right to left, no English outside data.
	webtest.Run(t, browser, chromedp.Navigate(strings.TrimSuffix(base, "/")+proposal))
	webtest.NewPage(t, browser, chromedp.Evaluate[chromedp.Void](`(s => { s.value = "ar"; s.form.submit(); })(document.getElementById("lang-select"))`))
	for _, page := range []string{"fleet", "charts", "hits", "editions", "keys", strings.TrimPrefix(proposal, "/")} {
		webtest.Run(t, browser, chromedp.Navigate(base+page), chromedp.WaitReady(chromedp.CSS("main")))
		if dir := webtest.Eval[string](t, browser, `document.documentElement.dir`); dir != "rtl" {
			t.Errorf("%s in Arabic: dir=%q", page, dir)
		}
		if latin := webtest.Eval[string](t, browser, latinOutsideData); latin != "" {
			t.Errorf("%s in Arabic has English outside data: %s", page, latin)
		}
		switch page {
		case "fleet":
			webtest.Screenshot(t, browser, "hq-fleet-ar")
		case "charts":
			webtest.FullScreenshot(t, browser, "hq-charts-ar")
		}
	}

	// A post that stops goes offline once HQ's clock passes the
	// staleness limit; the one still running stays online.
	c.StopPost(1)
	clk.Advance(6 * time.Minute)
	webtest.Run(t, browser, chromedp.Navigate(base+"fleet?sort=post"))
	deadline := time.Now().Add(time.Minute)
	for {
		webtest.Run(t, browser, chromedp.Reload())
		south := webtest.Eval[string](t, browser, `(document.querySelector('tr[data-post="post-south"]') || {}).className || ""`)
		north := webtest.Eval[string](t, browser, `(document.querySelector('tr[data-post="post-north"]') || {}).className || ""`)
		if south == "offline" && north != "offline" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("south %q, north %q: want south offline, north online", south, north)
		}
		time.Sleep(500 * time.Millisecond)
	}
	webtest.Screenshot(t, browser, "hq-fleet-offline-ar")
	cancel()
	if err := <-done; err != nil && ctx.Err() == nil {
		t.Fatalf("demo: %v", err)
	}
}
