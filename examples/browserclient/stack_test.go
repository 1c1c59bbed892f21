package browserclient_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
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

// proxy is a TCP proxy in front of a stack: down drops every connection
// through it and refuses new ones (accepted, then closed at once, as a
// server that is gone), up lets them through again. The browser sees 1006,
// as after a network failure.
type proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.setDown(true)
		p.wg.Wait()
	})
	return p
}

// url is the proxy's address as an http URL.
func (p *proxy) url() string { return "http://" + p.ln.Addr().String() + "/" }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(in) {
			in.Close()
			continue
		}
		p.wg.Add(1)
		go p.pipe(in)
	}
}

// track adds c to the open connections, unless the proxy is down.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *proxy) pipe(in net.Conn) {
	defer p.wg.Done()
	defer p.untrack(in)
	out, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(out) {
		if out != nil {
			out.Close()
		}
		return
	}
	defer p.untrack(out)
	done := make(chan struct{})
	go func() {
		io.Copy(out, in)
		out.Close() // ends the copy below
		close(done)
	}()
	io.Copy(in, out)
	in.Close()
	<-done
}

// setDown drops every connection and refuses new ones (true), or lets them
// through again (false).
func (p *proxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
	}
}
