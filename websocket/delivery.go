package websocket

import (
	"context"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/echows/echows/internal/jsonwire"
	"github.com/echows/echows/websocket/wire"
)

// encodeMessage checks event and turns data into JSON once per message,
// escaped as upstream's JSON.stringify escapes it. A json.RawMessage is taken
// as it is after a check that it is valid JSON in valid UTF-8.
func encodeMessage(event string, data any) (json.RawMessage, error) {
	if event == "" {
		return nil, ErrInvalidEvent
	}
	if raw, ok := data.(json.RawMessage); ok {
		if !json.Valid(raw) || !utf8.Valid(raw) {
			return nil, fmt.Errorf("%w: json.RawMessage is not valid JSON in UTF-8", ErrEncode)
		}
		return raw, nil
	}
	b, err := jsonwire.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrEncode, err)
	}
	return b, nil
}

// Local sends to this instance's clients only, without the broker: see
// Server.Local. It is the counterpart of upstream's server-side sendToClient,
// sendToUser, sendToRoom and broadcast.
type Local struct{ s *Server }

// Local returns the sender that reaches this instance's clients only. Use
// it when every instance makes the same call anyway (each delivers to its own
// clients), or for a reply to a client known to be here; otherwise use the
// Server's own ToClient, ToUser, ToRoom and Broadcast, which reach every
// instance.
func (s *Server) Local() Local { return Local{s} }

// ToClient sends event to one authenticated client of this instance. It
// fails with ErrClientNotFound when no such client is here (an
// unauthenticated client gets nothing but error events).
func (l Local) ToClient(clientID, event string, data any) error {
	raw, err := encodeMessage(event, data)
	if err != nil {
		return fmt.Errorf("send to client %q: %w", clientID, err)
	}
	if !l.s.toClient(clientID, event, raw, sourceLocal) {
		return fmt.Errorf("send to client %q: %w", clientID, ErrClientNotFound)
	}
	return nil
}

// ToUser sends event to every client of a user on this instance.
func (l Local) ToUser(userID, event string, data any) error {
	raw, err := encodeMessage(event, data)
	if err != nil {
		return fmt.Errorf("send to user %q: %w", userID, err)
	}
	l.s.toUser(userID, event, raw, sourceLocal)
	return nil
}

// ToRoom sends event to every client in room on this instance, except the
// excluded client ids. The message is encoded once for all of them.
func (l Local) ToRoom(room, event string, data any, exclude ...string) error {
	raw, err := encodeMessage(event, data)
	if err != nil {
		return fmt.Errorf("send to room %q: %w", room, err)
	}
	l.s.toRoom(room, event, raw, exclude, sourceLocal)
	return nil
}

// Broadcast sends event to every authenticated client on this instance,
// except the excluded client ids.
func (l Local) Broadcast(event string, data any, exclude ...string) error {
	raw, err := encodeMessage(event, data)
	if err != nil {
		return fmt.Errorf("broadcast: %w", err)
	}
	l.s.toAll(event, raw, exclude, sourceLocal)
	return nil
}

// ToClient sends event to one client, wherever it is connected: delivered
// here when the client is one of this instance's, published for the other
// instances otherwise. The data is encoded once. When the publish fails the
// error wraps ErrPublish.
func (s *Server) ToClient(ctx context.Context, clientID, event string, data any) error {
	return s.emit(ctx, wire.TypeClient, clientID, event, data, nil)
}

// ToUser sends event to every client of a user, on every instance: it is
// delivered here and published for the others. Local delivery happens even
// when the publish fails; the error then wraps ErrPublish.
func (s *Server) ToUser(ctx context.Context, userID, event string, data any) error {
	return s.emit(ctx, wire.TypeUser, userID, event, data, nil)
}

// ToRoom sends event to every member of room, on every instance, except the
// excluded client ids: it is delivered here and published for the others.
// Local delivery happens even when the publish fails; the error then wraps
// ErrPublish.
func (s *Server) ToRoom(ctx context.Context, room, event string, data any, exclude ...string) error {
	return s.emit(ctx, wire.TypeRoom, room, event, data, exclude)
}

// Broadcast sends event to every authenticated client, on every instance,
// except the excluded client ids. Local delivery happens even when the
// publish fails; the error then wraps ErrPublish.
func (s *Server) Broadcast(ctx context.Context, event string, data any, exclude ...string) error {
	return s.emit(ctx, wire.TypeBroadcast, "", event, data, exclude)
}

// emit delivers locally and publishes, but for a client of this instance,
// which no other instance can reach.
func (s *Server) emit(ctx context.Context, typ wire.Type, target, event string, data any, exclude []string) error {
	if typ != wire.TypeBroadcast && target == "" {
		return fmt.Errorf("send to %s: %w", typ, ErrInvalidTarget)
	}
	raw, err := encodeMessage(event, data)
	if err != nil {
		return fmt.Errorf("send to %s %q: %w", typ, target, err)
	}
	if typ == wire.TypeClient && s.index.get(target) != nil {
		s.toClient(target, event, raw, sourceLocal)
		return nil
	}
	env := wire.Envelope{ServerID: s.id, Type: typ, Target: target, Event: event, Data: raw, Exclude: exclude}
	s.dispatch(env, sourceLocal)
	return s.publish(ctx, env)
}

