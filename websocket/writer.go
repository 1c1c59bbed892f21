package websocket

import (
	"context"
	"encoding/json"
	"sync"
	"time"
)

// closeGrace is how long a peer has to answer our close frame, and how long
// a finished connection waits for its writer to flush, before the socket is
// dropped.
const closeGrace = time.Second

// writeChunk is the size of the pooled buffers a batch is copied into: a
// batch costs one write call per writeChunk bytes rather than one per frame.
// (A vectored write would save the copy, but the runtime keeps the largest
// iovec array of every socket for the socket's life.)
const writeChunk = 64 << 10

var writeChunks = sync.Pool{New: func() any { b := make([]byte, 0, writeChunk); return &b }}

// outbound is one message on its way to one or more clients. Its frame is
// built once and shared; encrypted clients get it through the transformer,
// in their own writer.
type outbound struct {
	event string
	data  json.RawMessage
	frame []byte
	// plain is set on the connected frame, which is never transformed: it
	// carries the key material the client needs for what follows.
	plain bool
	// sem bounds concurrent transformer calls for this message
	// (EncryptedBatchLimit); nil when there is no transformer.
	sem chan struct{}
	// seq numbers the message (0 for error events); sentAt, set for one
	// message in DeliverySampleEvery, is when it was sent, for
	// Stats.DeliveryLatency (see meters.numbered).
	seq    uint64
	sentAt int64
}

// ownWriter reports whether c is written by a goroutine of its own rather
// than by the flush goroutines: when its socket has no raw connection for
// non-blocking writes (TLS, a wrapped connection), or when its messages go
// through the OutboundTransformer, a hook that must never run on a
// goroutine shared by other clients.
func (c *Client) ownWriter() bool {
	return c.rc == nil || c.fd < 0 || (c.server.cfg.TransformOutbound != nil && c.encrypted.Load())
}

// kick acts on what a queue operation returned, once the queue's lock is
// released.
func (c *Client) kick(st start) {
	switch st {
	case startFlush:
		c.server.flush.add(c)
	case startPromote:
		c.server.flush.promote(c)
	case startInline:
		if c.flushOnce() {
			c.server.flush.promote(c)
		}
	case startGoroutine:
		c.server.wg.Add(1) // the client's reader holds a count, so this never races Wait
		go c.writeLoop()
	}
}

// flushOnce writes what c's queue holds without blocking, on a flush
// goroutine or inline on a sender's call. When the socket does not take
// everything, c's own writer goroutine takes over and waits for it. It
// reports whether c must be visited again: more was queued while it was
// written.
func (c *Client) flushOnce() (again bool) {
	q := &c.out
	q.mu.Lock()
	if q.state != stateScheduled {
		q.mu.Unlock()
		return false // a duplicate entry of the flush list
	}
	if q.dead || q.noRaw { // finished, or its socket is being closed
		q.dieLocked()
		q.releaseLocked()
		q.mu.Unlock()
		return false
	}
	if c.ownWriter() { // became encrypted since it was scheduled
		q.state = stateWriting
		q.mu.Unlock()
		c.kick(startGoroutine)
		return false
	}
	q.state, q.held = stateFlushing, false
	b := q.takeLocked()
	q.mu.Unlock()

	rest, err := c.writeBatch(&b, c.tryWrite)
	return c.flushed(&b, rest, err)
}

// flushed ends flushOnce's write of b: it accounts for what was
// written, closes the socket if closeSocket came meanwhile, and hands the
// token on. It reports whether c must be visited again.
func (c *Client) flushed(b *batch, rest []byte, err error) (again bool) {
	q := &c.out
	q.mu.Lock()
	q.writtenLocked(b, rest)
	if q.closeAfter { // closeSocket came during the write: closing is ours
		q.closeAfter = false
		err = errSocketClosing
	}
	switch {
	case err != nil:
		q.dieLocked()
		q.releaseLocked()
	case rest != nil:
		q.state = stateWriting
		q.mu.Unlock()
		c.kick(startGoroutine)
		return false
	case q.hasWorkLocked():
		q.state = stateScheduled
		q.mu.Unlock()
		return true
	default:
		q.releaseLocked()
	}
	q.mu.Unlock()
	if err != nil {
		c.closeSocket() // the reader sees it and finishes the client
	}
	return false
}

// closeSocket closes c's socket, once, unless a flush write to it is in
// progress: then the writer closes it when its write returns (see
// queue.letClose and flushed), microseconds from now, so a socket number
// is never closed, and perhaps reused by a new connection, under a write
// to it.
func (c *Client) closeSocket() {
	if c.out.letClose() {
		c.dropSocket()
	}
}

// tryWrite writes p with one non-blocking attempt. Only flushOnce calls
// it, on a flush goroutine or inline on a sender's goroutine, always
// holding the write token in stateFlushing: see queue.letClose.
func (c *Client) tryWrite(p []byte) (int, error) {
	n, err := c.server.writeSocket(c.fd, c.rc, p)
	c.server.m.wrote(n)
	return n, err
}

// writeBlocking writes p, waiting at most WriteTimeout for the socket: the
// deadline is set per write call, never spent by anything else.
func (c *Client) writeBlocking(p []byte) (int, error) {
	c.raw.SetWriteDeadline(time.Now().Add(c.server.cfg.WriteTimeout))
	n, err := c.raw.Write(p)
	c.server.m.wrote(n)
	return n, err
}

