package websocket

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/echows/echows/websocket/wire"
)

// readBufferSize is gorilla's read buffer per connection: small, because
// idle connections dominate memory, and large enough for a whole control
// frame (2 + 4 + 125 bytes), which the reader handles from it. A larger
// message's payload is read straight into the message buffer. gorilla uses
// the hijacked reader as its own only when it holds more than 256 bytes;
// 288 is the next allocation size class.
const readBufferSize = 288

// ServeHTTP upgrades the request to a WebSocket connection and returns as
// soon as the client is registered: the connection is served by its own
// goroutines, so net/http's per-request objects are freed at once.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		http.Error(w, "server shutting down", http.StatusServiceUnavailable)
		return
	}
	s.wg.Add(1) // for the read loop, or undone below
	s.mu.Unlock()
	if n := s.conns.Add(1); n > int64(s.cfg.MaxConnections) {
		s.conns.Add(-1)
		s.wg.Done()
		s.m.limits[limitConnections].Add(1)
		s.log.Debug("websocket: upgrade refused: MaxConnections reached", "remote", r.RemoteAddr, "limit", s.cfg.MaxConnections)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "too many connections", http.StatusServiceUnavailable)
		return
	}

	hw := &hijackWriter{ResponseWriter: w}
	// gorilla does the handshake; the reader and the writer do the rest
	// (frames.go, writer.go), so gorilla's *Conn is not kept.
	_, err := s.upgrader.Upgrade(hw, r, nil)
	if err != nil {
		s.conns.Add(-1)
		s.wg.Done()
		s.log.Debug("websocket: upgrade failed", "remote", r.RemoteAddr, "err", err)
		return
	}
	now := time.Now()
	c := &Client{
		id:          uuid.NewString(),
		remoteAddr:  r.RemoteAddr,
		server:      s,
		br:          hw.br,
		raw:         hw.conn.Conn,
		rc:          rawConnOf(hw.conn.Conn),
		fd:          -1,
		connectedAt: now,
		header:      r.Header,
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.state.Store(int32(StateUnauthorized))
	s.m.connected()
	c.lastActivity.Store(now.UnixNano())
	c.readyAt = monoNow()   // the reader's, before it starts
	c.hooksPending.Store(1) // the reader's
	c.fd = rawFD(c.rc)
	hw.conn.client.Store(c)

	s.index.add(c)
	c.resetAuthTimer(s.cfg.AuthTimeout)
	c.pinged()
	if c.br.Buffered() > 0 || !s.park(c) {
		go c.read(false)
	}
	// Shutdown marks the server closing, then closes the clients it finds
	// indexed: a client indexed meanwhile sees the mark here.
	s.mu.Lock()
	closing := s.closing
	s.mu.Unlock()
	if closing {
		c.closeWith(wire.CloseGoingAway, wire.ReasonShuttingDown)
	}
}

// pinged records that the peer sent a frame: it is alive (see
// Server.dropSilent).
func (c *Client) pinged() { c.lastRead.Store(time.Now().UnixNano()) }

func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	for _, allowed := range s.cfg.AllowedOrigins {
		if allowed == "*" || strings.EqualFold(allowed, origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func upgradeError(w http.ResponseWriter, _ *http.Request, status int, reason error) {
	http.Error(w, reason.Error(), status)
}

// hijackWriter hands gorilla the hijacked connection for the handshake.
// gorilla writes the upgrade response and nothing else: the server reads
// frames itself (frames.go) and drops gorilla's Conn.
type hijackWriter struct {
	http.ResponseWriter
	conn *queuedConn
	br   *bufio.Reader
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	nc, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &queuedConn{Conn: nc}
	if brw.Reader.Buffered() > 0 {
		return w.conn, brw, nil // gorilla refuses it: the client sent data too early
	}
	// A small reader of our own, which gorilla reuses as its read buffer
	// (ReadBufferSize 0), so the read loop can see what it holds.
	w.br = bufio.NewReaderSize(w.conn, readBufferSize)
	return w.conn, bufio.NewReadWriter(w.br, brw.Writer), nil
}

func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// queuedConn is the net.Conn gorilla sees, and the one the server's frame
// reader reads through (reads are charged to the client's ReadRate). Until
// the client is attached (the upgrade response) writes go straight to the
// socket; after, nothing may write through it: the client's write token is
// the socket's only writer, on the socket itself (Client.raw).
type queuedConn struct {
	net.Conn
	client atomic.Pointer[Client]
}

func (q *queuedConn) Read(p []byte) (int, error) {
	c := q.client.Load()
	if c != nil && c.left.dropped {
		return 0, errPeerGone // every time: bufio hands an error back once
	}
	var (
		n   int
		err error
	)
	if canReadRaw && c != nil && c.rc != nil {
		n, err = readRaw(q.Conn, c.rc, p)
	} else {
		n, err = q.Conn.Read(p)
	}
	if c != nil && n > 0 && err == nil {
		err = c.throttleBytes(n)
	}
	return n, err
}

func (q *queuedConn) Write(p []byte) (int, error) {
	if q.client.Load() == nil {
		return q.Conn.Write(p)
	}
	return 0, errUnexpectedWrite
}

// errUnexpectedWrite is returned by a write through queuedConn after the
// upgrade: the server writes its frames itself.
var errUnexpectedWrite = errors.New("websocket: unexpected write after the upgrade")

// unusedWritePool keeps gorilla from allocating a write buffer per
// connection: the server never writes through gorilla's writer.
type unusedWritePool struct{}

func (unusedWritePool) Get() any { return nil }
func (unusedWritePool) Put(any)  {}
