package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"

	"github.com/echows/echows/websocket"
)

// Mount registers s on e for GET requests at s.Path(). Echo's router is not
// safe to change while it serves, so call Mount before e starts serving.
func Mount(e *echo.Echo, s *websocket.Server) *echo.Route {
	return e.GET(s.Path(), echo.WrapHandler(s))
}

// Start configures s, waiting (at most Config.ReadyTimeout) for its broker to
// confirm its subscriptions, then mounts it on e. It is what the fx hook does
// on start, for apps that wire echows by hand; call it before e serves.
func Start(ctx context.Context, e *echo.Echo, s *websocket.Server) error {
	if err := configure(ctx, s); err != nil {
		return err
	}
	Mount(e, s)
	return nil
}

// Stop shuts s down (every client gets 1001 "Server shutting down" and the
// disconnected hook runs for each) and then closes each closer in order: pass
// what was opened for s (its broker, an emitter sharing it, a Redis client),
// which s no longer uses once Shutdown returned. The closers are closed even
// when Shutdown fails; every error is returned, joined.
func Stop(ctx context.Context, s *websocket.Server, closers ...io.Closer) error {
	errs := []error{s.Shutdown(ctx)}
	for _, c := range closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Params are what Register takes from the fx graph.
type Params struct {
	fx.In

	Lifecycle fx.Lifecycle
	Echo      *echo.Echo
	Server    *websocket.Server
}

// Register wires s into an fx app; use it with fx.Invoke when the app builds
// its *websocket.Server itself (component.Module already does this).
//
// It mounts the endpoint on the app's Echo at once, while the graph is built
// and before anything serves, so the route exists however the app orders its
// Echo start hook; until the start hook has configured the server, the
// endpoint answers 503 Service Unavailable. On start it runs
// Server.Configure; on stop, Server.Shutdown. The route stays registered
// after stop (the server then answers 503 itself).
func Register(p Params) {
	g := &gate{next: p.Server}
	p.Echo.GET(p.Server.Path(), echo.WrapHandler(g))
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if err := configure(ctx, p.Server); err != nil {
				// Nothing could connect through the closed gate, but the
				// server must still refuse any later use and release what
				// New set up.
				_ = p.Server.Shutdown(context.WithoutCancel(ctx))
				return err
			}
			g.open.Store(true)
			return nil
		},
		OnStop: func(ctx context.Context) error {
			return p.Server.Shutdown(ctx)
		},
	})
}

// configure runs s.Configure, and says so when the caller's context (fx's
// start timeout) rather than ReadyTimeout ended the wait.
func configure(ctx context.Context, s *websocket.Server) error {
	err := s.Configure(ctx)
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (the start context ended before ReadyTimeout %v did; raise fx.StartTimeout above it)", err, s.Config().ReadyTimeout)
	}
	return err
}

// gate answers 503 until the server is configured, then hands every request
// to it.
type gate struct {
	open atomic.Bool
	next http.Handler
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !g.open.Load() {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "websocket server starting", http.StatusServiceUnavailable)
		return
	}
	g.next.ServeHTTP(w, r)
}
