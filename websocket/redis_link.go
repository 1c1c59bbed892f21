package websocket

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"
)

// redisSubscribeChunk caps the channels of one SUBSCRIBE or UNSUBSCRIBE
// command, so that restoring a large interest set after a reconnect is a
// stream of commands of bounded size, not one command of megabytes.
const redisSubscribeChunk = 1024

// redisLink is one subscriber connection of a subscription, and the two
// goroutines that drive it: run writes the subscribe and unsubscribe
// commands, read reads messages and confirmations.
//
// Each connection is a generation: a fresh go-redis PubSub on which the link
// subscribes every interest it carries, in chunks (per hash slot, for
// SSUBSCRIBE, which refuses channels of several slots in one command). When
// anything fails on it — a read, a write, an error reply, a missed pong —
// the generation ends: the PubSub is closed, every interest of the link is
// marked unconfirmed (the subscription is not ready), and after a backoff a
// new generation subscribes them all again. The link never relies on
// go-redis's own resubscription, which sends every shard channel in one
// SSUBSCRIBE (refused across slots) and cannot tell the link when it is
// done.
type redisLink struct {
	sub  *redisSubscription
	addr string // node address (RoutingSharded); "" otherwise

	kick   chan struct{} // capacity 1: something to flush
	cancel context.CancelFunc

	// guarded by sub.mu
	node  *redis.Client    // the node's client (RoutingSharded; go-redis may replace it); nil otherwise
	gen   uint64           // current generation; replies of others are ignored
	dirty []*redisInterest // interests to subscribe or unsubscribe
	count int              // interests routed to this link
	up    bool             // the current generation has heard from Redis
	turn  int              // the run goroutine's: the last node classicNode tried
}

// newLinkLocked creates a link to addr (node: its client, RoutingSharded)
// and starts it. sub.mu is held.
func (s *redisSubscription) newLinkLocked(addr string, node *redis.Client) *redisLink {
	ctx, cancel := context.WithCancel(s.ctx)
	l := &redisLink{sub: s, addr: addr, node: node, kick: make(chan struct{}, 1), cancel: cancel, gen: 1}
	s.links[addr] = l
	s.wg.Add(1)
	go l.run(ctx)
	return l
}

func (l *redisLink) kickNow() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// openPubSub returns a fresh PubSub, not connected yet.
func (l *redisLink) openPubSub(ctx context.Context) *redis.PubSub {
	l.sub.mu.Lock()
	node := l.node
	l.sub.mu.Unlock()
	if node != nil {
		return node.SSubscribe(ctx)
	}
	if l.sub.broker.cluster != nil {
		if node := l.classicNode(ctx); node != nil {
			return node.Subscribe(ctx)
		}
	}
	return l.sub.broker.client.Subscribe(ctx)
}

// classicNode picks the node of a cluster that a classic (not sharded)
// subscriber connection uses: a PUBLISH reaches subscribers on every node,
// so any master that answers PING will do. Each call tries the masters in
// turn from the one after the last picked, so a dead node is left at once
// (go-redis would dial the owner of the first channel's slot, the same dead
// node, until the cluster's state changes). It returns nil when none
// answers.
func (l *redisLink) classicNode(ctx context.Context) *redis.Client {
	var (
		mu    sync.Mutex
		nodes []*redis.Client
	)
	_ = l.sub.broker.cluster.ForEachMaster(ctx, func(_ context.Context, c *redis.Client) error {
		mu.Lock()
		nodes = append(nodes, c)
		mu.Unlock()
		return nil
	})
	slices.SortFunc(nodes, func(a, b *redis.Client) int { return strings.Compare(a.Options().Addr, b.Options().Addr) })
	for range nodes {
		l.turn++
		c := nodes[l.turn%len(nodes)]
		pctx, cancel := context.WithTimeout(ctx, l.sub.broker.health)
		err := c.Ping(pctx).Err()
		cancel()
		if err == nil {
			return c
		}
	}
	return nil
}

