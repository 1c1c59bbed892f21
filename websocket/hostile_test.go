package websocket_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/emitter"
	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/internal/wsframe"
	"github.com/echows/echows/internal/wstest"
	"github.com/echows/echows/websocket"
	"github.com/echows/echows/websocket/wire"
)

// Attacks on the findings of issue #9 that can be seen from outside the
// server, each named after its item. They use the exported API only; where
// the behaviour needs an accessor that does not exist yet, the test looks it
// up at run time (so the package still compiles) and fails saying which.

// queuedBytes is the accessor TestHostilePingFlood needs: the bytes waiting
// in a client's outbound queue, control frames included.
type queuedBytes interface{ QueuedBytes() int }

// [#9.1] A client that upgrades, never authenticates, never reads and
// floods 125-byte pings costs the server at most its BackpressureLimit plus
// a small constant, and everyone else's round trips still complete.
func TestHostilePingFlood(t *testing.T) {
	const (
		limit   = 64 << 10
		slack   = 4 << 10  // one frame over the limit, and then some
		heapCap = 16 << 20 // fallback bound on the growth of the live heap
		pings   = 400_000  // 52 MB of pings: far over any budget
		batch   = 1000
	)
	ts := startTarget(t, websocket.Config{Settings: websocket.Settings{
		BackpressureLimit: limit, WriteTimeout: time.Minute, AuthTimeout: time.Minute,
	}})
	bystander, _ := ts.login(t, "bystander")

	flooder := ts.dial(t)
	nc := flooder.NetConn().(*net.TCPConn)
	nc.SetReadBuffer(4096) // and never read
	var victim *websocket.Client
	eventually(t, "the flooder to be registered", func() bool {
		for _, c := range ts.Clients() {
			if c.State() == websocket.StateUnauthorized {
				victim = c
			}
		}
		return victim != nil
	})
	counter, hasCounter := any(victim).(queuedBytes)
	if !hasCounter {
		t.Errorf("needs API: (*websocket.Client).QueuedBytes() int, the bytes in its outbound queue; " +
			"checking the live heap instead")
	}

	one := flooder.Frame(masked(wsframe.OpPing), []byte(strings.Repeat("p", 125)))
	buf := make([]byte, 0, batch*len(one))
	for range batch {
		buf = append(buf, one...)
	}
	var written atomic.Int64
	done := make(chan error, 1)
	go func() {
		for n := 0; n < pings; n += batch {
			// A write that cannot go on for a second means TCP pushes back:
			// the server stopped reading, which is one way to hold the
			// budget. It ends the flood; it is no assertion.
			nc.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := nc.Write(buf); err != nil {
				done <- err
				return
			}
			written.Add(int64(len(buf)))
		}
		done <- nil
	}()
	t.Cleanup(func() { flooder.Close(); <-done })

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	over := func() string {
		if hasCounter {
			if q := counter.QueuedBytes(); q > limit+slack {
				return fmt.Sprintf("the flooder's queue holds %d bytes, over BackpressureLimit %d + %d", q, limit, slack)
			}
			return ""
		}
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc < base+heapCap {
			return ""
		}
		runtime.GC() // count live memory only
		runtime.ReadMemStats(&ms)
		if grown := int64(ms.HeapAlloc) - int64(base); grown > heapCap {
			return fmt.Sprintf("the live heap grew by %d MiB during the flood (budget %d KiB)", grown>>20, limit>>10)
		}
		return ""
	}
	checked := false
	for flooding := true; flooding; {
		select {
		case err := <-done:
			done <- err // for the cleanup
			flooding = false
			var ne net.Error
			if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
				t.Logf("flood ended: %v", err) // the server may close a flooder
			}
		default:
			time.Sleep(5 * time.Millisecond) // the interval of a bounded poll
		}
		if msg := over(); msg != "" {
			t.Fatalf("%s (%d bytes of pings written)", msg, written.Load())
		}
		if !checked && written.Load() > 1<<20 {
			checked = true
			for range 10 {
				bystander.RoundTrip() // during the flood
			}
		}
	}
	if msg := over(); msg != "" {
		t.Fatalf("after the flood: %s", msg)
	}
	bystander.RoundTrip()
	late, _ := ts.login(t, "late") // a new client gets in and through
	late.RoundTrip()
	t.Logf("flood: %d bytes of pings written", written.Load())
}

