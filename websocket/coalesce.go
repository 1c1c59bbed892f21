package websocket

import (
	"encoding/json"
	"sync"
	"sync/atomic"
)

// batchLen is how many messages a batch of fan-outs holds before the
// sender's call queues and writes them: as uWebSockets' topic tree drains
// every 32 messages. Each member then gets them in one write call, and a
// message waits for at most 31 others before its write starts, whatever
// the scheduler does. A batch of inlineFlush bytes is full too, so large
// messages are not held back for a count, and a client held by a cork
// still reaches corkLimit as early as it would unbatched.
const batchLen = 32

// audienceKind says what a fan-out's audience is named by.
type audienceKind uint8

const (
	audienceRoom audienceKind = iota // the members of a room (and the client whose own room it is)
	audienceUser                     // the clients of a user
	audienceAll                      // every authenticated client
)

// audience is who a fan-out is for.
type audience struct {
	kind audienceKind
	name string
}

// coalescer batches consecutive fan-outs to the same audience in a burst,
// so that a room message costs its sender O(1) rather than a queue lock and
// append per member: the batch is queued for each member in one go (one
// lock, the messages appended together), and written right after.
//
// A batch holds messages for one audience, with the members the index had
// when its first message came; it is valid while the index's version stays
// the same (nobody joined, left, connected or disconnected since), so each
// message still reaches exactly the clients that were its audience when it
// was sent. It is queued for its members when it is full (by the sender,
// who then writes it: see add), when a message for another audience or
// with other members comes, and before anything else is queued for any
// client (see flush): so every client gets its messages in the order they
// were sent, batched or not. Otherwise a flush goroutine queues it: the
// flusher keeps one running while a batch waits.
type coalescer struct {
	s       *Server
	mu      sync.Mutex
	pending atomic.Bool // msgs is not empty; cleared only once they are queued
	to      audience
	version uint64    // the index's, when members were collected
	members []*Client // the audience, while pending
	msgs    []*outbound
	bytes   int // msgs' frames
}

// add batches a message for to, and reports whether to has any client. It
// is fanOut's path for a message in a burst (not sparse, no exclusions).
func (b *coalescer) add(to audience, event string, data json.RawMessage, source string) bool {
	s := b.s
	b.mu.Lock()
	var backpressured []*Client
	if !b.pending.Load() || b.to != to || b.version != s.index.version.Load() {
		backpressured = b.queueLocked()
		b.members, b.version = s.index.audience(to, b.members[:0])
		b.to = to
		if len(b.members) == 0 {
			b.mu.Unlock()
			b.after(backpressured)
			return false
		}
	}
	o := s.newMessage(event, data, source)
	b.msgs = append(b.msgs, o)
	b.bytes += len(o.frame)
	full := len(b.msgs) >= batchLen || b.bytes >= inlineFlush
	switch {
	case full:
		backpressured = append(backpressured, b.queueLocked()...)
	case !b.pending.Load():
		b.pending.Store(true)
		s.flush.ensure() // queues the batch if the sender does not fill it
	}
	b.mu.Unlock()
	b.after(backpressured)
	if full {
		// Write what was just queued from this call, as uWebSockets' drain
		// does: the sender pays for its burst, and each member's batch
		// goes out now rather than when the scheduler next runs a flush
		// goroutine.
		s.flush.help()
	}
	return true
}

// flush queues what is batched. Everything that queues a data or close
// frame for a client calls it first, outside any lock: the client must get
// batched messages sent before it first.
func (b *coalescer) flush() {
	if !b.pending.Load() {
		return
	}
	b.mu.Lock()
	backpressured := b.queueLocked()
	b.mu.Unlock()
	b.after(backpressured)
}

// queueLocked queues the batch for each of its members and hands them to
// the flush goroutines. It returns the members that became backpressured,
// for after: what that does (a log line, a close with
// CloseOnBackpressureLimit) must not run under b.mu.
func (b *coalescer) queueLocked() (backpressured []*Client) {
	if len(b.msgs) == 0 {
		return nil
	}
	s := b.s
	limit := s.cfg.BackpressureLimit
	startBuf := getClients()
	starts := *startBuf
	var queued, dropped int
	for _, c := range b.members {
		r := c.out.pushAll(c, b.msgs, limit)
		queued += r.queued
		dropped += r.dropped
		if r.first {
			backpressured = append(backpressured, c)
		}
		switch r.start {
		case startFlush:
			if starts = append(starts, c); len(starts) == flushChunk {
				s.flush.add(starts...)
				starts = starts[:0]
			}
		case startPromote, startInline: // past a bound: no need to wait for a cork, or for its turn
			s.flush.promote(c)
		case startGoroutine:
			c.kick(r.start)
		}
	}
	s.flush.add(starts...)
	*startBuf = starts
	putClients(startBuf)
	s.m.deliveries.Add(uint64(queued))
	s.dropped.Add(uint64(dropped))
	clear(b.msgs)
	b.msgs, b.bytes = b.msgs[:0], 0
	clear(b.members)
	b.members = b.members[:0]
	if cap(b.members) > 1<<16 {
		b.members = nil // a huge audience: let the GC have the array
	}
	b.pending.Store(false) // last: flush must not return before the members have it
	return backpressured
}

// after acts on the members that became backpressured while a batch was
// queued, as afterPush does for one message.
func (b *coalescer) after(backpressured []*Client) {
	for _, c := range backpressured {
		b.s.backpressured(c)
	}
}
