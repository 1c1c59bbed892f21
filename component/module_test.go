package component_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/fx"

	"github.com/echows/echows/component"
	"github.com/echows/echows/internal/wstest"
	"github.com/echows/echows/lifecycle"
	"github.com/echows/echows/websocket"
	"github.com/echows/echows/websocket/wire"

	"github.com/echows/echows/browser"
	"io"
	"net/http"
)

// The whole path through a real app: a client connects and authenticates, a
// service holding the server and another holding the emitter reach it, and
// stopping the app closes it with 1001 and runs the disconnected hook. It
// holds whichever order the app lists EchoServer and Module in.
func TestAppServesAuthenticatesDeliversAndStops(t *testing.T) {
	for _, tc := range []struct {
		name      string
		echoFirst bool
	}{
		{name: "EchoServerBeforeModule", echoFirst: true},
		{name: "EchoServerAfterModule", echoFirst: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := boundedCtx(t)
			disconnected := make(chan string, 1)
			onDisconnected := fx.Provide(func() websocket.DisconnectedFunc {
				return func(_ context.Context, c *websocket.Client) { disconnected <- c.ID() }
			})
			// The listing order of the two options decides the order of
			// their hooks: try both.
			opts := []fx.Option{lifecycle.EchoServer, component.Module}
			if !tc.echoFirst {
				opts = []fx.Option{component.Module, lifecycle.EchoServer}
			}
			a := buildApp(t, component.Config{}, opts, provideAuth(testAuth), listenLoopback, onDisconnected)
			a.RequireStart()

			c := a.dial(t)
			conn := c.Authenticate("alice")
			if conn.UserID != "alice" || conn.ID == "" {
				t.Fatalf("connected %+v", conn)
			}

			if err := a.notifier.notify(ctx, conn.ID, "from the server"); err != nil {
				t.Fatalf("server Send: %v", err)
			}
			c.ExpectData("notification", `{"text":"from the server"}`)

			if err := a.worker.emitter.ToClient(ctx, conn.ID, "job", map[string]int{"done": 1}); err != nil {
				t.Fatalf("emitter ToClient: %v", err)
			}
			c.ExpectData("job", `{"done":1}`)
			if err := a.worker.emitter.ToUser(ctx, "alice", "job", map[string]int{"done": 2}); err != nil {
				t.Fatalf("emitter ToUser: %v", err)
			}
			c.ExpectData("job", `{"done":2}`)

			closed := c.AwaitClose()
			a.RequireStop()
			got := wstest.Wait(t, closed, "the client's close")
			if got.Code != wire.CloseGoingAway || got.Reason != wire.ReasonShuttingDown {
				t.Fatalf("client closed with %+v, want 1001 %q", got, wire.ReasonShuttingDown)
			}
			if id := wstest.Wait(t, disconnected, "the disconnected hook"); id != conn.ID {
				t.Fatalf("disconnected hook ran for %q, want %q", id, conn.ID)
			}
		})
	}
}

func TestMissingAuthenticateFailsWithErrNoAuthenticate(t *testing.T) {
	app := fx.New(fx.NopLogger, lifecycle.ProvideEcho, component.Module)
	err := app.Err()
	if !errors.Is(err, websocket.ErrNoAuthenticate) {
		t.Fatalf("app error %v, want one wrapping websocket.ErrNoAuthenticate", err)
	}
	if !errors.Is(err, websocket.ErrInvalidConfig) || !strings.Contains(err.Error(), "websocket.AuthenticateFunc") {
		t.Fatalf("app error %q should wrap ErrInvalidConfig and name websocket.AuthenticateFunc", err)
	}
}

func TestRequireEncryptionWithoutHandshakeFails(t *testing.T) {
	app := fx.New(fx.NopLogger, lifecycle.ProvideEcho, component.Module,
		fx.Supply(component.Config{Settings: websocket.Settings{RequireEncryption: true}}), provideAuth(testAuth))
	if err := app.Err(); !errors.Is(err, websocket.ErrNoHandshake) || !strings.Contains(err.Error(), "websocket.HandshakeFunc") {
		t.Fatalf("app error %v, want one wrapping websocket.ErrNoHandshake naming websocket.HandshakeFunc", err)
	}
}

