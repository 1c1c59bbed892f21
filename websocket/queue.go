package websocket

import (
	"sync"
)

// blockLen is the capacity of the pooled item blocks a queue is made of
// while it holds anything; past it a queue grows by append.
const blockLen = 256

type itemBlock [blockLen]*outbound

// itemBlocks pools queue storage, so a burst to many clients allocates no
// queue per client, and an idle client holds none. An entry is one pointer
// to the shared message: a fan-out appends 8 bytes per recipient.
var itemBlocks = sync.Pool{New: func() any { return new(itemBlock) }}

func getBlock() []*outbound { return itemBlocks.Get().(*itemBlock)[:0] }

// putBlock returns s to the pool if it is a block (not one append grew).
// Blocks in the pool are all zero: only s's items can be set (what was
// taken from it before was cleared then), so only they are cleared, not the
// whole block.
func putBlock(s []*outbound) {
	if cap(s) == blockLen {
		clear(s)
		itemBlocks.Put((*itemBlock)(s[:blockLen]))
	}
}

// writeState says who holds a queue's write token: nobody, or the one party
// that may write to the client's socket.
type writeState uint8

const (
	stateIdle      writeState = iota // nothing to write, no writer
	stateScheduled                   // waiting in the server's flush list
	stateFlushing                    // a flush goroutine is writing it
	stateWriting                     // the client's own writer goroutine is writing it
)

// start tells the caller of a queue operation what to do once the queue's
// lock is released.
type start uint8

const (
	startNone      start = iota // a writer already holds the token
	startFlush                  // the token was taken: put the client on the flush list
	startPromote                // held by a cork past corkLimit: flush it now
	startInline                 // waiting for a flush goroutine with inlineFlush bytes: write it now
	startGoroutine              // the token was taken: run the client's own writer
)

// queue is a client's outbound queue. Everything written to the socket goes
// through it: data frames in order, and at most one pending pong, one
// pending ping and the close frame, which are control frames and so never
// wait behind a batch. Whoever holds the write token (see writeState) is
// the only writer of the socket.
//
// bytes counts everything queued and not yet written, control frames and a
// partly written batch included; data frames are refused past the client's
// budget (BackpressureLimit), control frames are bounded by construction.
type queue struct {
	// What push reads and writes comes first, in 48 bytes: with Client's
	// layout, one cache line per member of a fan-out.
	mu    sync.Mutex
	items []*outbound
	bytes int
	state writeState
	held  bool // scheduled and not yet promoted: a cork may hold it (see corkLimit)

	closed        bool // a close frame was queued, or the client finished: nothing more is accepted
	dead          bool // the socket failed or the client finished: nothing more is written
	backpressured bool // a frame was refused; clears when the queue drains

	spare []*outbound
	pong  []byte // the pong for the latest ping, when not yet written
	ping  bool   // a server ping is due
	close []byte // the close frame, until written
	rest  []byte // what the socket did not take of the last batch

	// The flush goroutines write the socket by its number, around the
	// runtime's reference counting (see writeNow), so the socket is never
	// closed while one of them writes it: see letClose.
	noRaw      bool // closeSocket was called: no raw write starts
	closeAfter bool // closeSocket came during a raw write: its writer closes the socket
	dropped    uint64

	flushed chan struct{} // made by finish; closed when the token is released
	drained chan struct{} // made by a reader waiting for backpressure to clear
	goneCh  chan struct{} // made by gone; closed once dead
}

// pushResult says what became of a data frame.
type pushResult uint8

const (
	pushQueued       pushResult = iota
	pushDropped                 // over the budget: dropped
	pushDroppedFirst            // dropped, and the client just became backpressured
	pushClosed                  // the client is closing: nothing queued
)

// push queues a message under the client's budget (limit bytes); with
// force (the connected frame) the budget does not apply.
func (q *queue) push(c *Client, o *outbound, limit int, force bool) (pushResult, start) {
	q.mu.Lock() // not deferred: this runs once per recipient of every message
	if q.closed || q.dead {
		q.mu.Unlock()
		return pushClosed, startNone
	}
	res, st := q.appendLocked(o, limit, force), startNone
	if res == pushQueued {
		st = q.takeTokenLocked(c)
	}
	q.mu.Unlock()
	return res, st
}

