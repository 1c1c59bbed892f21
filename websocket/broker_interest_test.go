package websocket

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/websocket/wire"
)

// numSub returns how many subscribers Redis counts on each channel.
func numSub(t *testing.T, c redis.UniversalClient, channels ...string) map[string]int64 {
	t.Helper()
	n, err := c.PubSubNumSub(context.Background(), channels...).Result()
	if err != nil {
		t.Fatalf("PUBSUB NUMSUB: %v", err)
	}
	return n
}

// waitNumSub polls until Redis counts want subscribers on channel, failing
// the test after rbWait.
func waitNumSub(t *testing.T, c redis.UniversalClient, channel string, want int64) {
	t.Helper()
	deadline := time.Now().Add(rbWait)
	for {
		got := numSub(t, c, channel)[channel]
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d subscribers after %v, want %d", channel, got, rbWait, want)
		}
		time.Sleep(5 * time.Millisecond) // the interval of a bounded poll
	}
}

// waitNotReady polls until sub is not ready, failing the test after rbWait.
func waitNotReady(t *testing.T, sub Subscription) {
	t.Helper()
	deadline := time.Now().Add(rbWait)
	for isReady(sub) {
		if time.Now().After(deadline) {
			t.Fatalf("still ready after %v", rbWait)
		}
		time.Sleep(5 * time.Millisecond) // the interval of a bounded poll
	}
}

// waitReady waits for sub's Ready channel, failing the test after rbWait.
func waitReady(t *testing.T, sub Subscription) {
	t.Helper()
	select {
	case <-sub.Ready():
	case <-time.After(rbWait):
		t.Fatalf("not ready within %v", rbWait)
	}
}

func TestRedisBrokerListenBatchesConcurrentCalls(t *testing.T) {
	rbVerifyNone(t)
	srv := redistest.Start(t)
	app := srv.Client(t)
	b := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: RoutingInterest, ListenGrace: time.Millisecond})
	_, sub := subscribeRecorder(t, b)
	before := b.Stats()

	// 10,000 clients connect at once, each with a channel of its own.
	const n = 10_000
	ctx, cancel := context.WithTimeout(context.Background(), 4*rbWait)
	defer cancel()
	start := make(chan struct{})
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- sub.Listen(ctx, wire.ClientChannel(fmt.Sprint("c", i)))
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
	}
	// Every channel is subscribed: one subscriber connection with n+1
	// channels (ws:broadcast).
	assertSubscriberChannels(t, srv, n+1)
	st := b.Stats()
	cmds := st.SubscribeCommands - before.SubscribeCommands
	t.Logf("%d concurrent Listen calls: %d SUBSCRIBE commands", n, cmds)
	// Far fewer commands than calls: concurrent calls share commands. (Each
	// command carries at most 1024 channels, so 10 is the least possible.)
	// How many share one depends on how the calls and the link's writer
	// are scheduled: 518–1,118 commands in 20 runs on two processors, and
	// 3,174 with both processors also busy with other work, so the bound
	// is n/2 (n/10 failed one run in twenty, n/4 under that load); one
	// command per call would be n.
	if cmds > n/2 {
		t.Errorf("%d Listen calls took %d SUBSCRIBE commands, want at most %d", n, cmds, n/2)
	}
	if st.Channels != n+1 {
		t.Errorf("Stats.Channels = %d, want %d", st.Channels, n+1)
	}

	// And they all leave: after the grace period, UNSUBSCRIBE in few commands.
	for i := range n {
		sub.Unlisten(wire.ClientChannel(fmt.Sprint("c", i)))
	}
	deadline := time.Now().Add(rbWait)
	for b.Stats().Channels != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d channels left %v after Unlisten, want 1", b.Stats().Channels, rbWait)
		}
		time.Sleep(5 * time.Millisecond) // the interval of a bounded poll
	}
	assertSubscriberChannels(t, srv, 1)
	un := b.Stats().UnsubscribeCommands - before.UnsubscribeCommands
	t.Logf("%d Unlisten calls: %d UNSUBSCRIBE commands", n, un)
	if un > n/10 {
		t.Errorf("%d Unlisten calls took %d UNSUBSCRIBE commands, want at most %d", n, un, n/10)
	}
}

