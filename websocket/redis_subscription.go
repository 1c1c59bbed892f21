package websocket

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// redisSubscription is one RedisBroker.Subscribe: the channels it listens
// to (reference counted, with a grace period after the last reference), the
// subscriber connections that carry them (one link, or one per shard), and
// its readiness.
//
// Concurrency: mu guards every field below it, the links' bookkeeping and
// every redisInterest. No lock is held across I/O or across the handler:
// links write commands and read replies without it, then take it to record
// what happened. Readiness is counted, not scanned: missing is the number of
// interests that must be confirmed and are not.
type redisSubscription struct {
	broker  *RedisBroker
	handler func(channel string, payload []byte)
	// handlerMu serialises handler calls across links (RoutingSharded).
	handlerMu sync.Mutex

	ctx    context.Context // ends at Close: every link and the router stop
	cancel context.CancelFunc
	wg     sync.WaitGroup // links' and the router's goroutines
	done   chan struct{}  // closed when Close finished

	everReady atomic.Bool // became ready at least once
	readyNow  atomic.Bool // mirrors ready, for the broker's outbox without mu

	closeOnce sync.Once

	mu      sync.Mutex
	closed  bool
	entries map[string]*redisInterest
	links   map[string]*redisLink // by node address; "" for the one link of unsharded routings
	ready   bool
	readyCh chan struct{} // closed while ready
	missing int           // interests that must be confirmed and are not
	// patternsMissing counts the patterns (RoutingPatterns) not confirmed on
	// the link's current connection.
	patternsMissing int
	waits           map[*listenWait]struct{} // Listen calls waiting
	lastErr         error                    // the last connection error, for Subscribe's error
	lostAt          time.Time                // when it stopped being ready; zero while ready
	idle            []idleItem               // interests in their grace period, oldest first
	idleSeq         uint64
	graceTimer      *time.Timer // armed while idle is not empty
	logs            []func()    // written by unlock, after mu is released
	// sharded routing: interests not yet routed to a link, and whether every
	// interest's route must be checked again (topology changed).
	unrouted   []*redisInterest
	rerouteAll bool
	routeKick  chan struct{}
}

// redisInterest is one channel the subscription listens to, or is about to,
// or is releasing.
type redisInterest struct {
	channel string
	slot    int  // its cluster hash slot (RoutingSharded)
	base    bool // ws:broadcast: always held, and required for readiness
	refs    int  // Listen minus Unlisten
	held    bool // wanted on Redis: refs > 0, or within the grace period after
	idleSeq uint64

	link  *redisLink // the connection that carries it; nil while unrouted
	dirty bool       // queued in link.dirty
	// sent: the last command sent for it on link's current connection is a
	// subscribe; pend: commands sent on that connection not yet answered.
	// It is confirmed when sent && pend == 0.
	sent    bool
	pend    int
	heard   bool // confirmed once: losing it makes the subscription not ready
	waiters []*listenWait
}

func (e *redisInterest) confirmed() bool { return e.sent && e.pend == 0 }

// counts reports whether e keeps the subscription from being ready: it is
// wanted, it had been confirmed (or is ws:broadcast), and it is not now. A
// channel still in its first Listen does not count: a join in flight does
// not make an instance unready.
func (e *redisInterest) counts() bool { return e.held && (e.heard || e.base) && !e.confirmed() }

// listenWait is one Listen call waiting for confirmations.
type listenWait struct {
	left     int
	done     chan struct{}
	err      error
	finished bool
}

func (w *listenWait) finish(err error) {
	if !w.finished {
		w.finished, w.err = true, err
		close(w.done)
	}
}

type idleItem struct {
	e   *redisInterest
	seq uint64
	at  time.Time // when the grace period ends
}

