package component_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"

	"github.com/echows/echows/component"
	"github.com/echows/echows/emitter"
	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/internal/wstest"
	"github.com/echows/echows/lifecycle"
	"github.com/echows/echows/websocket"
)

// Two apps on one Redis reach each other's clients: by the server's Send
// and ToUser, by the emitter, and by broadcast.
func TestTwoAppsOnOneRedisDeliverToEachOther(t *testing.T) {
	rs := redistest.Start(t)
	ctx := boundedCtx(t)
	a := startApp(t, component.Config{RedisURL: redisURL(rs)})
	b := startApp(t, component.Config{RedisURL: redisURL(rs)})

	ca := a.dial(t)
	alice := ca.Authenticate("alice").ID
	cb := b.dial(t)
	cb.Authenticate("bob")

	// b's server does not know alice's client: Send publishes it as a room,
	// and a delivers it (every client is in the room of its own id).
	if err := b.notifier.notify(ctx, alice, "from b's server"); err != nil {
		t.Fatalf("b Send: %v", err)
	}
	ca.ExpectData("notification", `{"text":"from b's server"}`)

	if err := b.worker.emitter.ToUser(ctx, "alice", "job", "from b's emitter"); err != nil {
		t.Fatalf("b emitter ToUser: %v", err)
	}
	ca.ExpectData("job", `"from b's emitter"`)

	if err := a.server.ToUser(ctx, "bob", "dm", "from a"); err != nil {
		t.Fatalf("a ToUser: %v", err)
	}
	cb.ExpectData("dm", `"from a"`)

	if err := b.server.Send(ctx, "", "all", 1); err != nil {
		t.Fatalf("b broadcast: %v", err)
	}
	cb.ExpectData("all", "1")
	ca.ExpectData("all", "1")
}

// The app's own client, handed over with UseRedis, carries the fan-out and
// is still open after the app stopped.
func TestAppRedisClientIsUsedAndNotClosed(t *testing.T) {
	rs := redistest.Start(t)
	ctx := boundedCtx(t)
	appClient := rs.Client(t)
	a := startApp(t, component.Config{},
		fx.Provide(func() *redis.Client { return appClient }),
		component.UseRedis[*redis.Client](),
	)
	b := startApp(t, component.Config{RedisURL: redisURL(rs)})

	ca := a.dial(t)
	ca.Authenticate("alice")
	if err := b.worker.emitter.ToUser(ctx, "alice", "job", "via the app's client"); err != nil {
		t.Fatal(err)
	}
	ca.ExpectData("job", `"via the app's client"`)

	closed := ca.AwaitClose()
	a.RequireStop()
	wstest.Wait(t, closed, "alice's close")
	if err := appClient.Ping(ctx).Err(); err != nil {
		t.Fatalf("the app's client after stop: %v (echows must not close it)", err)
	}
}

// Stopping the app closes the Redis connections the module opened: once it
// stopped, the only client Redis still has is the test's own.
func TestStopClosesTheRedisConnectionsTheModuleOpened(t *testing.T) {
	rs := redistest.Start(t)
	ctx := boundedCtx(t)
	check := rs.Client(t)
	a := startApp(t, component.Config{RedisURL: redisURL(rs)})
	if err := a.server.Send(ctx, "", "warm-up", nil); err != nil { // opens a publisher connection
		t.Fatal(err)
	}
	if n := redisClients(t, check); n < 2 {
		t.Fatalf("Redis has %d clients while the app runs, want the test's and the module's", n)
	}
	a.RequireStop()
	deadline := time.Now().Add(10 * time.Second)
	for n := redisClients(t, check); n != 1; n = redisClients(t, check) {
		if time.Now().After(deadline) {
			t.Fatalf("Redis still has %d clients 10 s after the app stopped, want only the test's", n)
		}
		time.Sleep(10 * time.Millisecond) // polling a condition, bounded above
	}
}

// redisClients returns how many connections Redis has.
func redisClients(t *testing.T, c *redis.Client) int {
	t.Helper()
	list, err := c.ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	return len(strings.Split(strings.TrimSpace(list), "\n"))
}

