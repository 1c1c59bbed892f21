//go:build unix

package websocket

import (
	"net"
	"syscall"
	"testing"

	gws "github.com/gorilla/websocket"
)

// A peer that does not read is not read either (its queue over
// BackpressureLimit stops its reader): binary messages, each answered with
// an error event, must not get around that. With small socket buffers the
// socket fills after a few KiB and the queue cannot drain, so a reader that
// respects the budget stops after a few episodes of one dropped event each,
// and waits.
func TestBinaryFloodStopsWhenBackpressured(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{
		BackpressureLimit: 1 << 10, MessageRate: 1e9, MessageBurst: 1e9, ReadRate: 1 << 30,
	}})
	// The peer's receive buffer is small from its first segment on: set
	// after the handshake, the window already offered lets the server send
	// more than the buffer holds, the peer drops segments (the server's
	// acknowledgements of the flood among them), and both directions crawl
	// at the retransmission timeout (seen under -race on a loaded machine:
	// the flood stuck in the peer's send queue, the server parked).
	ts.dialer = &gws.Dialer{NetDialContext: (&net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}).DialContext}
	c := ts.dial(t) // never reads, once authenticated
	// Authenticated: an unauthenticated peer is closed at AuthTimeout, which
	// a flood read under -race on a loaded machine can outlast (4001).
	c.authenticate("u")
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