func newRedisSubscription(b *RedisBroker, handler func(string, []byte)) *redisSubscription {
	ctx, cancel := context.WithCancel(context.Background())
	s := &redisSubscription{
		broker:    b,
		handler:   handler,
		ctx:       ctx,
		cancel:    cancel,
		done:      make(chan struct{}),
		entries:   make(map[string]*redisInterest),
		links:     make(map[string]*redisLink),
		readyCh:   make(chan struct{}),
		waits:     make(map[*listenWait]struct{}),
		routeKick: make(chan struct{}, 1),
	}
	if b.routing == RoutingPatterns {
		s.patternsMissing = len(redisPatterns)
	}
	return s
}

// redisPatterns are what RoutingPatterns pattern-subscribes, as upstream
// does.
var redisPatterns = []string{wire.PatternRoom, wire.PatternClient, wire.PatternUser}

// start creates ws:broadcast and the first link (or the router), and starts
// their goroutines.
func (s *redisSubscription) start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.newInterest(wire.ChannelBroadcast)
	e.base, e.held = true, true
	s.missing++ // e.counts() now holds
	if s.broker.routing == RoutingSharded {
		s.wg.Add(1)
		go s.route()
		s.kickRouter()
		return
	}
	l := s.newLinkLocked("", nil)
	s.attachLocked(e, l)
}

// baseNames returns what every subscription listens to from the start, for
// messages.
func (s *redisSubscription) baseNames() []string {
	names := []string{wire.ChannelBroadcast}
	if s.broker.routing == RoutingPatterns {
		names = append(names, redisPatterns...)
	}
	return names
}

// covered reports whether the routing hears channel without a subscription
// of its own.
func (s *redisSubscription) covered(channel string) bool {
	return s.broker.routing == RoutingPatterns && channel != wire.ChannelBroadcast && envelopeChannel(channel)
}

// newInterest creates the interest of channel, routed to the one link, or
// queued for the router (RoutingSharded). mu is held.
func (s *redisSubscription) newInterest(channel string) *redisInterest {
	e := &redisInterest{channel: channel}
	s.entries[channel] = e
	if s.broker.routing == RoutingSharded {
		e.slot = clusterSlot(channel)
		s.unrouted = append(s.unrouted, e)
		return e
	}
	if l := s.links[""]; l != nil {
		s.attachLocked(e, l)
	}
	return e
}

// attachLocked routes e to link l: it is subscribed there on the link's
// next flush.
func (s *redisSubscription) attachLocked(e *redisInterest, l *redisLink) {
	was := e.counts()
	if e.link != nil {
		e.link.count--
	}
	e.link, e.sent, e.pend = l, false, 0
	e.dirty = false // a queue of the old link skips it: e.link is no longer that link
	l.count++
	s.adjust(e, was)
	s.markDirty(e)
}

// markDirty queues e for its link's next flush. mu is held.
func (s *redisSubscription) markDirty(e *redisInterest) {
	if e.link != nil && !e.dirty {
		e.dirty = true
		e.link.dirty = append(e.link.dirty, e)
	}
}

// adjust updates missing after a change to e; was is e.counts() before it.
func (s *redisSubscription) adjust(e *redisInterest, was bool) {
	switch now := e.counts(); {
	case now && !was:
		s.missing++
	case !now && was:
		s.missing--
	}
}

// deleteLocked forgets e: it is neither wanted nor subscribed.
func (s *redisSubscription) deleteLocked(e *redisInterest) {
	if s.entries[e.channel] == e {
		delete(s.entries, e.channel)
	}
	if e.link != nil {
		e.link.count--
		e.link = nil
	}
}