// run drives generations until ctx ends.
func (l *redisLink) run(ctx context.Context) {
	defer l.sub.wg.Done()
	failures := 0
	for {
		l.sub.mu.Lock()
		gen := l.gen
		l.sub.mu.Unlock()

		ps := l.openPubSub(ctx)
		var (
			readErr   error
			readDone  = make(chan struct{})
			heardSome atomic.Bool
		)
		go func() {
			defer close(readDone)
			readErr = l.read(ctx, ps, gen, &heardSome)
		}()
		err := l.serve(ctx, ps, gen, readDone)
		_ = ps.Close()
		<-readDone
		if err == nil {
			err = readErr
		}
		if ctx.Err() != nil {
			return
		}
		if heardSome.Load() {
			failures = 0
		}
		failures++
		l.endGeneration(gen, err)
		if !sleepCtx(ctx, retryDelay(failures)) {
			return
		}
	}
}

// serve writes the generation's commands until it ends: the patterns first
// (RoutingPatterns), then whatever is dirty, each time the link is kicked.
// It returns the error that ended the generation, nil when the reader ended
// it.
func (l *redisLink) serve(ctx context.Context, ps *redis.PubSub, gen uint64, readDone <-chan struct{}) error {
	b := l.sub.broker
	if b.routing == RoutingPatterns {
		b.subscribeCmds.Add(1)
		if err := ps.PSubscribe(ctx, redisPatterns...); err != nil {
			return err
		}
	}
	for {
		if err := l.flush(ctx, ps, gen); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-readDone:
			return nil
		case <-l.kick:
		}
	}
}