// appendLocked queues o under the budget (limit bytes, unless force), or
// counts it dropped.
func (q *queue) appendLocked(o *outbound, limit int, force bool) pushResult {
	size := len(o.frame)
	if !force && (q.backpressured || (q.bytes > 0 && q.bytes+size > limit)) {
		q.dropped++
		if q.backpressured {
			return pushDropped
		}
		q.backpressured = true
		return pushDroppedFirst
	}
	if q.items == nil {
		q.items = getBlock()
	}
	q.items = append(q.items, o)
	q.bytes += size
	return pushQueued
}

// pushAllResult is what became of a batch of messages (see pushAll).
type pushAllResult struct {
	queued, dropped int
	first           bool // the client became backpressured
	start           start
}

// pushAll queues msgs in order under the client's budget, as as many calls
// of push would, under one lock: a batch of fan-outs (see coalescer) costs
// each member one lock, not one per message.
func (q *queue) pushAll(c *Client, msgs []*outbound, limit int) (r pushAllResult) {
	q.mu.Lock()
	if q.closed || q.dead {
		q.mu.Unlock()
		return r
	}
	for _, o := range msgs {
		switch q.appendLocked(o, limit, false) {
		case pushQueued:
			r.queued++
		case pushDroppedFirst:
			r.first = true
			fallthrough
		default:
			r.dropped++
		}
	}
	if r.queued > 0 {
		r.start = q.takeTokenLocked(c)
	}
	q.mu.Unlock()
	return r
}

// setPong makes frame the pending pong, replacing one not yet written: RFC
// 6455 §5.5.3 allows answering only the most recent ping, so a ping flood
// costs one pong's memory.
func (q *queue) setPong(c *Client, frame []byte) start {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.dead {
		return startNone
	}
	q.bytes += len(frame) - len(q.pong)
	q.pong = frame
	return q.takeTokenLocked(c)
}

// setPing marks a server ping due, unless one already is.
func (q *queue) setPing(c *Client) start {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.dead || q.ping {
		return startNone
	}
	q.ping = true
	q.bytes += len(pingFrame)
	return q.takeTokenLocked(c)
}

// setClose queues the close frame, the connection's last; it reports false
// when one was already queued or the client finished.
func (q *queue) setClose(c *Client, frame []byte) (bool, start) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.dead {
		return false, startNone
	}
	q.closed = true
	q.close = frame
	q.bytes += len(frame)
	return true, q.takeTokenLocked(c)
}

// takeTokenLocked takes the write token for c if nobody holds it, and says
// who must write; a client held by a cork past corkLimit is promoted.
func (q *queue) takeTokenLocked(c *Client) start {
	switch q.state {
	case stateIdle:
		if c.ownWriter() {
			q.state = stateWriting
			return startGoroutine
		}
		q.state = stateScheduled
		// Whether a cork holds it is decided later, when it is added to
		// the flusher (a fan-out adds in chunks, after queueing): any
		// scheduled client may be promoted. One on the ready list gets a
		// duplicate entry then, which flushOnce skips.
		q.held = true
		return startFlush
	case stateScheduled:
		switch {
		case q.held && q.bytes >= corkLimit:
			q.held = false
			return startPromote
		case q.bytes >= inlineFlush && c.server.flush.corks.Load() == 0:
			return startInline
		}
	}
	return startNone
}

// batch is what a writer took from a queue in one go: written in this order.
type batch struct {
	rest  []byte
	pong  []byte
	ping  bool
	items []*outbound
	close []byte
	// frames, when set, are the frames to write for items (the
	// transformer's, for an encrypted client); nil for a dropped one.
	frames [][]byte
	size   int // what the batch counts in queue.bytes
}

