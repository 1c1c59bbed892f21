package websocket

import (
	"bytes"
	"errors"
	"io"
	"sync"
	"time"
	"unicode/utf8"

	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/websocket/wire"
)

var readBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// readLoop reads the client's frames until the connection ends, then
// finishes the client. It is the only reader of the connection, and runs
// the hooks that must see the client's messages in order.
//
// Before each frame it applies the client's budgets: it waits while the
// client's outbound queue is over BackpressureLimit (a peer that sends but
// does not read is not read either) and while the client is over its
// MessageRate; ReadRate is applied as bytes come in (see queuedConn.Read).
func (c *Client) readLoop() {
	for {
		// Wait for the next frame here, on a shallow stack, rather than deep
		// in gorilla's frame reader: an idle client's goroutine stays small.
		if c.br != nil && c.br.Buffered() == 0 {
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
		if c.controlFrame() {
			continue // a ping, pong or bad close, handled without entering gorilla
		}
		if !c.readOne() {
			break
		}
		// The message was handled: go on reading on a fresh goroutine, so
		// that the stack this one grew (JSON decoding, hooks) is freed now
		// instead of staying with the client while it idles.
		go c.readLoop() // the wait group count carries over
		return
	}
	c.finish()
	c.server.wg.Done()
}

// controlFrame handles a complete ping, pong or malformed close frame from
// the client at the head of the read buffer, and reports whether it did: a
// ping queues its pong (replacing one not yet written), a pong extends the
// transport deadline, and a close frame with a 1-byte payload, which RFC
// 6455 §5.5.1 forbids (gorilla would take it as 1005), closes with 1002.
// Anything else is left to gorilla.
func (c *Client) controlFrame() bool {
	if c.br == nil {
		return false
	}
	h, err := c.br.Peek(2)
	if err != nil {
		return false
	}
	op, n := h[0]&0x0F, int(h[1]&0x7F)
	if h[0]&0xF0 != finBit || h[1]&0x80 == 0 || n > 125 {
		return false
	}
	if op != opPing && op != opPong && (op != opClose || n != 1) {
		return false
	}
	f, err := c.br.Peek(2 + 4 + n)
	if err != nil {
		return false
	}
	switch op {
	case opClose:
		c.closeWith(wire.CloseProtocolError, wire.ReasonProtocolError)
		_, _ = c.br.Discard(2 + 4 + n)
		return true
	case opPing:
		pong := make([]byte, 2+n)
		pong[0], pong[1] = finBit|opPong, byte(n)
		for i := range n {
			pong[2+i] = f[6+i] ^ f[2+i&3]
		}
		c.kick(c.out.setPong(c, pong))
	}
	_, _ = c.br.Discard(2 + 4 + n)
	c.pinged()
	return true
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
			return false
		}
		if typ != gws.TextMessage {
			c.server.m.inbound[inboundInvalid].Add(1)
			c.touch()
			c.sendError(wire.ErrTextInvalidFormat)
			continue
		}
		buf := readBuffers.Get().(*bytes.Buffer)
		buf.Reset()
		_, err = buf.ReadFrom(r)
		if err != nil {
			readBuffers.Put(buf)
			c.logReadEnd(err)
			return false
		}
		c.touch()
		c.pinged()
		if !utf8.Valid(buf.Bytes()) {
			c.server.m.inbound[inboundInvalid].Add(1)
			readBuffers.Put(buf)
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

func (c *Client) logReadEnd(err error) {
	var ce *gws.CloseError
	switch {
	case errors.As(err, &ce):
		c.server.log.Debug("websocket: client closed", "client", c.id, "code", ce.Code)
	case errors.Is(err, gws.ErrReadLimit):
		c.server.m.limits[limitPayload].Add(1)
		c.server.log.Debug("websocket: message over the payload limit, closed with 1009", "client", c.id, "code", wire.CloseMessageTooBig)
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
	prev := State(c.state.Swap(int32(StateDisconnected)))
	c.server.m.disconnected(prev, c.closeCode.Load())
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
	c.raw.Close()
	c.hooksDone()
}
