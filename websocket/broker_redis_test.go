package websocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/websocket/wire"
)

// Every test here starts its own redis-server (see package redistest): pub/sub
// channels are global to a server, and packages are tested in parallel.

// rbWait bounds every wait for a message or a recovery in these tests.
const rbWait = 15 * time.Second

// rbVerifyNone checks that the test left no goroutine behind; call it first,
// so that its cleanup runs last. Goroutines that existed when the test
// started belong to earlier tests (the package's TestMain checks those), so
// they are ignored; nothing else is. It waits up to about 5 s for goroutines
// to end: after a node was killed, go-redis probes it from a goroutine that
// notices its pool was closed only after its next 1 s sleep.
func rbVerifyNone(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for goleak.Find(opt) != nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond) // the interval of a bounded poll
		}
		goleak.VerifyNone(t, opt)
	})
}

// rbMessage is one handler call.
type rbMessage struct {
	channel, payload string
}

// rbRecorder is a Subscribe handler that records calls and fails the test
// when two calls overlap.
type rbRecorder struct {
	t       *testing.T
	ch      chan rbMessage
	running atomic.Int32
}

func newRBRecorder(t *testing.T) *rbRecorder {
	return &rbRecorder{t: t, ch: make(chan rbMessage, 1024)}
}

func (r *rbRecorder) handle(channel string, payload []byte) {
	if r.running.Add(1) != 1 {
		r.t.Errorf("handler called concurrently")
	}
	defer r.running.Add(-1)
	select {
	case r.ch <- rbMessage{channel, string(payload)}:
	default:
		r.t.Errorf("recorder full: dropped %s %s", channel, payload)
	}
}

// next returns the next recorded call, failing the test after rbWait.
func (r *rbRecorder) next() rbMessage {
	r.t.Helper()
	select {
	case m := <-r.ch:
		return m
	case <-time.After(rbWait):
		r.t.Fatalf("no message within %v", rbWait)
		return rbMessage{}
	}
}

