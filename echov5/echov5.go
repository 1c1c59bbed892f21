package echov5

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v5"
	"go.uber.org/fx"

	"github.com/echows/echows/browser"
	"github.com/echows/echows/component"
	"github.com/echows/echows/internal/serve"
	"github.com/echows/echows/websocket"
)

// Module is component.Module for Echo v5: component.Core (the emitter, the
// server, their hooks) with the endpoint mounted on the app's v5 *echo.Echo
// at Settings.Path while the graph is built. Until the server is configured
// the endpoint answers 503 Service Unavailable. See package component for
// what it takes and provides.
var Module = fx.Module("echows", component.Core, fx.Invoke(mount))

// ProvideEcho is an fx option providing echo.New(). Use it only in apps
// that provide no *echo.Echo themselves.
var ProvideEcho = fx.Provide(echo.New)

// mount mounts the server's gate (see component.Core) on the app's Echo
// v5, and the browser client and the health handlers at the paths the
// Config names.
func mount(e *echo.Echo, s *websocket.Server, g *serve.Gate, h serve.Health) {
	e.GET(s.Path(), echo.WrapHandler(g))
	if g.ScriptPath != "" {
		script := echo.WrapHandler(browser.Handler())
		e.GET(g.ScriptPath, script)
		e.HEAD(g.ScriptPath, script)
	}
	h.Each(s, func(path string, handler http.Handler) { e.GET(path, echo.WrapHandler(handler)) })
}

// Mount registers s on e for GET requests at s.Path(), for apps wired by
// hand; call it before e serves.
func Mount(e *echo.Echo, s *websocket.Server) echo.RouteInfo {
	return e.GET(s.Path(), echo.WrapHandler(s))
}

// Start configures s, waiting (at most Settings.ReadyTimeout) for its broker
// to confirm its subscriptions, then mounts it on e: what the fx hooks do on
// start, for apps wired by hand. Call it before e serves.
func Start(ctx context.Context, e *echo.Echo, s *websocket.Server) error {
	if err := serve.Configure(ctx, s); err != nil {
		return err
	}
	Mount(e, s)
	return nil
}

// Defaults of EchoServerConfig.
const (
	// DefaultListenAddr is where EchoServer listens when
	// EchoServerConfig.Addr is empty.
	DefaultListenAddr = ":8080"
	// DefaultReadHeaderTimeout bounds how long a client may take to send a
	// request's headers (the Slowloris guard; a WebSocket upgrade is headers
	// only).
	DefaultReadHeaderTimeout = serve.DefaultReadHeaderTimeout
	// DefaultIdleTimeout bounds how long a keep-alive connection may wait
	// for its next request.
	DefaultIdleTimeout = serve.DefaultIdleTimeout
)

// EchoServerConfig configures EchoServer. It is optional in the fx graph:
// supply one to change a default; nothing else provides it. The zero value
// of each field means its default. The field names after Addr are those of
// Echo v5's own echo.StartConfig.
//
// EchoServer serves with an *http.Server of its own. Echo v5's StartConfig
// sets ReadTimeout 30 s; EchoServer does not, so that long requests are the
// app's call (set it in BeforeServeFunc). ReadTimeout and WriteTimeout bound
// ordinary requests only: net/http clears a connection's deadlines when the
// WebSocket server takes it over.
type EchoServerConfig struct {
	// Addr is the TCP address to listen on ("127.0.0.1:0" picks a free
	// port; read it back with ListenerAddrFunc). Optional. Default ":8080".
	Addr string
	// ReadHeaderTimeout bounds how long a client may take to send a
	// request's headers, so that connections fed a byte at a time
	// (Slowloris) cannot pile up. Optional. Default 10 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection may wait for its
	// next request. Optional. Default 120 s.
	IdleTimeout time.Duration
	// ListenerAddrFunc is called with the bound address once the listener
	// is open, before serving. Optional.
	ListenerAddrFunc func(addr net.Addr)
	// BeforeServeFunc is called with the *http.Server just before it
	// serves, to set anything else on it (ReadTimeout, MaxHeaderBytes,
	// ConnState, RegisterOnShutdown, ...); its error fails the start.
	// Handler is the app's Echo. Optional.
	BeforeServeFunc func(s *http.Server) error
}

// EchoServer is an fx option that serves the app's v5 *echo.Echo: on start
// it listens on EchoServerConfig.Addr (a bind error fails the start) and
// serves in a goroutine; on stop it runs the http.Server's graceful
// Shutdown, which waits for the requests in flight, and waits for that
// goroutine. Should serving end with an error of its own, the app is shut
// down (fx.Shutdowner, exit code 1).
//
// With Module in the app the order is fixed whatever the order of the
// options, as with Echo v4: the WebSocket server is configured before Echo
// serves, and on stop Echo drains its requests (which may still send and
// emit) before the WebSocket clients get 1001 and the emitter, broker and
// Redis connections close.
var EchoServer = fx.Module("echows-echo", fx.Invoke(registerEchoServer))

// echoServerParams are what EchoServer takes from the fx graph.
type echoServerParams struct {
	fx.In

	Lifecycle  fx.Lifecycle
	Shutdowner fx.Shutdowner
	Echo       *echo.Echo
	Config     EchoServerConfig `optional:"true"`
	// Server is taken only for the order of the hooks: its constructor
	// appended the WebSocket server's hooks before EchoServer appends its
	// own, so Echo starts after them and stops before them.
	Server *websocket.Server `optional:"true"`
}

func registerEchoServer(p echoServerParams) error {
	cfg := p.Config
	timeouts := serve.Timeouts{ReadHeader: cfg.ReadHeaderTimeout, Idle: cfg.IdleTimeout}
	if err := timeouts.Check(); err != nil {
		return fmt.Errorf("echov5.EchoServer: %w", err)
	}
	var running *serve.Running
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error {
			addr := cfg.Addr
			if addr == "" {
				addr = DefaultListenAddr
			}
			logger := p.Echo.Logger
			if logger == nil {
				logger = slog.Default()
			}
			srv := &http.Server{Handler: p.Echo, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError)}
			timeouts.Apply(srv)
			if cfg.BeforeServeFunc != nil {
				if err := cfg.BeforeServeFunc(srv); err != nil {
					return fmt.Errorf("echo BeforeServeFunc: %w", err)
				}
			}
			ln, err := serve.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("echo %w", err)
			}
			if cfg.ListenerAddrFunc != nil {
				cfg.ListenerAddrFunc(ln.Addr())
			}
			running = serve.Run(ln, func() error { return srv.Serve(ln) }, srv.Shutdown, func(error) {
				_ = p.Shutdowner.Shutdown(fx.ExitCode(1))
			})
			return nil
		},
		OnStop: func(ctx context.Context) error {
			return running.Stop(ctx)
		},
	})
	return nil
}
