package websocket

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"time"

	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/internal/wsframe"
	"github.com/echows/echows/websocket/wire"
)

var readBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// read reads the client's frames until the connection ends, then
// finishes the client. It is the only reader of the connection, and runs
// the hooks that must see the client's messages in order.
//
// Between messages, with nothing buffered, the reader first lingers a
// moment (readLinger) on the stack it grew, so that a client that sends
// often does not make each message start on a fresh goroutine whose stack
// grows again (copying a stack costs more than decoding a small message),
// then parks: the client waits in the server's epoll set, off any
// goroutine, until the socket is readable, and read starts again with woken
// set (see park_linux.go). Where parking is not available it waits for the
// next frame on a fresh goroutine's shallow stack, rather than deep in
// gorilla's frame reader, so that an idle client's goroutine stays small.
//
// Before each frame it applies the client's budgets: it waits while the
// client's outbound queue is over BackpressureLimit (a peer that sends but
// does not read is not read either) and while the client is over its
// MessageRate; ReadRate is applied as bytes come in (see queuedConn.Read).
func (c *Client) read(woken bool) {
	for {
		if c.br != nil && c.br.Buffered() == 0 {
			if !woken && c.server.park(c) {
				return
			}
			woken = false
			if _, err := c.br.Peek(1); err != nil {
				c.logReadEnd(err)
				break
			}
		}
		c.throttleFrame()
		if drained := c.out.waitDrained(); drained != nil {
			select {
			case <-drained:
			case <-c.ctx.Done():
			}
		}
		switch c.frameHead() {
		case headHandled:
			continue // a control frame, handled without entering gorilla
		case headEnd:
			c.finish()
			c.server.wg.Done()
			return
		}
		if !c.readOne() {
			break
		}
		if c.linger() {
			continue // more came meanwhile: read it on this stack
		}
		if c.br == nil || c.br.Buffered() > 0 || !c.server.park(c) {
			go c.read(false) // the wait group count carries over
		}
		return
	}
	c.finish()
	c.server.wg.Done()
}

// readLinger is how long a reader waits for the client's next frame on the
// stack it grew before it parks.
const readLinger = 20 * time.Millisecond

// linger waits at most readLinger for the client's next frame and reports
// whether one came (or something is buffered). It does not wait while a
// close is under way (the close's deadline stands then), nor on a socket
// that cannot park (TLS: a read deadline that expires may break it).
func (c *Client) linger() bool {
	if c.br == nil || c.br.Buffered() > 0 {
		return c.br != nil
	}
	if c.fd < 0 {
		return false
	}
	// queueClose sets the close's deadline and cancels the context under
	// c.mu: checking the context and setting the deadline under it too
	// keeps this from overwriting or clearing the close's deadline.
	c.mu.Lock()
	closing := c.ctx.Err() != nil
	if !closing {
		c.raw.SetReadDeadline(time.Now().Add(readLinger))
	}
	c.mu.Unlock()
	if closing {
		return false
	}
	_, err := c.br.Peek(1) // a timeout is remembered by nothing: bufio returns it once
	c.mu.Lock()
	if c.ctx.Err() == nil {
		c.raw.SetReadDeadline(time.Time{})
	}
	c.mu.Unlock()
	return err == nil
}

// headResult is what frameHead did with the frame at the head of the read
// buffer.
type headResult uint8

const (
	headNone    headResult = iota // nothing: gorilla reads it
	headHandled                   // a control frame, consumed
	headEnd                       // the connection ends: stop reading
)

// frameHead handles, at a frame boundary between messages, what the reader
// answers itself instead of gorilla: a ping queues its pong (replacing one
// not yet written), a pong extends the transport deadline, and a close
// frame is checked as RFC 6455 §5.5.1 and §7.4 say (a 1-byte payload, a code
// that may not be received, or one over 125 bytes: 1002; a reason that is
// not UTF-8: 1007), and a valid one is answered with the same code and ends
// the connection. A length with its most significant bit set (§5.2) fails
// the connection with 1002. Anything else is left to gorilla.
func (c *Client) frameHead() headResult {
	if c.br == nil {
		return headNone
	}
	h, err := c.br.Peek(2)
	if err != nil {
		return headNone
	}
	op, n := h[0]&0x0F, int(h[1]&0x7F)
	if n == 127 {
		if l, err := c.br.Peek(10); err == nil && l[2]&0x80 != 0 {
			c.closeWith(wire.CloseProtocolError, wire.ReasonProtocolError)
			return headEnd // the stream cannot be framed any more
		}
	}
	if h[0]&0xF0 != finBit || h[1]&0x80 == 0 || n > 125 || (op != opPing && op != opPong && op != opClose) {
		return headNone
	}
	f, err := c.br.Peek(2 + 4 + n)
	if err != nil {
		return headNone
	}
	payload := make([]byte, n)
	for i := range n {
		payload[i] = f[6+i] ^ f[2+i&3]
	}
	_, _ = c.br.Discard(2 + 4 + n)
	switch op {
	case opClose:
		return c.peerClosed(payload)
	case opPing:
		c.kick(c.out.setPong(c, controlFrameOf(opPong, payload)))
	}
	c.pinged()
	return headHandled
}