// rbLogs is a concurrency-safe log sink.
type rbLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *rbLogs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *rbLogs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newTestRedisBroker(t *testing.T, client redis.UniversalClient, opts RedisBrokerOptions) *RedisBroker {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	b, err := NewRedisBroker(client, opts)
	if err != nil {
		t.Fatalf("NewRedisBroker: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// subscribeRecorder subscribes a recorder and listens to channels (which
// costs nothing for the envelope channels with RoutingPatterns).
func subscribeRecorder(t *testing.T, b *RedisBroker, channels ...string) (*rbRecorder, Subscription) {
	t.Helper()
	rec := newRBRecorder(t)
	ctx, cancel := context.WithTimeout(context.Background(), rbWait)
	defer cancel()
	sub, err := b.Subscribe(ctx, rec.handle)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(func() { _ = sub.Close() })
	if err := sub.Listen(ctx, channels...); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	return rec, sub
}

// rbRoutings are the routings of a single server or a cluster used
// classically: every test that applies to both runs in both.
var rbRoutings = []RedisRouting{RoutingPatterns, RoutingInterest}

// forRoutings runs f as a subtest for each routing.
func forRoutings(t *testing.T, routings []RedisRouting, f func(t *testing.T, routing RedisRouting)) {
	t.Helper()
	for _, r := range routings {
		t.Run(r.String(), func(t *testing.T) { f(t, r) })
	}
}

func TestRedisBrokerDeliversEveryChannelKindInOrder(t *testing.T) {
	forRoutings(t, rbRoutings, testRedisBrokerDeliversEveryChannelKindInOrder)
}

func testRedisBrokerDeliversEveryChannelKindInOrder(t *testing.T, routing RedisRouting) {
	rbVerifyNone(t)
	srv := redistest.Start(t)
	app := srv.Client(t)
	b := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: routing})
	ctx := context.Background()

	channels := []string{
		wire.ChannelBroadcast,
		wire.RoomChannel("lobby"),
		wire.ClientChannel("c-1"),
		wire.UserChannel("u-1"),
		"other:channel",               // not an envelope channel: not delivered
		wire.PrefixRoom + "a:b:c",     // room names may hold colons
		wire.RoomChannel("ünïcødé 🚀"), // and any bytes
	}
	// Every channel but other:channel is listened to (in interest routing,
	// what is not listened to is not heard).
	listened := append(slices.Clone(channels[:4]), channels[5:]...)
	rec, _ := subscribeRecorder(t, b, append(listened, wire.UserChannel("u-2"))...)
	for i, ch := range channels {
		if err := b.Publish(ctx, ch, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatalf("Publish(%q): %v", ch, err)
		}
	}
	// Another instance publishes through its own client.
	if err := app.Publish(ctx, wire.UserChannel("u-2"), "from-app").Err(); err != nil {
		t.Fatal(err)
	}
	want := []rbMessage{
		{wire.ChannelBroadcast, "m0"},
		{wire.RoomChannel("lobby"), "m1"},
		{wire.ClientChannel("c-1"), "m2"},
		{wire.UserChannel("u-1"), "m3"},
		{wire.PrefixRoom + "a:b:c", "m5"},
		{wire.RoomChannel("ünïcødé 🚀"), "m6"},
		{wire.UserChannel("u-2"), "from-app"},
	}
	for _, w := range want {
		if got := rec.next(); got != w {
			t.Fatalf("got %+v, want %+v", got, w)
		}
	}

	// Order holds across channels for a burst.
	for i := range 300 {
		ch := channels[i%4]
		if err := b.Publish(ctx, ch, fmt.Appendf(nil, "%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 300 {
		if got, want := rec.next(), (rbMessage{channels[i%4], fmt.Sprint(i)}); got != want {
			t.Fatalf("message %d: got %+v, want %+v", i, got, want)
		}
	}
}

func TestRedisBrokerSubscribeReturnsConfirmed(t *testing.T) {
	forRoutings(t, rbRoutings, testRedisBrokerSubscribeReturnsConfirmed)
}

func testRedisBrokerSubscribeReturnsConfirmed(t *testing.T, routing RedisRouting) {
	rbVerifyNone(t)
	srv := redistest.Start(t)
	app := srv.Client(t)
	b := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: routing})
	ctx := context.Background()
	for i := range 20 {
		rec := newRBRecorder(t)
		sub, err := b.Subscribe(ctx, rec.handle)
		if err != nil {
			t.Fatalf("Subscribe %d: %v", i, err)
		}
		// Listen returns once the channels are confirmed (at once with
		// RoutingPatterns, whose patterns Subscribe confirmed).
		room, client, user := wire.RoomChannel(fmt.Sprint("r", i)), wire.ClientChannel(fmt.Sprint("c", i)), wire.UserChannel(fmt.Sprint("u", i))
		if err := sub.Listen(ctx, room, client, user); err != nil {
			t.Fatalf("Listen %d: %v", i, err)
		}
		// PUBLISH answers how many subscribers got the message: all four
		// subscriptions must be live at once, with no wait.
		for _, ch := range []string{wire.ChannelBroadcast, room, client, user} {
			n, err := app.Publish(ctx, ch, "x").Result()
			if err != nil || n != 1 {
				t.Fatalf("Subscribe %d: publish %s right after Subscribe reached %d subscribers (%v), want 1", i, ch, n, err)
			}
			if got := rec.next(); got.channel != ch {
				t.Fatalf("got %+v on %s", got, ch)
			}
		}
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRedisBrokerNotReady(t *testing.T) {
	rbVerifyNone(t)
	addr := deadAddr(t)

	app := redis.NewClient(&redis.Options{Addr: addr})
	defer app.Close()
	b := newTestRedisBroker(t, app, RedisBrokerOptions{OutboxDisabled: true})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	sub, err := b.Subscribe(ctx, func(string, []byte) { t.Error("handler called") })
	elapsed := time.Since(start)
	if err == nil {
		sub.Close()
		t.Fatal("Subscribe succeeded against a closed port")
	}
	if !errors.Is(err, ErrBrokerNotReady) {
		t.Fatalf("err = %v, want ErrBrokerNotReady", err)
	}
	for _, s := range []string{addr, "ms", "connection refused"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("err = %q, want it to name %q", err, s)
		}
	}
	if elapsed > 2*time.Second {
		t.Errorf("Subscribe returned after %v, long past its 300ms context", elapsed)
	}

	// A cancelled (not timed-out) context is honoured too.
	ctx2, cancel2 := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel2)
	if _, err := b.Subscribe(ctx2, func(string, []byte) {}); !errors.Is(err, ErrBrokerNotReady) {
		t.Fatalf("cancelled Subscribe: err = %v, want ErrBrokerNotReady", err)
	}

	// Publish fails with context, and within its context.
	ctx3, cancel3 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel3()
	start = time.Now()
	err = b.Publish(ctx3, wire.RoomChannel("x"), []byte("{}"))
	if err == nil || !strings.Contains(err.Error(), `publish "ws:room:x"`) {
		t.Fatalf("Publish err = %v, want one naming the channel", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("Publish returned after %v, long past its 300ms context", elapsed)
	}

	// With the outbox, Publish queues the message instead (Redis is away),
	// and Close drops it, counted.
	ob := newTestRedisBroker(t, app, RedisBrokerOptions{})
	if err := ob.Publish(context.Background(), wire.RoomChannel("x"), []byte("{}")); err != nil {
		t.Fatalf("Publish with an outbox while Redis is away: %v", err)
	}
	if st := ob.Stats(); st.OutboxMessages != 1 || st.OutboxQueued != 1 || st.OutboxBytes != 2 {
		t.Fatalf("stats after a queued publish: %+v", st)
	}
	if err := ob.Close(); err != nil {
		t.Fatal(err)
	}
	if st := ob.Stats(); st.OutboxMessages != 0 || st.OutboxExpired != 1 {
		t.Fatalf("stats after Close: %+v", st)
	}
}

func TestRedisBrokerResubscribesAfterRestart(t *testing.T) {
	for _, routing := range []RedisRouting{RoutingPatterns, RoutingInterest, RoutingSharded} {
		for _, outbox := range []bool{false, true} {
			name := fmt.Sprintf("%s/outbox=%v", routing, outbox)
			if routing != RoutingSharded {
				t.Run("single/"+name, func(t *testing.T) {
					rbVerifyNone(t) // first, so that it runs after every other cleanup
					srv := redistest.Start(t)
					testRedisBrokerRestart(t, srv, srv.Client(t), routing, outbox)
				})
			}
			t.Run("cluster/"+name, func(t *testing.T) {
				rbVerifyNone(t)
				srv := redistest.StartCluster(t)
				app := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr()}})
				t.Cleanup(func() { app.Close() })
				testRedisBrokerRestart(t, srv, app, routing, outbox)
			})
		}
	}
}

