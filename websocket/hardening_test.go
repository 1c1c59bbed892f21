package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/websocket/wire"
)

// Regression tests for the hardening issue (#9): each finding the review
// reproduced has a test here or in the raw-socket torture suite.

// Two corks that overlap, one always open: what the first held is written
// when the first ends, not when no cork is open any more.
func TestCorkReleasesWhatItHeldWhenItEnds(t *testing.T) {
	ts := startServer(t, Config{})
	m := ts.members(t, "a")
	var wg sync.WaitGroup
	defer wg.Wait()
	cork := func(open, end chan struct{}) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts.Cork(func() { close(open); <-end })
		}()
		<-open
	}
	aOpen, aEnd, bOpen, bEnd := make(chan struct{}), make(chan struct{}), make(chan struct{}), make(chan struct{})
	defer close(bEnd)
	cork(aOpen, aEnd)
	if err := ts.Local().ToClient(m[0].id, "held", nil); err != nil {
		t.Fatal(err)
	}
	cork(bOpen, bEnd)
	close(aEnd)
	m[0].c.expect("held") // while b is still open
}

// A slow transformer does not spend the write deadline: with WriteTimeout
// 300 ms, ten 50 ms transforms still reach a reading client.
func TestSlowTransformDoesNotSpendTheWriteDeadline(t *testing.T) {
	slow := func(ctx context.Context, c *Client, msg Message) (*Message, error) {
		select {
		case <-time.After(50 * time.Millisecond): // the work a transform does
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return sealing(ctx, c, msg)
	}
	ts := startServer(t, Config{Settings: Settings{WriteTimeout: 300 * time.Millisecond}, Hooks: Hooks{TransformOutbound: slow}})
	m := ts.members(t, "a")
	ts.EnableClientEncryption(m[0].id)
	ts.Cork(func() {
		for i := range 10 {
			ts.Local().ToClient(m[0].id, "n", i)
		}
	})
	for range 10 {
		m[0].c.expect(wire.EventEncrypted)
	}
}

// A transform that hangs for one client, ignoring its context, holds up the
// other encrypted clients at most WriteTimeout, even when
// EncryptedBatchLimit lets one transform run at a time.
func TestHungTransformDoesNotStallOthers(t *testing.T) {
	release := make(chan struct{})
	var hungID atomic.Value
	hung := func(ctx context.Context, c *Client, msg Message) (*Message, error) {
		if id, _ := hungID.Load().(string); id == c.ID() {
			<-release // ignores ctx
		}
		return sealing(ctx, c, msg)
	}
	ts := startServer(t, Config{
		Settings: Settings{WriteTimeout: 100 * time.Millisecond, EncryptedBatchLimit: 1},
		Hooks:    Hooks{TransformOutbound: hung},
	})
	defer close(release)
	m := ts.members(t, "hung", "other")
	hungID.Store(m[0].id)
	for _, x := range m {
		ts.EnableClientEncryption(x.id)
	}
	ts.Local().ToRoom(wire.RoomDefault, "news", 1)
	m[1].c.expect(wire.EventEncrypted) // while the hung transform still runs
}

// Events are never empty: every send refuses one, and Send ignores it as
// upstream's send does.
func TestEmptyEventIsRefused(t *testing.T) {
	broker := NewMemoryBroker()
	ts := startServer(t, Config{Broker: broker})
	rec := record(t, broker)
	m := ts.members(t, "a")
	ctx := context.Background()
	cl, _ := ts.Client(m[0].id)
	for name, err := range map[string]error{
		"ToClient":        ts.ToClient(ctx, m[0].id, "", 1),
		"ToUser":          ts.ToUser(ctx, "a", "", 1),
		"ToRoom":          ts.ToRoom(ctx, wire.RoomDefault, "", 1),
		"Broadcast":       ts.Broadcast(ctx, "", 1),
		"Local.ToClient":  ts.Local().ToClient(m[0].id, "", 1),
		"Local.ToUser":    ts.Local().ToUser("a", "", 1),
		"Local.ToRoom":    ts.Local().ToRoom(wire.RoomDefault, "", 1),
		"Local.Broadcast": ts.Local().Broadcast("", 1),
		"Client.Send":     cl.Send("", 1),
	} {
		if !errors.Is(err, ErrInvalidEvent) {
			t.Errorf("%s with an empty event: %v, want ErrInvalidEvent", name, err)
		}
	}
	if err := ts.Send(ctx, "", "", 1); err != nil {
		t.Errorf("Send with an empty event: %v, want a silent no-op", err)
	}
	if n := rec.count(); n != 0 {
		t.Fatalf("%d envelopes published", n)
	}
	ts.expectNothing(t, m[0].c, m[0].id)
}

// blockingHandler is a slog handler whose WARN records wait until released:
// a log sink that stalls.
type blockingHandler struct {
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (h *blockingHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h *blockingHandler) Handle(context.Context, slog.Record) error {
	h.once.Do(func() { close(h.entered) })
	<-h.release
	return nil
}
func (h *blockingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *blockingHandler) WithGroup(string) slog.Handler      { return h }

// A log sink that stalls while a fan-out logs a backpressured client does
// not stall anyone else's authentication: nothing is logged under the
// index lock.
func TestStalledLogDoesNotBlockOthers(t *testing.T) {
	h := &blockingHandler{entered: make(chan struct{}), release: make(chan struct{})}
	ts := startServer(t, Config{Settings: Settings{BackpressureLimit: 1}, Logger: slog.New(h)})
	defer close(h.release)
	stuck := ts.dial(t)
	stuck.authenticate("stuck")
	stuck.conn.NetConn().(*net.TCPConn).SetReadBuffer(4096) // and never reads again
	done := make(chan struct{})
	go func() { // floods until the client is backpressured and the warning stalls
		defer close(done)
		payload := strings.Repeat("x", 16<<10)
		for range 10000 {
			select {
			case <-h.entered:
				return
			default:
			}
			ts.Local().Broadcast("big", payload)
		}
	}()
	<-h.entered
	other := ts.dial(t)
	other.authenticate("other") // needs the index's write lock
	h.release <- struct{}{}
	<-done
}

// slowBroker's subscriptions are confirmed only when the test says so.
type slowBroker struct {
	*MemoryBroker
	confirm chan struct{}
}

func (b slowBroker) Subscribe(ctx context.Context, h func(string, []byte)) (Subscription, error) {
	select {
	case <-b.confirm:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return b.MemoryBroker.Subscribe(ctx, h)
}

// While Configure waits for a slow broker, upgrades go on.
func TestConfigureDoesNotHoldUpUpgrades(t *testing.T) {
	b := slowBroker{NewMemoryBroker(), make(chan struct{})}
	s, err := New(Config{Hooks: Hooks{Authenticate: testAuth}, Broker: b, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	configured := make(chan error, 1)
	go func() { configured <- s.Configure(context.Background()) }()
	ts := serve(t, s, httptest.NewServer)
	ts.dial(t).authenticate("a") // while Configure waits
	close(b.confirm)
	if err := <-configured; err != nil {
		t.Fatal(err)
	}
}

// Shutdown during a Configure that waits for the broker returns at once,
// and the Configure then fails with ErrServerClosed.
func TestShutdownDuringConfigure(t *testing.T) {
	b := slowBroker{NewMemoryBroker(), make(chan struct{})}
	s, err := New(Config{Hooks: Hooks{Authenticate: testAuth}, Broker: b, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	configured := make(chan error, 1)
	go func() { configured <- s.Configure(context.Background()) }()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	close(b.confirm)
	if err := <-configured; !errors.Is(err, ErrServerClosed) && !errors.Is(err, ErrAlreadyConfigured) {
		t.Fatalf("Configure after Shutdown: %v", err)
	}
}

// Config returns copies: writing to them changes nothing in the server.
func TestConfigReturnsCopies(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{AllowedOrigins: []string{"https://app.example"}, DefaultRooms: []string{"lobby"}}})
	cfg := ts.Config()
	cfg.AllowedOrigins[0] = "*"
	cfg.DefaultRooms[0] = "hijacked"
	h := http.Header{"Origin": {"https://evil.example"}}
	if conn, _, err := gws.DefaultDialer.Dial(ts.url, h); err == nil {
		conn.Close()
		t.Fatal("a foreign origin got in after Config().AllowedOrigins was written")
	}
	if got := ts.Config().DefaultRooms; got[0] != "lobby" {
		t.Fatalf("DefaultRooms %v", got)
	}
}

// A server on the in-process broker does not hear its own publishes: it
// delivered locally already. Other subscribers of the broker do.
func TestMemoryBrokerSkipsThePublisher(t *testing.T) {
	broker := NewMemoryBroker()
	ts := startServer(t, Config{Broker: broker})
	rec := record(t, broker)
	own := ts.memSub.Load()
	if own == nil {
		t.Fatal("the server's subscription is not the memory broker's")
	}
	var heard atomic.Int32
	own.mu.Lock()
	inner := own.handler
	own.handler = func(ch string, p []byte) { heard.Add(1); inner(ch, p) }
	own.mu.Unlock()

	m := ts.members(t, "a")
	if err := ts.ToRoom(context.Background(), wire.RoomDefault, "news", 1); err != nil {
		t.Fatal(err)
	}
	m[0].c.expect("news")
	if rec.count() != 1 {
		t.Fatalf("other subscribers got %d envelopes, want 1", rec.count())
	}
	if n := heard.Load(); n != 0 {
		t.Fatalf("the publishing server heard its own envelope %d times", n)
	}
}

func TestMaxConnections(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{MaxConnections: 2}})
	a := ts.dial(t)
	ts.dial(t)
	_, resp, err := gws.DefaultDialer.Dial(ts.url, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third connection: %v (%v), want 503", err, resp)
	}
	if got := ts.Stats().Refused; got != 1 {
		t.Fatalf("Refused %d", got)
	}
	a.conn.Close()
	// What MaxConnections counts, not Stats().Clients: the index may not
	// hold the second client yet when its handshake has returned, so a
	// count of 1 there could still be the first.
	waitFor(t, "the first client to leave", func() bool { return ts.conns.Load() == 1 })
	ts.dial(t).roundTrip() // room again
}

func TestMaxConnectionsPerUser(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{MaxConnectionsPerUser: 2}})
	ts.members(t, "u", "u", "other")
	third := ts.dial(t)
	third.send(wire.EventAuthenticate, map[string]any{"token": "u"})
	third.expectError(wire.ErrTextTooManyConnections)
	third.expectClose(wire.ClosePolicy, wire.ReasonTooManyConns)
	if got := len(ts.UserClients("u")); got != 2 {
		t.Fatalf("user has %d clients", got)
	}
	ts.members(t, "v") // others are not affected
}

func TestMaxRoomsPerClientAndPerJoin(t *testing.T) {
	ts := startServer(t, Config{
		Settings: Settings{DefaultRooms: []string{}, MaxRoomsPerClient: 3, MaxRoomsPerJoin: 4},
		Hooks:    Hooks{ValidateRooms: allowAllRooms},
	})
	m := ts.members(t, "a")
	// five rooms named, four considered, two joined beside the own-id room
	m[0].c.send(wire.EventJoin, map[string]any{"rooms": []string{"r1", "r2", "r3", "r4", "r5"}})
	m[0].c.roundTrip()
	cl, _ := ts.Client(m[0].id)
	if got := len(cl.Rooms()); got != 3 {
		t.Fatalf("in %d rooms (%v), want 3", got, cl.Rooms())
	}
	if err := ts.JoinRoom(m[0].id, "r9"); !errors.Is(err, ErrTooManyRooms) {
		t.Fatalf("JoinRoom past the cap: %v", err)
	}
	if err := ts.JoinRoom(m[0].id, "r1"); err != nil {
		t.Fatalf("JoinRoom of a room it is in: %v", err)
	}
	ts.LeaveRoom(m[0].id, "r1")
	if err := ts.JoinRoom(m[0].id, "r9"); err != nil {
		t.Fatalf("JoinRoom after a leave: %v", err)
	}
}

// A join naming many rooms, duplicates and invalid names among them, is
// handled (linearly) and keeps the valid ones in order, once.
func TestSanitizeRooms(t *testing.T) {
	in := []string{"a", "", "b", "a", "ws:x", "c", strings.Repeat("r", MaxRoomLength+1), "0b8e7c52-6a4f-4d1e-9b3a-2f5c8d7e6a10", "d"}
	got := sanitizeRooms(append([]string(nil), in...), 100)
	if strings.Join(got, ",") != "a,b,c,d" {
		t.Fatalf("sanitizeRooms = %q", got)
	}
	if got := sanitizeRooms([]string{"a", "b", "c"}, 2); len(got) != 2 {
		t.Fatalf("limit: %q", got)
	}
	many := make([]string, 100000)
	for i := range many {
		many[i] = "room-" + strings.Repeat("x", i%7) + string(rune('a'+i%26))
	}
	if got := sanitizeRooms(many, len(many)); len(got) != 7*26 {
		t.Fatalf("%d distinct rooms", len(got))
	}
}

// A peer over MessageRate is slowed, not dropped: every frame is answered.
func TestMessageRateSlowsAPeer(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{MessageRate: 50, MessageBurst: 2}})
	c := ts.dial(t)
	for range 5 {
		c.send("custom", nil)
	}
	for range 5 {
		c.expectError(wire.ErrTextNotAuthenticated)
	}
	if ts.Stats().Throttled == 0 {
		t.Fatal("five frames over a burst of two were not throttled")
	}
}

