package browser_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/echows/echows/browser"

	"github.com/echows/echows/internal/testenv"
)

func TestHandler(t *testing.T) {
	onDisk, err := os.ReadFile("echows.js")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(browser.DefaultPath, browser.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	get := func(method, query string, header http.Header) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+browser.DefaultPath+query, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}

	resp, body := get(http.MethodGet, "", nil)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, onDisk) {
		t.Fatalf("GET: %s, %d bytes; want 200 and echows.js (%d bytes)", resp.Status, len(body), len(onDisk))
	}
	etag := resp.Header.Get("ETag")
	for k, want := range map[string]string{
		"Content-Type":           "text/javascript; charset=utf-8",
		"Cache-Control":          "no-cache",
		"X-Content-Type-Options": "nosniff",
		"ETag":                   `"` + browser.Version() + `"`,
	} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("GET: %s = %q, want %q", k, got, want)
		}
	}
	if len(browser.Version()) != 12 {
		t.Errorf("Version() = %q, want 12 hex digits", browser.Version())
	}
	if !bytes.Equal(browser.Script(), onDisk) {
		t.Error("Script() is not echows.js")
	}

	resp, body = get(http.MethodGet, "", http.Header{"If-None-Match": {etag}})
	if resp.StatusCode != http.StatusNotModified || len(body) != 0 {
		t.Errorf("GET with If-None-Match %s: %s, %d bytes; want 304 and no body", etag, resp.Status, len(body))
	}
	resp, body = get(http.MethodHead, "", nil)
	if resp.StatusCode != http.StatusOK || len(body) != 0 || resp.ContentLength != int64(len(onDisk)) {
		t.Errorf("HEAD: %s, %d bytes, Content-Length %d; want 200, no body, %d", resp.Status, len(body), resp.ContentLength, len(onDisk))
	}
	resp, _ = get(http.MethodGet, "?v="+browser.Version(), nil)
	if got := resp.Header.Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
		t.Errorf("GET ?v=Version(): Cache-Control %q, want immutable", got)
	}
	resp, _ = get(http.MethodGet, "?v=stale", nil)
	if got := resp.Header.Get("Cache-Control"); got != "no-cache" {
		t.Errorf("GET ?v=stale: Cache-Control %q, want no-cache", got)
	}
	resp, _ = get(http.MethodPost, "", nil)
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %s, Allow %q; want 405 and GET, HEAD", resp.Status, resp.Header.Get("Allow"))
	}
}

// tool finds a program the test needs. Without it the test skips, except
// under CI, where CI must have installed it (.ci/run does).
func tool(t *testing.T, name, install string) string {
	t.Helper()
	return testenv.LookPath(t, install, name)
}

// run runs a command in this folder and fails the test with its output.
func run(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", filepath.Base(name), args, err, out)
	}
}

// The unit tests of echows.js are JavaScript (testdata/echows.test.mjs),
// run with Node's test runner against a fake WebSocket. The browser tests
// in examples/browserclient run it in Chromium against a real server.
func TestScriptWithNode(t *testing.T) {
	node := tool(t, "node", "install Node.js 18 or later (Debian: apt-get install nodejs)")
	run(t, node, "--test", "testdata/echows.test.mjs")
}

// TestTypeDeclarations compiles testdata/usage.ts against echows.d.ts with
// the TypeScript compiler pinned in package-lock.json (npm ci installs it
// into node_modules when it is missing).
func TestTypeDeclarations(t *testing.T) {
	tsc := filepath.Join("node_modules", ".bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		npm := tool(t, "npm", "install npm to fetch the TypeScript compiler (Debian: apt-get install npm)")
		run(t, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	}
	run(t, tsc, "-p", "tsconfig.json")
}
