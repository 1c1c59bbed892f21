package websocket

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
)

// Many clients that park and wake (their messages come around the reader's
// linger), get pinged, get room traffic corked and not, and are closed by
// the server at random moments: under -race, one reader per connection at
// a time (a second one would race on the read buffer), one writer, each
// client's echoes in order, a close last, and every client finished.
func TestParkWakeCloseStress(t *testing.T) {
	echo := func(_ context.Context, c *Client, msg Message) error { return c.Send(msg.Event, msg.Data) }
	ts := startServer(t, Config{
		Settings: Settings{IdleTimeout: time.Second, MessageRate: 1e9, MessageBurst: 1e9, ReadRate: 1 << 30},
		Hooks:    Hooks{OnMessage: echo},
	})
	const clients, perClient = 40, 60
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	ids := make(chan string, clients)
	for k := range clients {
		c := ts.dial(t)
		id := c.authenticate(fmt.Sprint("u", k)).ID
		ids <- id
		wg.Add(1)
		go func() {
			defer wg.Done()
			got := make(chan error, 1)
			go func() { // reader: echoes in order, anything else skipped, until the close
				next := 0
				for {
					c.conn.SetReadDeadline(time.Now().Add(readTimeout))
					_, b, err := c.conn.ReadMessage()
					if err != nil {
						if gws.IsCloseError(err, 4000, gws.CloseGoingAway) {
							err = nil
						}
						got <- err
						return
					}
					var m struct {
						Event string
						Data  int
					}
					json.Unmarshal(b, &m)
					if m.Event == "e" {
						if m.Data != next {
							got <- fmt.Errorf("echo %d arrived as %d", next, m.Data)
							return
						}
						next++
					}
				}
			}()
			for i := range perClient {
				b, _ := json.Marshal(map[string]any{"event": "e", "data": i})
				if c.conn.WriteMessage(gws.TextMessage, b) != nil {
					break // closed by the server
				}
				time.Sleep(time.Duration(rand.IntN(30)) * time.Millisecond) // around readLinger: parks half the time
			}
			errs <- <-got
		}()
	}
	close(ids)
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(2)
	go func() { // room traffic, corked and not
		defer bg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(rand.IntN(5)) * time.Millisecond):
			}
			if i%2 == 0 {
				ts.Cork(func() {
					for j := range 5 {
						ts.Local().Broadcast("room", j)
					}
				})
			} else {
				ts.Local().Broadcast("room", i)
			}
		}
	}()
	go func() { // the server closes half of them at random moments
		defer bg.Done()
		n := 0
		for id := range ids {
			if n++; n%2 == 0 {
				continue
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(rand.IntN(40)) * time.Millisecond):
			}
			ts.Disconnect(id, 4000, "bye")
		}
	}()
	go func() {
		wg.Wait()
		close(errs)
	}()
	done := 0
	for done < clients/2 { // the closed half end on their own
		if err := <-errs; err != nil {
			t.Error(err)
		}
		done++
	}
	close(stop)
	bg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
