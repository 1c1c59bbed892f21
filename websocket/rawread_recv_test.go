//go:build linux && (amd64 || arm64) && !echows_portable

package websocket

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rawReads returns nc reading with readSocket, as the server's clients
// and the broker's Redis connections do.
func rawReads(t *testing.T, nc net.Conn) net.Conn {
	t.Helper()
	rr, ok := withRawReads(nc).(*rawReadConn)
	if !ok {
		t.Fatalf("withRawReads(%T) reads as before", nc)
	}
	return rr
}

// A raw read must behave as net.Conn's Read, which it replaces for every
// attached client and the broker's Redis connections: what came, a read
// that waits for the peer, EOF, the read deadline, a closed socket and a
// reset, with errors callers test the usual way.
func TestRawReadsAreConnReads(t *testing.T) {
	t.Run("data", func(t *testing.T) {
		nc, peer := tcpPair(t)
		conn := rawReads(t, nc)
		if _, err := peer.Write([]byte("hello")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		n, err := conn.Read(buf)
		if err != nil || string(buf[:n]) != "hello" {
			t.Fatalf("read %q, %v; want hello", buf[:n], err)
		}
		if n, err := conn.Read(nil); n != 0 || err != nil {
			t.Fatalf("an empty read: %d, %v; want 0, nil", n, err)
		}
	})
	t.Run("waits for the peer", func(t *testing.T) {
		nc, peer := tcpPair(t)
		type result struct {
			b   []byte
			err error
		}
		conn := rawReads(t, nc)
		done := make(chan result, 1)
		go func() {
			buf := make([]byte, 16)
			n, err := conn.Read(buf)
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
		peer.Close()
		n, err := rawReads(t, nc).Read(make([]byte, 16))
		if n != 0 || err != io.EOF {
			t.Fatalf("read after the peer closed: %d, %v; want 0, io.EOF (bare, as net.Conn's)", n, err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		nc, _ := tcpPair(t)
		if err := nc.SetReadDeadline(time.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		_, err := rawReads(t, nc).Read(make([]byte, 16))
		var ne net.Error
		if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("read past the deadline: %v; want a timeout (os.ErrDeadlineExceeded)", err)
		}
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "read" || op.Addr == nil || strings.Contains(err.Error(), "raw-read") {
			t.Fatalf("read past the deadline: %#v; want a *net.OpError for the read, with the peer's address", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		nc, _ := tcpPair(t)
		conn := rawReads(t, nc)
		nc.Close()
		if _, err := conn.Read(make([]byte, 16)); !errors.Is(err, net.ErrClosed) {
			t.Fatalf("read of a closed socket: %v; want net.ErrClosed", err)
		}
	})
	t.Run("reset", func(t *testing.T) {
		nc, peer := tcpPair(t)
		// Unread data at the peer's close makes it send a reset.
		if _, err := nc.Write([]byte("unread")); err != nil {
			t.Fatal(err)
		}
		if err := peer.(*net.TCPConn).SetLinger(0); err != nil {
			t.Fatal(err)
		}
		peer.Close()
		_, err := rawReads(t, nc).Read(make([]byte, 16))
		var se *os.SyscallError
		if !errors.Is(err, syscall.ECONNRESET) || !errors.As(err, &se) || se.Syscall != "read" {
			t.Fatalf("read after a reset: %v; want ECONNRESET in an *os.SyscallError for read", err)
		}
	})
}

// The broker's Redis client dials through rawReadHook: sockets come back
// reading raw, anything else as it was.
func TestRawReadHookWrapsSockets(t *testing.T) {
	nc, _ := tcpPair(t)
	dial := rawReadHook{}.DialHook(func(context.Context, string, string) (net.Conn, error) { return nc, nil })
	got, err := dial(context.Background(), "tcp", "redis:6379")
	if err != nil {
		t.Fatal(err)
	}
	rr, ok := got.(*rawReadConn)
	if !ok || rr.Conn != nc {
		t.Fatalf("dialed %T; want the socket in a *rawReadConn", got)
	}
	if _, ok := got.(syscall.Conn); !ok {
		t.Fatal("the wrapped socket hides SyscallConn, which go-redis's pool health check needs")
	}

	pipe, other := net.Pipe()
	t.Cleanup(func() { pipe.Close(); other.Close() })
	dial = rawReadHook{}.DialHook(func(context.Context, string, string) (net.Conn, error) { return pipe, nil })
	if got, _ := dial(context.Background(), "tcp", "redis:6379"); got != pipe {
		t.Fatalf("dialed %T; want a connection that is not a socket left as it is", got)
	}
	failed := errors.New("refused")
	dial = rawReadHook{}.DialHook(func(context.Context, string, string) (net.Conn, error) { return nil, failed })
	if got, err := dial(context.Background(), "tcp", "redis:6379"); got != nil || err != failed {
		t.Fatalf("a failed dial returned %v, %v; want nil and its error", got, err)
	}
}

// BenchmarkReadSocket reads a byte the peer wrote, through the raw read
// and through net.Conn's: CPU and allocations per read (the raw read's
// callback is pooled, so none).
func BenchmarkReadSocket(b *testing.B) {
	for _, mode := range []string{"raw", "net"} {
		b.Run(mode, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			peer, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				b.Fatal(err)
			}
			defer peer.Close()
			nc, err := ln.Accept()
			if err != nil {
				b.Fatal(err)
			}
			defer nc.Close()
			conn := nc
			if mode == "raw" {
				conn = withRawReads(nc)
			}
			one, buf := []byte{1}, make([]byte, 16)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := peer.Write(one); err != nil {
					b.Fatal(err)
				}
				if _, err := conn.Read(buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
