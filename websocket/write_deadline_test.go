package websocket

import (
	"net"
	"strings"
	"testing"
	"time"
)

// A client whose socket once filled up is written by its own writer with a
// blocking write under WriteTimeout; once its queue drains it goes back to
// the flush goroutines' non-blocking writes. The deadline of its last
// blocking write must not outlive that write: the runtime refuses any write,
// even a non-blocking attempt through syscall.RawConn, on a socket whose
// write deadline has passed, so the next message would kill a healthy,
// reading client.
func TestExpiredWriteDeadlineKillsTheFlushPath(t *testing.T) {
	const writeTimeout = 2 * time.Second
	ts := startServer(t, Config{Settings: Settings{WriteTimeout: writeTimeout, BackpressureLimit: 8 << 20}})
	m := ts.members(t, "a")
	cl, ok := ts.Client(m[0].id)
	if !ok {
		t.Fatal("client not found")
	}
	// small socket buffers on both sides: the burst cannot go out in
	// non-blocking writes alone, so the client's own writer takes over
	if err := cl.raw.(*net.TCPConn).SetWriteBuffer(16 << 10); err != nil {
		t.Fatal(err)
	}
	if err := m[0].c.conn.NetConn().(*net.TCPConn).SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 16<<10)
	const burst = 64 // 1 MiB
	for range burst {
		if err := ts.Local().ToClient(m[0].id, "big", big); err != nil {
			t.Fatal(err)
		}
	}
	// The client has not read yet: 1 MiB cannot fit in its buffers, so the
	// client's own writer must take over and wait for the socket.
	waitFor(t, "the client's own writer to wait for the socket", func() bool {
		cl.out.mu.Lock()
		defer cl.out.mu.Unlock()
		return cl.out.state == stateWriting
	})
	for range burst { // now the client reads: no write waits long
		m[0].c.expect("big")
	}
	waitFor(t, "the writer to release the client", func() bool {
		cl.out.mu.Lock()
		defer cl.out.mu.Unlock()
		return cl.out.state == stateIdle
	})
	// Let the deadline of the last blocking write pass: time itself is the
	// condition here, not a stand-in for a signal.
	time.Sleep(writeTimeout + 250*time.Millisecond)
	if err := ts.Local().ToClient(m[0].id, "after", 1); err != nil {
		t.Fatal(err)
	}
	m[0].c.expect("after")
}
