package echov5_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v5"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"

	"github.com/echows/echows/component"
	"github.com/echows/echows/echov5"
	"github.com/echows/echows/emitter"
	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/internal/wstest"
	"github.com/echows/echows/websocket"
	"github.com/echows/echows/websocket/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func boundedCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// testAuth accepts {"token": "<user>"} as that user.
func testAuth(_ context.Context, req websocket.AuthRequest) (*websocket.Identity, error) {
	var creds struct{ Token string }
	if err := json.Unmarshal(req.Data, &creds); err != nil || creds.Token == "" {
		return nil, websocket.ErrRejected
	}
	return &websocket.Identity{UserID: creds.Token}, nil
}

var provideAuth = fx.Provide(func() websocket.AuthenticateFunc { return testAuth })

// v5App is an fx app on Echo v5 with the echows module, serving on a free
// loopback port.
type v5App struct {
	*fxtest.App
	addr    net.Addr
	echo    *echo.Echo
	server  *websocket.Server
	emitter *emitter.Emitter
}

func (a *v5App) dial(t *testing.T) *wstest.Client {
	return wstest.Dial(t, "ws://"+a.addr.String()+a.server.Path())
}

// newV5App builds the app with the echows options in the order given, cfg
// (EchoServerConfig's Addr and ListenerAddrFunc are set here) and opts.
func newV5App(t *testing.T, modules []fx.Option, cfg component.Config, srv echov5.EchoServerConfig, opts ...fx.Option) *v5App {
	a := &v5App{}
	srv.Addr = "127.0.0.1:0"
	srv.ListenerAddrFunc = func(addr net.Addr) { a.addr = addr }
	all := append([]fx.Option{fx.NopLogger, echov5.ProvideEcho}, modules...)
	all = append(all, provideAuth, fx.Supply(cfg, srv), fx.Supply(quietLogger()),
		fx.Populate(&a.echo, &a.server, &a.emitter))
	a.App = fxtest.New(t, append(all, opts...)...)
	return a
}

var orders = []struct {
	name    string
	modules []fx.Option
}{
	{name: "EchoServerFirst", modules: []fx.Option{echov5.EchoServer, echov5.Module}},
	{name: "ModuleFirst", modules: []fx.Option{echov5.Module, echov5.EchoServer}},
}

// A real Echo v5 app: a client connects and authenticates, the server and
// the emitter reach it, and stopping the app closes it with 1001.
func TestModuleServesAuthenticatesDeliversAndStops(t *testing.T) {
	for _, tc := range orders {
		t.Run(tc.name, func(t *testing.T) {
			ctx := boundedCtx(t)
			a := newV5App(t, tc.modules, component.Config{}, echov5.EchoServerConfig{})
			a.RequireStart()
			c := a.dial(t)
			id := c.Authenticate("alice").ID
			if err := a.server.ToClient(ctx, id, "hello", 1); err != nil {
				t.Fatal(err)
			}
			c.ExpectData("hello", "1")
			if err := a.emitter.ToUser(ctx, "alice", "job", 2); err != nil {
				t.Fatal(err)
			}
			c.ExpectData("job", "2")
			closed := c.AwaitClose()
			a.RequireStop()
			if got := wstest.Wait(t, closed, "the client's close"); got.Code != wire.CloseGoingAway || got.Reason != wire.ReasonShuttingDown {
				t.Fatalf("closed with %+v, want 1001 %q", got, wire.ReasonShuttingDown)
			}
		})
	}
}

// As on Echo v4: a request in flight at stop finishes, and its sends go
// out, through the emitter to another instance over Redis and through the
// server to a local client before its 1001, in both option orders.
func TestInFlightRequestSendsDuringStop(t *testing.T) {
	for _, tc := range orders {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			cfg := component.Config{RedisURL: "redis://" + rs.Addr() + "/0"}
			entered, stopping := make(chan struct{}), make(chan struct{})
			route := fx.Invoke(func(e *echo.Echo, em *emitter.Emitter, s *websocket.Server) {
				e.GET("/slow", func(c *echo.Context) error {
					close(entered)
					<-stopping
					ctx := c.Request().Context()
					errEmit := em.ToUser(ctx, "bob", "from-emitter", "late")
					errSend := s.ToUser(ctx, "alice", "from-server", "late")
					return c.String(http.StatusOK, fmt.Sprintf("emitter: %v, server: %v", errEmit, errSend))
				})
			})
			a := newV5App(t, tc.modules, cfg, echov5.EchoServerConfig{BeforeServeFunc: func(s *http.Server) error {
				s.RegisterOnShutdown(func() { close(stopping) })
				return nil
			}}, route)
			a.RequireStart()
			b := newV5App(t, tc.modules, cfg, echov5.EchoServerConfig{})
			b.RequireStart()
			defer b.RequireStop()

			alice := a.dial(t)
			alice.Authenticate("alice")
			bob := b.dial(t)
			bob.Authenticate("bob")

			responded := make(chan string, 1)
			go func() {
				resp, err := http.Get("http://" + a.addr.String() + "/slow")
				if err != nil {
					responded <- err.Error()
					return
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				responded <- string(body)
			}()
			wstest.Wait(t, entered, "the request to start")
			aliceGot := alice.ReceiveUntilClose()
			stopped := make(chan error, 1)
			go func() { stopped <- a.Stop(boundedCtx(t)) }()

			if got := wstest.Wait(t, responded, "the response"); got != "emitter: <nil>, server: <nil>" {
				t.Fatalf("in-flight request: %q, want both sends to succeed", got)
			}
			bob.ExpectData("from-emitter", `"late"`)
			if err := wstest.Wait(t, stopped, "the app's stop"); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if got := wstest.Wait(t, aliceGot, "alice's close"); strings.Join(got.Events, ",") != "from-server" || got.Closed.Code != wire.CloseGoingAway {
				t.Fatalf("alice got %v then %+v, want from-server then 1001", got.Events, got.Closed)
			}
		})
	}
}

