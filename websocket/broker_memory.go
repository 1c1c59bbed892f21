package websocket

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// MemoryBroker is an in-process Broker: what one server publishes reaches
// every other server subscribed to the same MemoryBroker in this process. It
// is the default when no broker is configured, and lets an in-process
// emitter reach the server. It is safe for concurrent use; the zero value is
// not usable, call NewMemoryBroker.
type MemoryBroker struct {
	mu   sync.Mutex
	subs map[*memorySubscription]struct{}
}

// NewMemoryBroker returns an empty in-process broker.
func NewMemoryBroker() *MemoryBroker {
	return &MemoryBroker{subs: make(map[*memorySubscription]struct{})}
}

// Publish calls every subscriber's handler with payload, synchronously, when
// channel is one of the envelope channels.
func (b *MemoryBroker) Publish(ctx context.Context, channel string, payload []byte) error {
	return b.publishExcept(ctx, channel, payload, nil)
}

// publishExcept is Publish for a server subscribed to b: its own
// subscription, except, is skipped, since the server delivered locally
// already (decoding its own envelope only to drop it would cost a trip
// through its bounded inbox).
func (b *MemoryBroker) publishExcept(ctx context.Context, channel string, payload []byte, except *memorySubscription) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !envelopeChannel(channel) {
		return nil
	}
	b.mu.Lock()
	subs := make([]*memorySubscription, 0, len(b.subs))
	for s := range b.subs {
		if s != except {
			subs = append(subs, s)
		}
	}
	b.mu.Unlock()
	for _, s := range subs {
		s.deliver(channel, payload)
	}
	return nil
}

// Subscribe registers handler; it is ready at once. It hears every room,
// client and user channel without being asked (one process holds every
// client), so Listen and Unlisten do nothing.
func (b *MemoryBroker) Subscribe(_ context.Context, handler func(channel string, payload []byte)) (Subscription, error) {
	s := &memorySubscription{broker: b, handler: handler}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s, nil
}

type memorySubscription struct {
	broker  *MemoryBroker
	mu      sync.Mutex  // serialises handler calls, and Close against them
	closed  atomic.Bool // set under mu; read without it by Listen and Ready
	handler func(channel string, payload []byte)
}

func (s *memorySubscription) deliver(channel string, payload []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed.Load() {
		s.handler(channel, payload)
	}
}

// closedChan is a closed channel: a MemoryBroker subscription is always ready.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Listen returns at once: the subscription hears every envelope channel.
func (s *memorySubscription) Listen(context.Context, ...string) error {
	if s.closed.Load() {
		return fmt.Errorf("listen: %w", ErrBrokerClosed)
	}
	return nil
}

// Unlisten does nothing.
func (s *memorySubscription) Unlisten(...string) {}

// Ready returns a closed channel until the subscription is closed.
func (s *memorySubscription) Ready() <-chan struct{} {
	if s.closed.Load() {
		return make(chan struct{})
	}
	return closedChan
}

func (s *memorySubscription) Close() error {
	s.broker.mu.Lock()
	delete(s.broker.subs, s)
	s.broker.mu.Unlock()
	s.mu.Lock()
	s.closed.Store(true)
	s.mu.Unlock()
	return nil
}
