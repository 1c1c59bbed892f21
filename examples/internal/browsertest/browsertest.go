// Package browsertest drives a real headless Chromium from Go tests, with
// chromedp: start a browser, open tabs in browser contexts of their own,
// run actions, wait for the page, evaluate JavaScript, take screenshots.
//
// Chromium is found as chromium, chromium-browser, google-chrome-stable or
// google-chrome on the PATH, or at $ECHOWS_CHROMIUM. Without one a test
// skips, saying what to install, except under CI=true where it fails: CI
// installs Debian's chromium (.ci/run). Screenshots go to
// $ECHOWS_SCREENSHOT_DIR when it is set, else to the test's temporary
// directory; the test logs their paths (go test -v shows them).
package browsertest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/echows/echows/internal/testenv"
)

// WaitTimeout bounds every wait for the page. It guards against a hung
// test; it is no assertion about speed.
const WaitTimeout = 30 * time.Second

// browsers are the names Chromium goes by; $ECHOWS_CHROMIUM overrides them.
var browsers = []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"}

// Chromium returns the path of the browser. It skips the test when there is
// none, and fails it under CI=true.
func Chromium(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("ECHOWS_CHROMIUM"); p != "" {
		return p
	}
	return testenv.LookPath(t, "install the Debian package chromium (or set ECHOWS_CHROMIUM to a Chrome binary)", browsers...)
}

// Start starts a headless Chromium with a fresh profile and returns the
// context of its first tab. The browser is gone when the test ends.
func Start(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	chromium := Chromium(t)
	t.Logf("browser: %s", chromium)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // CI runs as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 760),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc) // kills the browser and waits for it
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(tab); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	logConsole(t, tab, "tab 1")
	return tab
}

// NewTab opens a tab in a browser context of its own (its own storage, as
// a second person on another computer would have). It closes when t ends.
func NewTab(t *testing.T, browser context.Context, name string) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open tab %s: %v", name, err)
	}
	logConsole(t, tab, name)
	return tab
}

// logConsole copies what the page writes to its console into the test log.
func logConsole(t *testing.T, tab context.Context, name string) {
	var wg sync.WaitGroup
	wg.Add(1)
	messages := chromedp.Console(tab)
	go func() {
		defer wg.Done()
		for m, err := range messages {
			if err != nil {
				return // the tab is closed
			}
			t.Logf("%s console: %s", name, m)
		}
	}()
	// Cleanups run last-in first-out: this one runs before those that
	// closed the tab and the browser.
	t.Cleanup(func() {
		chromedp.Cancel(tab)
		wg.Wait()
	})
}

// Do runs actions in a tab, failing the test with what was being done.
func Do(t *testing.T, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Eval evaluates a JavaScript expression in the tab, awaiting it when it is
// a promise, and returns its value decoded into T.
func Eval[T any](t *testing.T, tab context.Context, what, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tab, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// Until waits for a JavaScript function of args to return a truthy value.
func Until(fn string, args ...any) chromedp.Action[chromedp.Void] {
	return chromedp.PollFunction[chromedp.Void](fn,
		chromedp.WithPollingArgs(args...),
		chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(WaitTimeout),
	)
}

// Visible waits until the element of a CSS selector is visible.
func Visible(selector string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(selector))
}

// Screenshot saves what the tab shows as name.png and returns its path.
func Screenshot(t *testing.T, tab context.Context, name string) string {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := os.Getenv("ECHOWS_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
	return path
}
