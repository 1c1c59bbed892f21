package websocket

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/emitter"
	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/websocket/wire"
)

// Cross-instance tests (issue #3): two Servers in one process, each behind
// its own httptest server and with its own RedisBroker on one private
// redis-server (package redistest; never a shared Redis).
//
// Proving that something did NOT arrive from another instance needs more
// than expectNothing: its marker is delivered locally at once, while a
// stray copy (a second copy of a server's own publish, a message to an
// excluded client) would come back through Redis, later. So the marker here,
// the fence, travels through Redis too: it is published after everything the
// test emitted, Redis hands a subscriber its messages in the order it
// accepted the PUBLISHes, and a server handles its subscription on one
// goroutine, in order. Whatever a server delivers for an earlier envelope is
// therefore queued on the client before the fence.

// clusterWait bounds the waits for a recovery after a Redis restart: the
// broker's reconnect backs off up to 2 s between attempts. It is a guard
// against a hung test, never an assertion about speed.
const clusterWait = 20 * time.Second

// clusterPoll is the interval of the bounded polls in these tests.
const clusterPoll = 50 * time.Millisecond

// cluster is two servers, a and b, sharing one redis-server, and an emitter
// on it for the fences.
type cluster struct {
	redis *redistest.Server
	app   *redis.Client // the "application's" client: brokers clone it
	emit  *emitter.Emitter
	a, b  *testServer
	seq   atomic.Int64       // numbers the fences
	opts  RedisBrokerOptions // of every server's broker
}

// startCluster starts a redis-server and two servers with cfg, each with its
// own RedisBroker. Cleanups, in the order they run: each server's Shutdown
// (and its httptest server), then its broker's Close, then the application's
// client, then the redis-server.
func startCluster(tb testing.TB, cfg Config) *cluster {
	tb.Helper()
	// OutboxDisabled: these tests expect ErrPublish while Redis is down (the
	// outbox is tested in broker_outbox_test.go, and with servers in
	// TestClusterOutageOutbox).
	return startClusterWith(tb, cfg, RedisBrokerOptions{OutboxDisabled: true})
}

// startClusterWith is startCluster with the brokers' options.
func startClusterWith(tb testing.TB, cfg Config, opts RedisBrokerOptions) *cluster {
	tb.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	cl := &cluster{redis: redistest.Start(tb), opts: opts}
	cl.app = cl.redis.Client(tb)
	cl.emit = emitter.New(cl.app)
	tb.Cleanup(func() { cl.emit.Close() })
	cl.a = cl.node(tb, cfg)
	cl.b = cl.node(tb, cfg)
	if cl.a.ID() == cl.b.ID() {
		tb.Fatalf("both servers have id %q", cl.a.ID())
	}
	return cl
}

// node starts one server on its own RedisBroker.
func (cl *cluster) node(tb testing.TB, cfg Config) *testServer {
	tb.Helper()
	broker, err := NewRedisBroker(cl.app, cl.opts)
	if err != nil {
		tb.Fatalf("NewRedisBroker: %v", err)
	}
	// Registered before startServer's cleanup, so it runs after Shutdown
	// (t.Cleanup is LIFO): the server unsubscribes, then the broker closes.
	tb.Cleanup(func() {
		if err := broker.Close(); err != nil {
			tb.Errorf("close broker: %v", err)
		}
	})
	cfg.Broker = broker
	return startServer(tb, cfg)
}

// fence publishes a "fence" to each member through Redis, as an emitter
// does, and checks that it is the member's next frame: nothing published
// before it (to anyone, by anyone) left a frame that the member has not read
// yet.
func (cl *cluster) fence(t *testing.T, ms ...member) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	for _, m := range ms {
		n := cl.seq.Add(1)
		if err := cl.emit.ToClient(ctx, m.id, "fence", n); err != nil {
			t.Fatalf("publish fence: %v", err)
		}
		got := m.c.read()
		if got.Event != "fence" || string(got.Data) != strconv.FormatInt(n, 10) {
			t.Fatalf("client %s: got %q %s before fence %d", m.id, got.Event, got.Data, n)
		}
	}
}

// join puts members of ts in room.
func join(t *testing.T, ts *testServer, room string, ms ...member) {
	t.Helper()
	for _, m := range ms {
		if err := ts.JoinRoom(m.id, room); err != nil {
			t.Fatal(err)
		}
	}
}

