package lifecycle_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"

	"github.com/echows/echows/internal/wstest"
	"github.com/echows/echows/lifecycle"
	"github.com/echows/echows/websocket"
)

// EchoServer sets the Slowloris guard and the keep-alive bound on e.Server:
// its defaults, the config's values, or what the app set on e.Server.
func TestEchoServerTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		cfg                      lifecycle.EchoServerConfig
		appIdle                  time.Duration // set on e.Server by the app
		wantReadHeader, wantIdle time.Duration
	}{
		{name: "Defaults", wantReadHeader: lifecycle.DefaultReadHeaderTimeout, wantIdle: lifecycle.DefaultIdleTimeout},
		{name: "Config", cfg: lifecycle.EchoServerConfig{ReadHeaderTimeout: 3 * time.Second, IdleTimeout: 4 * time.Second},
			wantReadHeader: 3 * time.Second, wantIdle: 4 * time.Second},
		{name: "AppsOwnKept", appIdle: 7 * time.Second, wantReadHeader: lifecycle.DefaultReadHeaderTimeout, wantIdle: 7 * time.Second},
		{name: "ConfigWinsOverApps", cfg: lifecycle.EchoServerConfig{IdleTimeout: 5 * time.Second}, appIdle: 7 * time.Second,
			wantReadHeader: lifecycle.DefaultReadHeaderTimeout, wantIdle: 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e *echo.Echo
			cfg := tc.cfg
			cfg.Addr = "127.0.0.1:0"
			app := fxtest.New(t, fx.NopLogger, lifecycle.ProvideEcho, lifecycle.EchoServer, fx.Supply(cfg),
				fx.Invoke(func(e *echo.Echo) { e.Server.IdleTimeout = tc.appIdle }),
				fx.Populate(&e))
			app.RequireStart()
			defer app.RequireStop()
			if e.Server.ReadHeaderTimeout != tc.wantReadHeader || e.Server.IdleTimeout != tc.wantIdle {
				t.Fatalf("e.Server ReadHeaderTimeout %v, IdleTimeout %v; want %v, %v",
					e.Server.ReadHeaderTimeout, e.Server.IdleTimeout, tc.wantReadHeader, tc.wantIdle)
			}
		})
	}
}

func TestEchoServerNegativeTimeoutFailsNew(t *testing.T) {
	app := fx.New(fx.NopLogger, lifecycle.ProvideEcho, lifecycle.EchoServer,
		fx.Supply(lifecycle.EchoServerConfig{ReadHeaderTimeout: -time.Second}))
	if err := app.Err(); err == nil || !strings.Contains(err.Error(), "ReadHeaderTimeout") {
		t.Fatalf("fx.New: %v, want an error naming ReadHeaderTimeout", err)
	}
}

// A client that never finishes its request headers is disconnected once
// ReadHeaderTimeout has passed (the read below is bounded only to keep a
// broken server from hanging the test).
func TestReadHeaderTimeoutDropsASlowClient(t *testing.T) {
	var e *echo.Echo
	app := fxtest.New(t, fx.NopLogger, lifecycle.ProvideEcho, lifecycle.EchoServer,
		fx.Supply(lifecycle.EchoServerConfig{Addr: "127.0.0.1:0", ReadHeaderTimeout: 100 * time.Millisecond}),
		fx.Populate(&e))
	app.RequireStart()
	defer app.RequireStop()

	conn, err := net.Dial("tcp", e.ListenerAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(stopTimeout))
	_, err = io.ReadAll(conn)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept a connection with unfinished headers open for %v", stopTimeout)
	}
}

// orderBroker is an in-process broker that records, when the server
// subscribes and unsubscribes, whether Echo was serving then.
type orderBroker struct {
	*websocket.MemoryBroker
	e              *echo.Echo
	echoDown       <-chan struct{} // closed when Echo's Shutdown began
	servingAtStart bool
	mu             sync.Mutex
	downAtStop     bool
}

func (b *orderBroker) Subscribe(ctx context.Context, h func(string, []byte)) (websocket.Subscription, error) {
	b.servingAtStart = b.e.ListenerAddr() != nil
	sub, err := b.MemoryBroker.Subscribe(ctx, h)
	return &orderSub{sub, b}, err
}

type orderSub struct {
	websocket.Subscription
	b *orderBroker
}

func (s *orderSub) Close() error {
	select {
	case <-s.b.echoDown:
		s.b.mu.Lock()
		s.b.downAtStop = true
		s.b.mu.Unlock()
	default:
	}
	return s.Subscription.Close()
}

// A server the app builds and registers from its constructor is configured
// before EchoServer serves and shut down after Echo stopped, whichever of
// the two the app lists first.
func TestRegisterInConstructorOrdersEchoServer(t *testing.T) {
	for _, echoFirst := range []bool{true, false} {
		name := "EchoServerLast"
		if echoFirst {
			name = "EchoServerFirst"
		}
		t.Run(name, func(t *testing.T) {
			echoDown := make(chan struct{})
			broker := &orderBroker{MemoryBroker: websocket.NewMemoryBroker(), echoDown: echoDown}
			provideServer := fx.Provide(func(lc fx.Lifecycle, e *echo.Echo) (*websocket.Server, error) {
				broker.e = e
				s, err := websocket.New(websocket.Config{Hooks: websocket.Hooks{Authenticate: testAuth}, Broker: broker, Logger: quietLogger()})
				if err == nil {
					lifecycle.Register(lc, e, s)
				}
				return s, err
			})
			opts := []fx.Option{lifecycle.EchoServer, provideServer}
			if !echoFirst {
				opts = []fx.Option{provideServer, lifecycle.EchoServer}
			}
			var e *echo.Echo
			app := fxtest.New(t, append(opts,
				fx.NopLogger,
				lifecycle.ProvideEcho,
				fx.Supply(lifecycle.EchoServerConfig{Addr: "127.0.0.1:0"}),
				fx.Invoke(func(e *echo.Echo) { e.Server.RegisterOnShutdown(func() { close(echoDown) }) }),
				fx.Invoke(func(*websocket.Server) {}),
				fx.Populate(&e),
			)...)
			app.RequireStart()
			if broker.servingAtStart {
				t.Fatal("Echo was serving before the WebSocket server was configured")
			}
			wstest.Dial(t, "ws://"+e.ListenerAddr().String()+"/ws").Authenticate("alice")
			app.RequireStop()
			broker.mu.Lock()
			defer broker.mu.Unlock()
			if !broker.downAtStop {
				t.Fatal("the WebSocket server shut down before Echo's Shutdown began")
			}
		})
	}
}