func testRedisBrokerRestart(t *testing.T, srv *redistest.Server, app redis.UniversalClient, routing RedisRouting, outbox bool) {
	logs := &rbLogs{}
	b := newTestRedisBroker(t, app, RedisBrokerOptions{
		Logger:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Routing:        routing,
		OutboxDisabled: !outbox,
	})
	rec, sub := subscribeRecorder(t, b, wire.RoomChannel("down"), wire.RoomChannel("back"), wire.UserChannel("u"))
	ctx := context.Background()
	publish := app.Publish
	if routing == RoutingSharded {
		publish = app.SPublish
	}

	if err := b.Publish(ctx, wire.ChannelBroadcast, []byte("before")); err != nil {
		t.Fatal(err)
	}
	if got := rec.next(); got.payload != "before" {
		t.Fatalf("got %+v", got)
	}

	srv.Stop()
	// While Redis is down, nothing crashes, and Publish does not hang: it
	// fails without an outbox, and queues the message with one.
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	err := b.Publish(pctx, wire.RoomChannel("down"), []byte("kept"))
	cancel()
	switch {
	case outbox && err != nil:
		t.Fatalf("Publish while down, with an outbox: %v", err)
	case !outbox && (err == nil || !strings.Contains(err.Error(), `publish "ws:room:down"`)):
		t.Fatalf("Publish while down: err = %v", err)
	}
	// The subscription knows it is not ready.
	deadline := time.Now().Add(rbWait)
	for isReady(sub) {
		if time.Now().After(deadline) {
			t.Fatalf("still ready %v after Redis stopped", rbWait)
		}
		time.Sleep(5 * time.Millisecond) // the interval of a bounded poll
	}

	srv.Restart()
	// No call to Subscribe: the subscription must come back on its own,
	// every interest with it, before it says it is ready.
	select {
	case <-sub.Ready():
	case <-time.After(rbWait):
		t.Fatalf("not ready within %v after restart\nlogs:\n%s", rbWait, logs)
	}
	for _, ch := range []string{wire.ChannelBroadcast, wire.RoomChannel("back"), wire.UserChannel("u")} {
		if n, err := publish(ctx, ch, "probe").Result(); err != nil || n != 1 {
			t.Fatalf("ready, but a publish on %s reached %d subscribers (%v)", ch, n, err)
		}
	}
	for _, ch := range []string{wire.ChannelBroadcast, wire.RoomChannel("back"), wire.UserChannel("u")} {
		if got := rec.next(); got != (rbMessage{ch, "probe"}) {
			t.Fatalf("got %+v, want the probe on %s", got, ch)
		}
	}
	if outbox { // the message queued while down is replayed
		if got := rec.next(); got != (rbMessage{wire.RoomChannel("down"), "kept"}) {
			t.Fatalf("got %+v, want the queued message", got)
		}
	}
	// The broker's own publisher recovers too.
	deadline = time.Now().Add(rbWait)
	for b.Publish(ctx, wire.UserChannel("u"), []byte("after")) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("broker Publish still failing %v after restart", rbWait)
		}
		time.Sleep(20 * time.Millisecond) // the interval of a bounded poll
	}
	if got := rec.next(); got != (rbMessage{wire.UserChannel("u"), "after"}) {
		t.Fatalf("got %+v", got)
	}
	for _, want := range []string{"connection lost", "restored"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
}

