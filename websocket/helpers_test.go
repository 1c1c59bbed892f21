package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/websocket/wire"
)

// readTimeout bounds every wait for a frame in the tests; it is never an
// assertion about speed, only a guard against a hung test.
const readTimeout = 10 * time.Second

// testAuth accepts {"token": "<user>"}; "reject" rejects, "error" fails,
// "nouser" accepts without a user id, "panic" panics, "hang" waits for ctx.
func testAuth(ctx context.Context, req AuthRequest) (*Identity, error) {
	var creds struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(req.Data, &creds); err != nil {
		return nil, ErrRejected
	}
	switch creds.Token {
	case "reject":
		return nil, nil
	case "error":
		return nil, errors.New("database down")
	case "nouser":
		return &Identity{}, nil
	case "panic":
		panic("auth hook exploded")
	case "hang":
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return &Identity{UserID: creds.Token, Metadata: map[string]any{"token": creds.Token}}, nil
}

func allowAllRooms(_ context.Context, _ *Client, rooms []string) ([]string, error) {
	return rooms, nil
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type testServer struct {
	*Server
	url    string
	dialer *gws.Dialer // nil: gws.DefaultDialer
}

// startServer starts a Server behind an httptest server; both stop when the
// test ends.
func startServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	return serve(t, newServer(t, cfg), httptest.NewServer)
}

// startTLSServer is startServer behind httptest.NewTLSServer: the hijacked
// connections are *tls.Conn, which have no syscall.RawConn, so every client
// is written by its own writer and never parks.
func startTLSServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	return serve(t, newServer(t, cfg), httptest.NewTLSServer)
}

// newServer returns a configured Server for cfg, with testAuth and a quiet
// logger unless cfg has its own.
func newServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.Authenticate == nil {
		cfg.Authenticate = testAuth
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Configure(context.Background()); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return s
}

// serve runs s behind the httptest server newHTTP starts
// (httptest.NewServer or httptest.NewTLSServer) until the test ends, then
// shuts s down.
func serve(t testing.TB, s *Server, newHTTP func(http.Handler) *httptest.Server) *testServer {
	t.Helper()
	hs := newHTTP(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil && !errors.Is(err, ErrServerClosed) {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	ts := &testServer{Server: s, url: "ws" + strings.TrimPrefix(hs.URL, "http")}
	if hs.TLS != nil {
		ts.dialer = &gws.Dialer{TLSClientConfig: hs.Client().Transport.(*http.Transport).TLSClientConfig}
	}
	return ts
}

type testClient struct {
	t    testing.TB
	conn *gws.Conn
}

func (ts *testServer) dial(t testing.TB) *testClient {
	t.Helper()
	d := ts.dialer
	if d == nil {
		d = gws.DefaultDialer
	}
	conn, _, err := d.Dial(ts.url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &testClient{t: t, conn: conn}
}

func (c *testClient) sendRaw(s string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(gws.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *testClient) send(event string, data any) {
	c.t.Helper()
	b, err := json.Marshal(map[string]any{"event": event, "data": data})
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(b))
}

// read returns the next frame; it fails the test on a close or timeout.
func (c *testClient) read() wire.Message {
	c.t.Helper()
	m, err := c.next()
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

func (c *testClient) next() (wire.Message, error) {
	c.conn.SetReadDeadline(time.Now().Add(readTimeout))
	typ, b, err := c.conn.ReadMessage()
	if err != nil {
		return wire.Message{}, err
	}
	if typ == gws.TextMessage && !utf8.Valid(b) { // gorilla does not check; browsers do
		c.t.Fatalf("server sent a text frame that is not valid UTF-8: %q", b)
	}
	var m wire.Message
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("frame %q is not a message: %v", b, err)
	}
	return m, nil
}

// expect reads the next frame and checks its event.
func (c *testClient) expect(event string) wire.Message {
	c.t.Helper()
	m := c.read()
	if m.Event != event {
		c.t.Fatalf("got event %q (data %s), want %q", m.Event, m.Data, event)
	}
	return m
}

// expectError reads an error event and checks its message.
func (c *testClient) expectError(text string) {
	c.t.Helper()
	m := c.expect(wire.EventError)
	var d struct{ Message string }
	json.Unmarshal(m.Data, &d)
	if d.Message != text {
		c.t.Fatalf("error message %q, want %q", d.Message, text)
	}
}

// expectClose reads until the connection closes and checks code and reason.
func (c *testClient) expectClose(code int, reason string) {
	c.t.Helper()
	for {
		m, err := c.next()
		if err == nil {
			c.t.Logf("frame before close: %s %s", m.Event, m.Data)
			continue
		}
		var ce *gws.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("read ended with %v, want close %d", err, code)
		}
		if ce.Code != code || ce.Text != reason {
			c.t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Text, code, reason)
		}
		return
	}
}

// authenticate sends credentials for user and returns the connected data.
func (c *testClient) authenticate(user string) connectedData {
	c.t.Helper()
	c.send(wire.EventAuthenticate, map[string]any{"token": user})
	m := c.expect(wire.EventConnected)
	var d connectedData
	if err := json.Unmarshal(m.Data, &d); err != nil {
		c.t.Fatal(err)
	}
	return d
}

// roundTrip proves that every frame the client sent before has been handled:
// the server answers a bad frame in order.
func (c *testClient) roundTrip() {
	c.t.Helper()
	c.sendRaw("not json")
	c.expectError(wire.ErrTextInvalidFormat)
}

// heldWrite holds s's next flush write, once armed, until released: arm
// it, send, wait on inWrite, then release. A failed test never leaves the
// write held.
type heldWrite struct {
	armed   atomic.Bool
	inWrite chan struct{}
	release func()
}

// holdWrites installs a heldWrite in s's write seam; call it before s
// serves.
func holdWrites(t *testing.T, s *Server) *heldWrite {
	h := &heldWrite{inWrite: make(chan struct{})}
	released := make(chan struct{})
	var once sync.Once
	h.release = func() { once.Do(func() { close(released) }) }
	t.Cleanup(h.release)
	write := s.writeSocket
	s.writeSocket = func(fd int, rc syscall.RawConn, p []byte) (int, error) {
		if h.armed.CompareAndSwap(true, false) {
			close(h.inWrite)
			<-released
		}
		return write(fd, rc, p)
	}
	return h
}

// settle waits until the clients' queues are idle and no flush goroutine
// runs: a client reads its connected frame before the goroutine that wrote
// it has handed the write token back, and a fan-out meanwhile would find
// the token taken and leave the message to that writer.
func settle(t *testing.T, ts *testServer, ids ...string) {
	t.Helper()
	for _, id := range ids {
		c, ok := ts.Client(id)
		if !ok {
			t.Fatalf("client %s is not registered", id)
		}
		waitFor(t, "the client's queue to be idle", func() bool {
			c.out.mu.Lock()
			defer c.out.mu.Unlock()
			return c.out.state == stateIdle
		})
	}
	waitFor(t, "the flush goroutines to end", func() bool {
		ts.flush.mu.Lock()
		defer ts.flush.mu.Unlock()
		return ts.flush.running == 0
	})
}

// endedLongAgo makes the next fan-out sparse whatever the clock says: the
// last one ended long ago, and came after a gap too. endedJustNow makes it
// dense: the last fan-out "ends" in the future.
func (f *flusher) endedLongAgo() {
	f.lastDone.Store(-int64(time.Hour))
	f.gapped.Store(true)
}

func (f *flusher) endedJustNow() { f.lastDone.Store(math.MaxInt64 / 2) }