// expectData reads the next frame of each member and checks event and data.
func expectData(t *testing.T, event, data string, ms ...member) {
	t.Helper()
	for _, m := range ms {
		got := m.c.expect(event)
		if string(got.Data) != data {
			t.Fatalf("client %s: %s data %s, want %s", m.id, event, got.Data, data)
		}
	}
}

func TestClusterRoomDelivery(t *testing.T) {
	rbVerifyNone(t)
	cl := startCluster(t, Config{})
	a := cl.a.members(t, "alice", "ann")
	b := cl.b.members(t, "bob", "ben", "bill")
	join(t, cl.a, "lobby", a[0], a[1])
	join(t, cl.b, "lobby", b[0], b[1]) // b[2] is not a member
	ctx := context.Background()

	// From A, excluding one member on each side.
	if err := cl.a.ToRoom(ctx, "lobby", "news", map[string]int{"n": 1}, a[1].id, b[1].id); err != nil {
		t.Fatal(err)
	}
	expectData(t, "news", `{"n":1}`, a[0], b[0])
	cl.fence(t, a[0], a[1], b[0], b[1], b[2]) // one copy each; excluded and non-members got nothing

	// From B, the other way.
	if err := cl.b.ToRoom(ctx, "lobby", "reply", "hi", a[0].id); err != nil {
		t.Fatal(err)
	}
	expectData(t, "reply", `"hi"`, a[1], b[0], b[1])
	cl.fence(t, a[0], a[1], b[0], b[1], b[2])

	// A room with members only on B, emitted from A (where it does not exist).
	join(t, cl.b, "b-only", b[2])
	if err := cl.a.ToRoom(ctx, "b-only", "remote", nil); err != nil {
		t.Fatal(err)
	}
	expectData(t, "remote", "null", b[2])
	cl.fence(t, a[0], a[1], b[0], b[1], b[2])
}

func TestClusterUserDelivery(t *testing.T) {
	rbVerifyNone(t)
	cl := startCluster(t, Config{})
	a := cl.a.members(t, "u", "v")
	b := cl.b.members(t, "u", "u", "w")
	ctx := context.Background()

	if err := cl.a.ToUser(ctx, "u", "dm", map[string]string{"to": "u"}); err != nil {
		t.Fatal(err)
	}
	expectData(t, "dm", `{"to":"u"}`, a[0], b[0], b[1])
	cl.fence(t, a[0], a[1], b[0], b[1], b[2])

	// A user with no session on the emitting server.
	if err := cl.b.ToUser(ctx, "v", "dm", 2); err != nil {
		t.Fatal(err)
	}
	expectData(t, "dm", "2", a[1])
	cl.fence(t, a[0], a[1], b[0], b[1], b[2])
}

func TestClusterClientDelivery(t *testing.T) {
	rbVerifyNone(t)
	cl := startCluster(t, Config{})
	a := cl.a.members(t, "alice", "ann")
	b := cl.b.members(t, "bob", "ben")
	ctx := context.Background()

	// A client of the other server.
	if err := cl.a.ToClient(ctx, b[0].id, "direct", 1); err != nil {
		t.Fatal(err)
	}
	expectData(t, "direct", "1", b[0])
	if err := cl.b.ToClient(ctx, a[1].id, "direct", 2); err != nil {
		t.Fatal(err)
	}
	expectData(t, "direct", "2", a[1])
	// A client of the emitting server: delivered once, locally.
	if err := cl.a.ToClient(ctx, a[0].id, "direct", 3); err != nil {
		t.Fatal(err)
	}
	expectData(t, "direct", "3", a[0])
	cl.fence(t, a[0], a[1], b[0], b[1])
}