// isReady reports whether sub is ready now.
func isReady(sub Subscription) bool {
	select {
	case <-sub.Ready():
		return true
	default:
		return false
	}
}

func TestRedisBrokerRecoversFromSilentConnection(t *testing.T) {
	forRoutings(t, rbRoutings, testRedisBrokerRecoversFromSilentConnection)
}

func testRedisBrokerRecoversFromSilentConnection(t *testing.T, routing RedisRouting) {
	rbVerifyNone(t)
	srv := redistest.Start(t)
	proxy := redistest.StartProxy(t, srv.Addr())
	app := redis.NewClient(&redis.Options{Addr: proxy.Addr()})
	defer app.Close()
	b := newTestRedisBroker(t, app, RedisBrokerOptions{HealthInterval: 100 * time.Millisecond, Routing: routing})
	rec, _ := subscribeRecorder(t, b, wire.RoomChannel("r"))
	direct := srv.Client(t)
	ctx := context.Background()

	// Every connection open now stops carrying bytes but stays open, as
	// behind a dead NAT entry: no error, no EOF. The broker must notice the
	// missing pong, drop the connection and subscribe again on a new one.
	proxy.StallOpen()
	// Whatever arrives now came through a new connection: the old one
	// swallows everything.
	deadline := time.Now().Add(rbWait)
	for i := 0; ; i++ {
		if err := direct.Publish(ctx, wire.RoomChannel("r"), fmt.Sprint(i)).Err(); err != nil {
			t.Fatal(err)
		}
		select {
		case <-rec.ch:
			return
		case <-time.After(50 * time.Millisecond): // the interval of a bounded poll
		}
		if time.Now().After(deadline) {
			t.Fatalf("no delivery within %v after the connection went silent", rbWait)
		}
	}
}

func TestRedisBrokerClose(t *testing.T) {
	forRoutings(t, rbRoutings, testRedisBrokerClose)
}

