package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"
)

// DefaultListenAddr is where EchoServer listens when EchoServerConfig.Addr
// is empty.
const DefaultListenAddr = ":8080"

// EchoServerConfig configures EchoServer. component.Module provides it from
// component.Config.ListenAddr; an app using EchoServer without that module
// may supply it (it is optional).
type EchoServerConfig struct {
	// Addr is the TCP address to listen on ("127.0.0.1:0" picks a free
	// port; read it back with Echo.ListenerAddr). Optional. Default ":8080".
	Addr string
}

// EchoServer is an fx option that serves the app's *echo.Echo: on start it
// listens on EchoServerConfig.Addr (a bind error fails the start) and serves
// in a goroutine; on stop it runs Echo's graceful Shutdown and waits for
// that goroutine. Should serving end with an error of its own, the app is
// shut down (fx.Shutdowner, exit code 1).
//
// Echo's Shutdown neither closes nor waits for hijacked connections (every
// WebSocket), so it cannot hang on them; the WebSocket server closes those in
// its own stop hook. Both orders of the two options are safe: the endpoint is
// mounted while the graph is built and answers 503 until the WebSocket server
// is configured.
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

// EchoServerParams are what EchoServer takes from the fx graph.
type EchoServerParams struct {
	fx.In

	Lifecycle  fx.Lifecycle
	Shutdowner fx.Shutdowner
	Echo       *echo.Echo
	Config     EchoServerConfig `optional:"true"`
}

func registerEchoServer(p EchoServerParams) {
	var running *RunningEcho
	p.Lifecycle.Append(fx.Hook{
		OnStart: func(context.Context) error {
			r, err := startEcho(p.Echo, p.Config.Addr, func(error) {
				_ = p.Shutdowner.Shutdown(fx.ExitCode(1))
			})
			running = r
			return err
		},
		OnStop: func(ctx context.Context) error {
			return running.Stop(ctx)
		},
	})
}

// RunningEcho is an Echo serving on a listener of its own, as started by
// StartEcho.
type RunningEcho struct {
	e    *echo.Echo
	ln   net.Listener
	done chan struct{} // closed when the serving goroutine returned
	err  error         // its error, other than http.ErrServerClosed; read after done
}

// StartEcho listens on addr (":8080" when empty) synchronously, so a bind
// error is returned here, then serves e in a goroutine. It sets e.Listener,
// so e.ListenerAddr reports the bound address. Stop it with Stop.
func StartEcho(e *echo.Echo, addr string) (*RunningEcho, error) {
	return startEcho(e, addr, nil)
}

func startEcho(e *echo.Echo, addr string, onFail func(error)) (*RunningEcho, error) {
	if addr == "" {
		addr = DefaultListenAddr
	}
	network := e.ListenerNetwork
	if network == "" {
		network = "tcp"
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil, fmt.Errorf("echo listen %s: %w", addr, err)
	}
	e.Listener = ln
	r := &RunningEcho{e: e, ln: ln, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		if err := e.Start(addr); !errors.Is(err, http.ErrServerClosed) {
			r.err = fmt.Errorf("echo serve %s: %w", ln.Addr(), err)
			if onFail != nil {
				onFail(r.err)
			}
		}
	}()
	return r, nil
}

// Addr returns the address the listener is bound to.
func (r *RunningEcho) Addr() net.Addr { return r.ln.Addr() }

// Stop runs Echo's graceful Shutdown (it stops accepting, then waits for
// in-flight requests, within ctx) and waits for the serving goroutine. It
// returns Shutdown's error and the error serving ended with, if any.
func (r *RunningEcho) Stop(ctx context.Context) error {
	err := r.e.Shutdown(ctx)
	// Shutdown closed the listener first thing, even when ctx ended before
	// in-flight requests did, so the serving goroutine is returning.
	<-r.done
	return errors.Join(err, r.err)
}
