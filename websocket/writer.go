package websocket

import (
	"encoding/json"
	"net"
	"sync"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// closeGrace is how long a peer has to answer our close frame, and how long
// a finished connection waits for its writer to flush, before the socket is
// dropped.
const closeGrace = time.Second

// frameVectors pools the frame lists of vectored writes.
var frameVectors = sync.Pool{New: func() any { return new(net.Buffers) }}

// outbound is one message on its way to one or more clients. Its frame is
// built once and shared; encrypted clients get it through the transformer,
// in their own writer.
type outbound struct {
	event string
	data  json.RawMessage
	frame []byte
	// sem bounds concurrent transformer calls for this message
	// (EncryptedBatchLimit); nil when there is no transformer.
	sem chan struct{}
}

func newOutbound(event string, data json.RawMessage, sem chan struct{}) *outbound {
	return &outbound{event: event, data: data, frame: messageFrame(event, data), sem: sem}
}

// item is one entry of a client's queue: a ready frame, or a message to
// transform first.
type item struct {
	frame []byte
	msg   *outbound
}

func (it item) size() int {
	if it.msg != nil {
		return len(it.msg.frame)
	}
	return len(it.frame)
}

// queue is a client's outbound queue, drained by at most one writer
// goroutine at a time, started when the first frame arrives and ended when
// the queue is empty, so an idle client costs no goroutine.
type queue struct {
	mu            sync.Mutex
	items         []item
	spare         []item
	bytes         int
	writing       bool
	closed        bool          // a close frame is queued: nothing more is accepted
	dead          bool          // the connection is finished
	backpressured bool          // over the limit; clears when the queue drains
	dropped       uint64        // messages dropped for backpressure
	flushed       chan struct{} // made by finish, closed when the running writer exits
}

// deliver queues o for c, through the transformer when c is encrypted.
func (c *Client) deliver(o *outbound) bool {
	it := item{frame: o.frame}
	if c.server.cfg.TransformOutbound != nil && c.encrypted.Load() {
		it = item{msg: o}
	}
	return c.out.push(c, it)
}

// push queues a data frame, applying the backpressure limit.
func (q *queue) push(c *Client, it item) bool {
	size := it.size()
	limit := c.server.cfg.BackpressureLimit
	q.mu.Lock()
	if q.closed || q.dead {
		q.mu.Unlock()
		return false
	}
	if q.backpressured || (q.bytes > 0 && q.bytes+size > limit) {
		queued := q.bytes
		q.dropped++
		first := !q.backpressured
		q.backpressured = true
		closeIt := c.server.cfg.CloseOnBackpressureLimit && first
		q.mu.Unlock()
		c.server.dropped.Add(1)
		if first {
			c.server.log.Warn("websocket: client backpressured, dropping its messages",
				"client", c.id, "queued_bytes", queued, "limit", limit)
		}
		if closeIt {
			c.closeWith(wire.CloseTryAgainLater, wire.ReasonBackpressure)
		}
		return false
	}
	q.appendLocked(c, it, size)
	q.mu.Unlock()
	return true
}

// pushControl queues a control frame (ping, pong, or a close); it bypasses
// the backpressure limit. A close frame is the last frame of the connection:
// it closes the queue.
func (q *queue) pushControl(c *Client, frame []byte) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.dead {
		return false
	}
	q.appendLocked(c, item{frame: frame}, len(frame))
	if frameOpcode(frame) == opClose {
		q.closed = true
		c.afterCloseQueued()
	}
	return true
}

func (q *queue) appendLocked(c *Client, it item, size int) {
	q.items = append(q.items, it)
	q.bytes += size
	if !q.writing {
		q.writing = true
		c.server.wg.Add(1)
		go c.writeLoop()
	}
}

// finish closes the queue to new frames and returns a channel that is
// closed when the running writer has flushed what was queued, or nil when no
// writer runs.
func (q *queue) finish() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	if !q.writing {
		return nil
	}
	q.flushed = make(chan struct{})
	return q.flushed
}

