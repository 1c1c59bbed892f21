package websocket

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/echows/echows/internal/wstest"
)

// A reader lingers after a message only for a client that sends often:
// for one whose frames come later than the linger would wait, a linger
// would only end in its timer, one more wake-up of the process per message,
// so its reader parks at once. Here every client counts as occasional
// (oftenWithin 0) and the linger is an hour: a reader that lingered would
// not park within the test.
func TestReaderParksAtOnceAfterAnOccasionalMessage(t *testing.T) {
	s := newServer(t, Config{
		Settings: Settings{IdleTimeout: time.Hour, HeartbeatInterval: time.Hour, HeartbeatTimeout: time.Hour},
		Hooks: Hooks{OnMessage: func(_ context.Context, c *Client, m Message) error {
			return c.Send("ack", m.Data)
		}},
	})
	s.linger, s.oftenWithin = time.Hour, 0
	r, c := dialParking(t, s)
	for n := range 3 {
		r.SendMessage("note", map[string]int{"n": n})
		r.Expect("ack")
		waitFor(t, "the reader to park after an occasional message", c.parked.Load)
	}
}

// dialParking serves s, connects an authenticated raw client and returns it
// with the server's side of it, whose reader parks between messages (the
// test is skipped where readers cannot park).
func dialParking(t *testing.T, s *Server) (*wstest.Raw, *Client) {
	t.Helper()
	ts := serve(t, s, httptest.NewServer)
	r := wstest.DialRaw(t, ts.url)
	c := ts.index.getAuthed(r.Authenticate("u").ID)
	if c == nil {
		t.Fatal("the authenticated client is not indexed")
	}
	if c.fd < 0 {
		t.Skip("no socket number on this platform: readers do not park")
	}
	return r, c
}