func TestInvalidConfigFailsClearly(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     component.Config
		mention string
	}{
		{name: "NegativeAuthTimeout", cfg: component.Config{Settings: websocket.Settings{AuthTimeout: -time.Second}}, mention: "AuthTimeout"},
		{name: "NegativeHeartbeatTimeout", cfg: component.Config{Settings: websocket.Settings{HeartbeatTimeout: -1}}, mention: "HeartbeatTimeout"},
		{name: "NegativeReadyTimeout", cfg: component.Config{Settings: websocket.Settings{ReadyTimeout: -time.Millisecond}}, mention: "ReadyTimeout"},
		{name: "NegativeMaxPayloadLength", cfg: component.Config{Settings: websocket.Settings{MaxPayloadLength: -1}}, mention: "MaxPayloadLength"},
		{name: "PathWithoutSlash", cfg: component.Config{Settings: websocket.Settings{Path: "ws"}}, mention: "Path"},
		{name: "BadRedisURL", cfg: component.Config{RedisURL: "http://not-redis"}, mention: "RedisURL"},
		{name: "ReservedServerID", cfg: component.Config{Settings: websocket.Settings{ServerID: "emitter"}}, mention: "ServerID"},
		{name: "BrowserClientPathWithoutSlash", cfg: component.Config{BrowserClientPath: "echows.js"}, mention: "BrowserClientPath"},
		{name: "BrowserClientPathOnTheEndpoint", cfg: component.Config{BrowserClientPath: "/ws"}, mention: "BrowserClientPath"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := fx.New(fx.NopLogger, lifecycle.ProvideEcho, component.Module, fx.Supply(tc.cfg), provideAuth(testAuth))
			err := app.Err()
			if !errors.Is(err, websocket.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("app error %v, want ErrInvalidConfig mentioning %s", err, tc.mention)
			}
		})
	}
}

// fx.Decorate on a provided hook replaces it: the app's hook rejects
// everyone, the decorated one lets alice in.
func TestDecorateReplacesAHook(t *testing.T) {
	var decorated atomic.Int32
	a := startApp(t, component.Config{},
		fx.Decorate(func(orig websocket.AuthenticateFunc) websocket.AuthenticateFunc {
			return func(ctx context.Context, req websocket.AuthRequest) (*websocket.Identity, error) {
				decorated.Add(1)
				id, err := orig(ctx, req)
				if err == nil && id != nil {
					id.UserID = "decorated-" + id.UserID
				}
				return id, err
			}
		}),
	)
	c := a.dial(t)
	if got := c.Authenticate("alice").UserID; got != "decorated-alice" {
		t.Fatalf("userId %q, want the decorated hook's decorated-alice", got)
	}
	if decorated.Load() != 1 {
		t.Fatalf("decorated hook ran %d times, want 1", decorated.Load())
	}
}

// fx.Replace on a supplied Config takes effect (path and default rooms).
func TestReplaceConfig(t *testing.T) {
	a := startApp(t, component.Config{},
		fx.Replace(component.Config{Settings: websocket.Settings{Path: "/realtime", DefaultRooms: []string{"lobby"}}}),
	)
	if a.server.Path() != "/realtime" {
		t.Fatalf("Path %q, want the replaced /realtime", a.server.Path())
	}
	c := wstest.Dial(t, a.url("/realtime"))
	id := c.Authenticate("carol").ID
	if err := a.server.Local().ToRoom("lobby", "hi", "lobby"); err != nil {
		t.Fatal(err)
	}
	c.ExpectData("hi", `"lobby"`)
	cl, ok := a.server.Client(id)
	if !ok {
		t.Fatalf("client %q not found", id)
	}
	if rooms := cl.Rooms(); slices.Contains(rooms, "ws-default") || !slices.Contains(rooms, "lobby") {
		t.Fatalf("rooms %v, want lobby and not the defaults", rooms)
	}
	if _, resp, err := wstest.TryDial(a.url("/ws")); err == nil || resp == nil || resp.StatusCode != 404 {
		t.Fatalf("the default path still answers after Replace: %v", err)
	}
}