// Send delivers like upstream's send: with no destination it broadcasts; a
// destination that is a client of this instance gets a client message (not
// published: no other instance has that client); one that is a room here
// gets a room message, delivered here and published; anything else is
// published as a room for the other instances (every client is in the room
// of its own id, so a client elsewhere is reached too). An empty event makes
// Send a silent no-op, as upstream's send is. Local delivery happens even
// when the publish fails; the error then wraps ErrPublish.
func (s *Server) Send(ctx context.Context, destination, event string, data any) error {
	switch {
	case event == "":
		return nil
	case destination == "":
		return s.Broadcast(ctx, event, data)
	case s.index.getAuthed(destination) != nil:
		return s.ToClient(ctx, destination, event, data)
	case s.index.hasRoom(destination):
		return s.ToRoom(ctx, destination, event, data)
	}
	raw, err := encodeMessage(event, data)
	if err != nil {
		return fmt.Errorf("send %q: %w", destination, err)
	}
	return s.publish(ctx, wire.Envelope{ServerID: s.id, Type: wire.TypeRoom, Target: destination, Event: event, Data: raw})
}

// dispatch delivers an envelope to this instance's clients; source names
// where it came from, for the log of invalid UTF-8. It reports whether the
// envelope had a recipient here (before exclusions).
func (s *Server) dispatch(env wire.Envelope, source string) bool {
	switch env.Type {
	case wire.TypeClient:
		return s.toClient(env.Target, env.Event, env.Data, source)
	case wire.TypeUser:
		return s.toUser(env.Target, env.Event, env.Data, source)
	case wire.TypeRoom:
		return s.toRoom(env.Target, env.Event, env.Data, env.Exclude, source)
	case wire.TypeBroadcast:
		return s.toAll(env.Event, env.Data, env.Exclude, source)
	}
	return false
}

func (s *Server) publish(ctx context.Context, env wire.Envelope) error {
	payload, err := env.Encode()
	if err == nil {
		if own := s.memSub.Load(); own != nil {
			// this instance has delivered already: the in-process broker
			// hands the envelope to the other subscribers only
			err = own.broker.publishExcept(ctx, env.Channel(), payload, own)
		} else {
			err = s.broker.Publish(ctx, env.Channel(), payload)
		}
	}
	if err != nil {
		s.publishErrors.Add(1)
		return fmt.Errorf("%w %s %q: %w", ErrPublish, env.Type, env.Target, err)
	}
	s.published.Add(1)
	return nil
}

// Broker payloads go through a bounded inbox to one dispatcher goroutine,
// which delivers everything that has arrived (at most inboxBatch envelopes)
// under one cork: a burst from another instance is then written with one
// write call per client and batch, not one per envelope. An envelope that
// arrives alone is delivered without a cork, so that its fan-out may write
// its members itself (see fanOut), and a message for one client is
// written by the dispatcher, as a local send is (Client.direct).
const (
	inboxSize  = 4096 // payloads waiting; the broker's goroutine blocks past it
	inboxBatch = 256  // envelopes delivered under one cork
)

type inboxItem struct {
	channel string
	payload []byte
}

// enqueue is the broker's handler: it hands the payload to the dispatcher,
// in order.
func (s *Server) enqueue(channel string, payload []byte) {
	s.inbox <- inboxItem{channel, payload}
}

// dispatchInbox runs from Configure until the inbox is closed (Shutdown,
// after the subscription ended).
func (s *Server) dispatchInbox() {
	defer close(s.inboxDone)
	for first := range s.inbox {
		if len(s.inbox) == 0 {
			s.receive(first.channel, first.payload)
			continue
		}
		s.Cork(func() {
			s.receive(first.channel, first.payload)
			for n := 1; n < inboxBatch && len(s.inbox) > 0; n++ {
				m, ok := <-s.inbox
				if !ok {
					return
				}
				s.receive(m.channel, m.payload)
			}
		})
	}
}

// receive handles a payload from the broker: other instances' envelopes are
// delivered locally; this server's own are skipped; malformed ones are
// logged and skipped.
func (s *Server) receive(channel string, payload []byte) {
	env, err := wire.DecodeEnvelope(payload)
	if err == nil && wire.IsProbe(env) { // before the own-id skip: this server's probe comes back with its id
		s.probeReceived(env)
		return
	}
	s.m.heard.Add(1) // the broker delivers (see prober)
	if err != nil {
		s.malformedEnvelope(channel, err) // counts, logs (rate-limited)
		return
	}
	if env.ServerID == s.id {
		s.m.ownSkipped.Add(1)
		return
	}
	s.received.Add(1)
	if !s.dispatch(env, "server "+env.ServerID) {
		s.m.unwanted.Add(1)
	}
}

// EnableClientEncryption marks a client of this instance encrypted: from now
// on every message to it goes through the OutboundTransformer. It cannot be
// undone for the life of the connection.
func (s *Server) EnableClientEncryption(clientID string) error {
	c := s.index.get(clientID)
	if c == nil {
		return fmt.Errorf("enable encryption for %q: %w", clientID, ErrClientNotFound)
	}
	c.encrypted.Store(true)
	return nil
}

// Disconnect closes a client of this instance with code and reason (see
// Client.Close).
func (s *Server) Disconnect(clientID string, code int, reason string) error {
	c := s.index.get(clientID)
	if c == nil {
		return fmt.Errorf("disconnect %q: %w", clientID, ErrClientNotFound)
	}
	return c.Close(code, reason)
}
