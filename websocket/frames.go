package websocket

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/echows/echows/internal/wsframe"
	"github.com/echows/echows/websocket/wire"
)

// The reader parses the client's frames itself (RFC 6455 §5), from the
// connection's small read buffer, with the checks of package wsframe: one
// set of rules for every frame, between messages or between the fragments
// of one. gorilla performs the upgrade; after it, nothing of the connection
// goes through gorilla's reader.

var readBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readChunk is how much of a data frame's payload the reader takes at a
// time, so that invalid UTF-8 fails the connection as soon as it arrives
// (§8.1) and a long frame is read at the client's ReadRate.
const readChunk = 16 << 10

// frameResult is what nextFrame read.
type frameResult uint8

const (
	frameControl frameResult = iota // a control frame, answered
	framePart                       // a fragment of a message not yet complete, or one dropped after a failure
	frameMessage                    // the last frame of a data message: c.msg holds it
	frameEnd                        // the connection ends: stop reading
)

// inbound is the reader's state between frames: the data message being
// read, and whether the server failed the connection. Only the reader
// touches it (one reader at a time, across the goroutines it hops over).
type inbound struct {
	op     byte          // the message's opcode; 0 between messages
	length int64         // its payload so far
	buf    *bytes.Buffer // a text message's payload so far
	utf8   wsframe.UTF8  // ... checked as it comes
	failed bool          // the server failed the connection: wait for the peer's close
}

// nextFrame reads and handles one frame. It returns frameMessage when the
// frame completes a data message, whose opcode is c.in.op and payload (for
// text) c.in.buf; the caller handles it and calls endMessage.
func (c *Client) nextFrame() frameResult {
	b, err := c.br.Peek(2)
	if err != nil {
		c.logReadEnd(err)
		return frameEnd
	}
	size := wsframe.HeaderSize(b[1])
	if b, err = c.br.Peek(size); err != nil {
		c.logReadEnd(err)
		return frameEnd
	}
	var h wsframe.Header
	h.Parse(b)
	if err := wsframe.Check(h, true); err != nil {
		// The stream cannot be trusted past a header that breaks the rules:
		// say why, drop what comes, and end.
		c.server.log.Debug("websocket: protocol error", "client", c.id, "err", err)
		c.fail(wire.CloseProtocolError, wire.ReasonProtocolError)
		c.drain()
		return frameEnd
	}
	_, _ = c.br.Discard(size)
	c.pinged()
	if h.IsControl() {
		return c.controlFrame(h)
	}
	return c.dataFrame(h)
}

// controlFrame handles a ping (its pong replaces one not yet written: RFC
// 6455 §5.5.3), a pong (the peer is alive), or a close frame, checked as
// §5.5.1 and §7.4 say (a 1-byte payload or a code that may not be received:
// 1002; a reason that is not UTF-8: 1007); a valid one is answered with its
// code and ends the connection.
func (c *Client) controlFrame(h wsframe.Header) frameResult {
	var p [wsframe.MaxControlPayload]byte
	payload := p[:h.Length]
	if _, err := io.ReadFull(c.br, payload); err != nil {
		c.logReadEnd(err)
		return frameEnd
	}
	wsframe.MaskBytes(h.Mask, 0, payload)
	switch h.Opcode {
	case opPing:
		if !c.in.failed {
			c.kick(c.out.setPong(c, controlFrameOf(opPong, payload)))
		}
	case opClose:
		code, _, err := wsframe.ParseClose(payload)
		switch {
		case errors.Is(err, wsframe.ErrCloseReason):
			c.fail(wire.CloseInvalidPayload, wire.ReasonInvalidUTF8)
			return frameControl
		case err != nil:
			c.fail(wire.CloseProtocolError, wire.ReasonProtocolError)
			return frameControl
		}
		c.server.log.Debug("websocket: client closed", "client", c.id, "code", code)
		reply := closeFrame(code, "")
		if code == wsframe.CloseNoStatus {
			reply = controlFrameOf(opClose, nil) // no status: an empty close
		}
		c.queueClose(reply) // nothing if the server's own close went first
		return frameEnd
	}
	return frameControl
}

