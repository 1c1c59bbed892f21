package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	"github.com/echows/echows/websocket/wire"
)

// expectNothingBefore proves c got no frame before a marker sent to it now:
// per-client order holds, so the marker must be the next frame.
func (ts *testServer) expectNothing(t *testing.T, c *testClient, id string) {
	t.Helper()
	if err := ts.Local().ToClient(id, "marker", nil); err != nil {
		t.Fatal(err)
	}
	c.expect("marker")
}

type member struct {
	c  *testClient
	id string
}

func (ts *testServer) members(t *testing.T, users ...string) []member {
	out := make([]member, len(users))
	for i, u := range users {
		c := ts.dial(t)
		out[i] = member{c: c, id: c.authenticate(u).ID}
	}
	return out
}

func TestRoomDelivery(t *testing.T) {
	ts := startServer(t, Config{Hooks: Hooks{ValidateRooms: allowAllRooms}})
	m := ts.members(t, "a", "b", "c", "d")
	for _, x := range m[:3] {
		x.c.send(wire.EventJoin, map[string]any{"rooms": []string{"lobby"}})
		x.c.roundTrip()
	}
	unauth := ts.dial(t)

	if err := ts.Local().ToRoom("lobby", "news", map[string]string{"x": "1"}, m[1].id); err != nil {
		t.Fatal(err)
	}
	for _, x := range []member{m[0], m[2]} {
		if got := x.c.expect("news"); string(got.Data) != `{"x":"1"}` {
			t.Fatalf("data %s", got.Data)
		}
	}
	ts.expectNothing(t, m[1].c, m[1].id) // excluded
	ts.expectNothing(t, m[3].c, m[3].id) // not a member
	unauth.roundTrip()                   // nothing came before the answer
}

func TestBroadcastReachesAuthenticatedOnly(t *testing.T) {
	ts := startServer(t, Config{})
	m := ts.members(t, "a", "b", "c")
	unauth := ts.dial(t)
	if err := ts.Local().Broadcast("all", 42, m[2].id); err != nil {
		t.Fatal(err)
	}
	m[0].c.expect("all")
	m[1].c.expect("all")
	ts.expectNothing(t, m[2].c, m[2].id)
	unauth.roundTrip()
}

func TestUserDeliveryReachesEverySession(t *testing.T) {
	ts := startServer(t, Config{})
	m := ts.members(t, "u", "u", "other")
	if got := len(ts.UserClients("u")); got != 2 {
		t.Fatalf("%d sessions", got)
	}
	ts.Local().ToUser("u", "dm", "hi")
	m[0].c.expect("dm")
	m[1].c.expect("dm")
	ts.expectNothing(t, m[2].c, m[2].id)
}

func TestSendToClientErrors(t *testing.T) {
	ts := startServer(t, Config{})
	if err := ts.Local().ToClient("nobody", "x", 1); !errors.Is(err, ErrClientNotFound) {
		t.Fatalf("err %v", err)
	}
	unauth := ts.dial(t)
	unauth.roundTrip()
	for _, c := range ts.Clients() {
		if err := ts.Local().ToClient(c.ID(), "x", 1); !errors.Is(err, ErrClientNotFound) {
			t.Fatalf("sent to an unauthenticated client: %v", err)
		}
	}
	unauth.roundTrip() // nothing came before the answer
	m := ts.members(t, "a")
	if err := ts.Local().ToClient(m[0].id, "x", func() {}); !errors.Is(err, ErrEncode) {
		t.Fatalf("err %v", err)
	}
	if err := ts.Local().ToClient(m[0].id, "x", json.RawMessage(`{bad`)); !errors.Is(err, ErrEncode) {
		t.Fatalf("err %v", err)
	}
}

// recorder subscribes to a broker and records what is published.
type recorder struct {
	mu   sync.Mutex
	got  []wire.Envelope
	seen chan struct{}
}

func record(t *testing.T, b Broker) *recorder {
	r := &recorder{seen: make(chan struct{}, 100)}
	sub, err := b.Subscribe(context.Background(), func(_ string, p []byte) {
		env, err := wire.DecodeEnvelope(p)
		if err != nil {
			t.Errorf("published a malformed envelope: %v", err)
		}
		r.mu.Lock()
		r.got = append(r.got, env)
		r.mu.Unlock()
		r.seen <- struct{}{}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Close() })
	return r
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *recorder) last(t *testing.T) wire.Envelope {
	t.Helper()
	<-r.seen
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[len(r.got)-1]
}