// [#9.5] For each client the connected hook finishes before the
// disconnected hook starts, and each runs at most once, even when the
// client leaves while a slow connected hook runs.
func TestHostileConnectedHookFinishesBeforeDisconnected(t *testing.T) {
	var (
		mu     sync.Mutex
		events []string
	)
	record := func(e string) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	clientGone := make(chan struct{})
	disconnected := make(chan struct{}, 1)
	ts := startTarget(t, websocket.Config{Hooks: websocket.Hooks{
		OnConnected: func(ctx context.Context, c *websocket.Client) error {
			record("connected-start")
			select {
			case <-clientGone:
			case <-ctx.Done():
			case <-time.After(guard):
			}
			// The work of a slow hook (presence, a database write) that goes
			// on after its client left.
			time.Sleep(100 * time.Millisecond)
			record("connected-done")
			return nil
		},
		OnDisconnected: func(ctx context.Context, c *websocket.Client) {
			record("disconnected")
			disconnected <- struct{}{}
		},
	}})
	r := ts.dial(t)
	r.Authenticate("leaver")
	r.Close() // right after connected
	close(clientGone)
	within(t, disconnected, "the disconnected hook")
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil { // every hook has returned
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"connected-start", "connected-done", "disconnected"}; !slices.Equal(events, want) {
		t.Fatalf("hooks ran as %q, want %q", events, want)
	}
}

// [#9.5] A client that leaves while it is being authenticated gets no
// connected hook, and one disconnected hook.
func TestHostileNoConnectedHookForAClientThatLeft(t *testing.T) {
	var connected, disconnected atomic.Int32
	authStarted := make(chan struct{})
	ts := startTarget(t, websocket.Config{Hooks: websocket.Hooks{
		Authenticate: func(ctx context.Context, req websocket.AuthRequest) (*websocket.Identity, error) {
			close(authStarted)
			// The client leaves (or its auth window ends), and the hook
			// succeeds anyway, as one that finished its work just then does.
			<-ctx.Done()
			return &websocket.Identity{UserID: "late"}, nil
		},
		OnConnected:    func(context.Context, *websocket.Client) error { connected.Add(1); return nil },
		OnDisconnected: func(context.Context, *websocket.Client) { disconnected.Add(1) },
	}})
	r := ts.dial(t)
	r.SendMessage(wire.EventAuthenticate, map[string]string{"token": "late"})
	within(t, authStarted, "the authenticate hook")
	r.Close()
	eventually(t, "the disconnected hook", func() bool { return disconnected.Load() == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), guard)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if c, d := connected.Load(), disconnected.Load(); c != 0 || d != 1 {
		t.Fatalf("connected hook ran %d times, disconnected %d, want 0 and 1", c, d)
	}
}

// roomNames returns n distinct room names.
func roomNames(n int) []string {
	rooms := make([]string, n)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("room-%05d", i)
	}
	return rooms
}

// [#9.6] A join naming 20,000 rooms is handled (the connection stays, the
// client goes on being served) and bounded: the ValidateRooms hook sees at
// most MaxRoomsPerJoin of them, the client ends in at most
// MaxRoomsPerClient rooms, and a leave of 20,000 is handled too.
func TestHostileJoinOfTwentyThousandRooms(t *testing.T) {
	var mu sync.Mutex
	var asked []int
	ts := startTarget(t, websocket.Config{
		Settings: websocket.Settings{MaxPayloadLength: 1 << 20},
		Hooks: websocket.Hooks{ValidateRooms: func(_ context.Context, _ *websocket.Client, rooms []string) ([]string, error) {
			mu.Lock()
			asked = append(asked, len(rooms))
			mu.Unlock()
			return rooms, nil
		}},
	})
	cfg := ts.Config()
	r, id := ts.login(t, "joiner")
	// A guard, no assertion: a join that is quadratic in the rooms named
	// takes tens of seconds under -race; the test then fails on what it
	// checks, not on a timeout.
	r.SetTimeout(5 * time.Minute)
	rooms := roomNames(20_000)
	r.SendMessage(wire.EventJoin, map[string]any{"rooms": rooms})
	r.RoundTrip()
	c, ok := ts.Client(id)
	if !ok {
		t.Fatal("the joiner was disconnected")
	}
	mu.Lock()
	if len(asked) != 1 || asked[0] > cfg.MaxRoomsPerJoin {
		t.Errorf("ValidateRooms asked with %v rooms, want one call with at most MaxRoomsPerJoin (%d)", asked, cfg.MaxRoomsPerJoin)
	}
	mu.Unlock()
	if n := len(c.Rooms()); n > cfg.MaxRoomsPerClient {
		t.Errorf("client in %d rooms, over MaxRoomsPerClient %d", n, cfg.MaxRoomsPerClient)
	}
	r.SendMessage(wire.EventLeave, map[string]any{"rooms": rooms})
	r.RoundTrip()
	for _, room := range c.Rooms() {
		if strings.HasPrefix(room, "room-") {
			t.Fatalf("still in %q after leaving every room", room)
		}
	}
}

