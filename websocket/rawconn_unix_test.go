//go:build unix

package websocket

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// tcpPair returns the two ends of a loopback TCP connection: the
// accepted one (the server's, as queuedConn would hold it) and the dialed
// one.
func tcpPair(t *testing.T) (server *net.TCPConn, peer net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	peer, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	nc, err := ln.Accept()
	if err != nil {
		peer.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close(); peer.Close() })
	return nc.(*net.TCPConn), peer
}

// makeBlocking puts nc's socket in blocking mode, as a listener or a Redis
// dialer that set socket options through File().Fd() leaves it: Fd puts
// the open file description, which the dup shares with nc, in blocking
// mode.
func makeBlocking(t *testing.T, nc *net.TCPConn) {
	t.Helper()
	f, err := nc.File()
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Fd()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// nonBlockingFlag reports whether nc's socket has O_NONBLOCK.
func nonBlockingFlag(t *testing.T, nc *net.TCPConn) bool {
	t.Helper()
	rc, err := nc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fl int
	var ferr error
	if err := rc.Control(func(fd uintptr) { fl, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0) }); err != nil || ferr != nil {
		t.Fatal(err, ferr)
	}
	return fl&unix.O_NONBLOCK != 0
}

// A socket in blocking mode is given back to the runtime's non-blocking
// mode, so that read deadlines, Close and the raw calls behave. (There is
// no end-to-end test with a listener that makes blocking sockets: net/http
// itself does not serve them reliably, its background read before a
// hijack ignores deadlines too, so the upgrade sometimes never answers.)
func TestRawConnOfRestoresNonBlockingMode(t *testing.T) {
	nc, peer := tcpPair(t)
	makeBlocking(t, nc)
	if nonBlockingFlag(t, nc) {
		t.Fatal("File().Fd() left the socket non-blocking: the test sets nothing up")
	}
	if rawConnOf(nc) == nil {
		t.Fatal("rawConnOf = nil, want the socket's RawConn")
	}
	if !nonBlockingFlag(t, nc) {
		t.Fatal("rawConnOf left the socket in blocking mode: raw writes would wait holding the processor, reads ignore deadlines")
	}
	// A read deadline works again: in blocking mode the read would wait
	// for the peer, which sends nothing.
	if err := nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	read := make(chan error, 1)
	go func() {
		_, err := nc.Read(make([]byte, 1))
		read <- err
	}()
	select {
	case err := <-read:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("Read = %v, want the deadline's error", err)
		}
	case <-time.After(10 * time.Second): // a guard, not a measurement: blocked for good
		_, _ = peer.Write([]byte("x")) // ends the read (a Close would wait for it)
		<-read
		t.Fatal("Read ignored its deadline: the socket is still in blocking mode")
	}
}

func TestRawConnOfKeepsNonBlockingSocket(t *testing.T) {
	nc, _ := tcpPair(t)
	if rawConnOf(nc) == nil || !nonBlockingFlag(t, nc) {
		t.Fatal("rawConnOf of a runtime socket: want its RawConn and the socket left non-blocking")
	}
}
