package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/websocket/wire"
)

// The outage pattern, at broker level: instance A publishes to a room
// at a steady 50 messages a second, instance B listens to it; Redis is
// stopped for a while and restarted on the same port, twice. B must get every
// message, once, in order.
func TestRedisBrokerOutboxOutage(t *testing.T) {
	for _, routing := range []RedisRouting{RoutingPatterns, RoutingInterest, RoutingSharded} {
		t.Run(routing.String(), func(t *testing.T) {
			rbVerifyNone(t)
			var (
				srv *redistest.Server
				app redis.UniversalClient
			)
			if routing == RoutingSharded {
				srv = redistest.StartCluster(t)
				app = redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr()}})
				t.Cleanup(func() { app.Close() })
			} else {
				srv = redistest.Start(t)
				app = srv.Client(t)
			}
			testOutboxOutage(t, srv, app, routing)
		})
	}
}

func testOutboxOutage(t *testing.T, srv *redistest.Server, app redis.UniversalClient, routing RedisRouting) {
	logs := &rbLogs{}
	opts := RedisBrokerOptions{Routing: routing, Logger: newTextLogger(logs)}
	a := newTestRedisBroker(t, app, opts)
	b := newTestRedisBroker(t, app, opts)
	room := wire.RoomChannel("lobby")
	_, _ = subscribeRecorder(t, a) // A has subscriptions of its own, as a server does
	rec, _ := subscribeRecorder(t, b, room)

	pub := startPublisher(t, a, room)
	seq := &sequence{rec: rec, channel: room, logs: logs}
	pub.waitCount(t, 25)
	seq.receiveUpTo(t, 25)
	for round, outage := range []int{50, 20} { // about 1 s, then 0.4 s, at 50 messages a second
		srv.Stop()
		down := pub.count()
		pub.waitCount(t, down+outage)
		srv.Restart()
		back := pub.count()
		pub.waitCount(t, back+25)
		seq.receiveUpTo(t, back+25)
		t.Logf("outage %d: %d messages published while Redis was away, all received", round+1, back-down)
	}
	pub.Stop()
	seq.receiveUpTo(t, pub.count())
	if err := pub.err(); err != nil {
		t.Fatalf("a Publish failed: %v", err)
	}
	waitOutboxEmpty(t, a)
	st := a.Stats()
	if st.OutboxQueued == 0 || st.OutboxReplayed != st.OutboxQueued || st.OutboxExpired != 0 || st.OutboxRejected != 0 || st.OutboxFailed != 0 {
		t.Fatalf("A's outbox: %+v, want every queued message replayed", st)
	}
	t.Logf("A's outbox: %d messages queued, all replayed", st.OutboxQueued)
	// Nothing more: no duplicate after the last message (a fence from the
	// application's client comes next).
	publish := app.Publish
	if routing == RoutingSharded {
		publish = app.SPublish
	}
	if err := publish(context.Background(), room, "fence").Err(); err != nil {
		t.Fatal(err)
	}
	if m := rec.next(); m != (rbMessage{room, "fence"}) {
		t.Fatalf("B got %+v after the last message, want the fence", m)
	}
}