// writeLoop is c's own writer: it drains the queue with blocking writes,
// transforming messages to an encrypted client first, and ends when the
// queue is empty, so an idle client costs no goroutine.
func (c *Client) writeLoop() {
	defer c.server.wg.Done()
	q := &c.out
	for {
		q.mu.Lock()
		if !q.hasWorkLocked() {
			q.releaseLocked()
			q.mu.Unlock()
			return
		}
		b := q.takeLocked()
		q.mu.Unlock()

		c.transformBatch(&b)
		rest, err := c.writeBatch(&b, c.writeBlocking)
		if c.rc != nil {
			// the flush goroutines may write this socket next, and where
			// they write through the runtime (rawwrite_rawconn.go) it
			// refuses even a non-blocking write once a deadline passed
			c.raw.SetWriteDeadline(time.Time{})
		}

		q.mu.Lock()
		q.writtenLocked(&b, rest)
		if err != nil {
			q.dieLocked()
		}
		q.mu.Unlock()
		if err != nil {
			c.closeSocket() // the reader sees it and finishes the client
		}
	}
}

// writeBatch writes b's frames in order through write, copied into pooled
// buffers of writeChunk bytes; a frame larger than that is written on its
// own. It stops at the first short write and returns what the socket did not
// take, or the first error.
func (c *Client) writeBatch(b *batch, write func([]byte) (int, error)) (rest []byte, err error) {
	if p, o, ok := b.single(); ok { // the common case in steady traffic
		return c.writeFrame(p, o, write)
	}
	bp := writeChunks.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() { *bp = buf[:0]; writeChunks.Put(bp) }()

	short := false
	// emit adds p to the buffer, writing the buffer out when p does not fit;
	// after a short write everything left goes to rest.
	emit := func(p []byte) {
		if err != nil || len(p) == 0 {
			return
		}
		if short {
			rest = append(rest, p...)
			return
		}
		if len(buf)+len(p) > writeChunk && len(buf) > 0 {
			buf, rest, short, err = flushBuf(buf, write)
			if short {
				rest = append(rest, p...)
				return
			}
		}
		if len(p) > writeChunk {
			var n int
			if n, err = write(p); err == nil && n < len(p) {
				short, rest = true, append(rest, p[n:]...)
			}
			return
		}
		buf = append(buf, p...)
	}
	emit(b.rest)
	emit(b.pong)
	if b.ping {
		emit(pingFrame)
	}
	for i, o := range b.items {
		frame := o.frame
		if b.frames != nil {
			frame = b.frames[i]
		}
		emit(frame)
		if o.sentAt != 0 && len(frame) > 0 && !short && err == nil {
			c.server.m.written(o) // a sampled message, counted once copied for the write (see meters.numbered)
		}
	}
	emit(b.close)
	if !short && err == nil && len(buf) > 0 {
		buf, rest, _, err = flushBuf(buf, write)
	}
	return rest, err
}

// writeFrame writes p, the frame of o (nil when the transformer dropped
// it), from where it is: a batch of one frame needs no copy.
func (c *Client) writeFrame(p []byte, o *outbound, write func([]byte) (int, error)) (rest []byte, err error) {
	if len(p) == 0 {
		return nil, nil
	}
	n, err := write(p)
	if err != nil {
		return nil, err
	}
	if o.sentAt != 0 {
		c.server.m.written(o) // a sampled message, handed to the socket (see meters.numbered)
	}
	if n < len(p) {
		return append([]byte(nil), p[n:]...), nil
	}
	return nil, nil
}

// flushBuf writes buf; on a short write it returns a copy of what is left.
func flushBuf(buf []byte, write func([]byte) (int, error)) (empty, rest []byte, short bool, err error) {
	n, err := write(buf)
	if err != nil {
		return buf[:0], nil, false, err
	}
	if n < len(buf) {
		return buf[:0], append([]byte(nil), buf[n:]...), true, nil
	}
	return buf[:0], nil, false, nil
}

// transformBatch runs the OutboundTransformer for each message of b that
// needs it, before anything of b is written, so that no transform spends a
// write deadline.
func (c *Client) transformBatch(b *batch) {
	if c.server.cfg.TransformOutbound == nil || !c.encrypted.Load() {
		return
	}
	b.frames = make([][]byte, len(b.items))
	for i, o := range b.items {
		if o.plain {
			b.frames[i] = o.frame
		} else {
			b.frames[i] = c.transform(o)
		}
	}
}

// transform runs the OutboundTransformer for one message to c and returns
// the frame to write, or nil to drop it. Once it has its slot of the
// message's EncryptedBatchLimit, a call gets WriteTimeout: past it the slot
// is given back even if the hook ignores its context (so a hung transform
// for one client holds up the others at most that long), and the message
// to c is dropped. A close queued after the message does not cancel it:
// what was queued before the close is written before it (Client.Close),
// encrypted or not; only a client whose socket is gone stops waiting.
func (c *Client) transform(o *outbound) []byte {
	if o.sem != nil {
		select {
		case o.sem <- struct{}{}:
		case <-c.out.gone():
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), c.server.cfg.WriteTimeout)
	defer cancel()
	if o.sem != nil {
		var once sync.Once
		release := func() { once.Do(func() { <-o.sem }) }
		stop := context.AfterFunc(ctx, release)
		defer func() {
			stop()
			release()
		}()
	}
	var msg *Message
	err := c.server.runHook("TransformOutbound", c, func() (err error) {
		msg, err = c.server.cfg.TransformOutbound(ctx, c, Message{Event: o.event, Data: o.data})
		return err
	})
	if err != nil || msg == nil || ctx.Err() != nil || msg.Event == "" || (msg.Data != nil && !json.Valid(msg.Data)) {
		return nil
	}
	frame, repaired := messageFrame(msg.Event, msg.Data)
	if repaired {
		c.server.invalidUTF8(sourceTransformer)
	}
	return frame
}