// assertSubscriberChannels polls CLIENT LIST until one connection holds
// want channels and no pattern (the unsubscriptions' answers may still be on
// their way), failing the test after rbWait.
func assertSubscriberChannels(t *testing.T, srv *redistest.Server, want int) {
	t.Helper()
	c := srv.Client(t)
	needle := fmt.Sprintf(" sub=%d psub=0 ", want)
	deadline := time.Now().Add(rbWait)
	for {
		list, err := c.ClientList(context.Background()).Result()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(list, needle) == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("want one subscriber connection with %q, CLIENT LIST:\n%s", needle, list)
		}
		time.Sleep(5 * time.Millisecond) // the interval of a bounded poll
	}
}

func TestRedisBrokerListenReferenceCountsAndGrace(t *testing.T) {
	t.Run("refill within the grace period costs nothing", func(t *testing.T) {
		rbVerifyNone(t)
		srv := redistest.Start(t)
		app := srv.Client(t)
		b := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: RoutingInterest, ListenGrace: time.Hour})
		_, sub := subscribeRecorder(t, b, wire.RoomChannel("a"))
		cmds := b.Stats().SubscribeCommands
		sub.Unlisten(wire.RoomChannel("a"))
		if n := numSub(t, app, wire.RoomChannel("a"))[wire.RoomChannel("a")]; n != 1 {
			t.Fatalf("room unsubscribed at once, grace period or not: %d subscribers", n)
		}
		if err := sub.Listen(context.Background(), wire.RoomChannel("a")); err != nil {
			t.Fatal(err)
		}
		if got := b.Stats().SubscribeCommands; got != cmds {
			t.Fatalf("listening again within the grace period sent %d SUBSCRIBE commands", got-cmds)
		}
		sub.Unlisten(wire.RoomChannel("never listened"))           // does nothing
		sub.Unlisten(wire.RoomChannel("a"), wire.RoomChannel("a")) // the second is one too many: ignored
		if n := numSub(t, app, wire.RoomChannel("a"))[wire.RoomChannel("a")]; n != 1 {
			t.Fatalf("room unsubscribed within its grace period: %d subscribers", n)
		}
	})
	t.Run("a channel is released after its last reference and the grace period", func(t *testing.T) {
		rbVerifyNone(t)
		srv := redistest.Start(t)
		app := srv.Client(t)
		b := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: RoutingInterest, ListenGrace: 20 * time.Millisecond})
		a, c := wire.RoomChannel("a"), wire.RoomChannel("c")
		_, sub := subscribeRecorder(t, b, a, a, c)
		sub.Unlisten(a, c) // a keeps one reference; c has none
		waitNumSub(t, app, c, 0)
		// c and a would have been released together: a is held.
		if n := numSub(t, app, a)[a]; n != 1 {
			t.Fatalf("a has %d subscribers while one reference remains", n)
		}
		sub.Unlisten(a)
		waitNumSub(t, app, a, 0)
		if st := b.Stats(); st.Channels != 1 {
			t.Fatalf("%d channels after releasing every room, want 1 (ws:broadcast)", st.Channels)
		}
		// And it can come back.
		if err := sub.Listen(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if n := numSub(t, app, a)[a]; n != 1 {
			t.Fatalf("a has %d subscribers after Listen returned", n)
		}
		// ws:broadcast is never released.
		sub.Unlisten(wire.ChannelBroadcast)
		sub.Unlisten(a)
		waitNumSub(t, app, a, 0)
		if n := numSub(t, app, wire.ChannelBroadcast)[wire.ChannelBroadcast]; n != 1 {
			t.Fatalf("ws:broadcast has %d subscribers after Unlisten, want 1", n)
		}
	})
}