// [#9.6] With MaxRoomsPerJoin raised, MaxRoomsPerClient still bounds a
// client: joins past it are refused as the hook refuses rooms, JoinRoom
// fails with ErrTooManyRooms, and leaving makes room again.
func TestHostileRoomsPerClientCap(t *testing.T) {
	const perClient = 300
	ts := startTarget(t, websocket.Config{Settings: websocket.Settings{
		MaxPayloadLength: 1 << 20, MaxRoomsPerJoin: 5000, MaxRoomsPerClient: perClient,
	}})
	r, id := ts.login(t, "joiner")
	c, _ := ts.Client(id)
	r.SendMessage(wire.EventJoin, map[string]any{"rooms": roomNames(2000)})
	r.RoundTrip()
	if n := len(c.Rooms()); n != perClient {
		t.Fatalf("client in %d rooms, want MaxRoomsPerClient (%d): own room, defaults, then the first joined", n, perClient)
	}
	if got := ts.RoomClients("room-00000"); len(got) != 1 {
		t.Fatal("the first room asked for was not joined")
	}
	if err := ts.JoinRoom(id, "one-more"); !errors.Is(err, websocket.ErrTooManyRooms) {
		t.Fatalf("JoinRoom past the cap: %v, want ErrTooManyRooms", err)
	}
	r.SendMessage(wire.EventLeave, map[string]any{"rooms": []string{"room-00000"}})
	r.RoundTrip()
	if err := ts.JoinRoom(id, "one-more"); err != nil {
		t.Fatalf("JoinRoom after a leave: %v", err)
	}
}

// [#9.7] Disconnect and Client.Close refuse what RFC 6455 forbids on the
// wire, and send nothing: the client is still connected and served.
func TestHostileInvalidCloseIsRefused(t *testing.T) {
	ts := startTarget(t, websocket.Config{})
	r, id := ts.login(t, "victim")
	c, _ := ts.Client(id)
	tests := []struct {
		code   int
		reason string
	}{
		{999, ""}, {1004, ""}, {1005, ""}, {1006, ""}, {1015, ""}, {1016, ""}, {2999, ""}, {5000, ""},
		{70000, ""}, {-1, ""}, {0, ""},
		{4000, strings.Repeat("r", 124)},
		{4000, "bad \xff reason"},
	}
	for _, tt := range tests {
		if err := ts.Disconnect(id, tt.code, tt.reason); !errors.Is(err, websocket.ErrInvalidClose) {
			t.Errorf("Disconnect(%d, %d-byte reason): %v, want ErrInvalidClose", tt.code, len(tt.reason), err)
		}
		if err := c.Close(tt.code, tt.reason); !errors.Is(err, websocket.ErrInvalidClose) {
			t.Errorf("Close(%d, %d-byte reason): %v, want ErrInvalidClose", tt.code, len(tt.reason), err)
		}
	}
	r.RoundTrip() // nothing was sent, the client is still served

	reason := strings.Repeat("é", 61) + "!" // 123 bytes, the longest allowed
	if err := ts.Disconnect(id, 4000, reason); err != nil {
		t.Fatalf("Disconnect(4000, 123-byte reason): %v", err)
	}
	if _, got := r.ExpectClose(4000); got != reason {
		t.Fatalf("close reason %q, want %q", got, reason)
	}
}