// A Redis that never becomes ready fails the start with ErrBrokerNotReady,
// naming the address and the wait.
func TestRedisNeverReadyFailsStart(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()

	app := fx.New(fx.NopLogger, lifecycle.ProvideEcho, component.Module, provideAuth(testAuth),
		fx.Supply(component.Config{RedisURL: "redis://" + dead, Settings: websocket.Settings{ReadyTimeout: 300 * time.Millisecond}}),
		fx.Supply(quietLogger()))
	err = app.Start(boundedCtx(t))
	if !errors.Is(err, websocket.ErrBrokerNotReady) || !strings.Contains(err.Error(), dead) || !strings.Contains(err.Error(), "300ms") {
		t.Fatalf("start: %v, want ErrBrokerNotReady naming %s and 300ms", err, dead)
	}
}

func TestNamedClientAndConfigRedisConflict(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer client.Close()
	app := fx.New(fx.NopLogger, lifecycle.ProvideEcho, component.Module, provideAuth(testAuth),
		fx.Supply(component.Config{RedisURL: "redis://127.0.0.1:1"}),
		fx.Provide(func() *redis.Client { return client }),
		component.UseRedis[*redis.Client]())
	if err := app.Err(); !errors.Is(err, websocket.ErrInvalidConfig) || !strings.Contains(err.Error(), component.RedisClientName) {
		t.Fatalf("app error %v, want ErrInvalidConfig naming the client name", err)
	}
}

// On stop the server shuts down before the broker closes: a disconnected
// hook that publishes through the emitter, which its constructor takes from
// the graph, still reaches the other instance.
func TestDisconnectedHookCanStillPublishDuringStop(t *testing.T) {
	rs := redistest.Start(t)
	published := make(chan error, 1)
	a := startApp(t, component.Config{RedisURL: redisURL(rs)},
		fx.Provide(func(em *emitter.Emitter) websocket.DisconnectedFunc {
			return func(ctx context.Context, c *websocket.Client) {
				published <- em.ToUser(ctx, "bob", "left", c.UserID())
			}
		}),
	)
	b := startApp(t, component.Config{RedisURL: redisURL(rs)})

	ca := a.dial(t)
	ca.Authenticate("alice")
	cb := b.dial(t)
	cb.Authenticate("bob")

	closed := ca.AwaitClose()
	a.RequireStop()
	wstest.Wait(t, closed, "alice's close")
	if err := wstest.Wait(t, published, "the disconnected hook"); err != nil {
		t.Fatalf("publish from the disconnected hook during stop: %v", err)
	}
	cb.ExpectData("left", `"alice"`)
}

// redisURL is the RedisURL of rs.
func redisURL(rs *redistest.Server) string { return "redis://" + rs.Addr() + "/0" }

// Config.RedisBroker reaches the broker: patterns routing subscribes
// upstream's three patterns, the default (interest) none; a bad option fails
// at construction.
func TestRedisBrokerOptions(t *testing.T) {
	rs := redistest.Start(t)
	admin := rs.Client(t)
	startApp(t, component.Config{RedisURL: redisURL(rs)})
	if n, err := admin.PubSubNumPat(boundedCtx(t)).Result(); err != nil || n != 0 {
		t.Fatalf("patterns with the default routing: %d, %v; want 0", n, err)
	}
	startApp(t, component.Config{RedisURL: redisURL(rs), RedisBroker: websocket.RedisBrokerOptions{Routing: websocket.RoutingPatterns}})
	if n, err := admin.PubSubNumPat(boundedCtx(t)).Result(); err != nil || n != 3 {
		t.Fatalf("patterns with RoutingPatterns: %d, %v; want 3", n, err)
	}

	app := fx.New(fx.NopLogger, lifecycle.ProvideEcho, component.Module, provideAuth(testAuth),
		fx.Supply(component.Config{RedisURL: redisURL(rs), RedisBroker: websocket.RedisBrokerOptions{ListenGrace: -time.Second}}))
	if err := app.Err(); !errors.Is(err, websocket.ErrInvalidConfig) || !strings.Contains(err.Error(), "ListenGrace") {
		t.Fatalf("app error %v, want ErrInvalidConfig naming ListenGrace", err)
	}
}