func testRedisBrokerClose(t *testing.T, routing RedisRouting) {
	rbVerifyNone(t)
	srv := redistest.Start(t)
	app := srv.Client(t)
	b := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: routing})
	rec, sub := subscribeRecorder(t, b)
	ctx := context.Background()

	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sub.Close(); err != nil {
		t.Fatalf("second Subscription.Close: %v", err)
	}
	if n, err := app.Publish(ctx, wire.ChannelBroadcast, "x").Result(); err != nil || n != 0 {
		t.Fatalf("publish after Subscription.Close reached %d subscribers (%v), want 0", n, err)
	}

	_, sub2 := subscribeRecorder(t, b)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Close ended the live subscription...
	if n, err := app.Publish(ctx, wire.ChannelBroadcast, "x").Result(); err != nil || n != 0 {
		t.Fatalf("publish after Close reached %d subscribers (%v), want 0", n, err)
	}
	if err := sub2.Close(); err != nil {
		t.Fatal(err)
	}
	// ...made the broker unusable...
	if err := b.Publish(ctx, wire.ChannelBroadcast, []byte("x")); !errors.Is(err, redis.ErrClosed) || !errors.Is(err, ErrBrokerClosed) {
		t.Fatalf("Publish after Close: err = %v, want redis.ErrClosed and ErrBrokerClosed", err)
	}
	if _, err := b.Subscribe(ctx, rec.handle); !errors.Is(err, redis.ErrClosed) || !errors.Is(err, ErrBrokerClosed) {
		t.Fatalf("Subscribe after Close: err = %v, want redis.ErrClosed and ErrBrokerClosed", err)
	}
	if err := sub2.Listen(ctx, wire.RoomChannel("late")); !errors.Is(err, ErrBrokerClosed) {
		t.Fatalf("Listen after Close: err = %v, want ErrBrokerClosed", err)
	}
	if isReady(sub2) {
		t.Fatal("a closed subscription says it is ready")
	}
	// ...and left the application's client alone.
	if err := app.Ping(ctx).Err(); err != nil {
		t.Fatalf("app client after broker Close: %v", err)
	}
	select {
	case m := <-rec.ch:
		t.Fatalf("handler called after Close: %+v", m)
	default:
	}
}

func TestRedisBrokerUsesItsOwnConnections(t *testing.T) {
	forRoutings(t, rbRoutings, testRedisBrokerUsesItsOwnConnections)
}

func testRedisBrokerUsesItsOwnConnections(t *testing.T, routing RedisRouting) {
	rbVerifyNone(t)
	srv := redistest.Start(t)
	app := redis.NewClient(&redis.Options{Addr: srv.Addr(), ClientName: "app"})
	defer app.Close()
	b := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: routing})
	subscribeRecorder(t, b, wire.RoomChannel("a"), wire.RoomChannel("b"))
	ctx := context.Background()
	if err := b.Publish(ctx, wire.ChannelBroadcast, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := app.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if got := app.PoolStats().TotalConns; got != 1 {
		t.Errorf("app pool holds %d connections, want only its own 1", got)
	}
	// The server sees the app's connection, the broker's subscriber and its
	// publisher: three clients, one of them in pub/sub with 1 channel and 3
	// patterns (RoutingPatterns: rooms need no channel of their own) or 3
	// channels and no pattern (RoutingInterest).
	list, err := srv.Client(t).ClientList(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	want := " sub=1 psub=3 "
	if routing == RoutingInterest {
		want = " sub=3 psub=0 "
	}
	var subscribers int
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		if strings.Contains(line, want) {
			subscribers++
		}
	}
	if subscribers != 1 {
		t.Errorf("want one subscriber connection with %q, CLIENT LIST:\n%s", want, list)
	}
}

func TestRedisBrokerCluster(t *testing.T) {
	forRoutings(t, []RedisRouting{RoutingPatterns, RoutingInterest, RoutingSharded}, testRedisBrokerCluster)
}

