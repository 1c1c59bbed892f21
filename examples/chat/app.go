package main

import (
	"embed"
	"log/slog"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"

	"github.com/echows/echows/browser"
	"github.com/echows/echows/component"
	"github.com/echows/echows/lifecycle"
	"github.com/echows/echows/websocket"
)

// static is the chat page: index.html, app.js and style.css. The browser
// client library, echows.js, is served by package browser.
//
//go:embed static
var static embed.FS

// Settings configure the chat app.
type Settings struct {
	// Addr is the address to listen on ("127.0.0.1:0" picks a free port).
	Addr string
	// RedisURL is the URL of a Redis server, redis://host:port/db. Empty
	// runs on the in-process broker (one instance); set, every instance
	// sharing that Redis shares rooms, users and broadcasts. One that
	// cannot work (a bare host:port, no port) fails at once.
	RedisURL string
	// Logger receives the WebSocket server's logs. Optional. Default
	// slog.Default().
	Logger *slog.Logger
}

// readyTimeout bounds the wait for Redis at start. It stays below the
// start timeout of main, so a Redis that is down is reported as such.
const readyTimeout = 10 * time.Second

// App is the chat as fx options: Echo serving the page at /, the
// WebSocket endpoint at /ws and the live status at /status, with the
// chat's and the presence's modules.
// The options may come in any order: echows orders start and stop by
// dependency.
func App(s Settings) fx.Option {
	opts := []fx.Option{
		lifecycle.ProvideEcho,
		lifecycle.EchoServer,
		fx.Supply(lifecycle.EchoServerConfig{Addr: s.Addr}),
		component.Module,
		fx.Supply(component.Config{RedisURL: s.RedisURL, Settings: websocket.Settings{ReadyTimeout: readyTimeout}}),
		ChatModule,
		PresenceModule,
		statusModule(s), // GET /status, for the page's status panel
		fx.Invoke(servePage),
	}
	if s.Logger != nil {
		opts = append(opts, fx.Supply(s.Logger))
	}
	return fx.Options(opts...)
}

// servePage serves the embedded page at / and the client library at
// /echows.js. The endpoint /ws, a route of its own, takes precedence over
// the files.
func servePage(e *echo.Echo) {
	e.StaticFS("/", echo.MustSubFS(static, "static"))
	e.GET(browser.DefaultPath, echo.WrapHandler(browser.Handler()))
}