// A peer over ReadRate is slowed, not dropped.
func TestReadRateSlowsAPeer(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{ReadRate: 4096, MaxPayloadLength: 1024, MaxAuthPayloadLength: 1024}})
	c := ts.dial(t)
	big := `{"event":"custom","data":"` + strings.Repeat("x", 900) + `"}`
	for range 4 {
		c.sendRaw(big)
	}
	for range 4 {
		c.expectError(wire.ErrTextNotAuthenticated)
	}
	if ts.Stats().Throttled == 0 {
		t.Fatal("3.6 KiB over a 2 KiB burst was not throttled")
	}
}

// Before authentication a message may not exceed MaxAuthPayloadLength;
// after, MaxPayloadLength applies.
func TestMaxAuthPayloadLength(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{MaxAuthPayloadLength: 128}})
	frame := `{"event":"heartbeat","data":"` + strings.Repeat("a", 200) + `"}`
	authed := ts.dial(t)
	authed.authenticate("a")
	authed.sendRaw(frame)
	authed.roundTrip()

	c := ts.dial(t)
	c.sendRaw(frame)
	c.expectClose(wire.CloseMessageTooBig, wire.ReasonMessageTooBig)
}

// A client that pings without end and never reads costs one pending pong,
// not a queue of them; others are served meanwhile.
func TestPingFloodHoldsOnePong(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{MessageRate: 1e9, MessageBurst: 1 << 30, ReadRate: 1 << 30}})
	flooder := ts.dial(t) // reads nothing after connected
	id := flooder.authenticate("flooder").ID
	cl, _ := ts.Client(id)
	cl.raw.(*net.TCPConn).SetWriteBuffer(4096)
	// Fill the socket with data (within the budget) so that the server's
	// writer waits for the peer: from then on nothing queued leaves.
	for range 64 {
		ts.Local().ToClient(id, "fill", strings.Repeat("x", 8<<10))
	}
	queued := func() (int, writeState) {
		cl.out.mu.Lock()
		defer cl.out.mu.Unlock()
		return cl.out.bytes, cl.out.state
	}
	waitFor(t, "the flooder's socket to fill", func() bool { _, st := queued(); return st == stateWriting })
	base, _ := queued()

	ping, most := make([]byte, 125), 0
	for i := range 20000 {
		if err := flooder.conn.WriteControl(gws.PingMessage, ping, time.Now().Add(readTimeout)); err != nil {
			t.Fatalf("ping %d: %v", i, err)
		}
		if i%10 == 0 {
			n, _ := queued()
			most = max(most, n)
		}
	}
	// the server has read every ping once it has read a heartbeat sent after
	before := cl.LastActivity()
	flooder.send(wire.EventHeartbeat, nil)
	waitFor(t, "the flood to be read", func() bool { return cl.LastActivity().After(before) })
	other := ts.dial(t)
	other.authenticate("other") // others are served meanwhile
	n, _ := queued()
	// At most one pong pending and one in the batch the writer is writing
	// (while the peer's window still opens, the writer takes new batches),
	// and the server's own ping.
	const pong = 2 + 125
	if most = max(most, n); most > base+2*pong+len(pingFrame) {
		t.Fatalf("the queue grew from %d to %d bytes under the ping flood", base, most)
	}
}

