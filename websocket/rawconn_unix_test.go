//go:build unix

package websocket

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
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

// blockingListener accepts connections whose sockets are in blocking mode,
// as a listener that set socket options through File().Fd() leaves them.
type blockingListener struct{ net.Listener }

func (l blockingListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if err := makeBlocking(nc.(*net.TCPConn)); err != nil {
		nc.Close()
		return nil, err
	}
	return nc, nil
}

// makeBlocking puts nc's socket in blocking mode, through a File that
// shares its open file description.
func makeBlocking(nc *net.TCPConn) error {
	f, err := nc.File()
	if err != nil {
		return err
	}
	_ = f.Fd()
	return f.Close()
}

func TestRawConnOfLeavesBlockingSockets(t *testing.T) {
	nc, _ := tcpPair(t)
	if rawConnOf(nc) == nil {
		t.Fatal("rawConnOf of a runtime socket = nil, want its RawConn")
	}
	if err := makeBlocking(nc); err != nil {
		t.Fatal(err)
	}
	if rc := rawConnOf(nc); rc != nil {
		t.Fatal("rawConnOf of a socket in blocking mode = its RawConn, want nil: a raw call on it would wait holding the processor")
	}
}

// A client whose socket is in blocking mode is written by its own writer
// goroutine through the runtime, and gets its messages.
func TestBlockingSocketClientGetsMessages(t *testing.T) {
	s := newServer(t, Config{})
	ts := serve(t, s, func(h http.Handler) *httptest.Server {
		hs := httptest.NewUnstartedServer(h)
		hs.Listener = blockingListener{hs.Listener}
		hs.Start()
		return hs
	})
	c := ts.dial(t)
	id := c.authenticate("u1").ID
	sc := s.index.getAuthed(id)
	if sc == nil {
		t.Fatalf("client %s not authenticated on the server", id)
	}
	if sc.rc != nil {
		t.Fatal("the server's client of a socket in blocking mode has a RawConn: raw calls would wait holding the processor")
	}
	for i := range 3 {
		if err := s.ToClient(context.Background(), id, "tick", map[string]int{"i": i}); err != nil {
			t.Fatalf("ToClient: %v", err)
		}
	}
	for i := range 3 {
		m := c.expect("tick")
		if want := fmt.Sprintf(`{"i":%d}`, i); string(m.Data) != want {
			t.Fatalf("message %d: %s, want %s", i, m.Data, want)
		}
	}
}
