package websocket

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// The server declares its interests (Subscription.Listen) before a
// membership is visible: these tests publish from the other instance (or an
// emitter) the moment JoinRoom returned, a join was handled or a client got
// connected, and expect delivery. Without Listen, or with it after the fact,
// the SUBSCRIBE is still in flight then and the message is lost.

// interestRounds is how many fresh rooms or clients each test tries: each
// one is a race that a missing Listen loses most of the time.
const interestRounds = 20

func TestInterestJoinRoomThenPublish(t *testing.T) {
	rbVerifyNone(t)
	cl := startCluster(t, Config{})
	b := cl.b.members(t, "bob")
	ctx := context.Background()
	for i := range interestRounds {
		room := "join-api-" + strconv.Itoa(i)
		join(t, cl.b, room, b[0])
		if err := cl.a.ToRoom(ctx, room, "hello", i); err != nil {
			t.Fatal(err)
		}
		expectData(t, "hello", strconv.Itoa(i), b[0])
	}
	cl.fence(t, b[0])
}

func TestInterestClientJoinThenPublish(t *testing.T) {
	rbVerifyNone(t)
	cl := startCluster(t, Config{Hooks: Hooks{ValidateRooms: allowAllRooms}})
	b := cl.b.members(t, "bob")
	ctx := context.Background()
	for i := range interestRounds {
		room := "join-frame-" + strconv.Itoa(i)
		b[0].c.send(wire.EventJoin, map[string]any{"rooms": []string{room}})
		b[0].c.roundTrip() // the join is handled: its rooms are heard
		if err := cl.emit.ToRoom(ctx, room, "hello", i); err != nil {
			t.Fatal(err)
		}
		expectData(t, "hello", strconv.Itoa(i), b[0])
	}
	cl.fence(t, b[0])
}

func TestInterestConnectThenPublish(t *testing.T) {
	rbVerifyNone(t)
	cl := startCluster(t, Config{})
	ctx := context.Background()
	for i := range interestRounds {
		user := "user-" + strconv.Itoa(i)
		m := cl.b.members(t, user)[0]
		// Each channel the client made B hear, published on by A or an
		// emitter as soon as the client has connected.
		if err := cl.a.ToClient(ctx, m.id, "direct", i); err != nil {
			t.Fatal(err)
		}
		if err := cl.emit.ToUser(ctx, user, "user", i); err != nil {
			t.Fatal(err)
		}
		if err := cl.emit.ToRoom(ctx, m.id, "own-room", i); err != nil {
			t.Fatal(err)
		}
		if err := cl.emit.ToRoom(ctx, wire.RoomDefault, "default-room", i); err != nil {
			t.Fatal(err)
		}
		for _, event := range []string{"direct", "user", "own-room", "default-room"} {
			expectData(t, event, strconv.Itoa(i), m)
		}
	}
}

