package websocket

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/echows/echows/internal/wstest"
)

// A reader lingers after a message only for a client that sends often (its
// last two frames within the linger): for one that sends now and then a
// linger would only end in its timer, one more wake-up of the process per
// message, so its reader parks at once. The linger is an hour here: a
// reader that lingered would not park within the test.
func TestReaderParksAtOnceAfterAnOccasionalMessage(t *testing.T) {
	s := newServer(t, Config{
		Settings: Settings{IdleTimeout: time.Hour, HeartbeatInterval: time.Hour, HeartbeatTimeout: time.Hour},
		Hooks: Hooks{OnMessage: func(_ context.Context, c *Client, m Message) error {
			return c.Send("ack", m.Data)
		}},
	})
	s.linger = time.Hour
	ts := serve(t, s, httptest.NewServer)
	r := wstest.DialRaw(t, ts.url)
	c := ts.index.getAuthed(r.Authenticate("u").ID)
	if c == nil {
		t.Fatal("the authenticated client is not indexed")
	}
	if c.fd < 0 {
		t.Skip("no socket number on this platform: readers do not park")
	}
	// The authenticate frame came right after the upgrade: the reader now
	// lingers. Make the peer's last frame two hours old, as if it were an
	// occasional sender, then send.
	c.lastRead.Store(time.Now().Add(-2 * time.Hour).UnixNano())
	r.SendMessage("note", map[string]int{"n": 1})
	r.Expect("ack")
	waitFor(t, "the reader to park after an occasional message", c.parked.Load)

	// Parked, it still reads the next message (on a fresh goroutine).
	r.SendMessage("note", map[string]int{"n": 2})
	r.Expect("ack")
}
