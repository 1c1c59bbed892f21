package lifecycle

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"

	"github.com/echows/echows/internal/serve"
	"github.com/echows/echows/websocket"
)

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

// EchoServerConfig configures EchoServer and StartEcho. It is optional in
// the fx graph: supply one (fx.Supply(lifecycle.EchoServerConfig{...})) to
// change a default; nothing else provides it. The zero value of each field
// means its default.
//
// The timeouts are set on e.Server, the *http.Server Echo serves with; what
// else the app set there (ReadTimeout, WriteTimeout, MaxHeaderBytes,
// ErrorLog, ...) is kept. ReadTimeout and WriteTimeout bound ordinary
// requests only: net/http clears a connection's deadlines when the
// WebSocket server takes it over.
type EchoServerConfig struct {
	// Addr is the TCP address to listen on ("127.0.0.1:0" picks a free
	// port; read it back with Echo.ListenerAddr). Optional. Default ":8080".
	Addr string
	// ReadHeaderTimeout bounds how long a client may take to send a
	// request's headers, so that connections fed a byte at a time
	// (Slowloris) cannot pile up. Optional. Default: e.Server's own when the
	// app set one, else 10 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection may wait for its
	// next request. Optional. Default: e.Server's own when the app set one,
	// else 120 s.
	IdleTimeout time.Duration
}

func (c EchoServerConfig) timeouts() serve.Timeouts {
	return serve.Timeouts{ReadHeader: c.ReadHeaderTimeout, Idle: c.IdleTimeout}
}

// EchoServer is an fx option that serves the app's *echo.Echo: on start it
// listens on EchoServerConfig.Addr (a bind error fails the start) and serves
// in a goroutine; on stop it runs Echo's graceful Shutdown, which waits for
// the requests in flight, and waits for that goroutine. Should serving end
// with an error of its own, the app is shut down (fx.Shutdowner, exit code
// 1).
//
// With component.Module in the app, the order is fixed whatever the order
// of the options: EchoServer takes the *websocket.Server, so the WebSocket
// server is configured (its broker ready) before Echo serves, and on stop
// Echo drains its requests (which may still send and emit) before the
// WebSocket clients get 1001 and the emitter, broker and Redis connections
// close. Echo's Shutdown does not wait for WebSocket connections (net/http
// forgets hijacked connections); the WebSocket server's own stop hook ends
// them.
//
// The app provides the *echo.Echo; ProvideEcho provides one for apps that
// have none.
var EchoServer = fx.Module("echows-echo", fx.Invoke(registerEchoServer))

// ProvideEcho is an fx option providing a new *echo.Echo (see NewEcho). Use
// it only in apps that provide none themselves, as fx allows one provider
// per type.
var ProvideEcho = fx.Provide(NewEcho)

// NewEcho returns echo.New() with the start-up banner and port line hidden
// (fx already logs the app's start).
func NewEcho() *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	return e
}

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
	if err := p.Config.timeouts().Check(); err != nil {
		return fmt.Errorf("lifecycle.EchoServer: %w", err)
	}
	var running *RunningEcho
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error {
			r, err := startEcho(p.Echo, p.Config, func(error) {
				_ = p.Shutdowner.Shutdown(fx.ExitCode(1))
			})
			running = r
			return err
		},
		OnStop: func(ctx context.Context) error {
			return running.Stop(ctx)
		},
	})
	return nil
}

// RunningEcho is an Echo serving on a listener of its own, as started by
// StartEcho.
type RunningEcho struct{ r *serve.Running }

// StartEcho listens on cfg.Addr (":8080" when empty) synchronously, so a
// bind error is returned here, then serves e in a goroutine, with cfg's
// timeouts set on e.Server. It sets e.Listener, so e.ListenerAddr reports
// the bound address. Stop it with Stop.
func StartEcho(e *echo.Echo, cfg EchoServerConfig) (*RunningEcho, error) {
	if err := cfg.timeouts().Check(); err != nil {
		return nil, fmt.Errorf("lifecycle.StartEcho: %w", err)
	}
	return startEcho(e, cfg, nil)
}

func startEcho(e *echo.Echo, cfg EchoServerConfig, onFail func(error)) (*RunningEcho, error) {
	addr := cfg.Addr
	if addr == "" {
		addr = DefaultListenAddr
	}
	ln, err := serve.Listen(e.ListenerNetwork, addr)
	if err != nil {
		return nil, fmt.Errorf("echo %w", err)
	}
	cfg.timeouts().Apply(e.Server)
	e.Listener = ln
	r := serve.Run(ln, func() error { return e.Start(addr) }, e.Shutdown, onFail)
	return &RunningEcho{r}, nil
}

// Addr returns the address the listener is bound to.
func (r *RunningEcho) Addr() net.Addr { return r.r.Addr() }

// Stop runs Echo's graceful Shutdown (it stops accepting, then waits for
// in-flight requests, within ctx) and waits for the serving goroutine. It
// returns Shutdown's error and the error serving ended with, if any.
func (r *RunningEcho) Stop(ctx context.Context) error { return r.r.Stop(ctx) }
