package websocket

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/websocket/wire"
)

// Broker benchmarks on a private redis-server. Redis's own CPU is read from
// INFO (used_cpu_sys + used_cpu_user) before and after, and reported per
// operation: on loopback with one Redis, that is the cost a fleet puts on its
// Redis.

func newBenchBroker(b *testing.B, app redis.UniversalClient, opts RedisBrokerOptions) *RedisBroker {
	b.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	br, err := NewRedisBroker(app, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Close() })
	return br
}

func benchSubscribe(b *testing.B, br *RedisBroker, handler func(string, []byte)) Subscription {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), rbWait)
	defer cancel()
	sub, err := br.Subscribe(ctx, handler)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sub.Close() })
	return sub
}

// redisCPU returns the CPU time the redis-server has used.
func redisCPU(b *testing.B, c *redis.Client) time.Duration {
	b.Helper()
	info, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		for _, key := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(line, key); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					b.Fatalf("INFO cpu: %q: %v", line, err)
				}
				total += f
			}
		}
	}
	return time.Duration(total * float64(time.Second))
}

// BenchmarkRedisBrokerListen measures joins that each need a channel of
// their own (a client connecting, a room's first member), 256 at a time:
// Listen until Redis confirmed, then Unlisten (released after a 1 ms grace).
// subscribe-cmds/op shows how many joins share one SUBSCRIBE.
func BenchmarkRedisBrokerListen(b *testing.B) {
	srv := redistest.Start(b)
	app := srv.Client(b)
	br := newBenchBroker(b, app, RedisBrokerOptions{Routing: RoutingInterest, ListenGrace: time.Millisecond})
	sub := benchSubscribe(b, br, func(string, []byte) {})
	var seq atomic.Int64
	before := br.Stats()
	cpu := redisCPU(b, app)
	b.SetParallelism(max(1, 256/runtime.GOMAXPROCS(0))) // 256 goroutines
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			ch := wire.ClientChannel(strconv.FormatInt(seq.Add(1), 10))
			if err := sub.Listen(ctx, ch); err != nil {
				b.Error(err)
				return
			}
			sub.Unlisten(ch)
		}
	})
	b.StopTimer()
	st := br.Stats()
	b.ReportMetric(float64(st.SubscribeCommands-before.SubscribeCommands)/float64(b.N), "subscribe-cmds/op")
	b.ReportMetric(float64(redisCPU(b, app)-cpu)/float64(b.N)/1e3, "redis-cpu-µs/op")
}

// BenchmarkRedisBrokerListenSerial is one join at a time: each Listen waits
// for its own round trip.
func BenchmarkRedisBrokerListenSerial(b *testing.B) {
	srv := redistest.Start(b)
	app := srv.Client(b)
	br := newBenchBroker(b, app, RedisBrokerOptions{Routing: RoutingInterest, ListenGrace: time.Millisecond})
	sub := benchSubscribe(b, br, func(string, []byte) {})
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		ch := wire.ClientChannel(strconv.Itoa(i))
		i++
		if err := sub.Listen(ctx, ch); err != nil {
			b.Fatal(err)
		}
		sub.Unlisten(ch)
	}
}

// BenchmarkRedisBrokerFanout is four instances on one Redis, each the only
// one with members in a quarter of 1,000 rooms, and a fifth that publishes
// to the rooms from 32 goroutines (a server's concurrent sends; Redis then
// handles many messages per event-loop turn, as under load). Each op is one
// room message, published, and received by every instance Redis sends it to.
// deliveries/op is what Redis writes and what instances receive (and decode)
// per message: 4 with pattern routing, 1 with interest routing.
// redis-cpu-µs/op is Redis's CPU per message; proc-cpu-µs/op this test
// process's (the publisher's sends and the four instances' receives, up to
// the handler: no envelope decoding).
func BenchmarkRedisBrokerFanout(b *testing.B) {
	for _, routing := range []RedisRouting{RoutingPatterns, RoutingInterest} {
		b.Run(routing.String(), func(b *testing.B) {
			const instances, rooms = 4, 1000
			srv := redistest.Start(b)
			app := srv.Client(b)
			var received atomic.Int64
			for i := range instances {
				br := newBenchBroker(b, app, RedisBrokerOptions{Routing: routing})
				sub := benchSubscribe(b, br, func(string, []byte) { received.Add(1) })
				var mine []string
				for r := i; r < rooms; r += instances {
					mine = append(mine, wire.RoomChannel(fmt.Sprint("room-", r)))
				}
				if err := sub.Listen(context.Background(), mine...); err != nil {
					b.Fatal(err)
				}
			}
			pub := newBenchBroker(b, app, RedisBrokerOptions{Routing: routing})
			payload := []byte(`{"serverId":"bench","type":"room","target":"room-0","event":"chat","data":{"text":"a 64-byte chat message, give or take a few bytes of padding."}}`)
			ctx := context.Background()
			cpu, proc := redisCPU(b, app), processCPU(b)
			var seq atomic.Int64
			b.SetParallelism(max(1, 32/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.Add(1)
					if err := pub.Publish(ctx, wire.RoomChannel(fmt.Sprint("room-", i%rooms)), payload); err != nil {
						b.Error(err)
						return
					}
				}
			})
			want := int64(b.N)
			if routing == RoutingPatterns {
				want *= instances
			}
			deadline := time.Now().Add(rbWait)
			for received.Load() < want && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond) // the interval of a bounded poll
			}
			b.StopTimer()
			if got := received.Load(); got != want {
				b.Fatalf("instances received %d messages, want %d", got, want)
			}
			b.ReportMetric(float64(received.Load())/float64(b.N), "deliveries/op")
			b.ReportMetric(float64(redisCPU(b, app)-cpu)/float64(b.N)/1e3, "redis-cpu-µs/op")
			b.ReportMetric(float64(processCPU(b)-proc)/float64(b.N)/1e3, "proc-cpu-µs/op")
		})
	}
}

// BenchmarkRedisBrokerRestore measures how long a subscription with many
// interests takes to be ready again after Redis dropped its connection
// (CLIENT KILL): the reconnect (after the 50 ms first backoff), and every
// channel subscribed again and confirmed.
func BenchmarkRedisBrokerRestore(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprint("channels=", n), func(b *testing.B) {
			srv := redistest.Start(b)
			app := srv.Client(b)
			br := newBenchBroker(b, app, RedisBrokerOptions{Routing: RoutingInterest})
			sub := benchSubscribe(b, br, func(string, []byte) {})
			chs := make([]string, n)
			for i := range chs {
				chs[i] = wire.RoomChannel(fmt.Sprint("room-", i))
			}
			ctx := context.Background()
			if err := sub.Listen(ctx, chs...); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if err := app.ClientKillByFilter(ctx, "TYPE", "pubsub").Err(); err != nil {
					b.Fatal(err)
				}
				deadline := time.Now().Add(rbWait)
				for isReady(sub) {
					if time.Now().After(deadline) {
						b.Fatal("still ready after CLIENT KILL")
					}
					time.Sleep(100 * time.Microsecond) // the interval of a bounded poll
				}
				select {
				case <-sub.Ready():
				case <-time.After(rbWait):
					b.Fatal("not ready again")
				}
			}
		})
	}
}
