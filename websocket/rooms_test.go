package websocket

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/echows/echows/websocket/wire"
)

func TestJoinWithoutValidateRoomsIsRefused(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.dial(t)
	d := c.authenticate("u1")
	c.send(wire.EventJoin, map[string]any{"rooms": []string{"lobby"}})
	c.roundTrip()
	cl, _ := ts.Client(d.ID)
	if slices.Contains(cl.Rooms(), "lobby") {
		t.Fatal("joined lobby without a ValidateRooms hook")
	}
}

func TestJoinSanitisesThenValidates(t *testing.T) {
	asked := make(chan []string, 1)
	validate := func(_ context.Context, _ *Client, rooms []string) ([]string, error) {
		asked <- rooms
		// allow everything but "secret", and try to sneak in one not asked for
		var out []string
		for _, r := range rooms {
			if r != "secret" {
				out = append(out, r)
			}
		}
		return append(out, "not-asked"), nil
	}
	ts := startServer(t, Config{Settings: Settings{DefaultRooms: []string{}}, Hooks: Hooks{ValidateRooms: validate}})
	c := ts.dial(t)
	d := c.authenticate("u1")
	long := strings.Repeat("é", MaxRoomLength+1)
	c.sendRaw(`{"event":"join","data":{"rooms":["lobby","",` + `"ws:room:x","secret",7,null,"lobby","` + long + `","` + strings.Repeat("r", MaxRoomLength) + `"]}}`)
	c.roundTrip()
	want := []string{"lobby", "secret", strings.Repeat("r", MaxRoomLength)}
	if got := <-asked; !slices.Equal(got, want) {
		t.Fatalf("hook asked for %q, want %q", got, want)
	}
	cl, _ := ts.Client(d.ID)
	rooms := cl.Rooms()
	slices.Sort(rooms)
	wantRooms := []string{d.ID, "lobby", strings.Repeat("r", MaxRoomLength)}
	slices.Sort(wantRooms)
	if !slices.Equal(rooms, wantRooms) {
		t.Fatalf("rooms %q, want %q", rooms, wantRooms)
	}

	c.send(wire.EventLeave, map[string]any{"rooms": []string{"lobby", "never-joined"}})
	c.roundTrip()
	if slices.Contains(cl.Rooms(), "lobby") || len(ts.RoomClients("lobby")) != 0 {
		t.Fatalf("still in lobby: %q", cl.Rooms())
	}
	if ts.Stats().Rooms != 2 { // own id and the long one; empty rooms are deleted
		t.Fatalf("stats %+v", ts.Stats())
	}
}

func TestValidateRoomsErrorRefusesAll(t *testing.T) {
	ts := startServer(t, Config{Hooks: Hooks{ValidateRooms: func(context.Context, *Client, []string) ([]string, error) {
		return []string{"a"}, errors.New("acl service down")
	}}})
	c := ts.dial(t)
	d := c.authenticate("u1")
	c.send(wire.EventJoin, map[string]any{"rooms": []string{"a"}})
	c.roundTrip()
	if cl, _ := ts.Client(d.ID); slices.Contains(cl.Rooms(), "a") {
		t.Fatal("joined despite the hook's error")
	}
}

// TestJoinRoomRefusesUnauthenticated checks that a server-side join cannot
// put a client that has not authenticated in a room: it would receive room
// messages before it proved who it is. An unauthenticated client gets
// nothing but error events; its first frame after a room message is the
// error its own request asked for.
func TestJoinRoomRefusesUnauthenticated(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.dial(t)
	c.roundTrip() // answered: it is indexed
	clients := ts.Clients()
	if len(clients) != 1 {
		t.Fatalf("%d clients, want 1", len(clients))
	}
	id := clients[0].ID()
	if err := ts.JoinRoom(id, "vip"); !errors.Is(err, ErrClientNotFound) {
		t.Fatalf("JoinRoom(unauthenticated): %v, want ErrClientNotFound", err)
	}
	if n := len(ts.RoomClients("vip")); n != 0 {
		t.Fatalf("vip has %d members", n)
	}
	ts.Local().ToRoom("vip", "perk", 1)
	c.roundTrip() // fails on any frame but its error event

	if d := c.authenticate("u1"); d.ID != id {
		t.Fatalf("connected as %s, want %s", d.ID, id)
	}
	if err := ts.JoinRoom(id, "vip"); err != nil {
		t.Fatalf("JoinRoom once authenticated: %v", err)
	}
}

func TestProgrammaticRooms(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.dial(t)
	d := c.authenticate("u1")
	if err := ts.JoinRoom(d.ID, "vip"); err != nil {
		t.Fatal(err)
	}
	if err := ts.JoinRoom(d.ID, "ws:internal"); !errors.Is(err, ErrInvalidRoom) {
		t.Fatalf("reserved room: %v", err)
	}
	if err := ts.JoinRoom("nobody", "vip"); !errors.Is(err, ErrClientNotFound) {
		t.Fatalf("unknown client: %v", err)
	}
	ts.Local().ToRoom("vip", "perk", 1)
	c.expect("perk")
	if err := ts.LeaveRoom(d.ID, "vip"); err != nil {
		t.Fatal(err)
	}
	if len(ts.RoomClients("vip")) != 0 {
		t.Fatal("still in vip")
	}
}