// fx.Replace works without a supplied Config, and fx.Decorate on a supplied
// one.
func TestReplaceOrDecorateConfigWithoutStarting(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []fx.Option
		want string
	}{
		{name: "ReplaceWithoutSupply", opts: []fx.Option{fx.Replace(component.Config{Settings: websocket.Settings{Path: "/replaced"}})}, want: "/replaced"},
		{name: "DecorateSupplied", want: "/decorated", opts: []fx.Option{
			fx.Supply(component.Config{Settings: websocket.Settings{Path: "/supplied"}}),
			fx.Decorate(func(c component.Config) component.Config { c.Path = "/decorated"; return c }),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s *websocket.Server
			opts := append([]fx.Option{fx.NopLogger, lifecycle.ProvideEcho, component.Module, provideAuth(testAuth), fx.Populate(&s)}, tc.opts...)
			app := fx.New(opts...)
			if err := app.Err(); err != nil {
				t.Fatal(err)
			}
			if s.Path() != tc.want {
				t.Fatalf("Path %q, want %q", s.Path(), tc.want)
			}
		})
	}
}

// Without any Config the defaults apply, and the server is usable before
// the app starts: sends succeed (there is no client yet to get them).
func TestNoConfigMeansDefaultsAndServerUsableBeforeStart(t *testing.T) {
	var s *websocket.Server
	app := fx.New(fx.NopLogger, lifecycle.ProvideEcho, component.Module, provideAuth(testAuth),
		fx.Supply(quietLogger()), fx.Populate(&s))
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	got := s.Config()
	if got.Path != websocket.DefaultPath || strings.Join(got.DefaultRooms, ",") != "ws-default,ws-notification" ||
		got.AuthTimeout != websocket.DefaultAuthTimeout || got.ReadyTimeout != websocket.DefaultReadyTimeout {
		t.Fatalf("defaults not applied: %+v", got)
	}
	ctx := boundedCtx(t)
	if err := s.Send(ctx, "", "early", 1); err != nil {
		t.Fatalf("Send before start: %v", err)
	}
	if err := s.Local().ToRoom("ws-default", "early", 1); err != nil {
		t.Fatalf("Local().ToRoom before start: %v", err)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := app.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// The injected server delivers to its own clients before the app starts (no
// "not initialized" trap). The fx endpoint is closed until start, so the
// client reaches the injected server through a handler mounted by hand.
func TestInjectedServerDeliversLocallyBeforeStart(t *testing.T) {
	ctx := boundedCtx(t)
	var s *websocket.Server
	app := fx.New(fx.NopLogger, lifecycle.ProvideEcho, component.Module, provideAuth(testAuth),
		fx.Supply(quietLogger()), fx.Populate(&s))
	if err := app.Err(); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	defer hs.Close()
	c := wstest.Dial(t, "ws"+strings.TrimPrefix(hs.URL, "http"))
	id := c.Authenticate("dave").ID
	if err := s.Send(ctx, id, "early", "before start"); err != nil {
		t.Fatalf("Send before start: %v", err)
	}
	c.ExpectData("early", `"before start"`)

	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	closed := c.AwaitClose()
	if err := app.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got := wstest.Wait(t, closed, "the client's close"); got.Code != wire.CloseGoingAway {
		t.Fatalf("client closed with %+v, want 1001", got)
	}
}

// With BrowserClientPath the module serves the browser client there (GET
// and HEAD); without it, nothing.
func TestBrowserClientPath(t *testing.T) {
	get := func(a *testApp, method string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(boundedCtx(t), method, "http://"+a.echo.ListenerAddr().String()+browser.DefaultPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	a := startApp(t, component.Config{BrowserClientPath: browser.DefaultPath})
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		resp := get(a, method)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
			t.Errorf("%s %s: %s %q", method, browser.DefaultPath, resp.Status, resp.Header.Get("Content-Type"))
		}
	}
	if resp := get(startApp(t, component.Config{}), http.MethodGet); resp.StatusCode != http.StatusNotFound {
		t.Errorf("without BrowserClientPath: %s, want 404", resp.Status)
	}
}