// brokerChannels returns the envelope channels the cluster's Redis has
// subscribers on, sorted.
func (cl *cluster) brokerChannels(t *testing.T) []string {
	t.Helper()
	chans, err := cl.app.PubSubChannels(context.Background(), "ws:*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(chans)
	return chans
}

// awaitChannels polls Redis until the subscribed envelope channels are want
// (sorted), or fails after clusterWait: grace periods end on a timer.
func (cl *cluster) awaitChannels(t *testing.T, want []string) {
	t.Helper()
	slices.Sort(want)
	deadline := time.Now().Add(clusterWait)
	for {
		got := cl.brokerChannels(t)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("channels subscribed on Redis:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		time.Sleep(clusterPoll) // the interval of a bounded poll on a real condition
	}
}

// baseChannels are what the cluster's servers hear with no client:
// ws:broadcast and their probe channels.
func (cl *cluster) baseChannels() []string {
	return []string{wire.ChannelBroadcast, wire.ProbeChannel(cl.a.ID()), wire.ProbeChannel(cl.b.ID())}
}

// TestInterestReleased checks that every reference the server takes is
// given back: joins repeated, through both paths, a JoinRoom refused before
// the client authenticated, leaves, refused joins and disconnects leave
// Redis with the base channels only.
func TestInterestReleased(t *testing.T) {
	rbVerifyNone(t)
	cl := startClusterWith(t, Config{
		Settings: Settings{MaxRoomsPerClient: 7},
		Hooks:    Hooks{ValidateRooms: allowAllRooms},
	}, RedisBrokerOptions{ListenGrace: time.Millisecond})
	cl.awaitChannels(t, cl.baseChannels())

	// A client refused a room before it authenticates: the reference the
	// join took is released (r-early is not among the channels below).
	early := cl.b.dial(t)
	early.roundTrip() // answered: it is indexed
	var earlyID string
	for _, c := range cl.b.Clients() {
		earlyID = c.ID()
	}
	if err := cl.b.JoinRoom(earlyID, "r-early"); !errors.Is(err, ErrClientNotFound) {
		t.Fatalf("JoinRoom before authentication: %v, want ErrClientNotFound", err)
	}
	if got := early.authenticate("early").ID; got != earlyID {
		t.Fatalf("connected as %s, want %s", got, earlyID)
	}

	m := cl.b.members(t, "bob", "bob")
	for _, x := range m {
		x.c.send(wire.EventJoin, map[string]any{"rooms": []string{"r1", "r2"}})
		x.c.send(wire.EventJoin, map[string]any{"rooms": []string{"r1", "r3", "r4", "r5"}}) // r5: past MaxRoomsPerClient
		x.c.roundTrip()
		if err := cl.b.JoinRoom(x.id, "r2"); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.b.JoinRoom(m[0].id, "r6"); err == nil {
		t.Fatal("JoinRoom past MaxRoomsPerClient: no error")
	}
	m[1].c.send(wire.EventLeave, map[string]any{"rooms": []string{"r1", "r1", "nowhere"}})
	m[1].c.roundTrip()
	if err := cl.b.LeaveRoom(m[1].id, "r2"); err != nil {
		t.Fatal(err)
	}

	want := append(cl.baseChannels(),
		wire.ClientChannel(earlyID), wire.RoomChannel(earlyID), wire.UserChannel("early"),
		wire.UserChannel("bob"),
		wire.RoomChannel(wire.RoomDefault), wire.RoomChannel(wire.RoomNotification),
		wire.RoomChannel("r1"), wire.RoomChannel("r2"), wire.RoomChannel("r3"), wire.RoomChannel("r4"))
	for _, x := range m {
		want = append(want, wire.ClientChannel(x.id), wire.RoomChannel(x.id))
	}
	cl.awaitChannels(t, want)

	// m[0] leaves what m[1] is not in: r1 and r2 are released.
	m[0].c.send(wire.EventLeave, map[string]any{"rooms": []string{"r1", "r2"}})
	m[0].c.roundTrip()
	want = slices.DeleteFunc(want, func(ch string) bool { return ch == wire.RoomChannel("r1") || ch == wire.RoomChannel("r2") })
	cl.awaitChannels(t, want)

	early.conn.Close()
	for _, x := range m {
		x.c.conn.Close()
	}
	cl.awaitChannels(t, cl.baseChannels())
}

// TestInterestBeforeConfigure checks that a client that connected before
// Configure is heard once Configure returned, and released after.
func TestInterestBeforeConfigure(t *testing.T) {
	rbVerifyNone(t)
	cl := startClusterWith(t, Config{}, RedisBrokerOptions{ListenGrace: time.Millisecond})
	broker, err := NewRedisBroker(cl.app, cl.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Close() })
	s, err := New(Config{Settings: Settings{DisableProbe: true}, Hooks: Hooks{Authenticate: testAuth}, Broker: broker, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	ts := &testServer{Server: s, url: "ws" + strings.TrimPrefix(hs.URL, "http")}
	m := ts.members(t, "early", "early")
	if err := s.JoinRoom(m[0].id, "r"); err != nil {
		t.Fatal(err)
	}
	if err := s.LeaveRoom(m[1].id, wire.RoomNotification); err != nil {
		t.Fatal(err)
	}
	if err := s.Configure(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := cl.emit.ToRoom(ctx, "r", "room", 1); err != nil {
		t.Fatal(err)
	}
	if err := cl.emit.ToUser(ctx, "early", "user", 2); err != nil {
		t.Fatal(err)
	}
	expectData(t, "room", "1", m[0])
	expectData(t, "user", "2", m...)

	base := cl.baseChannels()
	want := append(slices.Clone(base), wire.UserChannel("early"), wire.RoomChannel("r"),
		wire.RoomChannel(wire.RoomDefault), wire.RoomChannel(wire.RoomNotification))
	for _, x := range m {
		want = append(want, wire.ClientChannel(x.id), wire.RoomChannel(x.id))
	}
	cl.awaitChannels(t, want)
	for _, x := range m {
		x.c.conn.Close()
	}
	cl.awaitChannels(t, base)
}

// TestClusterOutageOutbox is the outage pattern with servers: A
// sends to a room of B's clients at a steady rate while Redis is killed
// twice (for 5 s, then 2 s). A's outbox holds what it could not publish,
// and replays it once Redis and the subscriptions are back: every client
// gets every message, once, in order, and no Send fails.
func TestClusterOutageOutbox(t *testing.T) {
	if testing.Short() {
		t.Skip("seven seconds of Redis outages")
	}
	rbVerifyNone(t)
	cl := startClusterWith(t, Config{}, RedisBrokerOptions{})
	const clients, every = 100, 20 * time.Millisecond // 50 messages a second
	users := make([]string, clients)
	for i := range users {
		users[i] = "u" + strconv.Itoa(i)
	}
	ms := cl.b.members(t, users...)
	for _, m := range ms {
		join(t, cl.b, "lobby", m)
	}

	// Each client reads until "end", checking the sequence.
	type result struct {
		n   int
		err error
	}
	results := make(chan result, clients)
	for _, m := range ms {
		go func() {
			n := 0
			for {
				msg, err := m.c.next()
				switch {
				case err != nil:
					results <- result{n, err}
					return
				case msg.Event == "end":
					results <- result{n, nil}
					return
				case msg.Event != "seq" || string(msg.Data) != strconv.Itoa(n):
					results <- result{n, fmt.Errorf("got %q %s, want seq %d", msg.Event, msg.Data, n)}
					return
				}
				n++
			}
		}()
	}

	sent := 0
	send := func(d time.Duration) {
		t.Helper()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for end := time.Now().Add(d); time.Now().Before(end); <-tick.C {
			if err := cl.a.ToRoom(context.Background(), "lobby", "seq", sent); err != nil {
				t.Fatalf("send %d: %v", sent, err)
			}
			sent++
		}
	}
	send(time.Second)
	for _, outage := range []time.Duration{5 * time.Second, 2 * time.Second} {
		cl.redis.Stop()
		send(outage)
		cl.redis.Restart()
		send(3 * time.Second)
	}
	if err := cl.a.ToRoom(context.Background(), "lobby", "end", nil); err != nil {
		t.Fatal(err)
	}
	for range clients {
		r := <-results
		if r.err != nil || r.n != sent {
			t.Fatalf("a client got %d of %d messages in order: %v", r.n, sent, r.err)
		}
	}
	st := cl.a.Stats()
	t.Logf("%d messages to %d clients; A's outbox: %+v", sent, clients, st.BrokerOutbox)
	if st.PublishErrors != 0 || st.BrokerOutbox.Replayed == 0 {
		t.Fatalf("A: %d publish errors, %d replayed, want 0 and some", st.PublishErrors, st.BrokerOutbox.Replayed)
	}
}
