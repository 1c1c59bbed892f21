package websocket

import (
	"encoding/json"
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// batchLen is how many messages a batch of fan-outs holds before the
// sender's call queues and writes them, as uWebSockets' topic tree drains
// every 32 messages: each member then gets them in one write call, and a
// message in a burst waits for at most 31 others before the sender writes
// it. A batch that does not fill waits for the next send or a flush
// goroutine. A batch of inlineFlush bytes is full too, so large messages
// are not held back for a count, and a client held by a cork still reaches
// corkLimit as early as it would unbatched.
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
// so that a message costs its sender O(1) rather than a queue lock and
// append per member: the batch is queued for each member in one go (one
// lock, the messages appended together), and when it is full the sender
// writes it right after.
//
// A batch holds messages for one audience, with the members the index had
// when its first message came; it is valid while the index's version stays
// the same (nobody joined, left, connected or disconnected since), so each
// message still reaches exactly the clients that were its audience when it
// was sent. It is queued for its members when it is full (by the sender,
// who then writes it: see add), when a message for another audience or
// with other members comes, and before anything else is queued for a
// client that may be among them (see flush): so every client gets its
// messages in the order they were sent, batched or not. Otherwise a flush
// goroutine queues it: the flusher keeps one running while a batch waits.
//
// Lock order: mu, then the index's read lock, a queue's lock, the
// flusher's. Nothing under mu logs, calls a hook or writes a socket.
type coalescer struct {
	s    *Server
	seed maphash.Seed  // of the audience hashes in last
	last atomic.Uint64 // the audience of the last fan-out in a burst (see repeats)

	mu      sync.Mutex
	pending atomic.Bool // msgs is not empty; cleared only once they are queued
	to      audience
	version uint64    // the index's, when members were collected
	members []*Client // the audience, while pending
	msgs    []*outbound
	bytes   int    // msgs' frames
	added   uint64 // messages ever batched, which tests read: when a batch is queued depends on the scheduler
}

// repeats reports whether the fan-out in a burst before this one had the
// same audience, and records to as the last. Only then is a message
// batched: bursts to different audiences from concurrent senders (many
// small rooms) would each make a batch of one message, and take turns on
// the batch's lock for nothing, where unbatched they queue in parallel.
// (Two audiences with the same hash only batch a little more.)
func (b *coalescer) repeats(to audience) bool {
	h := maphash.String(b.seed, to.name) + uint64(to.kind)
	return b.last.Swap(h) == h
}

// add batches a message for to, and reports whether to has any client. It
// is fanOut's path for a message in a burst (not sparse, no exclusions).
func (b *coalescer) add(to audience, event string, data json.RawMessage, source string) bool {
	s := b.s
	var q queued
	defer q.after(s) // deferred: runs once b.mu is released
	b.mu.Lock()
	if !b.pending.Load() || b.to != to || b.version != s.index.version.Load() {
		b.queueLocked(&q)
		b.members, b.version = s.index.audience(to, b.members[:0])
		b.to = to
		if len(b.members) == 0 {
			b.mu.Unlock()
			return false
		}
	}
	o, repaired := s.buildMessage(event, data)
	if repaired {
		q.repaired = source
	}
	b.msgs = append(b.msgs, o)
	b.bytes += len(o.frame)
	b.added++
	full := len(b.msgs) >= batchLen || b.bytes >= inlineFlush
	switch {
	case full:
		b.queueLocked(&q)
	case !b.pending.Load():
		b.pending.Store(true)
		if !s.flush.ensure() { // shutting down: no flush goroutine may start
			b.queueLocked(&q)
		}
	}
	b.mu.Unlock()
	if full {
		// Write what was just queued from this call, as uWebSockets' drain
		// does: the sender pays for its burst, and each member's batch
		// goes out now rather than when the scheduler next runs a flush
		// goroutine.
		q.help = true
	}
	return true
}

// flush queues what is batched. Everything that queues a data or close
// frame for a client that may be in the batch calls it first, outside any
// of the locks above: the client must get batched messages sent before it
// first. (The connected frame need not: it is queued under the index's
// lock as the client joins every audience, so no batch has it yet.)
func (b *coalescer) flush() {
	if !b.pending.Load() {
		return
	}
	var q queued
	b.mu.Lock()
	b.queueLocked(&q)
	b.mu.Unlock()
	q.after(b.s)
}

// queued is what queueing a batch left to do once the coalescer's lock is
// released: members that became backpressured (a log line, a close with
// CloseOnBackpressureLimit), members past inlineFlush to write now, a
// message whose invalid UTF-8 was repaired (logged), and, for a full
// batch, the ready list to write.
type queued struct {
	backpressured []*Client
	inline        []*Client
	repaired      string // the source to log, when set
	help          bool
}

func (q *queued) after(s *Server) {
	if q.repaired != "" {
		s.invalidUTF8(q.repaired)
	}
	for _, c := range q.backpressured {
		s.backpressured(c)
	}
	for _, c := range q.inline {
		c.kick(startInline)
	}
	if q.help {
		s.flush.help()
	}
}

// queueLocked queues the batch for each of its members, hands them to the
// flush goroutines, and leaves the rest to q.after.
func (b *coalescer) queueLocked(q *queued) {
	if len(b.msgs) == 0 {
		return
	}
	s := b.s
	limit := s.cfg.BackpressureLimit
	startBuf := getClients()
	f := fan{s: s, starts: *startBuf}
	var n, dropped int
	for _, c := range b.members {
		r := c.out.pushAll(c, b.msgs, limit)
		n += r.queued
		dropped += r.dropped
		if r.first {
			q.backpressured = append(q.backpressured, c)
		}
		switch r.start {
		case startFlush:
			f.schedule(c)
		case startPromote: // held by a cork past corkLimit
			s.flush.promote(c)
		case startInline: // past inlineFlush while waiting for a flush goroutine
			q.inline = append(q.inline, c)
		case startGoroutine:
			c.kick(r.start)
		}
	}
	s.flush.add(f.starts...)
	*startBuf = f.starts
	putClients(startBuf)
	s.m.deliveries.Add(uint64(n))
	s.dropped.Add(uint64(dropped))
	clear(b.msgs)
	b.msgs, b.bytes = b.msgs[:0], 0
	clear(b.members)
	b.members = b.members[:0]
	if cap(b.members) > 1<<16 {
		b.members = nil // a huge audience: let the GC have the array
	}
	b.pending.Store(false) // last: flush must not return before the members have it
}
