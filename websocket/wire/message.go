package wire

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Message is one client frame: {"event": string, "data": any, "id"?: string}.
type Message struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data,omitempty"`
	ID    string          `json:"id,omitempty"`
}

// Errors of the decoders. Test them with errors.Is.
var (
	// ErrMalformed means the bytes are not JSON, or a field has the wrong type.
	ErrMalformed = errors.New("wire: malformed message")
	// ErrNoEvent means the frame is a JSON object without an event.
	ErrNoEvent = errors.New("wire: message has no event")
)

// DecodeMessage parses one client frame. A frame that is not JSON, or whose
// event or id is not a string, fails with ErrMalformed. JSON that is not an
// object, or an object with an empty or missing event, fails with
// ErrNoEvent: upstream drops those without an answer. The returned Data does
// not alias b.
func DecodeMessage(b []byte) (Message, error) {
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field == "" {
			return Message{}, ErrNoEvent // valid JSON, but not an object
		}
		return Message{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if m.Event == "" {
		return Message{}, ErrNoEvent
	}
	return m, nil
}

// roomsPayload is the data of a join or leave event.
type roomsPayload struct {
	Rooms []json.RawMessage `json:"rooms"`
}

// DecodeRooms parses the data of a join or leave event and returns the
// entries of its rooms array that are strings, in order; entries of other
// types are skipped. Data that is not an object with a rooms array fails with
// ErrMalformed.
func DecodeRooms(data json.RawMessage) ([]string, error) {
	var p roomsPayload
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("%w: rooms: %v", ErrMalformed, err)
	}
	if p.Rooms == nil {
		return nil, fmt.Errorf("%w: rooms: missing", ErrMalformed)
	}
	rooms := make([]string, 0, len(p.Rooms))
	for _, raw := range p.Rooms {
		var s string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			continue
		}
		rooms = append(rooms, s)
	}
	return rooms, nil
}