func TestClusterBroadcast(t *testing.T) {
	rbVerifyNone(t)
	cl := startCluster(t, Config{})
	a := cl.a.members(t, "alice", "ann")
	b := cl.b.members(t, "bob", "ben")
	unauthA, unauthB := cl.a.dial(t), cl.b.dial(t)
	unauthA.roundTrip() // connected and registered before the broadcast
	unauthB.roundTrip()
	ctx := context.Background()

	if err := cl.a.Broadcast(ctx, "all", []int{1, 2}, a[1].id, b[1].id); err != nil {
		t.Fatal(err)
	}
	expectData(t, "all", "[1,2]", a[0], b[0])
	cl.fence(t, a[0], a[1], b[0], b[1])
	// Both servers have handled the broadcast (the fences came after it):
	// an unauthenticated client got nothing before the answer to this.
	unauthA.roundTrip()
	unauthB.roundTrip()

	if err := cl.b.Broadcast(ctx, "all", "again"); err != nil {
		t.Fatal(err)
	}
	expectData(t, "all", `"again"`, a[0], a[1], b[0], b[1])
	cl.fence(t, a[0], a[1], b[0], b[1])
	unauthA.roundTrip()
	unauthB.roundTrip()
}

// TestClusterSendRouting checks upstream's send across instances: no
// destination broadcasts; a local client or room is emitted as such; an
// unknown destination is published as a room, which reaches a client of
// another instance through the room of its own id.
func TestClusterSendRouting(t *testing.T) {
	rbVerifyNone(t)
	cl := startCluster(t, Config{})
	a := cl.a.members(t, "alice", "ann")
	b := cl.b.members(t, "bob", "ben")
	all := []member{a[0], a[1], b[0], b[1]}
	join(t, cl.a, "lobby", a[0])
	join(t, cl.b, "lobby", b[0])
	join(t, cl.b, "b-only", b[1])
	ctx := context.Background()

	steps := []struct {
		name        string
		from        *testServer
		destination string
		want        []member
	}{
		{"broadcast", cl.a, "", all},
		{"client of the other server", cl.a, b[0].id, []member{b[0]}},
		{"client of the other server, back", cl.b, a[1].id, []member{a[1]}},
		{"local client", cl.a, a[0].id, []member{a[0]}},
		{"room on both", cl.b, "lobby", []member{a[0], b[0]}},
		{"room only on the other server", cl.a, "b-only", []member{b[1]}},
		{"nobody's room", cl.a, "nowhere", nil},
	}
	for i, step := range steps {
		data := map[string]int{"step": i}
		if err := step.from.Send(ctx, step.destination, "sent", data); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		want := `{"step":` + strconv.Itoa(i) + `}`
		for _, m := range step.want {
			got := m.c.read()
			if got.Event != "sent" || string(got.Data) != want {
				t.Fatalf("%s: client %s got %q %s, want sent %s", step.name, m.id, got.Event, got.Data, want)
			}
		}
		cl.fence(t, all...)
	}
}

// TestClusterSelfDedup checks that a server never delivers its own publish a
// second time when Redis hands it back, for every kind of target: the local
// member gets exactly one copy, and the server counts none of its own
// envelopes as received.
func TestClusterSelfDedup(t *testing.T) {
	rbVerifyNone(t)
	cl := startCluster(t, Config{})
	a := cl.a.members(t, "alice")
	b := cl.b.members(t, "bob")
	join(t, cl.a, "lobby", a[0])
	ctx := context.Background()

	for _, target := range []testTarget{toRoom("lobby"), toUser("alice"), toClient(a[0].id), toAll(b[0].id)} {
		before := cl.a.Stats().Received
		if err := target.send(ctx, cl.a, "once", string(target.Type)); err != nil {
			t.Fatal(err)
		}
		expectData(t, "once", strconv.Quote(string(target.Type)), a[0])
		// A has handled its own envelope once a[0] reads its fence, which A
		// hears (b[0]'s it does not: it listens only to its own clients'
		// channels): only that fence counts as received.
		cl.fence(t, b[0], a[0])
		if got := cl.a.Stats().Received - before; got != 1 {
			t.Fatalf("%s: server A counted %d envelopes received, want 1 (a[0]'s fence)", target.Type, got)
		}
	}
}

