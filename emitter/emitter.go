package emitter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/internal/jsonwire"
	"github.com/echows/echows/websocket/wire"
)

// Errors returned by the Emitter's methods, wrapped with context; test them
// with errors.Is.
var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("emitter: closed")
	// ErrInvalidTarget means a client id, user id or room is empty.
	ErrInvalidTarget = errors.New("emitter: invalid target")
	// ErrInvalidEvent means the event name is empty.
	ErrInvalidEvent = errors.New("emitter: invalid event")
	// ErrEncode means data could not be encoded as JSON, or a
	// json.RawMessage is not valid JSON (websocket.ErrEncode on the
	// server).
	ErrEncode = errors.New("emitter: encode")
	// ErrInvalidClient means New was given no usable Redis client: nil, or a
	// *redis.Ring, which shards channels over independent servers so that the
	// servers, subscribed on one of them, would miss most messages.
	ErrInvalidClient = errors.New("emitter: invalid redis client")
)

// Publisher sends a payload on a channel. websocket.MemoryBroker and
// websocket.RedisBroker implement it, and so does any type with this method.
type Publisher interface {
	Publish(ctx context.Context, channel string, payload []byte) error
}

// Emitter publishes envelopes to the WebSocket servers. Build it with New or
// NewWithPublisher; the zero value is not usable. It is safe for concurrent
// use.
type Emitter struct {
	pub    Publisher
	err    error // when set, every call returns it: New got no usable client
	closed atomic.Bool
}

// New returns an Emitter that publishes through client. An emitter only
// publishes, and PUBLISH needs no dedicated connection, so it borrows
// connections from client's pool like any other command; the caller keeps
// owning client and closes it after the emitter (Close does not close it).
// A Sentinel or Cluster client works as a single-node one does.
//
// Each call is bounded by its context as client allows: go-redis honours a
// context's deadline only with Options.ContextTimeoutEnabled, and otherwise
// bounds each attempt by its ReadTimeout and WriteTimeout.
//
// A nil client or a *redis.Ring makes every call fail with ErrInvalidClient.
func New(client redis.UniversalClient) *Emitter {
	switch c := client.(type) {
	case nil:
		return &Emitter{err: fmt.Errorf("%w: nil", ErrInvalidClient)}
	case *redis.Client:
		if c == nil {
			return &Emitter{err: fmt.Errorf("%w: nil", ErrInvalidClient)}
		}
	case *redis.ClusterClient:
		if c == nil {
			return &Emitter{err: fmt.Errorf("%w: nil", ErrInvalidClient)}
		}
	case *redis.Ring:
		return &Emitter{err: fmt.Errorf("%w: *redis.Ring shards channels over independent servers (use one server, Sentinel or Cluster)", ErrInvalidClient)}
	}
	return &Emitter{pub: redisPublisher{client}}
}

// NewWithPublisher returns an Emitter that publishes through p, for example a
// websocket.MemoryBroker shared with an in-process server. Close does not
// close p.
func NewWithPublisher(p Publisher) *Emitter {
	if p == nil {
		return &Emitter{err: fmt.Errorf("%w: nil publisher", ErrInvalidClient)}
	}
	return &Emitter{pub: p}
}

// redisPublisher adapts a go-redis client to Publisher.
type redisPublisher struct{ c redis.UniversalClient }

func (p redisPublisher) Publish(ctx context.Context, channel string, payload []byte) error {
	return p.c.Publish(ctx, channel, payload).Err()
}

// ToClient sends event with data to one connection, wherever it is
// connected: it publishes on ws:client:<clientID>.
func (e *Emitter) ToClient(ctx context.Context, clientID, event string, data any) error {
	return e.emit(ctx, wire.TypeClient, clientID, event, data, nil)
}

// ToUser sends event with data to every connection of a user, on every
// instance: it publishes on ws:user:<userID>.
func (e *Emitter) ToUser(ctx context.Context, userID, event string, data any) error {
	return e.emit(ctx, wire.TypeUser, userID, event, data, nil)
}

// ToRoom sends event with data to every member of room, on every instance,
// except the client ids in exclude: it publishes on ws:room:<room>.
func (e *Emitter) ToRoom(ctx context.Context, room, event string, data any, exclude ...string) error {
	return e.emit(ctx, wire.TypeRoom, room, event, data, exclude)
}

// Broadcast sends event with data to every authenticated client on every
// instance, except the client ids in exclude: it publishes on ws:broadcast.
// Upstream's emitter has no exclude; without one the envelope is the same.
func (e *Emitter) Broadcast(ctx context.Context, event string, data any, exclude ...string) error {
	return e.emit(ctx, wire.TypeBroadcast, "", event, data, exclude)
}

// Close makes every later call return ErrClosed. It closes neither the Redis
// client given to New nor the Publisher given to NewWithPublisher: their
// owner does. Calls in progress finish. It is idempotent and returns nil.
func (e *Emitter) Close() error {
	e.closed.Store(true)
	return nil
}

// emit checks, encodes and publishes one envelope. Its errors read
// `emit "event" to room "lobby": ...`.
func (e *Emitter) emit(ctx context.Context, t wire.Type, target, event string, data any, exclude []string) error {
	err := e.check(t, target, event)
	if err == nil {
		err = e.publish(ctx, t, target, event, data, exclude)
	}
	if err == nil {
		return nil
	}
	dest := "to everyone"
	if t != wire.TypeBroadcast {
		dest = fmt.Sprintf("to %s %q", t, target)
	}
	return fmt.Errorf("emit %q %s: %w", event, dest, err)
}

func (e *Emitter) check(t wire.Type, target, event string) error {
	switch {
	case e.err != nil:
		return e.err
	case e.closed.Load():
		return ErrClosed
	case t != wire.TypeBroadcast && target == "":
		return fmt.Errorf("%w: empty %s", ErrInvalidTarget, targetName[t])
	case event == "":
		return fmt.Errorf("%w: empty event", ErrInvalidEvent)
	}
	return nil
}

func (e *Emitter) publish(ctx context.Context, t wire.Type, target, event string, data any, exclude []string) error {
	env := wire.Envelope{ServerID: wire.EmitterServerID, Type: t, Target: target, Event: event, Exclude: exclude}
	var err error
	if env.Data, err = encodeData(data); err != nil {
		return err
	}
	payload, err := env.Encode()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrEncode, err)
	}
	channel := env.Channel()
	if err := e.pub.Publish(ctx, channel, payload); err != nil {
		return fmt.Errorf("publish %s: %w", channel, err)
	}
	return nil
}

// targetName names the target of each envelope type, for errors.
var targetName = map[wire.Type]string{
	wire.TypeClient: "client id",
	wire.TypeUser:   "user id",
	wire.TypeRoom:   "room",
}

// encodeData returns data as JSON: a json.RawMessage as it is once checked,
// anything else through encoding/json, without HTML escaping, as upstream.
func encodeData(data any) (json.RawMessage, error) {
	if raw, ok := data.(json.RawMessage); ok {
		if raw == nil {
			return nil, nil // Encode writes null
		}
		if !json.Valid(raw) {
			return nil, fmt.Errorf("%w: json.RawMessage is not valid JSON", ErrEncode)
		}
		return raw, nil
	}
	b, err := jsonwire.Marshal(data) // escapes strings as JSON.stringify does
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEncode, err)
	}
	return b, nil
}
