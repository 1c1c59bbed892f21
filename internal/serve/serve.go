// Package serve holds what the Echo v4 binding (package lifecycle) and the
// Echo v5 binding (package echov5) share: the WebSocket server's start and
// stop hooks, the gate that answers 503 until the server is configured, and
// the runner of an HTTP server on a listener of its own, with the timeouts
// that keep slow clients from holding connections.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"go.uber.org/fx"

	"github.com/echows/echows/websocket"
)

// Defaults of the HTTP server timeouts the bindings set.
const (
	// DefaultReadHeaderTimeout bounds how long a client may take to send a
	// request's headers: the guard against Slowloris (connections opened and
	// fed a header byte at a time). A WebSocket upgrade is headers only.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout bounds how long a keep-alive connection may wait
	// for its next request.
	DefaultIdleTimeout = 120 * time.Second
)

// Timeouts are the HTTP server timeouts of a binding's EchoServerConfig.
type Timeouts struct {
	ReadHeader time.Duration
	Idle       time.Duration
}

// Check reports a negative timeout, naming it.
func (t Timeouts) Check() error {
	switch {
	case t.ReadHeader < 0:
		return fmt.Errorf("EchoServerConfig.ReadHeaderTimeout is negative (%v)", t.ReadHeader)
	case t.Idle < 0:
		return fmt.Errorf("EchoServerConfig.IdleTimeout is negative (%v)", t.Idle)
	}
	return nil
}

// Apply sets t on s: a field of t that is set wins; otherwise a field s
// already has stays; otherwise the default applies.
func (t Timeouts) Apply(s *http.Server) {
	set := func(field *time.Duration, v, def time.Duration) {
		switch {
		case v > 0:
			*field = v
		case *field == 0:
			*field = def
		}
	}
	set(&s.ReadHeaderTimeout, t.ReadHeader, DefaultReadHeaderTimeout)
	set(&s.IdleTimeout, t.Idle, DefaultIdleTimeout)
}

// Configure runs s.Configure, and says so when the caller's context (fx's
// start timeout) rather than ReadyTimeout ended the wait.
func Configure(ctx context.Context, s *websocket.Server) error {
	err := s.Configure(ctx)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (the start context ended before ReadyTimeout %v did; raise fx.StartTimeout above it)", err, s.Config().ReadyTimeout)
	}
	return err
}

// Attach appends s's hooks to lc: on start Configure (when it fails, s is
// shut down, so that it refuses any later use), on stop Shutdown. It
// returns the gate to mount in front of s: closed until Configure has
// succeeded. Call Attach from the constructor that provides s, so that
// everything depending on s (an HTTP server's hooks among them) is started
// after it and stopped before it.
func Attach(lc fx.Lifecycle, s *websocket.Server) *Gate {
	g := &Gate{next: s}
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := Configure(ctx, s); err != nil {
				_ = s.Shutdown(context.WithoutCancel(ctx))
				return err
			}
			g.open.Store(true)
			return nil
		},
		OnStop: s.Shutdown,
	})
	return g
}

// Gate answers 503 Service Unavailable (with Retry-After) until the server
// behind it is configured, then hands every request to it. A binding mounts
// the gate rather than the server, as the route exists before the server is
// configured.
type Gate struct {
	open atomic.Bool
	next http.Handler
	// ScriptPath is where the binding also serves the browser client (see
	// component.Config.BrowserClientPath); "" when it is not served.
	ScriptPath string
}

func (g *Gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.open.Load() {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "websocket server starting", http.StatusServiceUnavailable)
		return
	}
	g.next.ServeHTTP(w, r)
}

// Listen listens on addr; network "" means "tcp".
func Listen(network, addr string) (net.Listener, error) {
	if network == "" {
		network = "tcp"
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}

// Running is an HTTP server serving on a listener of its own.
type Running struct {
	ln       net.Listener
	shutdown func(context.Context) error
	done     chan struct{} // closed when serve returned
	err      error         // serve's error, other than http.ErrServerClosed; read after done
}

// Run calls serve on a goroutine of its own; it must serve on ln until
// shutdown is called. Should serve end with an error (other than
// http.ErrServerClosed) before that, onFail, when set, is called with it.
func Run(ln net.Listener, serve func() error, shutdown func(context.Context) error, onFail func(error)) *Running {
	r := &Running{ln: ln, shutdown: shutdown, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.err = fmt.Errorf("serve %s: %w", ln.Addr(), err)
			if onFail != nil {
				onFail(r.err)
			}
		}
	}()
	return r
}

// Addr returns the address the listener is bound to.
func (r *Running) Addr() net.Addr { return r.ln.Addr() }

// Stop runs the graceful shutdown (stop accepting, then wait for in-flight
// requests, within ctx) and waits for serve to return. It returns the
// shutdown's error and the error serving ended with, if any.
func (r *Running) Stop(ctx context.Context) error {
	err := r.shutdown(ctx)
	// http.Server.Shutdown closes the listener first thing, even when ctx
	// ends before in-flight requests do, so serve is returning.
	<-r.done
	return errors.Join(err, r.err)
}

// Health says where a binding mounts the server's readiness and liveness
// handlers (component.Config.ReadinessPath and LivenessPath); an empty path
// is not mounted.
type Health struct {
	ReadinessPath string
	LivenessPath  string
}

// Each calls mount for each handler that has a path.
func (h Health) Each(s *websocket.Server, mount func(path string, handler http.Handler)) {
	if h.ReadinessPath != "" {
		mount(h.ReadinessPath, s.ReadinessHandler())
	}
	if h.LivenessPath != "" {
		mount(h.LivenessPath, websocket.LivenessHandler())
	}
}
