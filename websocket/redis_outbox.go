package websocket

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Replays go out in pipelines of at most this many messages and bytes.
const (
	outboxBatch      = 256
	outboxBatchBytes = 1 << 20
)

// outboxSettle is how long the outbox waits, once this broker's
// subscriptions are back after a loss, before it replays: every RedisBroker
// retries its subscriber connection at least every redisRetryMax, so by then
// the other instances most likely hear again too, and the replay reaches
// them. What it cannot know is closed by per-room sequence numbers and
// history (a later step).
const outboxSettle = redisRetryMax

// outbox holds publishes while Redis is away and replays them in order.
//
// It is direct (publishes go straight to Redis) until a publish fails for
// want of Redis, or a subscription of the broker stops being ready. It is
// then active: every Publish is queued (in memory, bounded by bytes and by
// the age of the outage), and one drain goroutine waits until the broker's
// subscriptions are live again and settled, replays the queue in order in
// pipelines, and makes the outbox direct again once the queue is empty.
// Queued messages older than maxAge are dropped and counted.
type outbox struct {
	b        *RedisBroker
	maxAge   time.Duration
	maxBytes int

	direct atomic.Bool    // publish at once: the outbox is not active
	wake   chan struct{}  // capacity 1: the drain goroutine has something to look at
	wg     sync.WaitGroup // the drain goroutine

	mu      sync.Mutex
	closed  bool
	active  bool
	since   time.Time // when it became active
	cause   error     // what made it active, for ErrOutboxFull errors
	running bool      // the drain goroutine runs
	live    bool      // every subscription of the broker is ready
	liveAt  time.Time // when they last became ready again after a loss
	retryAt time.Time // the next replay attempt after a failed one
	fails   int       // consecutive failed attempts (replays or probes)
	// probe: a publish found Redis away, and the subscriptions have not
	// proved it back since: PING it before replaying, and let the settling
	// time start from its answer (a broker with no subscription, or whose
	// subscriptions never noticed, learns that Redis is back this way).
	probe bool
	queue []outboxMsg
	head  int // queue[head:] is queued
	bytes int

	queued, replayed, expired, failed, rejected atomic.Uint64
}

type outboxMsg struct {
	channel string
	payload []byte
	at      time.Time // when it was queued
}

func newOutbox(b *RedisBroker, maxAge time.Duration, maxBytes int) *outbox {
	o := &outbox{b: b, maxAge: maxAge, maxBytes: maxBytes, wake: make(chan struct{}, 1), live: true}
	o.direct.Store(true)
	return o
}

// publish is RedisBroker.Publish with the outbox on.
func (o *outbox) publish(ctx context.Context, channel string, payload []byte) error {
	if o.direct.Load() {
		err := o.b.publishRaw(ctx, channel, payload)
		if err == nil {
			return nil
		}
		if !redisAway(err) || ctx.Err() != nil {
			return publishError(channel, err)
		}
		o.b.refreshTopology()
		return o.enqueue(channel, payload, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("publish %q: %w", channel, err)
	}
	return o.enqueue(channel, payload, nil)
}

// enqueue queues a copy of payload, or says why it cannot. cause is the
// error of the publish that found Redis away, if any.
func (o *outbox) enqueue(channel string, payload []byte, cause error) error {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return fmt.Errorf("publish %q: %w: %w", channel, ErrBrokerClosed, redis.ErrClosed)
	}
	now := time.Now()
	o.activateLocked(now, cause)
	var why string
	switch {
	case now.Sub(o.since) >= o.maxAge:
		why = fmt.Sprintf("redis has been away for %v (OutboxMaxAge %v)", now.Sub(o.since).Round(time.Millisecond), o.maxAge)
	case o.bytes+len(payload) > o.maxBytes:
		why = fmt.Sprintf("%d bytes queued (OutboxMaxBytes %d)", o.bytes, o.maxBytes)
	}
	if why != "" {
		cause := o.cause
		o.mu.Unlock()
		o.rejected.Add(1)
		if cause != nil {
			return fmt.Errorf("publish %q: %w: %s: %w", channel, ErrOutboxFull, why, cause)
		}
		return fmt.Errorf("publish %q: %w: %s", channel, ErrOutboxFull, why)
	}
	o.queue = append(o.queue, outboxMsg{channel: channel, payload: append([]byte(nil), payload...), at: now})
	o.bytes += len(payload)
	o.mu.Unlock()
	o.queued.Add(1)
	return nil
}

