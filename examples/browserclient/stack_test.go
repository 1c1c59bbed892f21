package browserclient_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echows/echows/browser"
	"github.com/echows/echows/websocket"
)

// stack is what one test's page talks to: an HTTP server with the test page
// (testdata/index.html) at /, echows.js at /echows.js and the current
// echows server at /ws. restart replaces the echows server behind /ws.
type stack struct {
	t        *testing.T
	settings websocket.Settings
	http     *httptest.Server
	current  atomic.Pointer[websocket.Server]
}

// newStack starts a stack whose echows servers run with settings.
func newStack(t *testing.T, settings websocket.Settings) *stack {
	t.Helper()
	page, err := os.ReadFile("testdata/index.html")
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, settings: settings}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(page)
	})
	mux.Handle("GET "+browser.DefaultPath, browser.Handler())
	mux.HandleFunc("GET /ws", func(w http.ResponseWriter, r *http.Request) { s.current.Load().ServeHTTP(w, r) })
	s.http = httptest.NewServer(mux)
	t.Cleanup(s.http.Close)
	s.restart()
	return s
}

// url is where the page is.
func (s *stack) url() string { return s.http.URL + "/" }

// server is the echows server behind /ws now.
func (s *stack) server() *websocket.Server { return s.current.Load() }

// restart starts a new echows server, routes /ws to it, then shuts the
// previous one down (which closes its clients with 1001), as a rolling
// deploy behind a load balancer does.
func (s *stack) restart() *websocket.Server {
	t := s.t
	t.Helper()
	srv, err := websocket.New(websocket.Config{
		Settings: s.settings,
		Hooks:    hooks(),
		Logger:   slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Configure(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shutdown(t, srv) })
	if old := s.current.Swap(srv); old != nil {
		shutdown(t, old)
	}
	return srv
}

func shutdown(t *testing.T, srv *websocket.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, websocket.ErrServerClosed) {
		t.Errorf("shutdown: %v", err)
	}
}

// credentials are what the test page's clients authenticate with.
type credentials struct {
	Name string `json:"name"`
	// Fail makes the authenticate hook fail (not reject): the client gets
	// "Authentication error" and 4003.
	Fail bool `json:"fail"`
}

// hooks: any non-empty name is a user id; a handshake always fails (the
// 4004 test requires encryption); every room may be joined; "ping" is
// answered with "pong" carrying the rooms the client is in.
func hooks() websocket.Hooks {
	return websocket.Hooks{
		Authenticate: websocket.AuthenticateAs(func(_ context.Context, _ websocket.AuthRequest, c credentials) (*websocket.Identity, error) {
			switch {
			case c.Fail:
				return nil, errors.New("the user store is down")
			case c.Name == "":
				return nil, websocket.ErrRejected
			}
			return &websocket.Identity{UserID: c.Name}, nil
		}),
		Handshake: func(context.Context, websocket.HandshakeRequest) (*websocket.HandshakeResult, error) {
			return nil, errors.New("this test server has no keys")
		},
		ValidateRooms: func(_ context.Context, _ *websocket.Client, rooms []string) ([]string, error) { return rooms, nil },
		OnMessage: func(_ context.Context, c *websocket.Client, msg websocket.Message) error {
			if msg.Event == "ping" {
				return c.Send("pong", map[string]any{"rooms": c.Rooms(), "echo": msg.Data})
			}
			return nil
		},
	}
}