// The client-id room is its owner's alone: it cannot be joined, by a client
// or by JoinRoom.
func TestClientIDRoomsAreReserved(t *testing.T) {
	var asked atomic.Int32
	validate := func(_ context.Context, _ *Client, rooms []string) ([]string, error) {
		asked.Add(int32(len(rooms)))
		return rooms, nil
	}
	ts := startServer(t, Config{Hooks: Hooks{ValidateRooms: validate}})
	m := ts.members(t, "victim", "spy")
	m[1].c.send(wire.EventJoin, map[string]any{"rooms": []string{m[0].id, strings.ToUpper(m[0].id)}})
	m[1].c.roundTrip()
	if asked.Load() != 0 {
		t.Fatal("the hook was asked about a client-id room")
	}
	if err := ts.JoinRoom(m[1].id, m[0].id); !errors.Is(err, ErrInvalidRoom) {
		t.Fatalf("JoinRoom of a client id: %v", err)
	}
	ts.Local().ToRoom(m[0].id, "private", 1)
	m[0].c.expect("private")
	ts.expectNothing(t, m[1].c, m[1].id)
}

func TestCloseCodesAreChecked(t *testing.T) {
	ts := startServer(t, Config{})
	m := ts.members(t, "a")
	for _, tc := range []struct {
		code   int
		reason string
	}{
		{999, ""}, {1004, ""}, {1005, ""}, {1006, ""}, {1015, ""}, {1016, ""}, {2999, ""}, {5000, ""}, {70000, ""},
		{4000, strings.Repeat("r", 124)}, {4000, "bad \xff"},
	} {
		if err := ts.Disconnect(m[0].id, tc.code, tc.reason); !errors.Is(err, ErrInvalidClose) {
			t.Errorf("Disconnect(%d, %q): %v, want ErrInvalidClose", tc.code, tc.reason, err)
		}
	}
	m[0].c.roundTrip() // still open: nothing was sent
	if err := ts.Disconnect(m[0].id, 4000, strings.Repeat("r", 123)); err != nil {
		t.Fatal(err)
	}
	m[0].c.expectClose(4000, strings.Repeat("r", 123))
}

