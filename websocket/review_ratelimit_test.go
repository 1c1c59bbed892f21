package websocket

import (
	"net"
	"testing"

	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/websocket/wire"
)

// MessageRate bounds every message a peer sends, whatever its type: a
// binary message costs the server a read and an error event, as a text one
// does. Fifty of them over a burst of five must be throttled.
func TestReviewBinaryMessagesAreChargedToMessageRate(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{MessageRate: 1000, MessageBurst: 5}})
	c := ts.dial(t)
	const n = 50
	for range n {
		if err := c.conn.WriteMessage(gws.BinaryMessage, []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		c.expectError(wire.ErrTextInvalidFormat)
	}
	if got := ts.Stats().Throttled; got == 0 {
		t.Fatalf("%d binary messages over a burst of 5 were never throttled", n)
	}
}

// A peer that does not read is not read either (its queue over
// BackpressureLimit stops its reader): binary messages, each answered with
// an error event, must not get around that. With small socket buffers the
// socket fills after a few KiB and the queue cannot drain, so a reader that
// respects the budget stops after a few episodes of one dropped event each,
// and waits.
func TestReviewBinaryFloodStopsWhenBackpressured(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{
		BackpressureLimit: 1 << 10, MessageRate: 1e9, MessageBurst: 1e9, ReadRate: 1 << 30,
	}})
	c := ts.dial(t) // never reads
	var cl *Client
	waitFor(t, "the client to be registered", func() bool {
		cs := ts.Clients()
		if len(cs) == 1 {
			cl = cs[0]
		}
		return cl != nil
	})
	if err := cl.raw.(*net.TCPConn).SetWriteBuffer(4096); err != nil {
		t.Fatal(err)
	}
	if err := c.conn.NetConn().(*net.TCPConn).SetReadBuffer(4096); err != nil {
		t.Fatal(err)
	}
	const n = 5000 // 5000 error events of ~50 bytes: far over the budget and the buffers
	go func() {
		for range n {
			if c.conn.WriteMessage(gws.BinaryMessage, []byte{1}) != nil {
				return
			}
		}
	}()
	waitFor(t, "the reader to wait for the queue to drain, or to drop nearly everything", func() bool {
		cl.out.mu.Lock()
		defer cl.out.mu.Unlock()
		return cl.out.drained != nil || cl.out.dropped >= n/2
	})
	if d := cl.Dropped(); d > 100 {
		t.Fatalf("%d error events dropped: the reader read on past the budget", d)
	}
}