// activateLocked makes the outbox active (if it is not) and makes sure the
// drain goroutine runs.
func (o *outbox) activateLocked(now time.Time, cause error) {
	if !o.active {
		o.active, o.since, o.cause = true, now, cause
		o.direct.Store(false)
	} else if cause != nil {
		o.cause = cause
	}
	if cause != nil {
		o.probe = true
	}
	if !o.running && !o.closed {
		o.running = true
		o.wg.Add(1)
		go o.drain()
	}
}

// readinessChanged records whether every subscription of the broker is
// ready: losing that makes the outbox active.
func (o *outbox) readinessChanged(live bool) {
	o.mu.Lock()
	if live == o.live || o.closed {
		o.mu.Unlock()
		return
	}
	o.live = live
	now := time.Now()
	if live {
		o.liveAt, o.probe = now, false
	} else {
		o.activateLocked(now, nil)
	}
	o.mu.Unlock()
	o.signal()
}

func (o *outbox) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// drain runs while the outbox is active: it replays the queue once the
// subscriptions are live and settled, then makes the outbox direct again.
func (o *outbox) drain() {
	defer o.wg.Done()
	var replayed uint64
	for {
		o.mu.Lock()
		if o.closed {
			o.running = false
			o.mu.Unlock()
			return
		}
		now := time.Now()
		if n := o.expireLocked(now); n > 0 {
			o.mu.Unlock()
			o.b.log.Warn("redis broker outbox dropped messages older than OutboxMaxAge", "messages", n, "max_age", o.maxAge)
			continue
		}
		wait, forever := o.waitLocked(now)
		if !forever && wait <= 0 && o.head == len(o.queue) && !o.probe {
			// drained, Redis back, live and settled: publish directly again
			o.active, o.running, o.cause, o.fails = false, false, nil, 0
			o.queue, o.head = nil, 0
			o.direct.Store(true)
			o.mu.Unlock()
			if replayed > 0 {
				o.b.log.Info("redis broker outbox replayed", "messages", replayed)
			}
			return
		}
		if forever || wait > 0 {
			if o.head < len(o.queue) { // wake up to drop the oldest when it expires
				if exp := o.queue[o.head].at.Add(o.maxAge).Sub(now); forever || exp < wait {
					wait, forever = max(exp, time.Millisecond), false
				}
			}
			o.mu.Unlock()
			if !o.sleep(wait, forever) {
				return
			}
			continue
		}
		if o.probe {
			o.mu.Unlock()
			o.ping()
			continue
		}
		batch, retry := o.batchLocked(), o.fails > 0
		o.mu.Unlock()

		cmds, err := o.send(batch, retry)
		n, refused := o.settle(batch, cmds, err)
		replayed += uint64(n)
		for _, r := range refused {
			o.b.log.Warn("redis broker outbox: redis refused a replayed message; dropped", "channel", r.channel, "err", r.err)
		}
	}
}

// ping asks Redis whether it is back. When it is, the settling time starts
// now; when not, the next attempt waits for the backoff.
func (o *outbox) ping() {
	err := o.b.client.Ping(o.b.ctx).Err()
	o.mu.Lock()
	defer o.mu.Unlock()
	now := time.Now()
	if err == nil {
		o.probe, o.liveAt = false, now
		return
	}
	o.fails++
	o.retryAt = now.Add(retryDelay(o.fails))
	o.b.refreshTopology()
}

// waitLocked returns how long the drain must wait before it may replay:
// forever while the subscriptions are not live, until the settling time has
// passed after they came back, until the next retry after a failure.
func (o *outbox) waitLocked(now time.Time) (time.Duration, bool) {
	if !o.live {
		return 0, true
	}
	until := o.liveAt.Add(outboxSettle)
	if o.retryAt.After(until) {
		until = o.retryAt
	}
	return until.Sub(now), false
}

// sleep waits for d (or, when forever, without a deadline) or a signal; it
// reports false when the broker is closing.
func (o *outbox) sleep(d time.Duration, forever bool) bool {
	var timeout <-chan time.Time
	if !forever {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-o.wake:
	case <-timeout:
	case <-o.b.ctx.Done():
		return false
	}
	return true
}