// TestClusterEmitter checks that an emitter (no server, serverId "emitter")
// reaches clients on both servers, with each kind of target.
func TestClusterEmitter(t *testing.T) {
	rbVerifyNone(t)
	cl := startCluster(t, Config{})
	a := cl.a.members(t, "u", "v")
	b := cl.b.members(t, "u", "w")
	all := []member{a[0], a[1], b[0], b[1]}
	join(t, cl.a, "lobby", a[0], a[1])
	join(t, cl.b, "lobby", b[0], b[1])
	ctx := context.Background()
	e := emitter.New(cl.app)
	defer e.Close()

	if err := e.ToRoom(ctx, "lobby", "room", 1, a[1].id, b[1].id); err != nil {
		t.Fatal(err)
	}
	expectData(t, "room", "1", a[0], b[0])
	cl.fence(t, all...)

	if err := e.ToUser(ctx, "u", "user", 2); err != nil {
		t.Fatal(err)
	}
	expectData(t, "user", "2", a[0], b[0])
	cl.fence(t, all...)

	for i, m := range []member{a[1], b[1]} {
		if err := e.ToClient(ctx, m.id, "client", i); err != nil {
			t.Fatal(err)
		}
		expectData(t, "client", strconv.Itoa(i), m)
	}
	cl.fence(t, all...)

	if err := e.Broadcast(ctx, "broadcast", map[string]bool{"ok": true}, a[0].id); err != nil {
		t.Fatal(err)
	}
	expectData(t, "broadcast", `{"ok":true}`, a[1], b[0], b[1])
	cl.fence(t, all...)

	if err := e.Broadcast(ctx, "broadcast", nil); err != nil {
		t.Fatal(err)
	}
	expectData(t, "broadcast", "null", all...)
	cl.fence(t, all...)
}

// TestClusterMalformedEnvelope publishes junk on a room channel: both
// servers skip it and count it, its members get nothing, and delivery goes
// on.
func TestClusterMalformedEnvelope(t *testing.T) {
	rbVerifyNone(t)
	cl := startCluster(t, Config{})
	a := cl.a.members(t, "alice")
	b := cl.b.members(t, "bob")
	join(t, cl.a, "x", a[0])
	join(t, cl.b, "x", b[0])
	ctx := context.Background()

	junk := []string{
		`not json`,
		`{"serverId":"other","type":"nope","target":"x","event":"e","data":1}`, // unknown type
		`{"serverId":"other","type":"room","event":"e","data":1}`,              // room without target
		`{"serverId":"","type":"room","target":"x","event":"e","data":1}`,      // no serverId
		`{"serverId":"other","type":"room","target":"x","data":1}`,             // no event
		`["serverId","other"]`,
	}
	for _, p := range junk {
		n, err := cl.app.Publish(ctx, wire.RoomChannel("x"), p).Result()
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("PUBLISH reached %d subscribers, want the 2 servers", n)
		}
	}
	// Each fence passes through both servers' subscriptions, but only the
	// one with the client proves its server has read the junk before it.
	cl.fence(t, a[0], b[0])
	for name, ts := range map[string]*testServer{"A": cl.a, "B": cl.b} {
		if st := ts.Stats(); st.Malformed != uint64(len(junk)) {
			t.Errorf("server %s: Malformed = %d, want %d", name, st.Malformed, len(junk))
		}
	}

	// Both servers keep working, in both directions.
	if err := cl.a.ToRoom(ctx, "x", "after", 1); err != nil {
		t.Fatal(err)
	}
	expectData(t, "after", "1", a[0], b[0])
	if err := cl.b.ToRoom(ctx, "x", "after", 2); err != nil {
		t.Fatal(err)
	}
	expectData(t, "after", "2", a[0], b[0])
	cl.fence(t, a[0], b[0])
}