// Listen implements Subscription.
func (s *redisSubscription) Listen(ctx context.Context, channels ...string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("listen %s: %w", describeChannels(channels), ErrBrokerClosed)
	}
	var w *listenWait
	for _, ch := range channels {
		if s.covered(ch) {
			continue
		}
		e := s.entries[ch]
		if e == nil {
			e = s.newInterest(ch)
		}
		was := e.counts()
		e.refs++
		e.idleSeq = 0 // ends a grace period in progress
		if !e.held {
			e.held = true
			s.markDirty(e)
		}
		s.adjust(e, was)
		if !e.confirmed() {
			if w == nil {
				w = &listenWait{done: make(chan struct{})}
			}
			w.left++
			e.waiters = append(e.waiters, w)
		}
	}
	if w == nil {
		s.mu.Unlock()
		return nil
	}
	if !s.ready {
		w.finished = true // the confirmations that come will find nobody waiting
		s.mu.Unlock()
		s.kickAll()
		return fmt.Errorf("listen %s: %w: subscriptions are being restored (the channels will be heard before Ready is closed again)", describeChannels(channels), ErrBrokerNotReady)
	}
	s.waits[w] = struct{}{}
	s.mu.Unlock()
	s.kickAll()

	select {
	case <-w.done:
		if w.err != nil {
			return fmt.Errorf("listen %s: %w", describeChannels(channels), w.err)
		}
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		delete(s.waits, w)
		w.finished = true
		s.mu.Unlock()
		return fmt.Errorf("listen %s: %w", describeChannels(channels), ctx.Err())
	}
}

// describeChannels names channels in an error: the first one, and how many
// others.
func describeChannels(channels []string) string {
	switch len(channels) {
	case 0:
		return "no channel"
	case 1:
		return fmt.Sprintf("%q", channels[0])
	}
	return fmt.Sprintf("%q and %d more", channels[0], len(channels)-1)
}

// Unlisten implements Subscription.
func (s *redisSubscription) Unlisten(channels ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	var now time.Time
	for _, ch := range channels {
		e := s.entries[ch]
		if e == nil || e.refs == 0 {
			continue
		}
		e.refs--
		if e.refs > 0 || e.base {
			continue
		}
		if now.IsZero() {
			now = time.Now()
		}
		s.idleSeq++
		e.idleSeq = s.idleSeq
		s.idle = append(s.idle, idleItem{e: e, seq: e.idleSeq, at: now.Add(s.broker.grace)})
	}
	if len(s.idle) > 0 && s.graceTimer == nil {
		s.graceTimer = time.AfterFunc(time.Until(s.idle[0].at), s.expireIdle)
	}
}

// expireIdle releases the interests whose grace period ended: they are
// unsubscribed on the next flush.
func (s *redisSubscription) expireIdle() {
	s.mu.Lock()
	s.graceTimer = nil
	if s.closed {
		s.mu.Unlock()
		return
	}
	now := time.Now()
	n := 0
	for ; n < len(s.idle) && !s.idle[n].at.After(now); n++ {
		it := s.idle[n]
		e := it.e
		if e.idleSeq != it.seq || e.refs > 0 || !e.held {
			continue // listened to again meanwhile
		}
		was := e.counts()
		e.held, e.idleSeq = false, 0
		s.adjust(e, was)
		if e.link == nil {
			s.deleteLocked(e) // never routed: nothing to undo
		} else {
			s.markDirty(e)
		}
	}
	clear(s.idle[:n]) // let the collector have the interests
	s.idle = s.idle[n:]
	if len(s.idle) > 0 {
		s.graceTimer = time.AfterFunc(time.Until(s.idle[0].at), s.expireIdle)
	}
	s.unlock(s.updateReadyLocked())
	s.kickAll()
}

// unlock releases mu, then writes the logs recorded under it and, when
// readiness changed, tells the broker: neither happens under the lock.
func (s *redisSubscription) unlock(readinessChanged bool) {
	logs := s.logs
	s.logs = nil
	s.mu.Unlock()
	for _, log := range logs {
		log()
	}
	if readinessChanged {
		s.broker.readinessChanged()
	}
}

// Ready implements Subscription.
func (s *redisSubscription) Ready() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readyCh
}