// dataFrame reads a text, binary or continuation frame: the order of
// fragments, the message's size (MaxAuthPayloadLength before
// authentication, MaxPayloadLength after: 1009), and a text message's UTF-8
// as it comes (1007). A binary message is read to its end and dropped.
func (c *Client) dataFrame(h wsframe.Header) frameResult {
	in := &c.in
	switch {
	case h.Opcode == wsframe.OpContinuation && in.op == 0:
		c.fail(wire.CloseProtocolError, wire.ReasonProtocolError)
		c.drain()
		return frameEnd
	case h.Opcode != wsframe.OpContinuation && in.op != 0:
		c.fail(wire.CloseProtocolError, wire.ReasonProtocolError)
		c.drain()
		return frameEnd
	case h.Opcode != wsframe.OpContinuation:
		in.op, in.length = h.Opcode, 0
		if h.Opcode == wsframe.OpText && !in.failed {
			in.buf = readBuffers.Get().(*bytes.Buffer)
			in.buf.Reset()
		}
	}
	limit := c.server.cfg.MaxAuthPayloadLength
	if c.State() == StateAuthenticated {
		limit = c.server.cfg.MaxPayloadLength
	}
	if in.length+int64(h.Length) > limit && !in.failed {
		c.server.m.limits[limitPayload].Add(1)
		c.server.log.Debug("websocket: message over the payload limit, closed with 1009", "client", c.id,
			"code", wire.CloseMessageTooBig, "limit", limit)
		c.fail(wire.CloseMessageTooBig, wire.ReasonMessageTooBig)
	}
	in.length += int64(h.Length)
	text := in.op == wsframe.OpText && !in.failed
	for pos, left := 0, int64(h.Length); left > 0; {
		n := int(min(left, readChunk))
		if !text {
			if _, err := c.br.Discard(n); err != nil {
				c.logReadEnd(err)
				return frameEnd
			}
			left -= int64(n)
			continue
		}
		in.buf.Grow(n)
		chunk := in.buf.AvailableBuffer()[:n]
		if _, err := io.ReadFull(c.br, chunk); err != nil {
			c.logReadEnd(err)
			return frameEnd
		}
		pos = wsframe.MaskBytes(h.Mask, pos, chunk)
		left -= int64(n)
		in.buf.Write(chunk)
		if !in.utf8.Write(chunk) {
			c.server.m.inbound[inboundInvalid].Add(1)
			c.fail(wire.CloseInvalidPayload, wire.ReasonInvalidUTF8)
			text = false // the rest is dropped
		}
	}
	if !h.Fin {
		return framePart
	}
	if in.op == wsframe.OpText && !in.failed && !in.utf8.End() {
		c.server.m.inbound[inboundInvalid].Add(1)
		c.fail(wire.CloseInvalidPayload, wire.ReasonInvalidUTF8)
	}
	if in.failed { // RFC 6455 §7.1.7: nothing is processed after a failure
		c.endMessage()
		return framePart
	}
	return frameMessage
}

// endMessage forgets the message just handled (or dropped).
func (c *Client) endMessage() {
	in := &c.in
	if in.buf != nil && in.buf.Cap() <= 64<<10 {
		readBuffers.Put(in.buf)
	}
	in.op, in.length, in.buf = 0, 0, nil
	in.utf8.End()
}

// fail fails the connection (RFC 6455 §7.1.7): the close frame with code
// and reason goes out after what is queued, and from now on the reader only
// waits for the peer's close, within closeGrace.
func (c *Client) fail(code int, reason string) {
	c.in.failed = true
	c.closeWith(code, reason)
}

// drainQuiet is how long the peer must have sent nothing for drain to stop.
const drainQuiet = 50 * time.Millisecond

// drain reads and drops what the peer still sends after the server failed
// the connection and can read no further frame of it, until the peer ends
// the connection, goes quiet for drainQuiet, or closeGrace passed: closing
// a socket with data unread makes the kernel reset the connection, and the
// reset can overtake the close frame, so that the peer never learns why (a
// browser reports 1006).
func (c *Client) drain() {
	for end := time.Now().Add(closeGrace); time.Now().Before(end); {
		deadline := time.Now().Add(drainQuiet)
		if deadline.After(end) {
			deadline = end
		}
		c.raw.SetReadDeadline(deadline)
		if n, err := c.br.Discard(max(1, c.br.Buffered())); err != nil && n == 0 {
			return // quiet, gone, or out of time
		}
	}
}

func (c *Client) logReadEnd(err error) {
	switch {
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		c.server.log.Debug("websocket: connection lost", "client", c.id)
	default:
		c.server.log.Debug("websocket: read ended", "client", c.id, "err", err)
	}
}