// TestClusterStats checks the broker counters: Published and PublishErrors
// on the sender, Received on the receiver, own envelopes not received.
func TestClusterStats(t *testing.T) {
	rbVerifyNone(t)
	cl := startCluster(t, Config{})
	a := cl.a.members(t, "alice")
	b := cl.b.members(t, "bob")
	join(t, cl.a, "lobby", a[0])
	join(t, cl.b, "lobby", b[0])
	ctx := context.Background()
	for name, ts := range map[string]*testServer{"A": cl.a, "B": cl.b} {
		if st := ts.Stats(); st.Published != 0 || st.PublishErrors != 0 || st.Received != 0 || st.Malformed != 0 {
			t.Fatalf("server %s starts with %+v", name, st)
		}
	}

	targets := []testTarget{toRoom("lobby"), toUser("bob"), toClient(b[0].id), toAll()}
	for i, target := range targets {
		if err := target.send(ctx, cl.a, "count", i); err != nil {
			t.Fatal(err)
		}
		expectData(t, "count", strconv.Itoa(i), b[0])
	}
	if err := cl.a.Send(ctx, "elsewhere", "count", len(targets)); err != nil { // published, heard by nobody
		t.Fatal(err)
	}
	published := uint64(len(targets) + 1)
	cl.fence(t, b[0]) // B has handled all of A's envelopes, and the fence
	// B heard the targets' envelopes and the fence, not the room that has
	// no member on B.
	if st := cl.b.Stats(); st.Received != uint64(len(targets))+1 || st.Published != 0 || st.PublishErrors != 0 || st.Malformed != 0 {
		t.Fatalf("server B: %+v, want Received %d", st, len(targets)+1)
	}
	if st := cl.a.Stats(); st.Published != published || st.PublishErrors != 0 {
		t.Fatalf("server A: %+v, want Published %d", st, published)
	}
	// A got its own room and broadcast envelopes back and skipped them:
	// once a[0] reads its fence, A has received exactly one envelope, that
	// fence (b[0]'s it does not hear).
	expectData(t, "count", "0", a[0]) // the room
	expectData(t, "count", "3", a[0]) // the broadcast
	cl.fence(t, a[0])
	if st := cl.a.Stats(); st.Received != 1 {
		t.Fatalf("server A: Received %d, want 1 (a[0]'s fence): %+v", st.Received, st)
	}

	// A publish that fails: counted, wrapped in ErrPublish, local delivery
	// done.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err := cl.a.ToRoom(cctx, "lobby", "failed", 1)
	if !errors.Is(err, ErrPublish) || !errors.Is(err, context.Canceled) {
		t.Fatalf("Emit with a cancelled context: %v, want ErrPublish wrapping context.Canceled", err)
	}
	expectData(t, "failed", "1", a[0])
	if st := cl.a.Stats(); st.Published != published || st.PublishErrors != 1 {
		t.Fatalf("server A after a failed publish: %+v, want Published %d, PublishErrors 1", st, published)
	}
	cl.fence(t, a[0], b[0]) // and B never saw it
}

// TestClusterRedisOutage stops Redis under two running servers: local
// delivery goes on, Emit reports ErrPublish after delivering locally, and
// once Redis is back cross-instance delivery resumes in both directions
// without touching the servers.
func TestClusterRedisOutage(t *testing.T) {
	rbVerifyNone(t)
	cl := startCluster(t, Config{})
	a := cl.a.members(t, "alice")
	b := cl.b.members(t, "bob")
	join(t, cl.a, "lobby", a[0])
	join(t, cl.b, "lobby", b[0])
	ctx := context.Background()

	if err := cl.a.ToRoom(ctx, "lobby", "before", 0); err != nil {
		t.Fatal(err)
	}
	expectData(t, "before", "0", a[0], b[0])

	cl.redis.Stop()

	if err := cl.a.Local().ToRoom("lobby", "local", 1); err != nil {
		t.Fatal(err)
	}
	expectData(t, "local", "1", a[0])
	for i, x := range []struct {
		ts     *testServer
		m      member
		target testTarget
	}{{cl.a, a[0], toRoom("lobby")}, {cl.b, b[0], toUser("bob")}} {
		pctx, cancel := context.WithTimeout(ctx, readTimeout)
		start := time.Now()
		err := x.target.send(pctx, x.ts, "down", i)
		cancel()
		if !errors.Is(err, ErrPublish) {
			t.Fatalf("Emit with Redis down: %v, want ErrPublish", err)
		}
		t.Logf("Emit with Redis down failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
		expectData(t, "down", strconv.Itoa(i), x.m) // delivered locally all the same
		if st := x.ts.Stats(); st.PublishErrors != 1 || st.Published != uint64(1-i) {
			t.Fatalf("stats while Redis is down: %+v", st)
		}
	}

	cl.redis.Restart()

	// No call to the servers: each one's subscription must come back on its
	// own.
	cl.awaitRecovery(t, a[0], b[0], "lobby")
	cl.fence(t, a[0], b[0])

	// And plain delivery works again, both ways, exactly once.
	if err := cl.a.ToRoom(ctx, "lobby", "after", 1); err != nil {
		t.Fatal(err)
	}
	expectData(t, "after", "1", a[0], b[0])
	if err := cl.b.Broadcast(ctx, "after", 2); err != nil {
		t.Fatal(err)
	}
	expectData(t, "after", "2", b[0], a[0])
	cl.fence(t, a[0], b[0])
}

// awaitRecovery polls until cross-instance delivery works both ways again:
// each round, server A emits a distinct "poll" to room (where ma is its
// member, excluded) and server B does the same (mb excluded), until each
// server has received an envelope from the other, bounded by clusterWait.
// Publishes may fail, or reach no subscriber, while the connections come
// back: such polls are lost. Then ma and mb must each have got at least one
// poll from the other server, in order, and nothing else; they are drained
// up to a fence. Nothing else may publish meanwhile.
func (cl *cluster) awaitRecovery(t *testing.T, ma, mb member, room string) {
	t.Helper()
	baseA, baseB := cl.a.Stats().Received, cl.b.Stats().Received
	deadline := time.Now().Add(clusterWait)
	var lastErr error
	for i := 0; cl.a.Stats().Received == baseA || cl.b.Stats().Received == baseB; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no cross-instance delivery both ways within %v of Redis's restart (%d rounds; received: A %d, B %d; last publish error: %v)",
				clusterWait, i, cl.a.Stats().Received-baseA, cl.b.Stats().Received-baseB, lastErr)
		}
		for _, p := range []struct {
			ts *testServer
			ex string
		}{{cl.a, ma.id}, {cl.b, mb.id}} {
			pctx, cancel := context.WithTimeout(context.Background(), time.Second)
			if err := p.ts.ToRoom(pctx, room, "poll", i, p.ex); err != nil {
				if !errors.Is(err, ErrPublish) {
					t.Fatalf("poll %d: %v", i, err)
				}
				lastErr = err
			}
			cancel()
		}
		time.Sleep(clusterPoll) // the interval of a bounded poll on a real condition
	}
	if lastErr != nil {
		t.Logf("publishes failed while Redis came back, last: %v", lastErr)
	}
	cl.drainPolls(t, ma)
	cl.drainPolls(t, mb)
}

