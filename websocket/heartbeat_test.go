package websocket

import (
	"context"
	"testing"
)

// pingAll pings a chunk of clients at a time with pauses between chunks; a
// round that ends (here: its context is already done) after the first chunk
// has pinged pingChunk clients, not all of them.
func TestPingAllPingsAChunkAtATime(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{DisablePings: true}})
	const n = 2*pingChunk + 3
	clients := make([]*testClient, n)
	pinged := make([]bool, n)
	for i := range clients {
		clients[i] = ts.dial(t)
		clients[i].roundTrip() // registered
		clients[i].conn.SetPingHandler(func(string) error { pinged[i] = true; return nil })
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ts.pingAll(ctx, 0)
	count := 0
	for i, c := range clients {
		c.roundTrip() // queued after any ping of pingAll's, so read after it
		if pinged[i] {
			count++
		}
	}
	if count != pingChunk {
		t.Fatalf("%d clients pinged by a round stopped after its first chunk, want %d", count, pingChunk)
	}
	ts.pingAll(context.Background(), 0)
	for i, c := range clients {
		pinged[i] = false
		c.roundTrip()
		if !pinged[i] {
			t.Fatalf("client %d of %d was not pinged by a whole round", i, n)
		}
	}
}