// updateReadyLocked makes ready follow missing, and reports whether it
// changed (the caller then tells the broker, outside the lock). Losing
// readiness fails the Listen calls waiting.
func (s *redisSubscription) updateReadyLocked() bool {
	want := !s.closed && s.missing == 0 && s.patternsMissing == 0
	if want == s.ready {
		return false
	}
	s.ready = want
	s.readyNow.Store(want)
	if want {
		close(s.readyCh)
		if s.everReady.Load() {
			s.broker.reconnects.Add(1)
			channels, after := len(s.entries), time.Since(s.lostAt).Round(time.Millisecond)
			s.logs = append(s.logs, func() {
				s.broker.log.Info("redis subscriber connection restored; subscribed again", "channels", channels, "after", after)
			})
		}
		s.everReady.Store(true)
		s.lostAt = time.Time{}
		return true
	}
	s.readyCh = make(chan struct{})
	s.lostAt = time.Now()
	err := ErrBrokerNotReady
	if s.closed {
		err = ErrBrokerClosed
	}
	for w := range s.waits {
		w.finish(err)
	}
	clear(s.waits)
	return true
}

// confirmLocked records Redis's answer to a subscribe or unsubscribe of e
// on its link's current connection.
func (s *redisSubscription) confirmLocked(e *redisInterest, subscribed bool) {
	was := e.counts()
	switch {
	case e.pend > 0:
		e.pend--
	case !subscribed && e.sent:
		// Not an answer: Redis dropped the subscription on its own, as a
		// cluster node does for the shard channels of a slot it no longer
		// owns. Find the slot's new owner (or subscribe again).
		e.sent = false
		if s.broker.routing == RoutingSharded {
			s.rerouteAll = true
			s.kickRouter()
		} else {
			s.markDirty(e)
		}
		ch := e.channel
		s.logs = append(s.logs, func() {
			s.broker.log.Info("redis dropped a subscription on its own; subscribing again", "channel", ch)
		})
	}
	s.adjust(e, was)
	switch {
	case e.confirmed():
		e.heard = true
		for _, w := range e.waiters {
			if w.finished {
				continue
			}
			if w.left--; w.left == 0 {
				w.finish(nil)
				delete(s.waits, w)
			}
		}
		e.waiters = nil
	case !e.held && !e.sent && e.pend == 0:
		s.deleteLocked(e)
	}
}

// channelCount returns how many channels the subscription listens to.
func (s *redisSubscription) channelCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

func (s *redisSubscription) lastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// kickAll wakes every link to flush what is queued, and the router.
func (s *redisSubscription) kickAll() {
	s.mu.Lock()
	for _, l := range s.links {
		l.kickNow()
	}
	if len(s.unrouted) > 0 {
		s.kickRouter()
	}
	s.mu.Unlock()
}

func (s *redisSubscription) kickRouter() {
	select {
	case s.routeKick <- struct{}{}:
	default:
	}
}

// deliver hands a message to the handler, one call at a time.
func (s *redisSubscription) deliver(channel string, payload []byte) {
	s.handlerMu.Lock()
	defer s.handlerMu.Unlock()
	s.handler(channel, payload)
}

// Close implements Subscription: it stops every link and waits for their
// goroutines, so the handler is not called after it returns.
func (s *redisSubscription) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.updateReadyLocked()
		for w := range s.waits {
			w.finish(ErrBrokerClosed)
		}
		clear(s.waits)
		if s.graceTimer != nil {
			s.graceTimer.Stop()
			s.graceTimer = nil
		}
		s.unlock(false) // the broker hears of it when the subscription is removed
		s.cancel()
		s.wg.Wait()
		close(s.done)
		s.broker.removeSubscription(s)
	})
	return nil
}

// String describes the subscription for logs.
func (s *redisSubscription) String() string {
	return fmt.Sprintf("redis subscription (%s routing, %s)", s.broker.routing, strings.Join(s.baseNames(), ", "))
}