func TestSendRoutesLikeUpstream(t *testing.T) {
	broker := NewMemoryBroker()
	ts := startServer(t, Config{Broker: broker})
	rec := record(t, broker)
	m := ts.members(t, "a", "b")
	ctx := context.Background()

	ts.Send(ctx, "", "all", 1)
	m[0].c.expect("all")
	m[1].c.expect("all")
	if env := rec.last(t); env.Type != wire.TypeBroadcast || env.ServerID != ts.ID() {
		t.Fatalf("broadcast published %+v", env)
	}

	// A client of this instance is reached here only: nothing is published
	// (the memory broker publishes synchronously).
	published := rec.count()
	ts.Send(ctx, m[0].id, "direct", 2)
	m[0].c.expect("direct")
	if err := ts.ToClient(ctx, m[1].id, "direct", 2); err != nil {
		t.Fatal(err)
	}
	m[1].c.expect("direct")
	if n := rec.count(); n != published {
		t.Fatalf("a message to a local client was published: %+v", rec.got[published:])
	}

	ts.Send(ctx, wire.RoomDefault, "room", 3)
	m[0].c.expect("room")
	m[1].c.expect("room")
	if env := rec.last(t); env.Type != wire.TypeRoom || env.Target != wire.RoomDefault {
		t.Fatalf("room published %+v", env)
	}

	ts.Send(ctx, "elsewhere", "remote", 4)
	if env := rec.last(t); env.Type != wire.TypeRoom || env.Target != "elsewhere" || string(env.Data) != "4" {
		t.Fatalf("unknown destination published %+v", env)
	}
	ts.expectNothing(t, m[0].c, m[0].id)

	if err := ts.ToUser(ctx, "b", "u", 5); err != nil {
		t.Fatal(err)
	}
	m[1].c.expect("u")
	if env := rec.last(t); env.Type != wire.TypeUser || env.Target != "b" {
		t.Fatalf("user published %+v", env)
	}
	if err := ts.ToRoom(ctx, "", "x", 1); !errors.Is(err, ErrInvalidTarget) {
		t.Fatalf("empty room: %v", err)
	}
}

func TestEnvelopesFromOtherServers(t *testing.T) {
	broker := NewMemoryBroker()
	ts := startServer(t, Config{Broker: broker})
	m := ts.members(t, "a", "b")
	ctx := context.Background()
	publish := func(env wire.Envelope) {
		b, err := env.Encode()
		if err != nil {
			t.Fatal(err)
		}
		broker.Publish(ctx, env.Channel(), b)
	}
	publish(wire.Envelope{ServerID: wire.EmitterServerID, Type: wire.TypeRoom, Target: wire.RoomDefault,
		Event: "from-emitter", Data: json.RawMessage(`{"k":1}`), Exclude: []string{m[1].id}})
	m[0].c.expect("from-emitter")
	ts.expectNothing(t, m[1].c, m[1].id)

	// its own envelopes are skipped: it delivered them before publishing
	publish(wire.Envelope{ServerID: ts.ID(), Type: wire.TypeBroadcast, Event: "own"})
	broker.Publish(ctx, wire.ChannelBroadcast, []byte(`{"serverId":"x","type":"nope","event":"e"}`))
	broker.Publish(ctx, wire.ChannelBroadcast, []byte(`not json`))
	ts.expectNothing(t, m[0].c, m[0].id)
	// broker payloads are dispatched on the server's own goroutine
	waitFor(t, "the malformed envelopes counted", func() bool { return ts.Stats().Malformed == 2 })
	if st := ts.Stats(); st.Malformed != 2 || st.Received != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// TestUnwantedEnvelopes checks Stats.Unwanted: the envelopes from other
// servers that had no recipient here, whatever their type. An excluded
// member is still a member: its room is wanted here.
func TestUnwantedEnvelopes(t *testing.T) {
	broker := NewMemoryBroker()
	ts := startServer(t, Config{Broker: broker})
	m := ts.members(t, "a")
	publish := func(typ wire.Type, target, event string, exclude ...string) {
		t.Helper()
		b, err := wire.Envelope{ServerID: "other", Type: typ, Target: target, Event: event, Exclude: exclude}.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if err := broker.Publish(context.Background(), wire.Envelope{Type: typ, Target: target}.Channel(), b); err != nil {
			t.Fatal(err)
		}
	}
	publish(wire.TypeRoom, "nobody-here", "x")
	publish(wire.TypeUser, "nobody", "x")
	publish(wire.TypeClient, "not-a-client-here", "x")
	publish(wire.TypeRoom, wire.RoomDefault, "x", m[0].id) // a member, excluded
	publish(wire.TypeRoom, wire.RoomDefault, "room")
	publish(wire.TypeUser, "a", "user")
	publish(wire.TypeClient, m[0].id, "client")
	publish(wire.TypeBroadcast, "", "all")
	for _, event := range []string{"room", "user", "client", "all"} {
		m[0].c.expect(event)
	}
	// one dispatcher handles them in order: the counters of the first seven
	// are final once the last is delivered
	if st := ts.Stats(); st.Received != 8 || st.Unwanted != 3 {
		t.Fatalf("received %d, unwanted %d; want 8 and 3", st.Received, st.Unwanted)
	}
}
