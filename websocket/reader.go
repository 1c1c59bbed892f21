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
func (c *Client) readLoop() {
	defer c.server.wg.Done()
	defer c.finish()
	for {
		typ, r, err := c.conn.NextReader()
		if err != nil {
			c.logReadEnd(err)
			return
		}
		if typ != gws.TextMessage {
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
			return
		}
		c.touch()
		c.pinged()
		if !utf8.Valid(buf.Bytes()) {
			readBuffers.Put(buf)
			c.closeWith(wire.CloseInvalidPayload, wire.ReasonInvalidUTF8)
			continue // until the peer answers the close, or closeGrace
		}
		msg, err := wire.DecodeMessage(buf.Bytes())
		if buf.Cap() <= 64<<10 {
			readBuffers.Put(buf)
		}
		c.handle(msg, err)
	}
}

func (c *Client) logReadEnd(err error) {
	var ce *gws.CloseError
	switch {
	case errors.As(err, &ce):
		c.server.log.Debug("websocket: client closed", "client", c.id, "code", ce.Code)
	case errors.Is(err, gws.ErrReadLimit):
		c.server.log.Info("websocket: frame over MaxPayloadLength, closed with 1009", "client", c.id,
			"limit", c.server.cfg.MaxPayloadLength)
	case errors.Is(err, io.ErrUnexpectedEOF):
		c.server.log.Debug("websocket: connection lost", "client", c.id)
	default:
		c.server.log.Debug("websocket: read ended", "client", c.id, "err", err)
	}
}

// finish runs once, when the read loop ends: the client leaves every index,
// its writer flushes what it can within closeGrace, the socket is closed,
// and the disconnected hook runs.
func (c *Client) finish() {
	c.state.Store(int32(StateDisconnected))
	c.stopAuthTimer()
	c.cancel()
	c.server.index.remove(c)
	if idle := c.out.finish(); idle != nil {
		t := time.NewTimer(closeGrace)
		select {
		case <-idle:
		case <-t.C:
		}
		t.Stop()
	}
	c.raw.Close()
	if h := c.server.cfg.OnDisconnected; h != nil {
		c.server.runHook("OnDisconnected", c, func() error {
			h(c.server.hookCtx, c)
			return nil
		})
	}
}
