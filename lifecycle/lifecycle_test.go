package lifecycle_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"

	"github.com/echows/echows/internal/wstest"
	"github.com/echows/echows/lifecycle"
	"github.com/echows/echows/websocket"
	"github.com/echows/echows/websocket/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// stopTimeout bounds every stop in these tests; a stop that needs it is a
// hang, not a slow machine.
const stopTimeout = 10 * time.Second

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testAuth accepts {"token": "<user>"} as that user.
func testAuth(_ context.Context, req websocket.AuthRequest) (*websocket.Identity, error) {
	var creds struct{ Token string }
	if err := json.Unmarshal(req.Data, &creds); err != nil || creds.Token == "" {
		return nil, websocket.ErrRejected
	}
	return &websocket.Identity{UserID: creds.Token}, nil
}

func newServer(t *testing.T, cfg websocket.Config) *websocket.Server {
	t.Helper()
	cfg.Authenticate = testAuth
	cfg.Logger = quietLogger()
	s, err := websocket.New(cfg)
	if err != nil {
		t.Fatalf("websocket.New: %v", err)
	}
	return s
}

func stopCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
	t.Cleanup(cancel)
	return ctx
}

func wsURL(addr net.Addr, path string) string { return "ws://" + addr.String() + path }

// closerFunc records that it ran and what the server looked like then.
type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// By hand: Start configures and mounts, StartEcho serves, Echo's Shutdown
// returns although a WebSocket client is still connected (net/http does not
// track hijacked connections), and Stop then closes the client with 1001
// before closing what was opened for the server.
func TestByHandEchoShutdownDoesNotWaitForWebSockets(t *testing.T) {
	ctx := stopCtx(t)
	s := newServer(t, websocket.Config{})
	e := lifecycle.NewEcho()
	if err := lifecycle.Start(ctx, e, s); err != nil {
		t.Fatalf("Start: %v", err)
	}
	running, err := lifecycle.StartEcho(e, lifecycle.EchoServerConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatalf("StartEcho: %v", err)
	}
	if got, want := e.ListenerAddr().String(), running.Addr().String(); got != want {
		t.Fatalf("Echo.ListenerAddr %s, RunningEcho.Addr %s", got, want)
	}
	c := wstest.Dial(t, wsURL(running.Addr(), "/ws"))
	id := c.Authenticate("alice").ID

	if err := running.Stop(ctx); err != nil {
		t.Fatalf("Echo stop with a WebSocket client connected: %v", err)
	}
	// The client outlived Echo's Shutdown and is still served.
	if err := s.Local().ToClient(id, "still-here", 1); err != nil {
		t.Fatalf("SendToClient after Echo stopped: %v", err)
	}
	c.ExpectData("still-here", "1")
	if _, err := net.DialTimeout("tcp", running.Addr().String(), time.Second); err == nil {
		t.Fatal("Echo still accepts connections after Stop")
	}

	closed := c.AwaitClose()
	var clientsAtClose = -1
	if err := lifecycle.Stop(ctx, s, closerFunc(func() error {
		clientsAtClose = s.Stats().Clients
		return nil
	})); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	got := wstest.Wait(t, closed, "the client's close")
	if got.Code != wire.CloseGoingAway || got.Reason != wire.ReasonShuttingDown {
		t.Fatalf("client closed with %+v, want 1001 %q", got, wire.ReasonShuttingDown)
	}
	if clientsAtClose != 0 {
		t.Fatalf("closer ran with %d clients still connected, want it to run after Shutdown", clientsAtClose)
	}
}

func TestStopClosesEveryCloserAndJoinsErrors(t *testing.T) {
	s := newServer(t, websocket.Config{})
	errA, errB := errors.New("a failed"), errors.New("b failed")
	var order []string
	err := lifecycle.Stop(stopCtx(t), s,
		closerFunc(func() error { order = append(order, "a"); return errA }),
		closerFunc(func() error { order = append(order, "b"); return errB }),
	)
	if !errors.Is(err, errA) || !errors.Is(err, errB) {
		t.Fatalf("Stop error %v, want both closers' errors", err)
	}
	if strings.Join(order, ",") != "a,b" {
		t.Fatalf("closers ran in order %v, want a,b", order)
	}
}

