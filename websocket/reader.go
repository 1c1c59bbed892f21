package websocket

import (
	"time"

	"github.com/echows/echows/websocket/wire"
)

// read reads the client's frames until the connection ends, then
// finishes the client. It is the only reader of the connection, and runs
// the hooks that must see the client's messages in order.
//
// Between messages, with nothing buffered, a reader whose client sends
// often (its last frame was there within readLinger of the reader being
// ready for it, the end of the message before) first lingers a moment
// (readLinger) on the stack it grew, so that such a client does not make
// each message start on a fresh goroutine whose stack grows again (copying
// a stack costs more than decoding a small message), then parks; the
// reader of a client that sends now and then parks at once, since a linger
// would only end in its timer, one more wake-up of the process per message.
// Parked, the client waits in the server's epoll set, off any
// goroutine, until the socket is readable, and read starts again with woken
// set (see park_linux.go). Where parking is not available it waits for the
// next frame on a fresh goroutine's shallow stack, so that an idle client's
// goroutine stays small.
//
// Before each frame (data or control) it applies the client's budgets: it
// waits while the client is over its MessageRate, and while the client's
// outbound queue is over BackpressureLimit (a peer that sends but does not
// read is not read either); ReadRate is applied as bytes come in (see
// queuedConn.Read).
func (c *Client) read(woken bool) {
	for {
		if c.in.op == 0 && c.br.Buffered() == 0 {
			if !woken && c.server.park(c) {
				return
			}
			woken = false
			if _, err := c.br.Peek(1); err != nil {
				c.logReadEnd(err)
				break
			}
			// A frame is here: measured from the end of the message before,
			// not from the frame before, so that a slow hook or a throttle
			// wait does not make a client that keeps its socket full look
			// like an occasional sender. (After a linger that caught the
			// frame, often stays true.)
			c.often = monoNow()-c.readyAt <= c.server.oftenWithin
		}
		if err := c.throttleFrame(); err != nil {
			c.logReadEnd(err)
			break
		}
		if drained := c.out.waitDrained(); drained != nil {
			select {
			case <-drained:
			case <-c.ctx.Done():
			}
		}
		switch c.nextFrame() {
		case frameControl, framePart:
			continue
		case frameEnd:
			c.finish()
			c.server.wg.Done()
			return
		}
		c.message()
		c.yieldIfBusy()
		c.readyAt = monoNow()
		if c.linger() {
			continue // more came meanwhile: read it on this stack
		}
		if c.br.Buffered() > 0 || !c.server.park(c) {
			go c.read(false) // the wait group count carries over
		}
		return
	}
	c.finish()
	c.server.wg.Done()
}

// message handles the data message nextFrame completed: a text message is
// decoded and routed, a binary one answered with "Invalid message format".
func (c *Client) message() {
	defer c.endMessage()
	c.touch()
	if c.in.op != opText {
		c.server.m.inbound[inboundInvalid].Add(1)
		c.sendError(wire.ErrTextInvalidFormat)
		return
	}
	c.handle(wire.DecodeMessage(c.in.buf.Bytes()))
}

// readLinger is how long a reader waits for the client's next frame on the
// stack it grew before it parks.
const readLinger = 20 * time.Millisecond

// linger waits at most readLinger for the client's next frame and reports
// whether one came (or something is buffered). It does not wait for a
// client that does not send often (see read), while a close is under way
// (the close's deadline stands then), nor on a socket that cannot park
// (TLS: a read deadline that expires may break it).
func (c *Client) linger() bool {
	if c.br.Buffered() > 0 {
		return true
	}
	if c.fd < 0 || !c.often {
		return false
	}
	// queueClose sets the close's deadline and cancels the context under
	// c.mu: checking the context and setting the deadline under it too
	// keeps this from overwriting or clearing the close's deadline.
	c.mu.Lock()
	closing := c.ctx.Err() != nil
	if !closing {
		c.raw.SetReadDeadline(time.Now().Add(c.server.linger))
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
	authed, rooms := c.server.index.remove(c)
	if authed {
		c.server.interest.unlistenClient(c.id, c.userID, rooms)
	} else {
		c.server.interest.unlistenRooms(rooms)
	}
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