// [#9.13] A client cannot subscribe itself to another client's private
// messages: a room named like a client id is refused before the
// ValidateRooms hook (client joins) and by JoinRoom, and what two instances
// send to a client's id reaches that client only.
func TestHostileClientIDRoomIsPrivate(t *testing.T) {
	rs := redistest.Start(t)
	app := rs.Client(t)
	em := emitter.New(app)
	t.Cleanup(func() { em.Close() })
	var mu sync.Mutex
	var seen []string
	validate := func(_ context.Context, _ *websocket.Client, rooms []string) ([]string, error) {
		mu.Lock()
		seen = append(seen, rooms...)
		mu.Unlock()
		return rooms, nil // a hook that allows any name, as public rooms do
	}
	a := startRedisTarget(t, app, websocket.Config{Hooks: websocket.Hooks{ValidateRooms: validate}})
	b := startRedisTarget(t, app, websocket.Config{Hooks: websocket.Hooks{ValidateRooms: validate}})
	alice, aliceID := a.login(t, "alice")
	bob, bobID := b.login(t, "bob")
	eve, eveID := a.login(t, "eve") // on alice's own instance

	for _, name := range []string{aliceID, strings.ToUpper(aliceID)} {
		if err := b.JoinRoom(bobID, name); !errors.Is(err, websocket.ErrInvalidRoom) {
			t.Errorf("JoinRoom(bob, %q): %v, want ErrInvalidRoom", name, err)
		}
		if err := a.JoinRoom(eveID, name); !errors.Is(err, websocket.ErrInvalidRoom) {
			t.Errorf("JoinRoom(eve, %q): %v, want ErrInvalidRoom", name, err)
		}
	}
	for _, r := range []*wstest.Raw{bob, eve} {
		r.SendMessage(wire.EventJoin, map[string]any{"rooms": []string{aliceID, strings.ToUpper(aliceID), "public"}})
		r.RoundTrip()
	}
	mu.Lock()
	if slices.ContainsFunc(seen, func(r string) bool { return strings.EqualFold(r, aliceID) }) {
		t.Errorf("ValidateRooms was asked for alice's id: %q", seen)
	}
	mu.Unlock()

	ctx := context.Background()
	sends := []func() error{
		func() error { return b.Send(ctx, aliceID, "private", 1) },   // B has no alice: published as a room
		func() error { return b.ToRoom(ctx, aliceID, "private", 2) }, // delivered on B, published
		func() error { return a.ToRoom(ctx, aliceID, "private", 3) },
		func() error { return em.ToRoom(ctx, aliceID, "private", 4) },
	}
	for i, send := range sends {
		if err := send(); err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
		m := alice.Expect("private")
		if string(m.Data) != fmt.Sprint(i+1) {
			t.Fatalf("alice got %s, want %d", m.Data, i+1)
		}
	}
	// A fence through Redis, sent after everything above: whatever bob or
	// eve were sent would come before it.
	for _, r := range []struct {
		raw *wstest.Raw
		id  string
	}{{bob, bobID}, {eve, eveID}} {
		if err := em.ToClient(ctx, r.id, "fence", r.id); err != nil {
			t.Fatal(err)
		}
		r.raw.Expect("fence")
	}
}

