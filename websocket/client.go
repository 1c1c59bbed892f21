package websocket

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// State is where a client is in its lifecycle.
type State int32

// Client states, in lifecycle order.
const (
	StateUnauthorized State = iota + 1
	StateAuthenticating
	StateAuthenticated
	StateDisconnected
)

// String returns the upstream name of the state ("unauthorized", ...).
func (s State) String() string {
	switch s {
	case StateUnauthorized:
		return "unauthorized"
	case StateAuthenticating:
		return "authenticating"
	case StateAuthenticated:
		return "authenticated"
	case StateDisconnected:
		return "disconnected"
	}
	return "unknown"
}

// Client is one WebSocket connection. Its methods are safe for concurrent
// use; the values they return are snapshots.
type Client struct {
	// server and out's first fields share the first cache line (a Client
	// is 64-byte aligned: its size class is a multiple of 64), the line a
	// fan-out touches for each member it queues for.
	server *Server
	out    queue

	id          string
	remoteAddr  string
	br          *bufio.Reader   // the read buffer (readBufferSize), made in Hijack
	raw         net.Conn        // the hijacked connection; only the write token's holder writes to it, and only closeSocket closes it
	rc          syscall.RawConn // raw's, for non-blocking writes; nil when it has none (TLS, a wrapped connection)
	fd          int             // raw's socket number, for parking and the flush goroutines' writes; -1 when it has none
	ctx         context.Context
	cancel      context.CancelFunc
	connectedAt time.Time

	lastActivity atomic.Int64 // unix nanoseconds
	state        atomic.Int32
	encrypted    atomic.Bool
	ident        atomic.Pointer[identity]

	mu        sync.Mutex // guards authTimer and header, and orders the read deadlines of linger and queueClose
	authTimer *time.Timer
	header    http.Header // the upgrade request's, until authentication ends

	// userID is the user index key, guarded by the server's index lock.
	userID string
	// rooms are the rooms it joined (its own room aside), guarded by the
	// server's index lock.
	rooms []string

	// frames and bytesIn are the inbound budgets, used by the reader only.
	frames, bytesIn bucket
	left            peerLeft // whether the peer left while over its rate (see wait)
	// lastRead is when the peer last sent a frame (unix nanoseconds): the
	// ping sweep drops a peer silent for IdleTimeout.
	lastRead atomic.Int64
	// readyAt is when the reader last became ready for the peer's next
	// frame (the end of a message, or the upgrade; monoNow's clock), and
	// often is whether the frame that came last was there within readLinger
	// of that (see read); both are the reader's. (A time.Time would take
	// the Client to the next size class.)
	readyAt time.Duration
	often   bool
	// in is the reader's state between frames.
	in inbound
	// parked is set while the reader waits in the server's epoll set;
	// armed (the socket is in the set) and closedSocket are guarded by the
	// parker's lock.
	parked       atomic.Bool
	armed        bool
	closedSocket bool
	// hooksPending counts the goroutines that must end before the
	// disconnected hook runs: the reader, and the authentication goroutine
	// while it runs (see hooksDone).
	hooksPending atomic.Int32
	// closeCode is the close code of the first close frame queued for the
	// client (the server's own, or gorilla's answer echoing the peer's): the
	// code the connection ended with (Stats.Disconnects).
	closeCode atomic.Int32
}

// identity is what authentication established; set once.
type identity struct {
	userID          string
	metadata        any
	serverPublicKey string
	salt            string
}

// Server returns the server the client is connected to. Hooks use it to
// reach beyond their client: c.Server().ToRoom(ctx, ...), c.Server().Local()
// (a hook answers its own client with c.Send).
func (c *Client) Server() *Server { return c.server }

// ID returns the client's id, a UUID assigned on upgrade.
func (c *Client) ID() string { return c.id }

// UserID returns the user id authentication gave the client, or "".
func (c *Client) UserID() string {
	if p := c.ident.Load(); p != nil {
		return p.userID
	}
	return ""
}

