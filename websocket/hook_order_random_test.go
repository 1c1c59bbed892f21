package websocket

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
)

// Clients that leave at random moments around their authentication (the
// peer closes, the server closes, the connected hook is slow): for each,
// the disconnected hook runs exactly once, the connected hook at most once,
// and a connected hook always ends before the disconnected one starts.
func TestHookOrderUnderRandomLeaves(t *testing.T) {
	var mu sync.Mutex
	events := map[string][]string{}
	record := func(id, what string) {
		mu.Lock()
		events[id] = append(events[id], what)
		mu.Unlock()
	}
	ts := startServer(t, Config{Hooks: Hooks{
		OnConnected: func(_ context.Context, c *Client) error {
			record(c.ID(), "connected-start")
			time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
			if rand.IntN(4) == 0 {
				c.Close(4000, "from the hook")
			}
			record(c.ID(), "connected-end")
			return nil
		},
		OnDisconnected: func(_ context.Context, c *Client) { record(c.ID(), "disconnected") },
	}})
	const n = 120
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, _, err := gws.DefaultDialer.Dial(ts.url, nil)
			if err != nil {
				t.Error(err)
				return
			}
			defer conn.Close()
			conn.WriteMessage(gws.TextMessage, []byte(fmt.Sprintf(`{"event":"authenticate","data":{"token":"u%d"}}`, i%7)))
			switch rand.IntN(4) {
			case 0: // gone at once
			case 1:
				time.Sleep(time.Duration(rand.IntN(3)) * time.Millisecond)
				for _, c := range ts.Clients() {
					if rand.IntN(30) == 0 { // a few, so that some authentications finish
						c.Close(4001, "server")
					}
				}
			default: // read until connected or closed, then leave
				conn.SetReadDeadline(time.Now().Add(readTimeout))
				conn.ReadMessage()
			}
		}()
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil { // returns once every hook returned
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != n {
		t.Errorf("hooks ran for %d clients of %d", len(events), n)
	}
	connected := 0
	for id, ev := range events {
		want := []string{"disconnected"}
		if len(ev) > 1 {
			connected++
			want = []string{"connected-start", "connected-end", "disconnected"}
		}
		if fmt.Sprint(ev) != fmt.Sprint(want) {
			t.Errorf("client %s: hooks %v", id, ev)
		}
	}
	if connected == 0 || connected == n {
		t.Fatalf("%d of %d clients connected: the leaves did not race the authentications", connected, n)
	}
}
