package websocket

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/echows/echows/websocket/wire"
)

// benchClients connects n authenticated clients that count the bytes they
// receive with a fixed buffer, so the client side allocates nothing.
func benchClients(b *testing.B, ts *testServer, n int) (ids []string, received *atomic.Int64, wait func()) {
	b.Helper()
	received = new(atomic.Int64)
	var wg sync.WaitGroup
	for i := range n {
		c := ts.dial(b)
		ids = append(ids, c.authenticate(fmt.Sprint("bench", i)).ID) // one user each: MaxConnectionsPerUser
		raw := c.conn.NetConn()
		buf := make([]byte, 64<<10) // before the timer starts
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k, err := raw.Read(buf)
				received.Add(int64(k))
				if err != nil {
					return
				}
			}
		}()
	}
	b.Cleanup(wg.Wait)
	return ids, received, nil
}

func waitBytes(b *testing.B, received *atomic.Int64, want int64) {
	b.Helper()
	for received.Load() < want {
		if b.Elapsed() > readTimeout*6 {
			b.Fatalf("received %d of %d bytes", received.Load(), want)
		}
		runtimeGosched()
	}
}

func benchFanOut(b *testing.B, members int) {
	ts := startServer(b, Config{Settings: Settings{DefaultRooms: []string{"room"}, BackpressureLimit: 64 << 20}, Logger: quietLogger()})
	_, received, _ := benchClients(b, ts, members)
	data := map[string]string{"text": "a 64-byte chat message, give or take a few bytes of padding."}
	raw, _ := encodeMessage("bench", data)
	frame, _ := messageFrame("chat", raw)
	frameSize := int64(len(frame))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := ts.Local().ToRoom("room", "chat", data); err != nil {
			b.Fatal(err)
		}
	}
	waitBytes(b, received, frameSize*int64(members)*int64(b.N))
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*int64(members)), "ns/delivery")
}

// BenchmarkFanOut1k sends room messages to 1,000 members and waits until
// every member got every message. allocs/op is per room message: it does
// not grow with the number of members.
func BenchmarkFanOut1k(b *testing.B) { benchFanOut(b, 1000) }

// BenchmarkFanOut5k is the same with 5,000 members (10,000 would need more
// file descriptors than one process gets here: both ends live in it).
func BenchmarkFanOut5k(b *testing.B) { benchFanOut(b, 5000) }

// BenchmarkSendToClient sends direct messages to one client.
func BenchmarkSendToClient(b *testing.B) {
	ts := startServer(b, Config{Settings: Settings{BackpressureLimit: 64 << 20}, Logger: quietLogger()})
	ids, received, _ := benchClients(b, ts, 1)
	raw, _ := encodeMessage("bench", "hello")
	frame, _ := messageFrame("direct", raw)
	frameSize := int64(len(frame))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if err := ts.Local().ToClient(ids[0], "direct", "hello"); err != nil {
			b.Fatal(err)
		}
	}
	waitBytes(b, received, frameSize*int64(b.N))
}

// BenchmarkInboundRouting decodes and routes a custom event, as the read
// loop does for every client frame.
func BenchmarkInboundRouting(b *testing.B) {
	var n atomic.Int64
	s, err := New(Config{Hooks: Hooks{Authenticate: testAuth, OnMessage: func(context.Context, *Client, Message) error { n.Add(1); return nil }}, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	c := &Client{id: "c", server: s, ctx: context.Background()}
	c.state.Store(int32(StateAuthenticated))
	frame := []byte(`{"event":"chat","data":{"room":"lobby","text":"hello there"}}`)
	b.ReportAllocs()
	for range b.N {
		msg, err := wire.DecodeMessage(frame)
		c.handle(msg, err)
	}
	if n.Load() != int64(b.N) {
		b.Fatalf("routed %d of %d", n.Load(), b.N)
	}
}

func runtimeGosched() { runtime.Gosched() }

// BenchmarkFanOutManyRooms sends from every processor at once, each
// message to one of 100 rooms of 10 members: concurrent bursts to
// different audiences, which take turns on the server's one batch (see
// coalescer). It waits until every member got every message.
func BenchmarkFanOutManyRooms(b *testing.B) {
	const rooms, perRoom = 100, 10
	ts := startServer(b, Config{Settings: Settings{BackpressureLimit: 64 << 20}, Logger: quietLogger()})
	ids, received, _ := benchClients(b, ts, rooms*perRoom)
	for i, id := range ids {
		if err := ts.JoinRoom(id, fmt.Sprint("r", i%rooms)); err != nil {
			b.Fatal(err)
		}
	}
	data := map[string]string{"text": "a 64-byte chat message, give or take a few bytes of padding."}
	raw, _ := encodeMessage("bench", data)
	frame, _ := messageFrame("chat", raw)
	var next atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			room := fmt.Sprint("r", next.Add(1)%rooms)
			if err := ts.Local().ToRoom(room, "chat", data); err != nil {
				b.Error(err)
				return
			}
		}
	})
	waitBytes(b, received, int64(len(frame))*perRoom*int64(b.N))
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(int64(b.N)*perRoom), "ns/delivery")
}