// newTextLogger returns a logger writing text to w, debug included.
func newTextLogger(w *rbLogs) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestRedisBrokerOutboxBounds(t *testing.T) {
	// Redis is away for as long as the test runs.
	app := redis.NewClient(&redis.Options{Addr: deadAddr(t)})
	defer app.Close()
	ctx := context.Background()

	t.Run("bytes", func(t *testing.T) {
		rbVerifyNone(t)
		b := newTestRedisBroker(t, app, RedisBrokerOptions{OutboxMaxBytes: 10})
		if err := b.Publish(ctx, wire.RoomChannel("r"), []byte("123456")); err != nil {
			t.Fatalf("first publish: %v", err)
		}
		err := b.Publish(ctx, wire.RoomChannel("r"), []byte("123456"))
		if !errors.Is(err, ErrOutboxFull) {
			t.Fatalf("publish past OutboxMaxBytes: err = %v, want ErrOutboxFull", err)
		}
		t.Log(err)
		if err := b.Publish(ctx, wire.RoomChannel("r"), []byte("1234")); err != nil {
			t.Fatalf("publish that fits: %v", err)
		}
		if st := b.Stats(); st.OutboxMessages != 2 || st.OutboxBytes != 10 || st.OutboxRejected != 1 || st.OutboxQueued != 2 {
			t.Fatalf("stats: %+v", st)
		}
	})
	t.Run("age", func(t *testing.T) {
		rbVerifyNone(t)
		b := newTestRedisBroker(t, app, RedisBrokerOptions{OutboxMaxAge: 50 * time.Millisecond})
		if err := b.Publish(ctx, wire.RoomChannel("r"), []byte("x")); err != nil {
			t.Fatalf("first publish: %v", err)
		}
		// Once the outage is older than OutboxMaxAge, Publish fails at once,
		// and what was queued is dropped.
		deadline := time.Now().Add(rbWait)
		for {
			err := b.Publish(ctx, wire.RoomChannel("r"), []byte("y"))
			if errors.Is(err, ErrOutboxFull) {
				t.Log(err)
				break
			}
			if err != nil {
				t.Fatalf("publish: %v", err)
			}
			if time.Now().After(deadline) {
				t.Fatalf("Publish still queues %v into the outage", rbWait)
			}
			time.Sleep(5 * time.Millisecond) // the interval of a bounded poll
		}
		for b.Stats().OutboxMessages != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("messages older than OutboxMaxAge still queued: %+v", b.Stats())
			}
			time.Sleep(5 * time.Millisecond) // the interval of a bounded poll
		}
		if st := b.Stats(); st.OutboxExpired != st.OutboxQueued || st.OutboxRejected == 0 {
			t.Fatalf("stats: %+v", st)
		}
		// An empty outbox does not end the outage: Redis is still away. (Once
		// the outbox has asked Redis twice more, the drain has gone round
		// with the queue empty.)
		fails := func() int { b.out.mu.Lock(); defer b.out.mu.Unlock(); return b.out.fails }
		for f := fails(); fails() < f+2; {
			if time.Now().After(deadline) {
				t.Fatalf("the outbox stopped asking Redis whether it is back (it is not)")
			}
			time.Sleep(5 * time.Millisecond) // the interval of a bounded poll
		}
		if err := b.Publish(ctx, wire.RoomChannel("r"), []byte("z")); !errors.Is(err, ErrOutboxFull) {
			t.Fatalf("publish with the outbox emptied by age, Redis still away: err = %v, want ErrOutboxFull", err)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		rbVerifyNone(t)
		b := newTestRedisBroker(t, app, RedisBrokerOptions{OutboxDisabled: true})
		if err := b.Publish(ctx, wire.RoomChannel("r"), []byte("x")); err == nil || errors.Is(err, ErrOutboxFull) {
			t.Fatalf("publish without an outbox: err = %v, want Redis's error", err)
		}
		if st := b.Stats(); st.OutboxQueued != 0 {
			t.Fatalf("stats: %+v", st)
		}
	})
	t.Run("a done context is not queued", func(t *testing.T) {
		rbVerifyNone(t)
		b := newTestRedisBroker(t, app, RedisBrokerOptions{})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := b.Publish(cctx, wire.RoomChannel("r"), []byte("x")); !errors.Is(err, context.Canceled) {
			t.Fatalf("publish with a cancelled context: err = %v", err)
		}
		if st := b.Stats(); st.OutboxQueued != 0 {
			t.Fatalf("stats: %+v", st)
		}
	})
}

