package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
)

// startTLSServer is startServer behind httptest.NewTLSServer: the hijacked
// connections are *tls.Conn, which have no syscall.RawConn, so every client
// is written by its own writer and never parks.
func startTLSServer(t *testing.T, cfg Config) (*testServer, *gws.Dialer) {
	t.Helper()
	if cfg.Authenticate == nil {
		cfg.Authenticate = testAuth
	}
	if cfg.Logger == nil {
		cfg.Logger = quietLogger()
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Configure(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewTLSServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil && !errors.Is(err, ErrServerClosed) {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	d := &gws.Dialer{TLSClientConfig: hs.Client().Transport.(*http.Transport).TLSClientConfig}
	return &testServer{Server: s, url: "wss" + strings.TrimPrefix(hs.URL, "https")}, d
}

func dialTLS(t *testing.T, ts *testServer, d *gws.Dialer) *testClient {
	t.Helper()
	conn, _, err := d.Dial(ts.url, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return &testClient{t: t, conn: conn}
}

// TLS clients: messages in order (a burst larger than the socket buffers
// included), pings answered, a room shared with a slow TLS client, a close
// handshake, and a clean Shutdown.
func TestReviewTLSClients(t *testing.T) {
	ts, d := startTLSServer(t, Config{Settings: Settings{BackpressureLimit: 16 << 20}, Hooks: Hooks{ValidateRooms: allowAllRooms}})
	a, b, slow := dialTLS(t, ts, d), dialTLS(t, ts, d), dialTLS(t, ts, d)
	aID := a.authenticate("a").ID
	bID := b.authenticate("b").ID
	slow.authenticate("slow") // never reads again until the end
	cl, _ := ts.Client(aID)
	if cl.rc != nil || cl.fd >= 0 {
		t.Fatalf("a TLS client has a raw conn (%v) or a socket number (%d)", cl.rc, cl.fd)
	}

	big := strings.Repeat("y", 32<<10)
	const n = 200 // 6.4 MiB: the writers block on full sockets
	for i := range n {
		ts.Local().Broadcast("n", map[string]any{"i": i, "pad": big})
	}
	for _, c := range []*testClient{a, b} {
		for i := range n {
			m := c.expect("n")
			var got struct{ I int }
			json.Unmarshal(m.Data, &got)
			if got.I != i {
				t.Fatalf("message %d arrived as %d", i, got.I)
			}
		}
		c.roundTrip()
	}

	// a ping through gorilla's client: the pong comes back through the queue
	pong := make(chan string, 1)
	a.conn.SetPongHandler(func(s string) error { pong <- s; return nil })
	if err := a.conn.WriteControl(gws.PingMessage, []byte("tls?"), time.Now().Add(readTimeout)); err != nil {
		t.Fatal(err)
	}
	a.roundTrip() // reads the pong on the way
	select {
	case p := <-pong:
		if p != "tls?" {
			t.Fatalf("pong %q", p)
		}
	default:
		t.Fatal("no pong before the round trip's answer")
	}

	// server close of b, after a message
	ts.Local().ToClient(bID, "bye", 1)
	b.expect("bye")
	if err := ts.Disconnect(bID, 4000, "done"); err != nil {
		t.Fatal(err)
	}
	b.expectClose(4000, "done")

	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(ctx) }()
	a.expectClose(1001, "Server shutting down")
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}
