package websocket

import (
	"errors"
	"testing"

	"github.com/echows/echows/internal/wstest"
)

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

// writeFrame, the one-frame batch's path: a short write keeps a copy of
// what is left (the frame is shared by every recipient), an error keeps
// nothing, a dropped frame writes nothing, and a sampled message is counted
// once it is handed to the socket.
func TestWriteFrame(t *testing.T) {
	s := startServer(t, Config{}).Server
	c := &Client{server: s}
	frame := []byte("0123456789")
	var got []byte
	short := func(p []byte) (int, error) { got = append(got, p[:4]...); return 4, nil }

	rest, err := c.writeFrame(frame, &outbound{frame: frame}, short)
	if err != nil || string(rest) != "456789" || string(got) != "0123" {
		t.Fatalf("short write: rest %q, wrote %q, %v", rest, got, err)
	}
	rest[0] = 'x'
	if string(frame) != "0123456789" {
		t.Fatal("the rest of a short write aliases the shared frame")
	}

	fail := errors.New("boom")
	if rest, err = c.writeFrame(frame, &outbound{frame: frame}, func([]byte) (int, error) { return 0, fail }); rest != nil || !errors.Is(err, fail) {
		t.Fatalf("failed write: rest %q, %v", rest, err)
	}

	called := false
	sampled := &outbound{frame: frame, sentAt: 1}
	if rest, err = c.writeFrame(nil, sampled, func([]byte) (int, error) { called = true; return 0, nil }); rest != nil || err != nil || called {
		t.Fatalf("dropped frame: rest %q, %v, write called %v", rest, err, called)
	}
	if n := s.m.latency.snapshot().Count; n != 0 {
		t.Fatalf("a dropped sampled message was counted (%d)", n)
	}
	if _, err = c.writeFrame(frame, sampled, short); err != nil {
		t.Fatal(err)
	}
	if n := s.m.latency.snapshot().Count; n != 1 {
		t.Fatalf("a sampled message handed to the socket counted %d times, want once", n)
	}
}