// writeLoop drains the queue: each round takes everything queued and
// writes it with one write call.
func (c *Client) writeLoop() {
	defer c.server.wg.Done()
	q := &c.out
	for {
		q.mu.Lock()
		if len(q.items) == 0 || q.dead {
			q.endLocked()
			q.mu.Unlock()
			return
		}
		batch := q.items
		q.items, q.spare = q.spare[:0], nil
		q.mu.Unlock()

		size, ok := c.writeBatch(batch)
		clear(batch)

		q.mu.Lock()
		q.bytes -= size
		q.spare = batch[:0]
		if !ok {
			q.dead = true
		}
		q.mu.Unlock()
		if !ok {
			c.raw.Close() // the reader sees it and finishes the client
		}
	}
}

// endLocked ends the writer: the queue is empty (or dead).
func (q *queue) endLocked() {
	q.writing = false
	q.items = q.items[:0]
	q.bytes = 0
	if cap(q.spare) > 16 {
		q.spare = nil // keep idle clients small
	}
	if cap(q.items) > 16 {
		q.items = nil
	}
	q.backpressured = false
	if q.flushed != nil {
		close(q.flushed)
		q.flushed = nil
	}
}

// writeBatch writes the frames of batch to the socket in one system call
// where it can: a vectored write (writev) on TCP, which copies nothing; one
// coalesced write otherwise (TLS). It returns the queued size written, and
// false when the socket failed.
func (c *Client) writeBatch(batch []item) (size int, ok bool) {
	vp := frameVectors.Get().(*net.Buffers)
	frames := (*vp)[:0]
	defer func() { clear(frames); *vp = frames[:0]; frameVectors.Put(vp) }()
	total := 0
	for _, it := range batch {
		size += it.size()
		frame := it.frame
		if it.msg != nil {
			if frame = c.transform(it.msg); frame == nil {
				continue
			}
		}
		frames = append(frames, frame)
		total += len(frame)
	}
	c.raw.SetWriteDeadline(time.Now().Add(c.server.cfg.WriteTimeout))
	var err error
	if _, tcp := c.raw.(*net.TCPConn); tcp || len(frames) == 1 {
		v := frames // WriteTo consumes its receiver
		_, err = v.WriteTo(c.raw)
	} else {
		buf := make([]byte, 0, total)
		for _, f := range frames {
			buf = append(buf, f...)
		}
		_, err = c.raw.Write(buf)
	}
	return size, err == nil
}

// transform runs the OutboundTransformer for one message to c and returns
// the frame to write, or nil to drop it.
func (c *Client) transform(o *outbound) []byte {
	if o.sem != nil {
		select {
		case o.sem <- struct{}{}:
			defer func() { <-o.sem }()
		case <-c.ctx.Done():
			return nil
		}
	}
	var msg *Message
	err := c.server.runHook("TransformOutbound", c, func() (err error) {
		msg, err = c.server.cfg.TransformOutbound(c.ctx, c, Message{Event: o.event, Data: o.data})
		return err
	})
	if err != nil || msg == nil {
		return nil
	}
	return messageFrame(msg.Event, msg.Data)
}

// extendRead moves the read deadline to now+d, unless a close is under way
// (then the close grace deadline stands).
func (q *queue) extendRead(c *Client, d time.Duration) {
	q.mu.Lock()
	if !q.closed {
		c.raw.SetReadDeadline(time.Now().Add(d))
	}
	q.mu.Unlock()
}

// afterCloseQueued gives the peer closeGrace to answer the close frame (the
// read loop ends then at the latest) and cancels the client's context, so
// that hooks still running for it return.
func (c *Client) afterCloseQueued() {
	c.raw.SetReadDeadline(time.Now().Add(closeGrace))
	c.cancel()
}
