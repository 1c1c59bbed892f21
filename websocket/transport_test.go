package websocket

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/websocket/wire"
)

// waitFor polls cond until it holds; it fails the test after readTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(readTimeout); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestInvalidUTF8ClosesWith1007(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.dial(t)
	c.sendRaw("{\"event\":\"x\xff\"}")
	c.expectClose(wire.CloseInvalidPayload, wire.ReasonInvalidUTF8)
}

func TestOversizedFrameClosesWith1009(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{MaxPayloadLength: 1024}})
	c := ts.dial(t)
	c.authenticate("a")
	c.sendRaw(`{"event":"x","data":"` + strings.Repeat("a", 1024) + `"}`)
	c.expectClose(wire.CloseMessageTooBig, wire.ReasonMessageTooBig)
	waitFor(t, "the client to be removed", func() bool { return ts.Stats().Clients == 0 })
}

func TestFrameAtTheLimitIsAccepted(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{MaxPayloadLength: 64}})
	c := ts.dial(t)
	frame := `{"event":"heartbeat","data":"` + strings.Repeat("a", 64-len(`{"event":"heartbeat","data":""}`)) + `"}`
	if len(frame) != 64 {
		t.Fatalf("frame of %d bytes", len(frame))
	}
	c.sendRaw(frame)
	c.roundTrip()
}

func TestSilentPeerIsDroppedByPings(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{IdleTimeout: 100 * time.Millisecond, AuthTimeout: time.Minute}})
	// a raw TCP peer that completes the upgrade and then never answers pings
	conn, _, err := gws.DefaultDialer.Dial(ts.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	waitFor(t, "the silent peer to be dropped", func() bool { return ts.Stats().Clients == 0 })
}

func TestPongsKeepAPeerAlive(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{IdleTimeout: 100 * time.Millisecond, AuthTimeout: time.Minute}})
	c := ts.dial(t)
	pings := make(chan struct{}, 10)
	c.conn.SetPingHandler(func(data string) error {
		select {
		case pings <- struct{}{}:
		default:
		}
		return c.conn.WriteControl(gws.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	go c.conn.ReadMessage() // the read loop answers pings
	for range 4 {           // four pings answered: two IdleTimeouts went by
		<-pings
	}
	if ts.Stats().Clients != 1 {
		t.Fatal("a peer answering pings was dropped")
	}
}

func TestOriginCheck(t *testing.T) {
	tests := []struct {
		name    string
		allowed []string
		origin  string
		ok      bool
	}{
		{"no origin", nil, "", true},
		{"same origin", nil, "http://HOST", true},
		{"cross origin", nil, "http://evil.example", false},
		{"allowed", []string{"https://app.example"}, "https://app.example", true},
		{"any", []string{"*"}, "http://evil.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, Config{Settings: Settings{AllowedOrigins: tt.allowed}})
			h := http.Header{}
			if tt.origin != "" {
				h.Set("Origin", strings.Replace(tt.origin, "HOST", strings.TrimPrefix(ts.url, "ws://"), 1))
			}
			conn, resp, err := gws.DefaultDialer.Dial(ts.url, h)
			if tt.ok != (err == nil) {
				t.Fatalf("dial err %v, want ok=%v", err, tt.ok)
			}
			if err == nil {
				conn.Close()
			} else if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d", resp.StatusCode)
			}
		})
	}
}

func TestSlowClientDoesNotSlowOthers(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{BackpressureLimit: 64 << 10, WriteTimeout: time.Minute}})
	stuck := ts.dial(t)
	stuckID := stuck.authenticate("stuck").ID
	stuck.conn.NetConn().(*net.TCPConn).SetReadBuffer(4096) // and never read again
	fast := ts.members(t, "fast")[0]

	payload := strings.Repeat("x", 16<<10)
	cl, _ := ts.Client(stuckID)
	sent := 0
	for !cl.Backpressured() {
		if sent > 10000 {
			t.Fatal("never backpressured")
		}
		ts.Local().Broadcast("big", payload)
		sent++
		fast.c.expect("big") // the fast client gets every message meanwhile
	}
	ts.Local().Broadcast("big", payload)
	fast.c.expect("big")
	if cl.Dropped() == 0 || ts.Stats().Dropped == 0 {
		t.Fatalf("dropped %d / %+v", cl.Dropped(), ts.Stats())
	}
}

func TestCloseOnBackpressureLimit(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{BackpressureLimit: 64 << 10, CloseOnBackpressureLimit: true}})
	stuck := ts.dial(t)
	stuck.authenticate("stuck")
	stuck.conn.NetConn().(*net.TCPConn).SetReadBuffer(4096)
	payload := strings.Repeat("x", 16<<10)
	for i := 0; ts.Stats().Clients > 0; i++ {
		if i > 10000 {
			t.Fatal("never closed")
		}
		ts.Local().Broadcast("big", payload)
		if ts.Stats().Dropped > 0 {
			break
		}
	}
	waitFor(t, "the backpressured client to be closed", func() bool { return ts.Stats().Clients == 0 })
}
