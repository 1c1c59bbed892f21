package browser_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/echows/echows/browser"
)

// Serve the client next to the WebSocket endpoint; pages then import it
// with `import { EchowsClient } from '/echows.js'`.
func ExampleHandler() {
	mux := http.NewServeMux()
	mux.Handle(browser.DefaultPath, browser.Handler())
	// mux.Handle("/ws", server) // the *websocket.Server

	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/echows.js", nil))
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output: 200 text/javascript; charset=utf-8
}
