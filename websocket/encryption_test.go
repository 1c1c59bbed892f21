package websocket

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// sealing wraps a message as {"event":"encrypted","data":{"for":id,"inner":{event,data}}}.
func sealing(_ context.Context, c *Client, msg Message) (*Message, error) {
	inner, _ := json.Marshal(map[string]any{"for": c.ID(), "event": msg.Event, "data": msg.Data})
	return &Message{Event: wire.EventEncrypted, Data: inner}, nil
}

func TestEncryptedAndPlainMembersOfOneRoom(t *testing.T) {
	ts := startServer(t, Config{Hooks: Hooks{TransformOutbound: sealing}})
	m := ts.members(t, "plain", "secret")
	if err := ts.EnableClientEncryption(m[1].id); err != nil {
		t.Fatal(err)
	}
	ts.Local().ToRoom(wire.RoomDefault, "news", "hi")
	if got := m[0].c.expect("news"); string(got.Data) != `"hi"` {
		t.Fatalf("plain got %s", got.Data)
	}
	got := m[1].c.expect(wire.EventEncrypted)
	var inner struct {
		For   string
		Event string
		Data  json.RawMessage
	}
	json.Unmarshal(got.Data, &inner)
	if inner.For != m[1].id || inner.Event != "news" || string(inner.Data) != `"hi"` {
		t.Fatalf("encrypted got %s", got.Data)
	}
	// every path goes through the transformer: direct, user, broadcast
	ts.Local().ToClient(m[1].id, "d", 1)
	ts.Local().ToUser("secret", "u", 1)
	ts.Local().Broadcast("b", 1)
	for range 3 {
		m[1].c.expect(wire.EventEncrypted)
	}
}

func TestEncryptedWithoutTransformerGetsPlain(t *testing.T) {
	ts := startServer(t, Config{})
	m := ts.members(t, "a")
	ts.EnableClientEncryption(m[0].id)
	ts.Local().Broadcast("b", 1)
	m[0].c.expect("b")
}

func TestRequireEncryption(t *testing.T) {
	handshake := func(_ context.Context, req HandshakeRequest) (*HandshakeResult, error) {
		var d struct{ PublicKey string }
		json.Unmarshal(req.Data, &d)
		if d.PublicKey == "" {
			return nil, nil
		}
		return &HandshakeResult{ServerPublicKey: "server-key-for-" + req.UserID, Salt: "salt"}, nil
	}
	ts := startServer(t, Config{Settings: Settings{RequireEncryption: true}, Hooks: Hooks{Handshake: handshake, TransformOutbound: sealing}})

	t.Run("handshake ok", func(t *testing.T) {
		c := ts.dial(t)
		c.send(wire.EventAuthenticate, map[string]string{"token": "eve", "publicKey": "k"})
		m := c.expect(wire.EventConnected) // never transformed
		var d connectedData
		json.Unmarshal(m.Data, &d)
		if d.ServerPublicKey != "server-key-for-eve" || d.Salt != "salt" {
			t.Fatalf("connected %s", m.Data)
		}
		cl, _ := ts.Client(d.ID)
		if !cl.Encrypted() || cl.Salt() != "salt" {
			t.Fatal("client not marked encrypted")
		}
		ts.Local().ToClient(d.ID, "x", 1)
		c.expect(wire.EventEncrypted)
	})
	t.Run("handshake rejected", func(t *testing.T) {
		c := ts.dial(t)
		c.send(wire.EventAuthenticate, map[string]string{"token": "eve"})
		c.expectError(wire.ErrTextHandshakeFailed)
		c.expectClose(wire.CloseEncryptionReq, wire.ReasonEncryptionReq)
	})
}

func TestInboundTransformer(t *testing.T) {
	got := make(chan Message, 2)
	ts := startServer(t, Config{Hooks: Hooks{ValidateRooms: allowAllRooms, TransformInbound: func(_ context.Context, _ *Client, data json.RawMessage) (*Message, error) {
		var m Message
		err := json.Unmarshal(data, &m) // the "cipher" is plain JSON here
		return &m, err
	}, OnMessage: func(_ context.Context, _ *Client, m Message) error { got <- m; return nil }}})
	c := ts.dial(t)
	d := c.authenticate("a")
	c.send(wire.EventEncrypted, map[string]any{"event": "chat", "data": "psst"})
	if m := <-got; m.Event != "chat" || string(m.Data) != `"psst"` {
		t.Fatalf("hook got %+v", m)
	}
	c.send(wire.EventEncrypted, map[string]any{"event": "join", "data": map[string]any{"rooms": []string{"x"}}})
	c.send(wire.EventEncrypted, map[string]any{"event": "encrypted", "data": map[string]any{"event": "chat"}})
	c.roundTrip()
	if len(ts.RoomClients("x")) != 1 {
		t.Fatalf("decrypted join not routed; rooms of %s", d.ID)
	}
	select {
	case m := <-got:
		t.Fatalf("nested encrypted event reached the hook: %+v", m)
	default:
	}
}

func TestSystemEventsFromClientsNeverReachTheHook(t *testing.T) {
	got := make(chan Message, 4)
	ts := startServer(t, Config{Hooks: Hooks{OnMessage: func(_ context.Context, _ *Client, m Message) error { got <- m; return nil }}})
	c := ts.dial(t)
	c.authenticate("a")
	for _, ev := range []string{wire.EventConnected, wire.EventDisconnect, wire.EventError, wire.EventEncrypted, "custom"} {
		c.send(ev, 1)
	}
	c.roundTrip()
	if m := <-got; m.Event != "custom" {
		t.Fatalf("hook got %q", m.Event)
	}
	if len(got) != 0 {
		t.Fatalf("hook got %d more", len(got))
	}
}

func TestEncryptedBatchLimit(t *testing.T) {
	const limit, clients = 3, 12
	var active, peak atomic.Int32
	release := make(chan struct{})
	var once sync.Once
	transform := func(ctx context.Context, c *Client, msg Message) (*Message, error) {
		n := active.Add(1)
		defer active.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if msg.Event == "slow" {
			<-release
		}
		return &msg, nil
	}
	ts := startServer(t, Config{Settings: Settings{EncryptedBatchLimit: limit}, Hooks: Hooks{TransformOutbound: transform}})
	m := ts.members(t, make([]string, clients)...)
	for _, x := range m {
		ts.EnableClientEncryption(x.id)
	}
	ts.Local().Broadcast("slow", 1)
	// wait until the limit is reached, then give the others every chance to
	// exceed it before releasing them
	waitFor(t, "the limit of transforms to run", func() bool { return active.Load() >= limit })
	time.Sleep(50 * time.Millisecond) // a window for a violation to show; not a synchronisation
	once.Do(func() { close(release) })
	for _, x := range m {
		x.c.expect("slow")
	}
	if p := peak.Load(); p > limit {
		t.Fatalf("%d transforms ran at once, limit %d", p, limit)
	}
}