func TestRedisAway(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{redis.ErrClosed, false},
		{context.Canceled, false},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), false},
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{redis.ErrPoolTimeout, true},
		{fmt.Errorf("read: %w", io.EOF), true},
		{redisError("LOADING Redis is loading the dataset in memory"), true},
		{redisError("READONLY You can't write against a read only replica."), true},
		{redisError("MASTERDOWN Link with MASTER is down"), true},
		{redisError("NOPERM this user has no permissions"), false},
	}
	for _, tt := range tests {
		if got := redisAway(tt.err); got != tt.want {
			t.Errorf("redisAway(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// redisError is an error as Redis answers one.
type redisError string

func (e redisError) Error() string { return string(e) }
func (redisError) RedisError()     {}

// An instance that published nothing during an outage still holds what it
// publishes right after Redis is back, until its subscriptions are back and
// settled: by then the other instances hear again.
func TestRedisBrokerOutboxHoldsUntilSubscriptionsAreBack(t *testing.T) {
	rbVerifyNone(t)
	srv := redistest.Start(t)
	app := srv.Client(t)
	opts := RedisBrokerOptions{Routing: RoutingInterest}
	a := newTestRedisBroker(t, app, opts)
	b := newTestRedisBroker(t, app, opts)
	room := wire.RoomChannel("lobby")
	_, subA := subscribeRecorder(t, a)
	rec, subB := subscribeRecorder(t, b, room)

	srv.Stop()
	waitNotReady(t, subA)
	waitNotReady(t, subB)
	srv.Restart()
	// At once: B is still waiting for its next attempt.
	if err := a.Publish(context.Background(), room, []byte("first")); err != nil {
		t.Fatalf("publish right after the restart: %v", err)
	}
	if got := rec.next(); got != (rbMessage{room, "first"}) {
		t.Fatalf("B got %+v", got)
	}
	waitOutboxEmpty(t, a)
	if st := a.Stats(); st.OutboxQueued != 1 || st.OutboxReplayed != 1 {
		t.Fatalf("A's outbox: %+v, want the message queued and replayed", st)
	}
}

// A broker with no subscription (a publisher, as an emitter) learns that
// Redis is back by asking it, and still waits the settling time before it
// replays.
func TestRedisBrokerOutboxPublisherOnly(t *testing.T) {
	rbVerifyNone(t)
	srv := redistest.Start(t)
	app := srv.Client(t)
	a := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: RoutingInterest})
	b := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: RoutingInterest})
	room := wire.RoomChannel("lobby")
	rec, subB := subscribeRecorder(t, b, room)

	srv.Stop()
	for i := range 3 {
		if err := a.Publish(context.Background(), room, []byte(strconv.Itoa(i))); err != nil {
			t.Fatalf("publish %d while Redis is away: %v", i, err)
		}
	}
	waitNotReady(t, subB)
	srv.Restart()
	for i := range 3 {
		if got := rec.next(); got != (rbMessage{room, strconv.Itoa(i)}) {
			t.Fatalf("B got %+v, want message %d", got, i)
		}
	}
}

// settle keeps what Redis could not take, in order, drops what it refused
// for good, and counts both.
func TestOutboxSettle(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := &RedisBroker{ctx: ctx, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	o := newOutbox(b, time.Minute, 1<<20)
	for i := range 5 {
		o.queue = append(o.queue, outboxMsg{channel: fmt.Sprint("c", i), payload: []byte{byte(i)}})
		o.bytes++
	}
	batch := o.batchLocked()
	cmds := make([]*redis.IntCmd, len(batch))
	for i := range cmds {
		cmds[i] = redis.NewIntCmd(ctx)
	}
	away := &net.OpError{Op: "read", Err: errors.New("connection reset")}
	cmds[1].SetErr(away)
	cmds[2].SetErr(redisError("NOPERM no permissions"))
	cmds[3].SetErr(away)
	sent, refused := o.settle(batch, cmds, nil)
	if sent != 2 || len(refused) != 1 || refused[0].channel != "c2" {
		t.Fatalf("sent %d, refused %+v; want 2 sent (c0, c4) and c2 refused", sent, refused)
	}
	var left []string
	for _, m := range o.queue[o.head:] {
		left = append(left, m.channel)
	}
	if !slices.Equal(left, []string{"c1", "c3"}) || o.bytes != 2 || !o.probe || o.fails != 1 {
		t.Fatalf("queue %v, %d bytes, probe %v, fails %d; want c1, c3 kept in order, 2 bytes, a probe, one failure", left, o.bytes, o.probe, o.fails)
	}
	if o.replayed.Load() != 2 || o.failed.Load() != 1 {
		t.Fatalf("replayed %d, failed %d", o.replayed.Load(), o.failed.Load())
	}
}