func TestStartEchoBindErrorIsReturned(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	_, err = lifecycle.StartEcho(lifecycle.NewEcho(), lifecycle.EchoServerConfig{Addr: busy.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Fatalf("StartEcho on a busy port: %v, want a bind error naming the address", err)
	}
}

// Register mounts the endpoint while the graph is built: before start it
// answers 503 (even when Echo already serves), after start it upgrades, and
// stop closes the clients with 1001.
func TestRegisterGatesTheEndpointUntilStart(t *testing.T) {
	ctx := stopCtx(t)
	s := newServer(t, websocket.Config{Settings: websocket.Settings{Path: "/rt"}})
	e := lifecycle.NewEcho()
	lc := fxtest.NewLifecycle(t)
	lifecycle.Register(lc, e, s)
	running, err := lifecycle.StartEcho(e, lifecycle.EchoServerConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer running.Stop(ctx)

	_, resp, err := wstest.TryDial(wsURL(running.Addr(), "/rt"))
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial before start: err %v, status %d; want 503", err, status)
	}

	lc.RequireStart()
	c := wstest.Dial(t, wsURL(running.Addr(), "/rt"))
	c.Authenticate("bob")
	closed := c.AwaitClose()
	lc.RequireStop()
	got := wstest.Wait(t, closed, "the client's close")
	if got.Code != wire.CloseGoingAway || got.Reason != wire.ReasonShuttingDown {
		t.Fatalf("client closed with %+v, want 1001 %q", got, wire.ReasonShuttingDown)
	}
}

// A broker that is never ready fails the start hook with
// ErrBrokerNotReady, and the server is shut down (it refuses later use).
func TestRegisterStartFailsWhenBrokerNeverReady(t *testing.T) {
	dead := deadAddr(t)
	broker := newRedisBroker(t, dead)
	s := newServer(t, websocket.Config{Settings: websocket.Settings{ReadyTimeout: 200 * time.Millisecond}, Broker: broker})
	lc := fxtest.NewLifecycle(t)
	lifecycle.Register(lc, lifecycle.NewEcho(), s)
	err := lc.Start(stopCtx(t))
	if !errors.Is(err, websocket.ErrBrokerNotReady) || !strings.Contains(err.Error(), dead) {
		t.Fatalf("start: %v, want ErrBrokerNotReady naming %s", err, dead)
	}
	if err := s.Configure(context.Background()); !errors.Is(err, websocket.ErrServerClosed) {
		t.Fatalf("Configure after a failed start: %v, want ErrServerClosed", err)
	}
}

// When fx's start context ends before ReadyTimeout, the error says to raise
// fx.StartTimeout.
func TestStartTimeoutShorterThanReadyTimeoutIsExplained(t *testing.T) {
	broker := newRedisBroker(t, deadAddr(t))
	s := newServer(t, websocket.Config{Broker: broker}) // ReadyTimeout 30 s
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := lifecycle.Start(ctx, lifecycle.NewEcho(), s)
	if !errors.Is(err, websocket.ErrBrokerNotReady) || !strings.Contains(err.Error(), "fx.StartTimeout") {
		t.Fatalf("Start: %v, want ErrBrokerNotReady with a hint about fx.StartTimeout", err)
	}
	if err := s.Shutdown(stopCtx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestEchoServerModuleServesAndStops(t *testing.T) {
	var e *echo.Echo
	app := fxtest.New(t,
		lifecycle.ProvideEcho,
		lifecycle.EchoServer,
		fx.Supply(lifecycle.EchoServerConfig{Addr: "127.0.0.1:0"}),
		fx.Invoke(func(e *echo.Echo) {
			e.GET("/ping", func(c echo.Context) error { return c.String(http.StatusOK, "pong") })
		}),
		fx.Populate(&e),
	)
	if e.ListenerAddr() != nil {
		t.Fatal("Echo listens before start")
	}
	app.RequireStart()
	addr := e.ListenerAddr().String()
	resp, err := http.Get("http://" + addr + "/ping")
	if err != nil {
		t.Fatalf("GET /ping: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "pong" {
		t.Fatalf("GET /ping = %q", body)
	}
	http.DefaultClient.CloseIdleConnections()
	app.RequireStop()
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("Echo still accepts connections after stop")
	}
}

func TestEchoServerModuleBindErrorFailsStart(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	app := fx.New(
		fx.NopLogger,
		lifecycle.ProvideEcho,
		lifecycle.EchoServer,
		fx.Supply(lifecycle.EchoServerConfig{Addr: busy.Addr().String()}),
	)
	err = app.Start(stopCtx(t))
	if err == nil || !strings.Contains(err.Error(), busy.Addr().String()) {
		t.Fatalf("start on a busy port: %v, want a bind error naming the address", err)
	}
}

// deadAddr returns a loopback address nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// newRedisBroker returns a Redis broker on addr, closed (with its client)
// when the test ends.
func newRedisBroker(t *testing.T, addr string) *websocket.RedisBroker {
	t.Helper()
	client := redis.NewClient(&redis.Options{Addr: addr})
	broker, err := websocket.NewRedisBroker(client, websocket.RedisBrokerOptions{Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		broker.Close()
		client.Close()
	})
	return broker
}
