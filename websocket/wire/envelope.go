package wire

import (
	"encoding/json"
	"fmt"

	"github.com/echows/echows/internal/jsonwire"
)

// Type says who an envelope is for.
type Type string

// Envelope types.
const (
	TypeClient    Type = "client"
	TypeUser      Type = "user"
	TypeRoom      Type = "room"
	TypeBroadcast Type = "broadcast"
)

// Valid reports whether t is one of the four envelope types.
func (t Type) Valid() bool {
	switch t {
	case TypeClient, TypeUser, TypeRoom, TypeBroadcast:
		return true
	}
	return false
}

// EmitterServerID is the serverId of envelopes published by an emitter. It
// never matches a server's UUID, so every server processes them.
const EmitterServerID = "emitter"

// Envelope is the JSON message published on the Redis channels:
// {serverId, type, target?, event, data, exclude?}.
type Envelope struct {
	ServerID string          `json:"serverId"`
	Type     Type            `json:"type"`
	Target   string          `json:"target,omitempty"`
	Event    string          `json:"event"`
	Data     json.RawMessage `json:"data"`
	Exclude  []string        `json:"exclude,omitempty"`
}

// Encode returns the envelope as JSON, keys in upstream's order, strings
// escaped as upstream escapes them. Nil Data is encoded as null.
func (e Envelope) Encode() ([]byte, error) {
	if e.Data == nil {
		e.Data = json.RawMessage("null")
	}
	b, err := jsonwire.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode envelope: %w", err)
	}
	return b, nil
}

// Channel returns the channel the envelope is published on.
func (e Envelope) Channel() string { return Channel(e.Type, e.Target) }

// DecodeEnvelope parses and checks an envelope received from Redis. It fails
// with ErrMalformed when the bytes are not a JSON object of the right shape,
// the type is unknown, serverId or event is empty, or a client, user or room
// envelope has no target. Data is nil when the envelope has none (upstream's
// undefined), so it is left out of the client frame, as upstream does.
func DecodeEnvelope(b []byte) (Envelope, error) {
	var e Envelope
	if err := json.Unmarshal(b, &e); err != nil {
		return Envelope{}, fmt.Errorf("%w: envelope: %v", ErrMalformed, err)
	}
	switch {
	case e.ServerID == "":
		return Envelope{}, fmt.Errorf("%w: envelope: no serverId", ErrMalformed)
	case !e.Type.Valid():
		return Envelope{}, fmt.Errorf("%w: envelope: unknown type %q", ErrMalformed, e.Type)
	case e.Event == "":
		return Envelope{}, fmt.Errorf("%w: envelope: no event", ErrMalformed)
	case e.Type != TypeBroadcast && e.Target == "":
		return Envelope{}, fmt.Errorf("%w: envelope: %s without target", ErrMalformed, e.Type)
	}
	return e, nil
}
