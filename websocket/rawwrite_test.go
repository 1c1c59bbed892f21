package websocket

import (
	"testing"

	"github.com/echows/echows/internal/wstest"
)

// The flush goroutines write a socket by its number (writeNow), which the
// runtime does not keep open for them: a close that comes while one of
// them writes must be left to that writer, or the number could be closed,
// reused by the next accepted connection, and written to with another
// client's frames.
func TestCloseDuringRawWriteIsLeftToTheWriter(t *testing.T) {
	ts := startServer(t, Config{})
	r := wstest.DialRaw(t, ts.url)
	c, ok := ts.Client(r.Authenticate("u").ID)
	if !ok {
		t.Fatal("the client is not registered")
	}
	closed := func() bool {
		ts.parker.mu.Lock()
		defer ts.parker.mu.Unlock()
		return c.closedSocket
	}
	q := &c.out
	// Take the token as flushOnce does before its write, once the writer
	// of the connected event gave it back.
	waitFor(t, "the connected event's writer to give the token back", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.state != stateIdle {
			return false
		}
		q.state = stateFlushing
		return true
	})

	c.closeSocket()
	if closed() {
		t.Fatal("closeSocket closed a socket a flush goroutine is writing to")
	}
	q.mu.Lock()
	noRaw, after := q.noRaw, q.closeAfter
	q.mu.Unlock()
	if !noRaw || !after {
		t.Fatalf("noRaw %v, closeAfter %v: want both", noRaw, after)
	}

	// The write returns: the flush goroutine closes the socket.
	if c.flushed(&batch{}, nil, nil) {
		t.Fatal("flushed asks for another visit of a closed client")
	}
	if !closed() {
		t.Fatal("the flush goroutine did not close the socket when its write returned")
	}
	r.ExpectEOF()
}

// A client scheduled for a flush whose socket is being closed is not
// written to: the flush goroutine gives the token back without a write.
func TestNoRawWriteAfterClose(t *testing.T) {
	ts := startServer(t, Config{})
	r := wstest.DialRaw(t, ts.url)
	c, ok := ts.Client(r.Authenticate("u").ID)
	if !ok {
		t.Fatal("the client is not registered")
	}
	q := &c.out
	waitFor(t, "the connected event's writer to give the token back", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		if q.state != stateIdle {
			return false
		}
		q.state = stateScheduled // as push does, without the flush list
		q.items = append(q.items, &outbound{frame: []byte("not a frame")})
		return true
	})
	if !q.letClose() {
		t.Fatal("letClose refused a close with no write in progress")
	}
	before := ts.m.writes.Load()
	if c.flushOnce() {
		t.Fatal("flushOnce asks for another visit of a closing client")
	}
	if ts.m.writes.Load() != before {
		t.Fatal("flushOnce wrote to a socket that is being closed")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.state != stateIdle || !q.dead {
		t.Fatalf("state %d, dead %v: want idle and dead", q.state, q.dead)
	}
}