// flush sends the commands for every dirty interest: subscribes, then
// unsubscribes, each in commands of many channels.
func (l *redisLink) flush(ctx context.Context, ps *redis.PubSub, gen uint64) error {
	s := l.sub
	s.mu.Lock()
	if l.gen != gen || len(l.dirty) == 0 {
		s.mu.Unlock()
		return nil
	}
	var subs, unsubs []*redisInterest
	for _, e := range l.dirty {
		if e.link != l {
			continue // routed elsewhere meanwhile: queued there
		}
		e.dirty = false
		was := e.counts()
		switch {
		case e.held && !e.sent:
			e.sent = true
			e.pend++
			subs = append(subs, e)
		case !e.held && e.sent:
			e.sent = false
			e.pend++
			unsubs = append(unsubs, e)
		case !e.held && !e.sent && e.pend == 0:
			s.deleteLocked(e)
		}
		s.adjust(e, was)
	}
	clear(l.dirty)
	l.dirty = l.dirty[:0]
	sharded := s.broker.routing == RoutingSharded
	subBatches := commandBatches(subs, sharded)
	unsubBatches := commandBatches(unsubs, sharded)
	s.mu.Unlock()

	b := s.broker
	for _, chs := range subBatches {
		// counted before it is sent: its confirmation, read on another
		// goroutine, may return a Listen before this one goes on
		b.subscribeCmds.Add(1)
		var err error
		if sharded {
			err = ps.SSubscribe(ctx, chs...)
		} else {
			err = ps.Subscribe(ctx, chs...)
		}
		if err != nil {
			return err
		}
	}
	for _, chs := range unsubBatches {
		b.unsubscribeCmds.Add(1)
		var err error
		if sharded {
			err = ps.SUnsubscribe(ctx, chs...)
		} else {
			err = ps.Unsubscribe(ctx, chs...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// commandBatches splits interests into the channel lists of commands: at
// most redisSubscribeChunk channels each and, when sharded, one hash slot
// each (SSUBSCRIBE refuses channels of several slots).
func commandBatches(es []*redisInterest, sharded bool) [][]string {
	if len(es) == 0 {
		return nil
	}
	if sharded {
		slices.SortFunc(es, func(a, b *redisInterest) int { return a.slot - b.slot })
	}
	var out [][]string
	var cur []string
	for i, e := range es {
		if len(cur) == redisSubscribeChunk || (sharded && i > 0 && es[i-1].slot != e.slot) {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, e.channel)
	}
	return append(out, cur)
}

// read reads the generation's connection until it fails or is closed,
// handing messages to the handler and confirmations to the subscription. It
// keeps the connection honest: after HealthInterval of silence it pings, and
// a pong that does not come within another HealthInterval ends the
// generation.
func (l *redisLink) read(ctx context.Context, ps *redis.PubSub, gen uint64, heardSome *atomic.Bool) error {
	s, health := l.sub, l.sub.broker.health
	pinged := false
	for {
		var (
			msg any
			err error
		)
		if pinged {
			// A plain Receive under a deadline: when it times out, the
			// connection is broken.
			rctx, cancel := context.WithTimeout(ctx, health)
			msg, err = ps.Receive(rctx)
			cancel()
		} else {
			// A timeout here only means silence: the connection is kept.
			msg, err = ps.ReceiveTimeout(ctx, health)
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, redis.ErrClosed) {
				return nil
			}
			if !pinged && isNetTimeout(err) {
				if err = ps.Ping(ctx); err == nil {
					pinged = true
					continue
				}
			}
			return err
		}
		pinged = false
		if !heardSome.Load() {
			heardSome.Store(true)
			l.markUp(gen)
		}
		switch m := msg.(type) {
		case *redis.Message:
			s.deliver(m.Channel, []byte(m.Payload))
		case *redis.Subscription:
			l.confirm(gen, m)
		case *redis.Pong:
			// the health check was answered
		}
	}
}

// markUp records that the generation reached Redis.
func (l *redisLink) markUp(gen uint64) {
	s := l.sub
	s.mu.Lock()
	if l.gen == gen {
		l.up = true
	}
	s.mu.Unlock()
}

// confirm records one confirmation of the generation.
func (l *redisLink) confirm(gen uint64, m *redis.Subscription) {
	s := l.sub
	s.mu.Lock()
	if l.gen != gen || s.closed {
		s.mu.Unlock()
		return
	}
	switch m.Kind {
	case "psubscribe":
		if s.patternsMissing > 0 {
			s.patternsMissing--
		}
	case "subscribe", "ssubscribe", "unsubscribe", "sunsubscribe":
		if e := s.entries[m.Channel]; e != nil && e.link == l {
			s.confirmLocked(e, m.Kind == "subscribe" || m.Kind == "ssubscribe")
		}
	}
	s.unlock(s.updateReadyLocked())
}

// endGeneration marks every interest of the link unconfirmed and queued for
// the next generation, and tells the router (RoutingSharded) that the
// topology may have changed.
func (l *redisLink) endGeneration(gen uint64, err error) {
	s := l.sub
	s.mu.Lock()
	if l.gen != gen {
		s.mu.Unlock()
		return
	}
	l.gen++
	wasUp := l.up
	l.up = false
	if err != nil {
		s.lastErr = err
	}
	for _, e := range s.entries {
		if e.link != l {
			continue
		}
		was := e.counts()
		e.sent, e.pend = false, 0
		s.adjust(e, was)
		if e.held {
			s.markDirty(e)
		} else {
			s.deleteLocked(e)
		}
	}
	// ws:broadcast first: it is what every client hears.
	if i := slices.IndexFunc(l.dirty, func(e *redisInterest) bool { return e.base }); i > 0 {
		l.dirty[0], l.dirty[i] = l.dirty[i], l.dirty[0]
	}
	if s.broker.routing == RoutingPatterns {
		s.patternsMissing = len(redisPatterns)
	}
	if s.broker.routing == RoutingSharded {
		s.rerouteAll = true // the router reloads the slot map
		s.kickRouter()
	} else {
		s.broker.refreshTopology() // a cluster's subscriber node may be gone
	}
	log := s.broker.log
	if l.addr != "" {
		log = log.With("node", l.addr)
	}
	if wasUp {
		log.Warn("redis subscriber connection lost; reconnecting", "err", err)
	} else {
		log.Debug("redis subscriber connection attempt failed", "err", err)
	}
	s.unlock(s.updateReadyLocked())
}