// Metadata returns the metadata authentication gave the client, or nil.
func (c *Client) Metadata() any {
	if p := c.ident.Load(); p != nil {
		return p.metadata
	}
	return nil
}

// MetadataAs returns c's metadata as an M, and whether it is one.
func MetadataAs[M any](c *Client) (M, bool) {
	m, ok := c.Metadata().(M)
	return m, ok
}

// ServerPublicKey and Salt return the handshake's key material, or "".
func (c *Client) ServerPublicKey() string {
	if p := c.ident.Load(); p != nil {
		return p.serverPublicKey
	}
	return ""
}

// Salt returns the salt from the encryption handshake, or "".
func (c *Client) Salt() string {
	if p := c.ident.Load(); p != nil {
		return p.salt
	}
	return ""
}

// State returns the client's lifecycle state.
func (c *Client) State() State { return State(c.state.Load()) }

// Encrypted reports whether messages to the client go through the
// OutboundTransformer.
func (c *Client) Encrypted() bool { return c.encrypted.Load() }

// Backpressured reports whether the client's outbound queue is over the
// BackpressureLimit (messages to it are being dropped).
func (c *Client) Backpressured() bool {
	c.server.batch.flush() // a batched send counts as sent
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	return c.out.backpressured
}

// QueuedBytes returns how many bytes wait in the client's outbound queue,
// control frames and a partly written batch included: what the client
// costs beyond its connection, bounded by BackpressureLimit plus a few
// control frames.
func (c *Client) QueuedBytes() int {
	c.server.batch.flush() // a batched send counts as sent
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	return c.out.bytes
}

// Dropped returns how many messages to the client were dropped for
// backpressure.
func (c *Client) Dropped() uint64 {
	c.server.batch.flush() // a batched send counts as sent
	c.out.mu.Lock()
	defer c.out.mu.Unlock()
	return c.out.dropped
}

// Rooms returns the rooms the client is in.
func (c *Client) Rooms() []string { return c.server.index.roomsOf(c) }

// RemoteAddr returns the peer's network address.
func (c *Client) RemoteAddr() string { return c.remoteAddr }

// ConnectedAt returns when the connection was upgraded.
func (c *Client) ConnectedAt() time.Time { return c.connectedAt }

// LastActivity returns when the client last sent a message.
func (c *Client) LastActivity() time.Time { return time.Unix(0, c.lastActivity.Load()) }

// Close closes the connection with a close frame carrying code and reason,
// after what is already queued for the client. It returns at once; the
// client's disconnect runs on its own goroutines. A code or reason that RFC
// 6455 forbids on the wire is refused with an error wrapping
// ErrInvalidClose, and nothing is sent.
func (c *Client) Close(code int, reason string) error {
	if err := checkClose(code, reason); err != nil {
		return fmt.Errorf("close client %q: %w", c.id, err)
	}
	c.closeWith(code, reason)
	return nil
}

// Send sends event to this client only. It fails with ErrClientNotFound
// when the client is not authenticated (yet, or any more), and with
// ErrInvalidEvent or ErrEncode for a message that cannot be sent.
func (c *Client) Send(event string, data any) error {
	raw, err := encodeMessage(event, data)
	if err != nil {
		return fmt.Errorf("send to client %q: %w", c.id, err)
	}
	if c.State() != StateAuthenticated || !c.deliver(c.server.newMessage(event, raw, sourceLocal)) {
		return fmt.Errorf("send to client %q: %w", c.id, ErrClientNotFound)
	}
	return nil
}

func (c *Client) touch() { c.lastActivity.Store(time.Now().UnixNano()) }

// closeWith queues a close frame (after what is already queued) and gives
// the peer closeGrace to answer before the connection is dropped.
func (c *Client) closeWith(code int, reason string) {
	if c.queueClose(closeFrame(code, reason)) {
		c.server.log.Debug("websocket: closing client", "client", c.id, "code", code, "reason", reason)
	}
}

