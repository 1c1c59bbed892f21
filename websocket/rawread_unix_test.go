//go:build unix

package websocket

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
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

// readRaw must behave as net.Conn's Read, which it replaces for every
// attached client: what came, a read that waits for the peer, EOF, the
// read deadline and a closed socket, with errors callers test the usual
// way.
func TestReadRawIsConnRead(t *testing.T) {
	t.Run("data", func(t *testing.T) {
		nc, peer := tcpPair(t)
		q := &queuedConn{Conn: nc}
		rc := rawConnOf(nc)
		if _, err := peer.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		n, err := q.readRaw(rc, buf)
		if err != nil || string(buf[:n]) != "hello" {
			t.Fatalf("read %q, %v; want hello", buf[:n], err)
		}
		if n, err := q.readRaw(rc, nil); n != 0 || err != nil {
			t.Fatalf("an empty read: %d, %v; want 0, nil", n, err)
		}
	})
	t.Run("waits for the peer", func(t *testing.T) {
		nc, peer := tcpPair(t)
		q := &queuedConn{Conn: nc}
		type result struct {
			b   []byte
			err error
		}
		done := make(chan result, 1)
		go func() {
			buf := make([]byte, 16)
			n, err := q.readRaw(rawConnOf(nc), buf)
			done <- result{buf[:n], err}
		}()
		// Whether the read is already waiting or not, it must return what
		// comes, not EAGAIN's nothing.
		if _, err := peer.Write([]byte("late")); err != nil {
			t.Fatal(err)
		}
		if r := <-done; r.err != nil || string(r.b) != "late" {
			t.Fatalf("read %q, %v; want late", r.b, r.err)
		}
	})
	t.Run("EOF", func(t *testing.T) {
		nc, peer := tcpPair(t)
		q := &queuedConn{Conn: nc}
		peer.Close()
		n, err := q.readRaw(rawConnOf(nc), make([]byte, 16))
		if n != 0 || err != io.EOF {
			t.Fatalf("read after the peer closed: %d, %v; want 0, io.EOF (bare, as net.Conn's)", n, err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		nc, _ := tcpPair(t)
		q := &queuedConn{Conn: nc}
		if err := nc.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		_, err := q.readRaw(rawConnOf(nc), make([]byte, 16))
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read past the deadline: %v; want a timeout (os.ErrDeadlineExceeded)", err)
		}
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "read" || op.Addr == nil {
			t.Fatalf("read past the deadline: %#v; want a *net.OpError for the read, with the peer's address", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		nc, _ := tcpPair(t)
		q := &queuedConn{Conn: nc}
		rc := rawConnOf(nc)
		nc.Close()
		if _, err := q.readRaw(rc, make([]byte, 16)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read of a closed socket: %v; want net.ErrClosed", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		nc, peer := tcpPair(t)
		q := &queuedConn{Conn: nc}
		// Unread data at the peer's close makes it send a reset.
		if _, err := nc.Write([]byte("unread")); err != nil {
			t.Fatal(err)
		}
		if err := peer.(*net.TCPConn).SetLinger(0); err != nil {
			t.Fatal(err)
		}
		peer.Close()
		_, err := q.readRaw(rawConnOf(nc), make([]byte, 16))
		var se *os.SyscallError
		if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &se) || se.Syscall != "read" {
			t.Fatalf("read after a reset: %v; want ECONNRESET in an *os.SyscallError for read", err)
		}
	})
}
