package websocket

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/echows/echows/websocket/wire"
)

func TestAuthenticateSendsConnected(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.dial(t)
	before := time.Now().UTC().Add(-time.Second)
	d := c.authenticate("alice")
	if d.UserID != "alice" || d.ID == "" {
		t.Fatalf("connected = %+v", d)
	}
	at, err := time.Parse(isoMillis, d.Time)
	if err != nil || at.Before(before) {
		t.Fatalf("connected.time %q: %v", d.Time, err)
	}
	cl, ok := ts.Client(d.ID)
	if !ok || cl.UserID() != "alice" || cl.State() != StateAuthenticated {
		t.Fatalf("client %v %v", ok, cl)
	}
	rooms := map[string]bool{}
	for _, r := range cl.Rooms() {
		rooms[r] = true
	}
	if !rooms[d.ID] || !rooms[wire.RoomDefault] || !rooms[wire.RoomNotification] || len(rooms) != 3 {
		t.Fatalf("rooms %v", cl.Rooms())
	}
	m, ok := MetadataAs[map[string]any](cl)
	if !ok || m["token"] != "alice" {
		t.Fatalf("metadata %v", cl.Metadata())
	}
	if err := ts.Local().ToClient(d.ID, "hello", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	got := c.expect("hello")
	if string(got.Data) != `{"n":1}` {
		t.Fatalf("data %s", got.Data)
	}
}

func TestConnectedWithoutUserHasNoUserIDKey(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.dial(t)
	c.send(wire.EventAuthenticate, map[string]any{"token": "nouser"})
	m := c.expect(wire.EventConnected)
	var raw map[string]json.RawMessage
	json.Unmarshal(m.Data, &raw)
	if _, ok := raw["userId"]; ok {
		t.Fatalf("connected has userId: %s", m.Data)
	}
}