// The app's own EchoServerConfig is used: its timeouts, its hooks.
func TestEchoServerConfig(t *testing.T) {
	var server *http.Server
	a := newV5App(t, []fx.Option{echov5.EchoServer, echov5.Module}, component.Config{}, echov5.EchoServerConfig{
		IdleTimeout:     5 * time.Second,
		BeforeServeFunc: func(s *http.Server) error { server = s; return nil },
	})
	a.RequireStart()
	defer a.RequireStop()
	if server.ReadHeaderTimeout != echov5.DefaultReadHeaderTimeout || server.IdleTimeout != 5*time.Second || server.Handler != a.echo {
		t.Fatalf("http.Server ReadHeaderTimeout %v, IdleTimeout %v, Handler %T; want the default, 5s and the app's Echo",
			server.ReadHeaderTimeout, server.IdleTimeout, server.Handler)
	}
	a.dial(t).Authenticate("alice")
}

func TestEchoServerStartErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		cfg  echov5.EchoServerConfig
		want string
	}{
		{"BusyPort", echov5.EchoServerConfig{Addr: busy.Addr().String()}, busy.Addr().String()},
		{"BeforeServeFunc", echov5.EchoServerConfig{Addr: "127.0.0.1:0", BeforeServeFunc: func(*http.Server) error { return boom }}, "boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := fx.New(fx.NopLogger, echov5.ProvideEcho, echov5.EchoServer, fx.Supply(tc.cfg))
			err := app.Start(boundedCtx(t))
			if err == nil || !contains(err, tc.want) {
				t.Fatalf("start: %v, want an error mentioning %s", err, tc.want)
			}
		})
	}
	app := fx.New(fx.NopLogger, echov5.ProvideEcho, echov5.EchoServer, fx.Supply(echov5.EchoServerConfig{IdleTimeout: -1}))
	if err := app.Err(); err == nil || !contains(err, "IdleTimeout") {
		t.Fatalf("fx.New with a negative IdleTimeout: %v", err)
	}
}

// An app serving its v5 Echo itself, before the app started, gets 503 from
// the endpoint until the server is configured, then upgrades.
func TestEndpointAnswers503UntilStart(t *testing.T) {
	var (
		e *echo.Echo
		s *websocket.Server
	)
	app := fxtest.New(t, fx.NopLogger, echov5.ProvideEcho, echov5.Module, provideAuth, fx.Supply(quietLogger()), fx.Populate(&e, &s))
	hs := httptest.NewServer(e)
	defer hs.Close()
	url := "ws" + hs.URL[len("http"):] + "/ws"
	if _, resp, err := wstest.TryDial(url); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial before start: %v, want 503", err)
	}
	app.RequireStart()
	c := wstest.Dial(t, url)
	c.Authenticate("bob")
	closed := c.AwaitClose()
	app.RequireStop()
	wstest.Wait(t, closed, "the client's close")
}

// Without fx: Start configures and mounts on a v5 Echo served by hand.
func TestStartByHand(t *testing.T) {
	ctx := boundedCtx(t)
	st, err := component.New(component.Config{}, component.Deps{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	s, err := st.NewServer(websocket.Hooks{Authenticate: testAuth})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	if err := echov5.Start(ctx, e, s); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(e)
	c := wstest.Dial(t, "ws"+hs.URL[len("http"):]+"/ws")
	c.Authenticate("carol")
	closed := c.AwaitClose()
	hs.Close()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if got := wstest.Wait(t, closed, "the client's close"); got.Code != wire.CloseGoingAway {
		t.Fatalf("closed with %+v, want 1001", got)
	}
}

func contains(err error, s string) bool {
	return err != nil && len(s) > 0 && strings.Contains(err.Error(), s)
}