// queueClose queues frame as the connection's last and reports whether it
// was the first close: the peer then has closeGrace to answer, and the
// client's context is cancelled, so that hooks still running for it return.
func (c *Client) queueClose(frame []byte) bool {
	c.server.batch.flush() // batched messages sent before it go first
	first, st := c.out.setClose(c, frame)
	if first {
		c.mu.Lock() // see linger
		c.closeCode.CompareAndSwap(0, closeCodeOf(frame))
		c.raw.SetReadDeadline(time.Now().Add(closeGrace))
		c.cancel()
		c.mu.Unlock()
		c.unpark() // the reader waits for the peer's answer under the deadline
	}
	c.kick(st)
	return first
}

// sendError sends an error event with text.
func (c *Client) sendError(text string) {
	c.deliver(errorMessage(text))
}

// deliver queues o for c, through the transformer when c is encrypted, and
// reports whether it was queued. It must not be called under the index
// lock (a drop is logged), nor under a queue's, the flusher's or the
// coalescer's (it queues a waiting batch first).
func (c *Client) deliver(o *outbound) bool {
	c.server.batch.flush() // batched messages sent before it go first
	res, st := c.push(o)
	c.kick(c.direct(st))
	c.afterPush(res)
	if res == pushQueued && o.seq != 0 {
		c.server.m.deliveries.Add(1) // a message, not an error event
	}
	return res == pushQueued
}

// direct turns a flush the flush goroutines would do into one the caller
// does at once, outside a cork: a message for one client (a reply, an error
// event, connected) goes out in the sender's call, with one non-blocking
// write, as uWebSockets writes a socket with nothing queued; only what the
// socket does not take waits (for the client's own writer). A fan-out
// writes its members itself only in steady traffic (flusher.sparse); in a
// burst the flush goroutines batch what its members get.
func (c *Client) direct(st start) start {
	if st == startFlush && c.server.flush.corks.Load() == 0 {
		return startInline
	}
	return st
}

// push queues o for c under its budget, without acting on the result.
func (c *Client) push(o *outbound) (pushResult, start) {
	return c.out.push(c, o, c.server.cfg.BackpressureLimit, false)
}

// afterPush counts a message dropped for backpressure, and on the first of
// an episode logs it and, with CloseOnBackpressureLimit, closes the client.
func (c *Client) afterPush(res pushResult) {
	switch res {
	case pushDropped:
		c.server.dropped.Add(1)
	case pushDroppedFirst:
		c.server.dropped.Add(1)
		c.server.backpressured(c) // counts, logs, closes with CloseOnBackpressureLimit
	}
}

// hooksDone is called by the reader once it finished the client, and by
// the authentication goroutine when it returns: the last of them runs the
// disconnected hook, so that it always starts after the connected hook
// ended, and runs once.
func (c *Client) hooksDone() {
	if c.hooksPending.Add(-1) != 0 {
		return
	}
	if h := c.server.cfg.OnDisconnected; h != nil {
		c.server.runHook("OnDisconnected", c, func() error {
			h(c.server.hookCtx, c)
			return nil
		})
	}
}

// stopAuthTimer stops the auth timer, if any, and forgets the header.
func (c *Client) stopAuthTimer() {
	c.mu.Lock()
	if c.authTimer != nil {
		c.authTimer.Stop()
		c.authTimer = nil
	}
	c.header = nil
	c.mu.Unlock()
}

// resetAuthTimer replaces the auth timer by one that closes the client with
// 4001 after d unless it authenticated by then.
func (c *Client) resetAuthTimer(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.authTimer != nil {
		c.authTimer.Stop()
	}
	c.authTimer = time.AfterFunc(d, func() {
		if st := c.State(); st == StateUnauthorized || st == StateAuthenticating {
			c.server.m.auth[authTimeout].Add(1)
			c.closeWith(wire.CloseAuthTimeout, wire.ReasonAuthTimeout) // cancels the hook too
		}
	})
}