func TestRedisBrokerEveryInterestBackBeforeReady(t *testing.T) {
	forRoutings(t, []RedisRouting{RoutingInterest}, func(t *testing.T, routing RedisRouting) {
		rbVerifyNone(t)
		srv := redistest.Start(t)
		app := srv.Client(t)
		b := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: routing})
		// Many more channels than one command carries: Redis takes a while
		// to subscribe them all again, and a Ready that came too early would
		// be caught with channels missing.
		channels := make([]string, 30_000)
		for i := range channels {
			channels[i] = wire.RoomChannel(fmt.Sprint("room-", i))
		}
		_, sub := subscribeRecorder(t, b, channels...)
		for round := range 2 {
			srv.Stop()
			waitNotReady(t, sub)
			// A join while Redis is away: refused at once, but held.
			late := wire.RoomChannel(fmt.Sprint("late-", round))
			err := sub.Listen(context.Background(), late)
			if !errors.Is(err, ErrBrokerNotReady) {
				t.Fatalf("Listen while not ready: err = %v, want ErrBrokerNotReady", err)
			}
			srv.Restart()
			waitReady(t, sub)
			// Ready means every interest is subscribed again: no wait here.
			all := append(channels, wire.ChannelBroadcast, late)
			for chunk := range slices.Chunk(all, 10_000) {
				for ch, n := range numSub(t, app, chunk...) {
					if n != 1 {
						t.Fatalf("round %d: ready, but %s has %d subscribers", round, ch, n)
					}
				}
			}
		}
	})
}

func TestRedisBrokerListenGivesUp(t *testing.T) {
	rbVerifyNone(t)
	srv := redistest.Start(t)
	proxy := redistest.StartProxy(t, srv.Addr())
	app := redis.NewClient(&redis.Options{Addr: proxy.Addr()})
	defer app.Close()

	t.Run("when ctx ends or the subscription closes", func(t *testing.T) {
		rbVerifyNone(t)
		// A long health interval: the dead connection is not noticed.
		b := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: RoutingInterest, HealthInterval: time.Hour})
		_, sub := subscribeRecorder(t, b)
		proxy.StallOpen() // SUBSCRIBE goes nowhere, and no answer comes
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if err := sub.Listen(ctx, wire.RoomChannel("r")); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Listen: err = %v, want DeadlineExceeded", err)
		}
		done := make(chan error, 1)
		go func() { done <- sub.Listen(context.Background(), wire.RoomChannel("s")) }()
		if err := sub.Close(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if !errors.Is(err, ErrBrokerClosed) {
				t.Fatalf("Listen across Close: err = %v, want ErrBrokerClosed", err)
			}
		case <-time.After(rbWait):
			t.Fatal("Listen still waiting after Close")
		}
	})
	t.Run("when the subscription stops being ready", func(t *testing.T) {
		rbVerifyNone(t)
		b := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: RoutingInterest, HealthInterval: 50 * time.Millisecond})
		_, sub := subscribeRecorder(t, b)
		proxy.StallOpen()
		err := sub.Listen(context.Background(), wire.RoomChannel("r"))
		if !errors.Is(err, ErrBrokerNotReady) {
			t.Fatalf("Listen across a lost connection: err = %v, want ErrBrokerNotReady", err)
		}
		// The interest was kept: it is heard once the subscription is back.
		waitReady(t, sub)
		if n := numSub(t, srv.Client(t), wire.RoomChannel("r"))[wire.RoomChannel("r")]; n != 1 {
			t.Fatalf("ready again, but the room has %d subscribers", n)
		}
	})
}