// startRedisTarget starts a target on its own RedisBroker over app.
func startRedisTarget(t *testing.T, app redis.UniversalClient, cfg websocket.Config) *target {
	t.Helper()
	broker, err := websocket.NewRedisBroker(app, websocket.RedisBrokerOptions{Logger: discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { broker.Close() }) // after the server's Shutdown (cleanups run last first)
	cfg.Broker = broker
	return startTarget(t, cfg)
}

// [#9.4] No invalid UTF-8 text frame ever leaves the server, whatever Redis
// hands it: an envelope whose data holds raw invalid bytes is dropped or
// repaired, never written as is (every frame the raw client reads is
// checked), and the client stays connected.
func TestHostileInvalidUTF8FromRedis(t *testing.T) {
	rs := redistest.Start(t)
	app := rs.Client(t)
	ts := startRedisTarget(t, app, websocket.Config{})
	r, id := ts.login(t, "reader")
	ctx := context.Background()
	envelopes := []string{
		"{\"serverId\":\"intruder\",\"type\":\"broadcast\",\"event\":\"evil\",\"data\":\"\xff\xfe\"}",
		"{\"serverId\":\"intruder\",\"type\":\"client\",\"target\":\"" + id + "\",\"event\":\"evil\",\"data\":{\"k\xc0\xaf\":1}}",
		"{\"serverId\":\"intruder\",\"type\":\"room\",\"target\":\"ws-default\",\"event\":\"evil\",\"data\":[\"\xed\xa0\x80\"]}",
		"{\"serverId\":\"intruder\",\"type\":\"user\",\"target\":\"reader\",\"event\":\"ev\xffil\",\"data\":1}",
	}
	for _, env := range envelopes {
		channel := wire.ChannelBroadcast
		switch {
		case strings.Contains(env, `"type":"client"`):
			channel = wire.Channel(wire.TypeClient, id)
		case strings.Contains(env, `"type":"room"`):
			channel = wire.Channel(wire.TypeRoom, "ws-default")
		case strings.Contains(env, `"type":"user"`):
			channel = wire.Channel(wire.TypeUser, "reader")
		}
		if err := app.Publish(ctx, channel, env).Err(); err != nil {
			t.Fatal(err)
		}
	}
	fence, _ := json.Marshal(wire.Envelope{ServerID: "intruder", Type: wire.TypeClient, Target: id, Event: "fence", Data: json.RawMessage("1")})
	if err := app.Publish(ctx, wire.Channel(wire.TypeClient, id), fence).Err(); err != nil {
		t.Fatal(err)
	}
	for {
		m := r.NextEvent() // fails the test on an invalid text frame
		if m.Event == "fence" {
			break
		}
		t.Logf("delivered (valid): %s %s", m.Event, m.Data)
	}
	r.RoundTrip()
}

// [#9.4] Nor whatever the app hands it: an OutboundTransformer that returns
// data with invalid UTF-8 does not put an invalid frame on the wire.
func TestHostileInvalidUTF8FromTheTransformer(t *testing.T) {
	ts := startTarget(t, websocket.Config{Hooks: websocket.Hooks{
		TransformOutbound: func(_ context.Context, _ *websocket.Client, msg websocket.Message) (*websocket.Message, error) {
			if msg.Event == "fence" || msg.Event == wire.EventError {
				return &msg, nil
			}
			return &websocket.Message{Event: "encrypted", Data: json.RawMessage("\"\xff\xfe\"")}, nil
		},
	}})
	r, id := ts.login(t, "encrypted")
	if err := ts.EnableClientEncryption(id); err != nil {
		t.Fatal(err)
	}
	if err := ts.Local().ToClient(id, "secret", "plain"); err != nil {
		t.Fatal(err)
	}
	if err := ts.Local().ToClient(id, "fence", 1); err != nil {
		t.Fatal(err)
	}
	for {
		if m := r.NextEvent(); m.Event == "fence" {
			break
		}
	}
	r.RoundTrip()
}

// [#9 limits] Before it authenticates a connection may send at most
// MaxAuthPayloadLength bytes in a message (1009 past it), however large
// MaxPayloadLength is.
func TestHostileAuthPayloadLimit(t *testing.T) {
	ts := startTarget(t, websocket.Config{Settings: websocket.Settings{MaxAuthPayloadLength: 1024}})
	ok := ts.dial(t)
	msg := echoFrame(t, 1024)
	ok.Send(wsframe.OpText, msg)
	ok.ExpectError(wire.ErrTextNotAuthenticated) // read, and refused as unauthenticated
	big := ts.dial(t)
	big.Send(wsframe.OpText, echoFrame(t, 1025))
	big.ExpectClose(wsframe.CloseTooBig)
	authed, _ := ts.login(t, "authed") // after authentication MaxPayloadLength holds
	msg = echoFrame(t, 100_000)
	authed.Send(wsframe.OpText, msg)
	expectEcho(t, authed, msg)
}

// [#9 limits] MaxConnections refuses upgrades past it with HTTP 503, and
// lets one in again once a connection ended.
func TestHostileMaxConnections(t *testing.T) {
	ts := startTarget(t, websocket.Config{Settings: websocket.Settings{MaxConnections: 2}})
	first := ts.dial(t)
	ts.dial(t)
	if _, status, err := wstest.TryDialRaw(t, ts.url, nil); err == nil || status != http.StatusServiceUnavailable {
		t.Fatalf("third connection: status %d, err %v; want 503", status, err)
	}
	// A handshake returns before the server indexes the client: wait for
	// both, or a count below 2 could be the first alone, still counted
	// against MaxConnections (which is released before the index is left).
	eventually(t, "both connections to be indexed", func() bool { return ts.Stats().Clients == 2 })
	first.Close()
	eventually(t, "the first connection to be gone", func() bool { return ts.Stats().Clients < 2 })
	ts.dial(t).RoundTrip()
}

// [#9 limits] MaxConnectionsPerUser refuses an authentication past it with
// the error "Too many connections" and close 1008.
func TestHostileMaxConnectionsPerUser(t *testing.T) {
	ts := startTarget(t, websocket.Config{Settings: websocket.Settings{MaxConnectionsPerUser: 2}})
	ts.login(t, "many")
	ts.login(t, "many")
	r := ts.dial(t)
	r.SendMessage(wire.EventAuthenticate, map[string]string{"token": "many"})
	r.ExpectError("Too many connections")
	r.ExpectClose(1008)
	ts.login(t, "other") // another user is not affected
}

// A peer over its MessageRate that fills the kernel's buffers and leaves is
// dropped when the server next checks its rate: past one more burst, what
// it sent is not read, at its rate, for minutes after it left (3,000 frames
// at 10 a second would take 5 minutes).
func TestHostilePeerThatLeavesOverItsRate(t *testing.T) {
	gone := make(chan string, 1)
	ts := startTarget(t, websocket.Config{
		Settings: websocket.Settings{MessageRate: 10, MessageBurst: 2},
		Hooks: websocket.Hooks{OnDisconnected: func(_ context.Context, c *websocket.Client) {
			gone <- c.ID()
		}},
	})
	flooder, id := ts.login(t, "flooder")
	one := flooder.Frame(masked(wsframe.OpText), []byte(`{"event":"heartbeat"}`))
	flood := make([]byte, 0, 3000*len(one))
	for range 3000 {
		flood = append(flood, one...)
	}
	flooder.WriteRaw(flood)
	flooder.Close()
	if got := within(t, gone, "the flooder's disconnection"); got != id {
		t.Fatalf("disconnected %s, want the flooder %s", got, id)
	}
	if n := ts.Stats().Limits.PeerGone; n != 1 {
		t.Fatalf("Stats().Limits.PeerGone = %d, want 1", n)
	}
}

// A client that sends a few frames past its MessageBurst, a close frame and
// leaves (FIN) is served in full: once it has left, the server reads one
// more burst at once instead of dropping what it sent as a flooder's. Here
// the authenticate frame and the first message spend the burst of 2, the
// second message finds the peer gone, and the third and the close frame
// are the burst read after.
func TestHostileBurstThenCloseIsServedInFull(t *testing.T) {
	ts := startTarget(t, websocket.Config{Settings: websocket.Settings{MessageRate: 10, MessageBurst: 2}})
	c, _ := ts.login(t, "bursty")
	const n = 3
	var out []byte
	for i := range n {
		out = append(out, c.Frame(masked(wsframe.OpText), []byte(fmt.Sprintf(`{"event":"m","data":%d}`, i)))...)
	}
	out = append(out, c.Frame(masked(wsframe.OpClose), []byte{0x03, 0xe8})...) // 1000
	c.WriteRaw(out)
	c.CloseWrite()
	for i := range n {
		if m := c.NextEvent(); m.Event != "m" || string(m.Data) != fmt.Sprint(i) {
			t.Fatalf("message %d: got %s %s", i, m.Event, m.Data)
		}
	}
	c.ExpectClose(1000)
	if n := ts.Stats().Limits.PeerGone; n != 0 {
		t.Fatalf("Stats().Limits.PeerGone = %d for a client that left within its budget", n)
	}
}
