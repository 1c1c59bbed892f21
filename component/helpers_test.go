package component_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"

	"github.com/echows/echows/component"
	"github.com/echows/echows/emitter"
	"github.com/echows/echows/internal/wstest"
	"github.com/echows/echows/lifecycle"
	"github.com/echows/echows/websocket"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// boundedCtx is a context for calls that must not hang a test.
func boundedCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testAuth accepts {"token": "<user>"} as that user and rejects the rest.
func testAuth(_ context.Context, req websocket.AuthRequest) (*websocket.Identity, error) {
	var creds struct{ Token string }
	if err := json.Unmarshal(req.Data, &creds); err != nil || creds.Token == "" {
		return nil, websocket.ErrRejected
	}
	return &websocket.Identity{UserID: creds.Token}, nil
}

func provideAuth(fn websocket.AuthenticateFunc) fx.Option {
	return fx.Provide(func() websocket.AuthenticateFunc { return fn })
}

// notifier is an app service that had the server injected.
type notifier struct{ server *websocket.Server }

func newNotifier(s *websocket.Server) *notifier { return &notifier{server: s} }

func (n *notifier) notify(ctx context.Context, dest, text string) error {
	return n.server.Send(ctx, dest, "notification", map[string]string{"text": text})
}

// worker is an app service that had the emitter injected.
type worker struct{ emitter *emitter.Emitter }

func newWorker(e *emitter.Emitter) *worker { return &worker{emitter: e} }

// testApp is a started fx app with the echows module, Echo listening on a
// free loopback port, and the two services.
type testApp struct {
	*fxtest.App
	echo     *echo.Echo
	server   *websocket.Server
	notifier *notifier
	worker   *worker
}

// url returns the WebSocket URL of path on the app's Echo.
func (a *testApp) url(path string) string {
	return "ws://" + a.echo.ListenerAddr().String() + path
}

// dial connects a client to the app's endpoint.
func (a *testApp) dial(t *testing.T) *wstest.Client {
	t.Helper()
	return wstest.Dial(t, a.url(a.server.Path()))
}

// newApp builds an app from the module, an Echo server on a free loopback
// port, the two services, quiet logs, cfg and opts. It is not started; opts
// must provide the authenticate hook.
func newApp(t *testing.T, cfg component.Config, opts ...fx.Option) *testApp {
	t.Helper()
	return buildApp(t, cfg, []fx.Option{lifecycle.EchoServer, component.Module}, opts...)
}

// listenLoopback has EchoServer listen on a free loopback port.
var listenLoopback = fx.Supply(lifecycle.EchoServerConfig{Addr: "127.0.0.1:0"})

// buildApp is newApp with the echows options (EchoServer and Module) given
// in the order the app lists them.
func buildApp(t *testing.T, cfg component.Config, modules []fx.Option, opts ...fx.Option) *testApp {
	t.Helper()
	a := &testApp{}
	all := append([]fx.Option{lifecycle.ProvideEcho}, modules...)
	all = append(all,
		fx.Supply(cfg),
		fx.Supply(quietLogger()),
		fx.Provide(newNotifier, newWorker),
		fx.Populate(&a.echo, &a.server, &a.notifier, &a.worker),
	)
	a.App = fxtest.New(t, append(all, opts...)...)
	return a
}

// startApp is newApp with testAuth (before opts, which may decorate it) and
// Echo on a free loopback port, started, and stopped when the test ends
// unless the test stopped it.
func startApp(t *testing.T, cfg component.Config, opts ...fx.Option) *testApp {
	t.Helper()
	a := newApp(t, cfg, append([]fx.Option{provideAuth(testAuth), listenLoopback}, opts...)...)
	a.RequireStart()
	t.Cleanup(func() { _ = a.Stop(context.Background()) })
	return a
}
