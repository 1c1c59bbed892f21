// Package browser serves echows.js, the browser client of the echows
// protocol, so that an app hands it to its pages without a build step:
//
//	http.Handle(browser.DefaultPath, browser.Handler())
//
// and in the page:
//
//	import { EchowsClient } from '/echows.js';
//
// The script is embedded in the Go binary. Its API, and what it does after
// each close code, is documented in this folder's README.md; echows.d.ts
// holds its TypeScript declarations.
package browser

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"time"
)

// DefaultPath is where apps mount Handler unless they have a reason not
// to: pages then import the client from "/echows.js".
const DefaultPath = "/echows.js"

//go:embed echows.js
var script []byte

// version is the script's content hash, computed once.
var version = func() string {
	sum := sha256.Sum256(script)
	return hex.EncodeToString(sum[:6])
}()

// Script returns the source of echows.js, for apps that serve or bundle it
// their own way. The slice is a copy.
func Script() []byte { return bytes.Clone(script) }

// Version returns a short hash of the script's content (12 hex digits). It
// changes whenever the script does: a page that imports
// DefaultPath+"?v="+Version() may cache the script for good.
func Version() string { return version }

// Cache-Control values of Handler's responses.
const (
	cacheRevalidate = "no-cache"                            // unversioned URL: revalidate, 304 while unchanged
	cacheImmutable  = "public, max-age=31536000, immutable" // ?v=Version(): the URL changes with the script
)

// Handler returns an http.Handler that serves the script at whatever path
// it is mounted on. It answers GET and HEAD with Content-Type
// "text/javascript; charset=utf-8", an ETag of the content, and
// Cache-Control "no-cache", so that browsers revalidate and get
// 304 Not Modified while the script is unchanged; a request whose query
// has v=Version() gets "public, max-age=31536000, immutable" instead. Other
// methods get 405 Method Not Allowed.
func Handler() http.Handler {
	etag := `"` + version + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/javascript; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", etag)
		if r.URL.Query().Get("v") == version {
			h.Set("Cache-Control", cacheImmutable)
		} else {
			h.Set("Cache-Control", cacheRevalidate)
		}
		// ServeContent answers If-None-Match (304), Range and HEAD.
		http.ServeContent(w, r, "echows.js", time.Time{}, bytes.NewReader(script))
	})
}
