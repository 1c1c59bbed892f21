//go:build linux

package websocket

import (
	"net/http/httptest"
	"syscall"
	"testing"

	"github.com/echows/echows/internal/wstest"
)

// The flush goroutines write a socket by its number (writeNow), which the
// runtime does not keep open for them: a close that comes while one of
// them writes must be left to that writer, or the number could be closed,
// reused by the next accepted connection, and written to with another
// client's frames. The test holds a real write in progress, closes the
// client meanwhile, and checks that the socket number stays open until the
// write returns, and is closed then.
func TestCloseDuringRawWriteIsLeftToTheWriter(t *testing.T) {
	s := newServer(t, Config{})
	held := holdWrites(t, s)
	ts := serve(t, s, httptest.NewServer)
	r := wstest.DialRaw(t, ts.url)
	c, ok := ts.Client(r.Authenticate("u").ID)
	if !ok {
		t.Fatal("the client is not registered")
	}
	fdOpen := func() bool {
		_, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(c.fd), syscall.F_GETFD, 0)
		return errno == 0
	}

	held.armed.Store(true)
	go func() { _ = c.Send("held", nil) }() // written inline, on this goroutine
	wstest.Wait(t, held.inWrite, "the write to start")

	closed := make(chan struct{})
	go func() { c.closeSocket(); close(closed) }()
	wstest.Wait(t, closed, "closeSocket to return")
	if !fdOpen() {
		t.Fatal("closeSocket closed a socket a flush goroutine is writing to")
	}

	held.release() // the write goes on, then its writer closes the socket
	r.Expect("held")
	r.ExpectEOF()
	waitFor(t, "the writer to close the socket", func() bool {
		ts.parker.mu.Lock()
		defer ts.parker.mu.Unlock()
		return c.closedSocket
	})
}