func testRedisBrokerCluster(t *testing.T, routing RedisRouting) {
	rbVerifyNone(t)
	srv := redistest.StartCluster(t)
	app := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr()}})
	defer app.Close()
	b := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: routing})
	channels := []string{wire.ChannelBroadcast, wire.RoomChannel("r"), wire.ClientChannel("c"), wire.UserChannel("u")}
	rec, _ := subscribeRecorder(t, b, channels...)
	ctx := context.Background()
	for _, ch := range channels {
		if err := b.Publish(ctx, ch, []byte("x")); err != nil {
			t.Fatalf("Publish(%q): %v", ch, err)
		}
		if got := rec.next(); got != (rbMessage{ch, "x"}) {
			t.Fatalf("got %+v, want %s", got, ch)
		}
	}
}

func TestRedisBrokerSentinel(t *testing.T) {
	forRoutings(t, rbRoutings, testRedisBrokerSentinel)
}

func testRedisBrokerSentinel(t *testing.T, routing RedisRouting) {
	rbVerifyNone(t)
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "echows")
	app := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "echows", SentinelAddrs: []string{sentinel.Addr()}})
	defer app.Close()
	b := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: routing})
	rec, _ := subscribeRecorder(t, b, wire.RoomChannel("r"), wire.UserChannel("u"))
	ctx := context.Background()
	if err := b.Publish(ctx, wire.RoomChannel("r"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := rec.next(); got != (rbMessage{wire.RoomChannel("r"), "x"}) {
		t.Fatalf("got %+v", got)
	}
	// The messages went through the master Sentinel named.
	if n, err := master.Client(t).Publish(ctx, wire.UserChannel("u"), "y").Result(); err != nil || n != 1 {
		t.Fatalf("publish on the master reached %d subscribers (%v), want 1", n, err)
	}
	if got := rec.next(); got != (rbMessage{wire.UserChannel("u"), "y"}) {
		t.Fatalf("got %+v", got)
	}
}

func TestNewRedisBrokerRejects(t *testing.T) {
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	defer ring.Close()
	single := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer single.Close()
	tests := []struct {
		name   string
		client redis.UniversalClient
		opts   RedisBrokerOptions
		want   string
	}{
		{"nil client", nil, RedisBrokerOptions{}, "nil redis client"},
		{"typed nil client", (*redis.Client)(nil), RedisBrokerOptions{}, "nil redis client"},
		{"typed nil cluster", (*redis.ClusterClient)(nil), RedisBrokerOptions{}, "nil redis client"},
		{"ring", ring, RedisBrokerOptions{}, "Ring is not supported"},
		{"negative pool", single, RedisBrokerOptions{PoolSize: -1}, "PoolSize is negative"},
		{"negative health", single, RedisBrokerOptions{HealthInterval: -time.Second}, "HealthInterval is negative"},
		{"negative grace", single, RedisBrokerOptions{ListenGrace: -time.Second}, "ListenGrace is negative"},
		{"negative outbox age", single, RedisBrokerOptions{OutboxMaxAge: -time.Second}, "OutboxMaxAge is negative"},
		{"negative outbox bytes", single, RedisBrokerOptions{OutboxMaxBytes: -1}, "OutboxMaxBytes is negative"},
		{"unknown routing", single, RedisBrokerOptions{Routing: RoutingSharded + 1}, "unknown Routing"},
		{"sharded without a cluster", single, RedisBrokerOptions{Routing: RoutingSharded}, "RoutingSharded needs a *redis.ClusterClient"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewRedisBroker(tt.client, tt.opts)
			if err == nil {
				b.Close()
				t.Fatal("NewRedisBroker succeeded")
			}
			if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalidConfig mentioning %q", err, tt.want)
			}
		})
	}
	b := newTestRedisBroker(t, single, RedisBrokerOptions{})
	if _, err := b.Subscribe(context.Background(), nil); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("Subscribe(nil handler): err = %v, want ErrInvalidConfig", err)
	}
}

func TestRedisBrokerRetryDelay(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{
		{1, 50 * time.Millisecond}, {2, 100 * time.Millisecond}, {3, 200 * time.Millisecond},
		{5, 800 * time.Millisecond}, {6, time.Second}, {100, time.Second},
	}
	for _, tt := range tests {
		if got := retryDelay(tt.failures); got != tt.want {
			t.Errorf("retryDelay(%d) = %v, want %v", tt.failures, got, tt.want)
		}
	}
}
