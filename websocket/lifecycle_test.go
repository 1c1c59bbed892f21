package websocket

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"github.com/echows/echows/websocket/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want error
	}{
		{"no authenticate", Config{}, ErrNoAuthenticate},
		{"encryption without handshake", Config{Settings: Settings{RequireEncryption: true}, Hooks: Hooks{Authenticate: testAuth}}, ErrNoHandshake},
		{"negative duration", Config{Settings: Settings{AuthTimeout: -time.Second}, Hooks: Hooks{Authenticate: testAuth}}, ErrInvalidConfig},
		{"negative limit", Config{Settings: Settings{BackpressureLimit: -1}, Hooks: Hooks{Authenticate: testAuth}}, ErrInvalidConfig},
		{"relative path", Config{Settings: Settings{Path: "ws"}, Hooks: Hooks{Authenticate: testAuth}}, ErrInvalidConfig},
		{"emitter server id", Config{Settings: Settings{ServerID: wire.EmitterServerID}, Hooks: Hooks{Authenticate: testAuth}}, ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New: %v, want %v", err, tt.want)
			}
		})
	}
	s, err := New(Config{Hooks: Hooks{Authenticate: testAuth}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.Config()
	if cfg.Path != "/ws" || cfg.MaxPayloadLength != 128<<10 || cfg.HeartbeatTimeout != 90*time.Second ||
		len(cfg.DefaultRooms) != 2 || cfg.EncryptedBatchLimit != 10 || cfg.BackpressureLimit != 1<<20 {
		t.Fatalf("defaults %+v", cfg)
	}
}

func TestShutdownClosesClientsAndRunsHooks(t *testing.T) {
	var mu sync.Mutex
	gone := map[string]string{}
	ts := startServer(t, Config{Hooks: Hooks{OnDisconnected: func(_ context.Context, c *Client) {
		mu.Lock()
		gone[c.ID()] = c.UserID()
		mu.Unlock()
	}}})
	m := ts.members(t, "a", "b")
	unauth := ts.dial(t)
	unauth.roundTrip()

	if err := ts.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, x := range m {
		x.c.expectClose(wire.CloseGoingAway, wire.ReasonShuttingDown)
	}
	unauth.expectClose(wire.CloseGoingAway, wire.ReasonShuttingDown)
	mu.Lock()
	defer mu.Unlock()
	if len(gone) != 3 || gone[m[0].id] != "a" || gone[m[1].id] != "b" {
		t.Fatalf("disconnected hooks ran for %v", gone)
	}
	if st := ts.Stats(); st.Clients != 0 || st.Rooms != 0 || st.Users != 0 || st.Authenticated != 0 {
		t.Fatalf("indexes not empty: %+v", st)
	}
	if _, resp, err := gws.DefaultDialer.Dial(ts.url, nil); err == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after shutdown: %v", err)
	}
	if err := ts.Configure(context.Background()); !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Configure after Shutdown: %v", err)
	}
}

func TestDisconnectCleansEveryIndex(t *testing.T) {
	done := make(chan *Client, 1)
	ts := startServer(t, Config{Hooks: Hooks{OnDisconnected: func(_ context.Context, c *Client) { done <- c }}})
	c := ts.dial(t)
	d := c.authenticate("a")
	c.conn.Close()
	cl := <-done
	if cl.ID() != d.ID || cl.UserID() != "a" || cl.State() != StateDisconnected {
		t.Fatalf("hook got %s %s %s", cl.ID(), cl.UserID(), cl.State())
	}
	if st := ts.Stats(); st.Clients != 0 || st.Rooms != 0 || st.Users != 0 || st.Authenticated != 0 {
		t.Fatalf("indexes not empty: %+v", st)
	}
	if err := ts.Local().ToClient(d.ID, "x", 1); !errors.Is(err, ErrClientNotFound) {
		t.Fatalf("send to a gone client: %v", err)
	}
}

func TestPanickingHookIsRecovered(t *testing.T) {
	ts := startServer(t, Config{Hooks: Hooks{OnMessage: func(context.Context, *Client, Message) error { panic("boom") }, OnConnected: func(context.Context, *Client) error { panic("boom too") }}})
	c := ts.dial(t)
	d := c.authenticate("a")
	c.send("custom", 1)
	c.roundTrip()
	if _, ok := ts.Client(d.ID); !ok {
		t.Fatal("client gone after a panicking hook")
	}
}

func TestHangingHookDelaysOnlyItsClient(t *testing.T) {
	entered := make(chan struct{})
	cancelled := make(chan struct{})
	ts := startServer(t, Config{Hooks: Hooks{OnMessage: func(ctx context.Context, c *Client, m Message) error {
		if m.Event == "hang" {
			close(entered)
			<-ctx.Done() // released when its client goes away
			close(cancelled)
		}
		return nil
	}}})
	m := ts.members(t, "a", "b")
	m[0].c.send("hang", nil)
	<-entered
	m[1].c.roundTrip()
	ts.Local().Broadcast("still", 1)
	m[1].c.expect("still")

	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with a hanging hook: %v", err)
	}
	<-cancelled
}

func TestShutdownGivesUpWhenCtxEnds(t *testing.T) {
	release := make(chan struct{})
	ts := startServer(t, Config{Hooks: Hooks{OnMessage: func(context.Context, *Client, Message) error {
		<-release // ignores its context
		return nil
	}}})
	m := ts.members(t, "a")
	m[0].c.send("x", nil)
	m[0].c.sendRaw("{") // answered only after the hook returns
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := ts.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v", err)
	}
	close(release)
	// the read loop ends once the hook returns; goleak checks it did
	waitFor(t, "the read loop to end", func() bool { return ts.Stats().Clients == 0 })
}

func TestHeartbeatSweep(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{HeartbeatInterval: time.Hour}})
	m := ts.members(t, "idle", "active")
	unauth := ts.dial(t)
	unauth.roundTrip()
	idle, _ := ts.Client(m[0].id)
	idle.lastActivity.Store(time.Now().Add(-2 * time.Minute).UnixNano())
	ts.closeIdle(time.Now()) // as the sweep would
	m[0].c.expectClose(wire.CloseHeartbeat, wire.ReasonHeartbeat)
	ts.expectNothing(t, m[1].c, m[1].id)
	unauth.roundTrip() // the sweep leaves unauthenticated clients to the auth timer
}

func TestHeartbeatSweepRuns(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{HeartbeatInterval: 10 * time.Millisecond, HeartbeatTimeout: 30 * time.Millisecond}})
	c := ts.dial(t)
	c.authenticate("idle")
	c.expectClose(wire.CloseHeartbeat, wire.ReasonHeartbeat)
}

func TestConfigureTwice(t *testing.T) {
	ts := startServer(t, Config{})
	if err := ts.Configure(context.Background()); !errors.Is(err, ErrAlreadyConfigured) {
		t.Fatalf("second Configure: %v", err)
	}
}

func TestSendBeforeConfigureWorksLocally(t *testing.T) {
	s, err := New(Config{Hooks: Hooks{Authenticate: testAuth}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Local().Broadcast("x", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), "room", "x", 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	_ = strings.TrimSpace
}
