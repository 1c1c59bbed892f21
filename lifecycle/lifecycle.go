package lifecycle

import (
	"context"
	"errors"
	"io"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"

	"github.com/echows/echows/internal/serve"
	"github.com/echows/echows/websocket"
)

// Mount registers s on e for GET requests at s.Path(). Echo's router is not
// safe to change while it serves, so call Mount before e starts serving.
func Mount(e *echo.Echo, s *websocket.Server) *echo.Route {
	return e.GET(s.Path(), echo.WrapHandler(s))
}

// Start configures s, waiting (at most Settings.ReadyTimeout) for its broker
// to confirm its subscriptions, then mounts it on e. It is what the fx hooks
// do on start, for apps that wire echows by hand; call it before e serves.
func Start(ctx context.Context, e *echo.Echo, s *websocket.Server) error {
	if err := serve.Configure(ctx, s); err != nil {
		return err
	}
	Mount(e, s)
	return nil
}

// Stop shuts s down (every client gets 1001 "Server shutting down" and the
// disconnected hook runs for each) and then closes each closer in order: pass
// what was opened for s (a component.Stack, or its broker, an emitter
// sharing it, a Redis client), which s no longer uses once Shutdown
// returned. The closers are closed even when Shutdown fails; every error is
// returned, joined. Stop knows no router: apps on Echo v5 use it too.
//
// Stop the HTTP server first (RunningEcho.Stop, http.Server.Shutdown), so
// that requests in flight finish while s and the emitter still work.
func Stop(ctx context.Context, s *websocket.Server, closers ...io.Closer) error {
	errs := []error{s.Shutdown(ctx)}
	for _, c := range closers {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// Register wires a *websocket.Server the app builds itself into an fx app
// (component.Module does all of this for the server it builds): it mounts s
// on e at once, before anything serves, and appends s's hooks to lc:
// Configure on start, Shutdown on stop. Until Configure has succeeded the
// endpoint answers 503 Service Unavailable.
//
// Call Register from the fx constructor that provides s, not from an
// fx.Invoke: fx starts hooks in the order they were appended and stops them
// in reverse, and constructors run before whatever depends on them, so
// everything that takes s (EchoServer does) then starts after s is
// configured and stops before s shuts down, whatever the order of the
// app's options:
//
//	fx.Provide(func(lc fx.Lifecycle, e *echo.Echo, b MyBroker) (*websocket.Server, error) {
//		s, err := websocket.New(websocket.Config{Broker: b, ...})
//		if err != nil {
//			return nil, err
//		}
//		lifecycle.Register(lc, e, s)
//		return s, nil
//	})
func Register(lc fx.Lifecycle, e *echo.Echo, s *websocket.Server) {
	e.GET(s.Path(), echo.WrapHandler(serve.Attach(lc, s)))
}