// peerClosed answers the peer's close frame: with the same code when it is
// valid (the connection then ends), with 1002 or 1007 when it is not (the
// peer then has closeGrace to answer).
func (c *Client) peerClosed(payload []byte) headResult {
	code, _, err := wsframe.ParseClose(payload)
	switch {
	case errors.Is(err, wsframe.ErrCloseReason):
		c.failed = true
		c.closeWith(wire.CloseInvalidPayload, wire.ReasonInvalidUTF8)
		return headHandled
	case err != nil:
		c.failed = true
		c.closeWith(wire.CloseProtocolError, wire.ReasonProtocolError)
		return headHandled
	}
	c.server.log.Debug("websocket: client closed", "client", c.id, "code", code)
	reply := closeFrame(code, "")
	if code == wsframe.CloseNoStatus {
		reply = controlFrameOf(opClose, nil) // no status: an empty close
	}
	c.queueClose(reply) // nothing if the server's own close went first
	return headEnd
}

// readOne reads frames until it has handled one message (true) or the
// connection ended (false).
func (c *Client) readOne() bool {
	for {
		limit := c.server.cfg.MaxAuthPayloadLength
		if c.State() == StateAuthenticated {
			limit = c.server.cfg.MaxPayloadLength
		}
		c.conn.SetReadLimit(limit)
		typ, r, err := c.conn.NextReader()
		if err != nil {
			c.logReadEnd(err)
			c.drainAfterClose(err)
			return false
		}
		if typ != gws.TextMessage {
			// read it to its end, so that the next frame starts at a
			// message boundary, and answer it as one message: it goes
			// through the budgets before the next one is read
			if _, err := io.Copy(io.Discard, r); err != nil {
				c.logReadEnd(err)
				return false
			}
			c.touch()
			c.sendError(wire.ErrTextInvalidFormat)
			return true
		}
		buf := readBuffers.Get().(*bytes.Buffer)
		buf.Reset()
		valid, err := readText(buf, r)
		if err != nil {
			readBuffers.Put(buf)
			c.logReadEnd(err)
			return false
		}
		if c.failed { // RFC 6455 §7.1.7: nothing is processed after a failure
			readBuffers.Put(buf)
			continue // until the peer answers the close, or closeGrace
		}
		c.touch()
		c.pinged()
		if !valid {
			readBuffers.Put(buf)
			c.failed = true
			c.closeWith(wire.CloseInvalidPayload, wire.ReasonInvalidUTF8)
			continue // until the peer answers the close, or closeGrace
		}
		msg, err := wire.DecodeMessage(buf.Bytes())
		if buf.Cap() <= 64<<10 {
			readBuffers.Put(buf)
		}
		c.handle(msg, err)
		return true
	}
}

// readText reads a text message from r into buf, checking UTF-8 as it
// comes (RFC 6455 §8.1 "fail fast"): at the first invalid piece it stops
// and reports false, without reading the rest of the message.
func readText(buf *bytes.Buffer, r io.Reader) (valid bool, err error) {
	var u wsframe.UTF8
	for {
		buf.Grow(bytes.MinRead)
		b := buf.AvailableBuffer()
		n, err := r.Read(b[:cap(b)])
		buf.Write(b[:n])
		if !u.Write(b[:n]) {
			return false, nil
		}
		switch {
		case err == io.EOF:
			return u.End(), nil
		case err != nil:
			return false, err
		}
	}
}

// drainQuiet is how long the peer must have sent nothing for
// drainAfterClose to stop.
const drainQuiet = 50 * time.Millisecond

// drainAfterClose reads and drops what the peer still sends after the
// server closed with 1009 in the middle of a message too long to read,
// until the peer ends the connection, goes quiet for drainQuiet, or
// closeGrace passed: closing a socket with data unread makes the kernel
// reset the connection, and the reset can overtake the close frame, so that
// the peer never learns why (a browser reports 1006).
func (c *Client) drainAfterClose(err error) {
	if !errors.Is(err, gws.ErrReadLimit) {
		return
	}
	var r io.Reader = c.raw
	if c.br != nil {
		r = c.br
	}
	buf := make([]byte, 4096)
	for end := time.Now().Add(closeGrace); time.Now().Before(end); {
		deadline := time.Now().Add(drainQuiet)
		if deadline.After(end) {
			deadline = end
		}
		c.raw.SetReadDeadline(deadline)
		if n, err := r.Read(buf); err != nil && n == 0 {
			return // quiet, gone, or out of time
		}
	}
}

func (c *Client) logReadEnd(err error) {
	var ce *gws.CloseError
	switch {
	case errors.As(err, &ce):
		c.server.log.Debug("websocket: client closed", "client", c.id, "code", ce.Code)
	case errors.Is(err, gws.ErrReadLimit):
		c.server.log.Debug("websocket: message over the payload limit, closed with 1009", "client", c.id)
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.server.log.Debug("websocket: connection lost", "client", c.id)
	default:
		c.server.log.Debug("websocket: read ended", "client", c.id, "err", err)
	}
}

// finish runs once, when the read loop ends: the client leaves every index,
// its writer flushes what it can within closeGrace, the socket is closed,
// and the disconnected hook runs (after the connected hook, see
// hooksDone).
func (c *Client) finish() {
	c.state.Store(int32(StateDisconnected))
	c.stopAuthTimer()
	c.cancel()
	c.server.conns.Add(-1) // before it leaves the index, which Stats counts
	c.server.index.remove(c)
	if idle := c.out.finish(); idle != nil {
		t := time.NewTimer(closeGrace)
		select {
		case <-idle:
		case <-t.C:
		}
		t.Stop()
	}
	c.out.kill()
	c.closeSocket()
	c.hooksDone()
}