// expireLocked drops the queued messages older than maxAge, and returns how
// many.
func (o *outbox) expireLocked(now time.Time) int {
	n := 0
	for o.head < len(o.queue) && now.Sub(o.queue[o.head].at) >= o.maxAge {
		o.bytes -= len(o.queue[o.head].payload)
		o.queue[o.head] = outboxMsg{}
		o.head++
		n++
	}
	o.expired.Add(uint64(n))
	return n
}

// batchLocked returns the oldest queued messages, at most outboxBatch of
// them and outboxBatchBytes (at least one).
func (o *outbox) batchLocked() []outboxMsg {
	end, size := o.head, 0
	for end < len(o.queue) && end-o.head < outboxBatch && (end == o.head || size+len(o.queue[end].payload) <= outboxBatchBytes) {
		size += len(o.queue[end].payload)
		end++
	}
	return append([]outboxMsg(nil), o.queue[o.head:end]...)
}

// send publishes batch in one pipeline (one per node on a cluster). After a
// failed attempt, classic publishes on a cluster go to any node rather than
// to the (perhaps lost) owner of their channel's slot.
func (o *outbox) send(batch []outboxMsg, retry bool) ([]*redis.IntCmd, error) {
	cmds := make([]*redis.IntCmd, len(batch))
	_, err := o.b.client.Pipelined(o.b.ctx, func(p redis.Pipeliner) error {
		for i, m := range batch {
			cmds[i] = o.b.publishCmd(o.b.ctx, m.channel, m.payload, !retry)
			_ = p.Process(o.b.ctx, cmds[i])
		}
		return nil
	})
	return cmds, err
}

// refusal is a replayed message Redis refused for good.
type refusal struct {
	channel string
	err     error
}

// settle removes from the queue the messages of batch that Redis took, or
// refused for good (counted as failed, and returned), and keeps the others
// in order for the next attempt. It returns how many were sent.
func (o *outbox) settle(batch []outboxMsg, cmds []*redis.IntCmd, err error) (int, []refusal) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed || o.b.ctx.Err() != nil {
		return 0, nil
	}
	var (
		keep    []outboxMsg
		refused []refusal
		sent    int
		away    error
	)
	for i, m := range batch {
		cerr := err
		if cmds[i] != nil {
			cerr = cmds[i].Err()
		}
		switch {
		case cerr == nil:
			sent++
		case redisAway(cerr):
			keep = append(keep, m)
			away = cerr
		default:
			refused = append(refused, refusal{m.channel, cerr})
		}
	}
	for i := range batch {
		o.bytes -= len(o.queue[o.head+i].payload)
		o.queue[o.head+i] = outboxMsg{}
	}
	o.head += len(batch)
	if len(keep) > 0 { // back at the front, in order
		o.b.refreshTopology()
		o.head -= len(keep)
		copy(o.queue[o.head:], keep)
		for _, m := range keep {
			o.bytes += len(m.payload)
		}
		o.fails++
		o.retryAt = time.Now().Add(retryDelay(o.fails))
		o.cause, o.probe = away, true
	} else {
		o.fails = 0
	}
	if o.head > len(o.queue)/2 && o.head > 1024 { // compact
		o.queue = append(o.queue[:0:0], o.queue[o.head:]...)
		o.head = 0
	}
	o.replayed.Add(uint64(sent))
	o.failed.Add(uint64(len(refused)))
	return sent, refused
}

// close drops what is queued (counted as expired) and stops the drain
// goroutine. The broker's context is already cancelled.
func (o *outbox) close() {
	o.mu.Lock()
	o.closed = true
	n := len(o.queue) - o.head
	o.queue, o.head, o.bytes = nil, 0, 0
	o.mu.Unlock()
	o.signal()
	o.wg.Wait()
	if n > 0 {
		o.expired.Add(uint64(n))
		o.b.log.Warn("redis broker closed with messages in its outbox; dropped", "messages", n)
	}
}

func (o *outbox) stats(st *RedisBrokerStats) {
	o.mu.Lock()
	st.OutboxMessages, st.OutboxBytes = len(o.queue)-o.head, o.bytes
	o.mu.Unlock()
	st.OutboxQueued = o.queued.Load()
	st.OutboxReplayed = o.replayed.Load()
	st.OutboxExpired = o.expired.Load()
	st.OutboxFailed = o.failed.Load()
	st.OutboxRejected = o.rejected.Load()
}