// drainPolls reads m's polls, at least one, with increasing numbers, up to
// a fence published now, which must come next.
func (cl *cluster) drainPolls(t *testing.T, m member) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	n := cl.seq.Add(1)
	if err := cl.emit.ToClient(ctx, m.id, "fence", n); err != nil {
		t.Fatalf("publish fence: %v", err)
	}
	last, polls := -1, 0
	for {
		got := m.c.read()
		switch got.Event {
		case "fence":
			if string(got.Data) != strconv.FormatInt(n, 10) {
				t.Fatalf("client %s: fence %s, want %d", m.id, got.Data, n)
			}
			if polls == 0 {
				t.Fatalf("client %s: its server received a poll, but the client got none", m.id)
			}
			t.Logf("client %s got %d polls after the restart, the last %d", m.id, polls, last)
			return
		case "poll":
			k, err := strconv.Atoi(string(got.Data))
			if err != nil || k <= last {
				t.Fatalf("client %s: poll %s after poll %d", m.id, got.Data, last)
			}
			last, polls = k, polls+1
		default:
			t.Fatalf("client %s: got %q %s, want polls then fence %d", m.id, got.Event, got.Data, n)
		}
	}
}

// testTarget names who a test message is for, on every instance, so that a
// test can run one scenario over each kind of target.
type testTarget struct {
	Type    wire.Type
	ID      string
	Exclude []string
}

func toClient(id string) testTarget { return testTarget{Type: wire.TypeClient, ID: id} }
func toUser(id string) testTarget   { return testTarget{Type: wire.TypeUser, ID: id} }
func toRoom(room string, exclude ...string) testTarget {
	return testTarget{Type: wire.TypeRoom, ID: room, Exclude: exclude}
}
func toAll(exclude ...string) testTarget {
	return testTarget{Type: wire.TypeBroadcast, Exclude: exclude}
}

// send sends through the server's method for the target's kind.
func (tg testTarget) send(ctx context.Context, ts *testServer, event string, data any) error {
	switch tg.Type {
	case wire.TypeClient:
		return ts.ToClient(ctx, tg.ID, event, data)
	case wire.TypeUser:
		return ts.ToUser(ctx, tg.ID, event, data)
	case wire.TypeRoom:
		return ts.ToRoom(ctx, tg.ID, event, data, tg.Exclude...)
	}
	return ts.Broadcast(ctx, event, data, tg.Exclude...)
}
