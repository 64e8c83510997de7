// Package webtest drives Watchpost's consoles in a real headless Chromium
// for tests: it finds the browser (Debian's chromium), starts it with a
// fresh profile and no network services of its own, and saves
// screenshots to look at. Tests that need it skip, saying why, where no
// Chromium is installed. Only tests import it.
package webtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/watchpost/watchpost/engine/testkit"
)

// EnvChromium names the browser binary to use instead of the first of
// chromium, chromium-browser, google-chrome on PATH.
const EnvChromium = "WATCHPOST_CHROMIUM"

// EnvScreenshots names a folder where screenshots are written (kept after
// the test); without it they go to the test's temporary folder.
const EnvScreenshots = "WATCHPOST_SCREENSHOTS"

// Chromium returns the browser's path, or "" when none is installed.
func Chromium() string {
	if p := os.Getenv(EnvChromium); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser starts a headless Chromium with a window of width×height and
// returns a context for chromedp actions; it is closed when the test
// ends. The test is skipped when no Chromium is installed.
func Browser(t testing.TB, width, height int) context.Context {
	t.Helper()
	path := Chromium()
	if path == "" {
		t.Skip("no Chromium installed (apt-get install chromium, or set " + EnvChromium + "): the browser tests need one")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("lang", "en-US"),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Start the browser now, so that a broken install fails here, clearly
	// (with no deadline: the context of the first run owns the browser).
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	return ctx
}

// Run runs chromedp actions with a deadline, failing the test on error
// (after saving a screenshot of what the browser showed, named
// "failed-<test>").
func Run(t testing.TB, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(rctx, actions...); err != nil {
		failed(t, ctx, err)
	}
}

// Get runs one action that returns a value, failing the test on error.
func Get[T any](t testing.TB, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(rctx, a)
	if err != nil {
		failed(t, ctx, err)
	}
	return v
}

// Text returns the text of the element the CSS selector sel finds.
func Text(t testing.TB, ctx context.Context, sel string) string {
	t.Helper()
	return Get(t, ctx, chromedp.Text(chromedp.CSS(sel)))
}

// Eval evaluates the JavaScript expression js and returns its value.
func Eval[T any](t testing.TB, ctx context.Context, js string) T {
	t.Helper()
	return Get(t, ctx, chromedp.Evaluate[T](js))
}

// WaitFor evaluates the JavaScript condition until it is true, across
// page loads (an evaluation that meets a navigation is tried again), for
// at most 30 seconds.
func WaitFor(t testing.TB, ctx context.Context, condition string) {
	t.Helper()
	err := testkit.Poll(30*time.Second, func() error {
		ectx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		ok, err := chromedp.Run(ectx, chromedp.Evaluate[bool](condition))
		if err == nil && !ok {
			err = errors.New("still false")
		}
		return err
	}, testkit.Every(5*time.Millisecond))
	if err != nil {
		failed(t, ctx, fmt.Errorf("waiting for %s: %w", condition, err))
	}
}

// failed saves a screenshot of what the browser showed, named
// "failed-<test>", and fails the test.
func failed(t testing.TB, ctx context.Context, err error) {
	t.Helper()
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	if png, serr := chromedp.Run(sctx, chromedp.CaptureScreenshot()); serr == nil {
		p := save(t, "failed-"+filepath.Base(t.Name()), png)
		t.Logf("screenshot of the failure: %s", p)
	}
	t.Fatalf("browser: %v", err)
}

// Screenshot saves what the browser's window shows as <name>.png and
// returns its path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	p := save(t, name, Get(t, ctx, chromedp.CaptureScreenshot()))
	t.Logf("screenshot: %s", p)
	return p
}

// FullScreenshot saves the whole page, beyond the window, as <name>.png.
func FullScreenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	p := save(t, name, Get(t, ctx, chromedp.FullScreenshot(100)))
	t.Logf("screenshot: %s", p)
	return p
}

var (
	tempMu    sync.Mutex
	tempShots = map[string]string{} // test name → its screenshot folder
)

func save(t testing.TB, name string, png []byte) string {
	dir := os.Getenv(EnvScreenshots)
	if dir == "" {
		tempMu.Lock()
		if tempShots[t.Name()] == "" {
			tempShots[t.Name()] = t.TempDir()
		}
		dir = tempShots[t.Name()]
		tempMu.Unlock()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot folder: %v", err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
	return p
}

// Login logs in at base+"/login" (the consoles' form: #name, #password,
// #login-submit) and waits for the next page.
func Login(t testing.TB, ctx context.Context, base, user, password string) {
	t.Helper()
	Run(t, ctx,
		chromedp.Navigate(base+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), user),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
	)
	NewPage(t, ctx, chromedp.Click(chromedp.CSS("#login-submit")))
}

// NewPage runs an action that leaves the page (a click that submits a
// form) and waits until the next page has loaded.
func NewPage(t testing.TB, ctx context.Context, a chromedp.Action[chromedp.Void]) {
	t.Helper()
	Run(t, ctx, chromedp.Evaluate[chromedp.Void](`window.__wpOld = true`), a)
	WaitFor(t, ctx, `!window.__wpOld && document.readyState === "complete"`)
}
