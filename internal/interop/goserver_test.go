package interop

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/websocket"
)

// goServer is an echows websocket.Server on a RedisBroker, behind an
// httptest server, with the same app hooks as js/server.ts.
type goServer struct {
	srv *websocket.Server
	url string
}

// startGoServer starts an echows server sharing the Redis at redisAddr, on
// the broker's default routing, and registers its shutdown with t.Cleanup.
// tweak, when given, adjusts the Config before New.
func startGoServer(t *testing.T, redisAddr string, tweak ...func(*websocket.Config)) *goServer {
	t.Helper()
	return startGoServerRouting(t, redisAddr, websocket.RoutingDefault, tweak...)
}

// mixedRoutings are the routings a Go server of a mixed fleet may use: both
// hear what upstream publishes on exact channels.
var mixedRoutings = []websocket.RedisRouting{websocket.RoutingInterest, websocket.RoutingPatterns}

// forMixedRoutings runs test once per routing of mixedRoutings.
func forMixedRoutings(t *testing.T, test func(t *testing.T, routing websocket.RedisRouting)) {
	for _, routing := range mixedRoutings {
		t.Run(routing.String(), func(t *testing.T) { test(t, routing) })
	}
}

// startGoServerRouting is startGoServer with the broker's routing.
func startGoServerRouting(t *testing.T, redisAddr string, routing websocket.RedisRouting, tweak ...func(*websocket.Config)) *goServer {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: redisAddr})
	t.Cleanup(func() { _ = rc.Close() })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	broker, err := websocket.NewRedisBroker(rc, websocket.RedisBrokerOptions{Logger: logger, Routing: routing})
	if err != nil {
		t.Fatalf("NewRedisBroker: %v", err)
	}
	t.Cleanup(func() { _ = broker.Close() })

	g := &goServer{}
	cfg := websocket.Config{Hooks: websocket.Hooks{Authenticate: func(_ context.Context, req websocket.AuthRequest) (*websocket.Identity, error) {
		var creds struct {
			Token     any  `json:"token"`
			Anonymous bool `json:"anonymous"`
		}
		_ = json.Unmarshal(req.Data, &creds)
		if creds.Anonymous {
			return &websocket.Identity{}, nil
		}
		tok, _ := creds.Token.(string)
		switch tok {
		case "", "fail":
			return nil, nil
		case "throw":
			return nil, errors.New("interop: authenticate failed on purpose")
		}
		return &websocket.Identity{UserID: tok}, nil
	}, ValidateRooms: func(_ context.Context, _ *websocket.Client, rooms []string) ([]string, error) {
		return rooms, nil
	}, OnMessage: func(_ context.Context, c *websocket.Client, msg websocket.Message) error {
		if msg.Event == "echo" {
			return g.srv.Local().ToClient(c.ID(), "echo", msg.Data)
		}
		return nil
	}}, Broker: broker, Logger: logger}
	for _, f := range tweak {
		f(&cfg)
	}
	if g.srv, err = websocket.New(cfg); err != nil {
		t.Fatalf("websocket.New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := g.srv.Configure(ctx); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	hs := httptest.NewServer(g.srv)
	g.url = "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := g.srv.Shutdown(ctx); err != nil && !errors.Is(err, websocket.ErrServerClosed) {
			t.Errorf("echows Shutdown: %v", err)
		}
		hs.Close()
	})
	return g
}

func (g *goServer) dial(t *testing.T) *wsClient {
	t.Helper()
	return dialWS(t, g.url) // the id comes with connected
}

// testWriter sends the Go server's logs to t.Log (only with -v).
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// goServerPublisher publishes through an echows server's Emit: its own
// instance has no client of the scenario, so only the envelope on Redis
// reaches them.
type goServerPublisher struct{ srv *websocket.Server }

func (p goServerPublisher) publish(t *testing.T, _ string, ops []op) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), emitTimeout)
	defer cancel()
	for _, o := range ops {
		var err error
		switch o.Op {
		case "toClient":
			err = p.srv.ToClient(ctx, o.ClientID, o.Event, o.Data)
		case "toUser":
			err = p.srv.ToUser(ctx, o.UserID, o.Event, o.Data)
		case "toRoom":
			err = p.srv.ToRoom(ctx, o.Room, o.Event, o.Data, o.Exclude...)
		case "broadcast":
			err = p.srv.Broadcast(ctx, o.Event, o.Data)
		default:
			t.Fatalf("unknown op %q", o.Op)
		}
		if err != nil {
			t.Fatalf("echows Emit %s: %v", o.Op, err)
		}
	}
}

// upstreamSendPublisher publishes through upstream's server send() (stdin
// commands of js/server.ts). send() has no user type and no exclude.
type upstreamSendPublisher struct{ s *upstreamServer }

func (p upstreamSendPublisher) publish(t *testing.T, _ string, ops []op) {
	t.Helper()
	for _, o := range ops {
		cmd := map[string]any{"op": "send", "topic": o.Event, "data": o.Data}
		switch o.Op {
		case "toClient":
			cmd["destination"] = o.ClientID // not a client of upstream: published as a room
		case "toRoom":
			cmd["destination"] = o.Room
		case "broadcast":
		default:
			t.Fatalf("upstream send() cannot do %s", o.Op)
		}
		p.s.send(cmd)
	}
	for range ops {
		p.s.waitLine(emitTimeout, "OK send", prefixed("OK "))
	}
}