// single returns b's one frame and its message when b holds one message
// and nothing else.
func (b *batch) single() (frame []byte, o *outbound, ok bool) {
	if len(b.items) != 1 || b.rest != nil || b.pong != nil || b.ping || b.close != nil {
		return nil, nil, false
	}
	o = b.items[0]
	if b.frames != nil {
		return b.frames[0], o, true
	}
	return o.frame, o, true
}

func (b *batch) empty() bool {
	return b.rest == nil && b.pong == nil && !b.ping && len(b.items) == 0 && b.close == nil
}

// takeLocked moves everything queued into a batch.
func (q *queue) takeLocked() batch {
	b := batch{rest: q.rest, pong: q.pong, ping: q.ping, items: q.items, close: q.close, size: q.bytes}
	q.rest, q.pong, q.ping, q.close = nil, nil, false, nil
	q.items, q.spare = q.spare, nil
	return b
}

// written accounts for a batch the writer is done with: what the socket did
// not take (rest) stays queued, first. It returns the batch's item storage
// to the queue or the pool.
func (q *queue) writtenLocked(b *batch, rest []byte) {
	q.bytes -= b.size
	q.bytes += len(rest)
	q.rest = rest
	clear(b.items)
	if q.spare == nil && cap(b.items) > 0 {
		q.spare = b.items[:0]
	} else {
		putBlock(b.items)
	}
	b.items = nil
}

// hasWorkLocked reports whether anything waits to be written.
func (q *queue) hasWorkLocked() bool {
	return !q.dead && (q.rest != nil || q.pong != nil || q.ping || len(q.items) > 0 || q.close != nil)
}

// releaseLocked gives the write token back: the queue is empty, or dead.
// An idle client keeps no queue memory, and is no longer backpressured.
func (q *queue) releaseLocked() {
	q.state = stateIdle
	q.held = false
	if q.dead { // nothing more is written: forget what waits
		q.rest, q.pong, q.ping, q.close, q.bytes = nil, nil, false, nil, 0
	}
	putBlock(q.items)
	putBlock(q.spare)
	q.items, q.spare = nil, nil
	if q.backpressured {
		q.backpressured = false
		if q.drained != nil {
			close(q.drained)
			q.drained = nil
		}
	}
	if q.flushed != nil {
		close(q.flushed)
		q.flushed = nil
	}
}

// letClose is closeSocket's first step: no raw write starts after it, and
// it reports whether the caller may close the socket now. While a flush
// goroutine is in a raw write it reports false, and that goroutine closes
// the socket when its write returns, so a socket number is never closed
// (and perhaps reused by a new connection) under a write to it.
func (q *queue) letClose() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.noRaw = true
	if q.state == stateFlushing {
		q.closeAfter = true
		return false
	}
	return true
}

// finish closes the queue to new frames and returns a channel that is
// closed once the token holder has written what was queued (or gave up),
// or nil when nobody holds the token.
func (q *queue) finish() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	if q.state == stateIdle {
		return nil
	}
	if q.flushed == nil {
		q.flushed = make(chan struct{})
	}
	return q.flushed
}

// kill marks the socket failed: nothing more is written, and waiting
// readers are released.
func (q *queue) kill() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.dieLocked()
	if q.drained != nil {
		close(q.drained)
		q.drained = nil
	}
}

// dieLocked marks the socket failed or the client finished: nothing more
// is written.
func (q *queue) dieLocked() {
	if q.dead {
		return
	}
	q.dead = true
	if q.goneCh != nil {
		close(q.goneCh)
	}
}

// gone returns a channel that is closed once the socket failed or the
// client finished.
func (q *queue) gone() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.goneCh == nil {
		q.goneCh = make(chan struct{})
		if q.dead {
			close(q.goneCh)
		}
	}
	return q.goneCh
}

// waitDrained returns a channel that is closed once the client is no
// longer backpressured, or nil when it is not.
func (q *queue) waitDrained() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.backpressured || q.dead {
		return nil
	}
	if q.drained == nil {
		q.drained = make(chan struct{})
	}
	return q.drained
}
