package websocket

import (
	"context"
	"testing"
	"time"
)

// BenchmarkCrossInstanceRoundTrip measures one cross-instance room message:
// Emit on server A to a room whose only member is a client of server B,
// until that client has read the frame. It covers A's encode and PUBLISH,
// Redis, B's subscription, decode and dispatch, B's writer and the client's
// read, one message in flight at a time (latency, not throughput). The
// allocations are the whole process's: both servers, the brokers and the
// test client.
func BenchmarkCrossInstanceRoundTrip(b *testing.B) {
	cl := startCluster(b, Config{})
	c := cl.b.dial(b)
	id := c.authenticate("bench").ID
	if err := cl.b.JoinRoom(id, "bench"); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	data := map[string]string{"text": "a 64-byte chat message, give or take a few bytes of padding."}

	// One message before timing: the connections are dialled and warm.
	if err := cl.a.ToRoom(ctx, "bench", "chat", data); err != nil {
		b.Fatal(err)
	}
	c.expect("chat")

	b.ReportAllocs()
	for b.Loop() {
		if err := cl.a.ToRoom(ctx, "bench", "chat", data); err != nil {
			b.Fatal(err)
		}
		c.conn.SetReadDeadline(time.Now().Add(readTimeout))
		if _, _, err := c.conn.ReadMessage(); err != nil {
			b.Fatalf("read: %v", err)
		}
	}
	b.StopTimer()
	if st := cl.b.Stats(); st.Received < uint64(b.N) {
		b.Fatalf("server B received %d envelopes for %d messages", st.Received, b.N)
	}
}
