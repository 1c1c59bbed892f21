// Package browserclient tests echows.js, the browser client in the
// repository's browser/ folder, in a real headless Chromium against real
// echows servers (websocket.New, real sockets on loopback): what it does
// after each close code it handles differently. It holds tests only; it
// lives in the examples module so that chromedp stays out of the library's
// go.mod.
package browserclient