// TestUpstreamEmitterToGoServer (a): upstream's WebSocketEmitter reaches the
// clients of echows' Go server, all four types, byte for byte.
func TestUpstreamEmitterToGoServer(t *testing.T) {
	start(t)
	forMixedRoutings(t, func(t *testing.T, routing websocket.RedisRouting) {
		rs := redistest.Start(t)
		g := startGoServerRouting(t, rs.Addr(), routing)
		deliveryScenario(t, rs.Addr(), g, upstreamEmitter{})
	})
}

// TestGoServerToUpstreamServer: an echows server's Emit reaches the clients
// of upstream's server (a mixed fleet, Go instance publishing).
func TestGoServerToUpstreamServer(t *testing.T) {
	start(t)
	forMixedRoutings(t, func(t *testing.T, routing websocket.RedisRouting) {
		rs := redistest.Start(t)
		s := startUpstreamServer(t, rs.Addr(), upstreamOptions{})
		g := startGoServerRouting(t, rs.Addr(), routing)
		deliveryScenario(t, rs.Addr(), s.target(), goServerPublisher{g.srv})
	})
}

// TestUpstreamServerToGoServer: upstream's server send() reaches the clients
// of an echows server (a mixed fleet, Bun instance publishing). send() has
// no user type and no exclude, and a destination that is not local to the
// upstream instance is published as a room: the client is reached through
// the room of its own id.
func TestUpstreamServerToGoServer(t *testing.T) {
	start(t)
	forMixedRoutings(t, testUpstreamServerToGoServer)
}

func testUpstreamServerToGoServer(t *testing.T, routing websocket.RedisRouting) {
	rs := redistest.Start(t)
	s := startUpstreamServer(t, rs.Addr(), upstreamOptions{})
	g := startGoServerRouting(t, rs.Addr(), routing)
	a := g.dial(t)
	a.auth(`{"token":"user-a"}`, "user-a")
	a.join("room-x")
	b := g.dial(t)
	b.auth(`{"token":"user-b"}`, "user-b")
	b.join("room-x")
	upstreamSendPublisher{s}.publish(t, rs.Addr(), []op{
		toClient(a.id, "s-client", `{"n":1}`),
		toRoom("room-x", "s-room", `{"n":2,"s":"é<&>"}`),
		broadcast("s-bc", `null`),
		broadcast("fence", `{}`),
	})
	for c, want := range map[*wsClient][]string{
		a: {`{"event":"s-client","data":{"n":1}}`, `{"event":"s-room","data":{"n":2,"s":"é<&>"}}`, `{"event":"s-bc","data":null}`},
		b: {`{"event":"s-room","data":{"n":2,"s":"é<&>"}}`, `{"event":"s-bc","data":null}`},
	} {
		got := readUntil(t, c, `{"event":"fence","data":{}}`)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("client %s got\n\t%s\nwant\n\t%s", c.id, strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
		}
	}
}

// TestGoServerProtocol runs the protocol suite of upstream's server against
// echows' server: the same frames byte for byte, the same close codes; only
// the documented differences of protocolProfile are allowed.
func TestGoServerProtocol(t *testing.T) {
	start(t)
	rs := redistest.Start(t)
	const authTimeout = time.Second
	g := startGoServer(t, rs.Addr(), func(c *websocket.Config) { c.AuthTimeout = authTimeout })
	protocolSuite(t, g, authTimeout, echowsProfile)
}

// TestGoServerTimeouts mirrors TestUpstreamServerTimeouts: 4002 "Heartbeat
// timeout" and 1001 "Server shutting down", as upstream sends them.
func TestGoServerTimeouts(t *testing.T) {
	start(t)
	rs := redistest.Start(t)
	const hbTimeout = 600 * time.Millisecond
	g := startGoServer(t, rs.Addr(), func(c *websocket.Config) {
		c.AuthTimeout, c.HeartbeatInterval, c.HeartbeatTimeout = 5*time.Second, 200*time.Millisecond, hbTimeout
	})
	idle := g.dial(t)
	// From before the authenticate frame: the server's last activity of
	// the client is later, so the close cannot come sooner than this plus
	// the timeout (timed from the connected event it could, by the trip).
	sent := time.Now()
	idle.auth(`{"token":"idle"}`, "idle")
	idle.expectClose(4002, "Heartbeat timeout", hbTimeout+frameTimeout)
	if took := time.Since(sent); took < hbTimeout {
		t.Errorf("heartbeat close %v after the last activity, before the timeout (%v)", took, hbTimeout)
	}

	authed := g.dial(t)
	authed.auth(`{"token":"stays"}`, "stays")
	unauthed := g.dial(t)
	unauthed.sendText(`{"event":"custom"}`) // the answer proves it is registered
	unauthed.expect(errNotAuth)
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		done <- g.srv.Shutdown(ctx)
	}()
	authed.expectClose(gws.CloseGoingAway, "Server shutting down", frameTimeout)
	unauthed.expectClose(gws.CloseGoingAway, "Server shutting down", frameTimeout)
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}
