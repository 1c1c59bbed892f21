package websocket

import "context"

// Broker carries envelopes (see package wire) between instances on named
// channels. The server publishes to it in ToClient, ToUser, ToRoom,
// Broadcast and Send, and subscribes to it in Configure. Implementations:
// the in-process MemoryBroker (the default) and RedisBroker.
type Broker interface {
	// Publish sends payload on channel. It must not block on a slow
	// subscriber for longer than ctx allows.
	Publish(ctx context.Context, channel string, payload []byte) error
	// Subscribe delivers every payload published on ws:broadcast and on the
	// ws:room:*, ws:client:* and ws:user:* channels to handler until the
	// returned Subscription is closed. It returns once the subscriptions are
	// confirmed, or with an error when ctx ends first. handler is called from
	// one goroutine at a time, in publish order per channel; it must not
	// block for long.
	Subscribe(ctx context.Context, handler func(channel string, payload []byte)) (Subscription, error)
}

// Subscription is a live Broker subscription.
type Subscription interface {
	// Close ends the subscription; handler is not called after it returns.
	Close() error
}
