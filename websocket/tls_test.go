package websocket

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
)

// TLS clients: messages in order (a burst larger than the socket buffers
// included), pings answered, a room shared with a slow TLS client, a close
// handshake, and a clean Shutdown.
func TestTLSClients(t *testing.T) {
	ts := startTLSServer(t, Config{Settings: Settings{BackpressureLimit: 16 << 20}, Hooks: Hooks{ValidateRooms: allowAllRooms}})
	a, b, slow := ts.dial(t), ts.dial(t), ts.dial(t)
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
