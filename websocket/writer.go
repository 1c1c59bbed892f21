package websocket

import (
	"encoding/json"
	"runtime"
	"sync"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// closeGrace is how long a peer has to answer our close frame, and how long
// a finished connection waits for its writer to flush, before the socket is
// dropped.
const closeGrace = time.Second

// blockLen is the capacity of the pooled item blocks a queue is made of
// while it holds anything; past it a queue grows by append.
const blockLen = 256

type itemBlock [blockLen]item

// itemBlocks pools queue storage, so a burst to many clients allocates no
// queue per client, and an idle client holds none.
var itemBlocks = sync.Pool{New: func() any { return new(itemBlock) }}

func getBlock() []item { return itemBlocks.Get().(*itemBlock)[:0] }

// putBlock returns s to the pool if it is a block (not one append grew).
func putBlock(s []item) {
	if cap(s) == blockLen {
		b := (*itemBlock)(s[:blockLen])
		clear(b[:])
		itemBlocks.Put(b)
	}
}

// writeChunk is the size of the pooled buffers batches are copied into.
const writeChunk = 16 << 10

var writeChunks = sync.Pool{New: func() any { b := make([]byte, 0, writeChunk); return &b }}

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
	held          bool          // writing, but the writer waits for the end of a Cork
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
	if q.items == nil {
		q.items = getBlock()
	}
	q.items = append(q.items, it)
	q.bytes += size
	if !q.writing {
		q.writing = true
		c.server.wg.Add(1)
		if c.server.hold(c) {
			q.held = true // started by the end of the cork
		} else {
			go c.writeLoop()
		}
	} else if q.held && q.bytes >= corkLimit {
		q.held = false
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

// Adaptive corking bounds: before each round, writeLoop yields while its
// queue keeps growing, so that a producer still queueing (a loop of sends, a
// burst from the broker) finishes its batch and the writer takes it in one
// round; at most maxCorkYields times, and never past corkLimit bytes (see
// cork.go). On one core the producer runs between two looks; an idle server
// pays one yield per writer start.
const maxCorkYields = 64

// writeLoop drains the queue: each round takes everything queued and
// writes it with as few write calls as it can.
func (c *Client) writeLoop() {
	defer c.server.wg.Done()
	q := &c.out
	for {
		for i, prev := 0, -1; i < maxCorkYields; i++ {
			q.mu.Lock()
			n, size := len(q.items), q.bytes
			q.mu.Unlock()
			if n == prev || size >= corkLimit {
				break
			}
			prev = n
			runtime.Gosched()
		}
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
		if q.spare == nil {
			q.spare = batch[:0]
		} else {
			putBlock(batch)
		}
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
	q.bytes = 0
	// an idle client keeps no queue memory: the blocks go back to the pool
	putBlock(q.items)
	putBlock(q.spare)
	q.items, q.spare = nil, nil
	q.backpressured = false
	if q.flushed != nil {
		close(q.flushed)
		q.flushed = nil
	}
}

// writeBatch writes the frames of batch to the socket, copied into one
// pooled buffer so that a burst costs one write call per writeChunk bytes
// rather than one per frame; a frame larger than the buffer is written on
// its own. (A vectored write would save the copy, but the runtime keeps the
// largest iovec array of every socket for the socket's life.) It returns
// the queued size written, and false when the socket failed.
func (c *Client) writeBatch(batch []item) (size int, ok bool) {
	bp := writeChunks.Get().(*[]byte)
	buf := (*bp)[:0]
	defer func() { *bp = buf[:0]; writeChunks.Put(bp) }()

	c.raw.SetWriteDeadline(time.Now().Add(c.server.cfg.WriteTimeout))
	for _, it := range batch {
		size += it.size()
		frame := it.frame
		if it.msg != nil {
			if frame = c.transform(it.msg); frame == nil {
				continue
			}
		}
		if len(buf)+len(frame) > writeChunk && len(buf) > 0 {
			if _, err := c.raw.Write(buf); err != nil {
				return size, false
			}
			buf = buf[:0]
		}
		if len(frame) > writeChunk {
			if _, err := c.raw.Write(frame); err != nil {
				return size, false
			}
			continue
		}
		buf = append(buf, frame...)
	}
	if len(buf) > 0 {
		if _, err := c.raw.Write(buf); err != nil {
			return size, false
		}
	}
	return size, true
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