// A fleet may mix routings, and upstream's publishers: the channels and the
// envelopes are the same.
func TestRedisBrokerMixedRoutings(t *testing.T) {
	rbVerifyNone(t)
	srv := redistest.Start(t)
	app := srv.Client(t)
	ctx := context.Background()
	pb := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: RoutingPatterns})
	ib := newTestRedisBroker(t, app, RedisBrokerOptions{Routing: RoutingInterest})
	prec, _ := subscribeRecorder(t, pb)
	irec, _ := subscribeRecorder(t, ib, wire.RoomChannel("r"), wire.ClientChannel("c"))

	// patterns → interest, and an emitter-like publisher → interest
	if err := pb.Publish(ctx, wire.RoomChannel("r"), []byte("p")); err != nil {
		t.Fatal(err)
	}
	if err := app.Publish(ctx, wire.ClientChannel("c"), "e").Err(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []rbMessage{{wire.RoomChannel("r"), "p"}, {wire.ClientChannel("c"), "e"}} {
		if got := irec.next(); got != want {
			t.Fatalf("interest instance got %+v, want %+v", got, want)
		}
	}
	// interest → patterns, on a channel the interest instance does not hear
	if err := ib.Publish(ctx, wire.UserChannel("u"), []byte("i")); err != nil {
		t.Fatal(err)
	}
	for _, want := range []rbMessage{{wire.RoomChannel("r"), "p"}, {wire.ClientChannel("c"), "e"}, {wire.UserChannel("u"), "i"}} {
		if got := prec.next(); got != want {
			t.Fatalf("pattern instance got %+v, want %+v", got, want)
		}
	}
	select {
	case m := <-irec.ch:
		t.Fatalf("interest instance heard %+v, which it does not listen to", m)
	default:
	}
}

func TestMemoryBrokerListen(t *testing.T) {
	b := NewMemoryBroker()
	rec := newRBRecorder(t)
	sub, err := b.Subscribe(context.Background(), rec.handle)
	if err != nil {
		t.Fatal(err)
	}
	if !isReady(sub) {
		t.Fatal("a MemoryBroker subscription is not ready")
	}
	if err := sub.Listen(context.Background(), wire.RoomChannel("r")); err != nil {
		t.Fatal(err)
	}
	sub.Unlisten(wire.RoomChannel("r"))
	// It hears every envelope channel, listened to or not.
	if err := b.Publish(context.Background(), wire.RoomChannel("other"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := rec.next(); got != (rbMessage{wire.RoomChannel("other"), "x"}) {
		t.Fatalf("got %+v", got)
	}
	if err := sub.Close(); err != nil {
		t.Fatal(err)
	}
	if isReady(sub) {
		t.Fatal("closed, but ready")
	}
	if err := sub.Listen(context.Background(), wire.RoomChannel("r")); !errors.Is(err, ErrBrokerClosed) {
		t.Fatalf("Listen after Close: err = %v, want ErrBrokerClosed", err)
	}
}

func TestCommandBatches(t *testing.T) {
	var es []*redisInterest
	for i := range 2500 {
		es = append(es, &redisInterest{channel: fmt.Sprint("c", i), slot: i % 3})
	}
	plain := commandBatches(es, false)
	if len(plain) != 3 || len(plain[0]) != redisSubscribeChunk || len(plain[2]) != 2500-2*redisSubscribeChunk {
		t.Fatalf("plain batches of %d, %d, ...: want chunks of %d", len(plain), len(plain[0]), redisSubscribeChunk)
	}
	slotOf := make(map[string]int, len(es))
	for _, e := range es {
		slotOf[e.channel] = e.slot
	}
	sharded := commandBatches(es, true)
	total := 0
	for _, chs := range sharded {
		for _, ch := range chs {
			if slotOf[ch] != slotOf[chs[0]] {
				t.Fatalf("a sharded batch mixes slots %d and %d", slotOf[chs[0]], slotOf[ch])
			}
		}
		total += len(chs)
	}
	if total != 2500 {
		t.Fatalf("sharded batches hold %d channels, want 2500", total)
	}
	// One slot per batch: 3 slots, 834 or 833 channels each: one chunk each.
	if len(sharded) != 3 {
		t.Fatalf("%d sharded batches for 3 slots, want 3", len(sharded))
	}
	if commandBatches(nil, true) != nil {
		t.Fatal("batches for no interest")
	}
}