// noJitter is a bucket's jitter of 0: the refill is exactly one quantum's.
func noJitter() float64 { return 0 }

func TestBucket(t *testing.T) {
	var b bucket
	sec := int64(time.Second)
	if d := b.take(sec, 2, 10, 2, noJitter); d != 0 {
		t.Fatalf("a full bucket made the taker wait %v", d)
	}
	// one token of debt at 10/s, then a quantum's refill (1 token): 200 ms
	if d := b.take(sec, 1, 10, 2, noJitter); d != 200*time.Millisecond {
		t.Fatalf("one token of debt at 10/s: wait %v", d)
	}
	// the refill, jitter included, is bounded by the burst: 1 token of debt,
	// refill 2 at 1000/s
	var fast bucket
	fast.take(sec, 2, 1000, 2, noJitter)
	if d := fast.take(sec, 1, 1000, 2, func() float64 { return 0.5 }); d != 3*time.Millisecond {
		t.Fatalf("one token of debt at 1000/s, burst 2: wait %v", d)
	}
	// jitter 0.5 makes the refill one and a half quanta: 1.5 tokens at 10/s
	var jit bucket
	jit.take(sec, 100, 10, 100, noJitter)
	if d := jit.take(sec, 1, 10, 100, func() float64 { return 0.5 }); d != 250*time.Millisecond {
		t.Fatalf("one token of debt at 10/s, jitter 0.5: wait %v", d)
	}
	if d := b.take(sec+int64(time.Hour), 2, 10, 2, noJitter); d != 0 {
		t.Fatalf("refilled bucket: wait %v (it holds at most burst)", d)
	}
	if d := b.take(sec+int64(time.Hour), 1, 10, 2, noJitter); d == 0 {
		t.Fatal("the burst was exceeded without waiting")
	}
}

func TestInvalidUTF8FromRedisIsRepaired(t *testing.T) {
	broker := NewMemoryBroker()
	ts := startServer(t, Config{Broker: broker})
	m := ts.members(t, "a")
	payload := []byte(`{"serverId":"other","type":"room","target":"ws-default","event":"news","data":"bad ` + "\xff\xfe" + ` end"}`)
	if err := broker.Publish(context.Background(), wire.RoomChannel(wire.RoomDefault), payload); err != nil {
		t.Fatal(err)
	}
	m[0].c.conn.SetReadDeadline(time.Now().Add(readTimeout))
	_, frame, err := m[0].c.conn.ReadMessage() // raw: neither gorilla nor this checks UTF-8
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(frame) || !strings.Contains(string(frame), "bad \uFFFD") {
		t.Fatalf("frame %q", frame)
	}
	if ts.Stats().RepairedUTF8 != 1 {
		t.Fatalf("RepairedUTF8 %d", ts.Stats().RepairedUTF8)
	}
	if err := ts.Local().ToClient(m[0].id, "x", json.RawMessage("\"\xff\"")); !errors.Is(err, ErrEncode) {
		t.Fatalf("invalid UTF-8 in a json.RawMessage: %v, want ErrEncode", err)
	}
}
