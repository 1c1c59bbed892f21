package websocket

import (
	"context"
	"errors"
)

// ErrBrokerClosed is wrapped by the errors of a closed broker or
// Subscription (Publish, Subscribe, Listen).
var ErrBrokerClosed = errors.New("websocket: broker closed")

// Broker carries envelopes (see package wire) between instances on named
// channels. The server publishes to it in ToClient, ToUser, ToRoom,
// Broadcast and Send, and subscribes to it in Configure. Implementations:
// the in-process MemoryBroker (the default) and RedisBroker.
type Broker interface {
	// Publish sends payload on channel. It must not block on a slow
	// subscriber for longer than ctx allows. A nil error means the broker has
	// taken the message: sent, or (RedisBroker's outbox) queued to be sent in
	// order once the broker can.
	Publish(ctx context.Context, channel string, payload []byte) error
	// Subscribe starts delivering payloads to handler and returns once the
	// broker hears ws:broadcast and whatever its mode listens to without
	// being asked (RedisBroker in pattern mode: every room, client and user
	// channel). In interest mode the Subscription hears a room, client or
	// user channel only between Listen and Unlisten. Subscribe returns an
	// error wrapping ErrBrokerNotReady when ctx ends first.
	//
	// handler is called from one goroutine at a time, in publish order per
	// channel, with the channel a payload was published on; it must not
	// block for long, nor close the Subscription.
	Subscribe(ctx context.Context, handler func(channel string, payload []byte)) (Subscription, error)
}

// Subscription is a live Broker subscription: what this instance hears.
//
// The server declares what it can deliver with Listen and Unlisten, reference
// counted per channel: Listen when a room gets its first local member, a user
// its first local session, a client connects; Unlisten when that ends. Every
// Listen of a channel is paired with one Unlisten of it, whatever Listen
// returned. Both are safe for concurrent use, and cheap when the channel is
// already heard.
type Subscription interface {
	// Listen makes the subscription hear channels, and returns once the
	// broker has confirmed it hears every one of them: a message published
	// on one of them after Listen returned nil reaches the handler. It takes
	// one reference to each channel; the reference is held even when Listen
	// returns an error, and the channel is then heard as soon as the broker
	// can (at the latest when Ready is closed again).
	//
	// It returns an error wrapping ErrBrokerNotReady at once while the
	// subscription is not ready (Redis lost, subscriptions being restored),
	// or as soon as it stops being ready while Listen waits; it returns
	// ctx's error when ctx ends first; and an error wrapping ErrBrokerClosed
	// once the subscription is closed. Concurrent calls share the broker's
	// round trips (RedisBroker sends one SUBSCRIBE for many channels).
	// Channels the broker hears anyway (every one, in pattern mode) return at
	// once.
	Listen(ctx context.Context, channels ...string) error
	// Unlisten drops one reference to each channel. A channel left with none
	// is no longer heard after a grace period (RedisBroker: ListenGrace), so
	// that a room that empties and fills again at once costs nothing. It never
	// blocks. Unlistening a channel with no reference does nothing.
	Unlisten(channels ...string)
	// Ready returns a channel that is closed while the subscription is live:
	// every channel it listens to (and ws:broadcast) is confirmed by the
	// broker. After a lost connection or a failover, Ready returns an open
	// channel until every current interest is subscribed again, then a closed
	// one. Check it without blocking with a select and a default case, or
	// wait on it. A closed Subscription is never ready.
	Ready() <-chan struct{}
	// Close ends the subscription; handler is not called after it returns.
	// Close is idempotent.
	Close() error
}
