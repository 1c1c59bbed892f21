package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"
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

// RoomsPayload is the data of a join or leave event.
type RoomsPayload struct {
	Rooms []json.RawMessage `json:"rooms"`
}

// DecodeRooms parses the data of a join or leave event and returns the
// entries of its rooms array that are strings, in order; entries of other
// types are skipped. Data that is not an object with a rooms array fails with
// ErrMalformed.
func DecodeRooms(data json.RawMessage) ([]string, error) {
	var p RoomsPayload
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

// AppendMessage appends the JSON frame {"event":event,"data":data} to dst.
// data must be valid JSON; nil data is omitted, as upstream omits undefined.
func AppendMessage(dst []byte, event string, data json.RawMessage) []byte {
	dst = append(dst, `{"event":`...)
	dst = AppendString(dst, event)
	if data != nil {
		dst = append(dst, `,"data":`...)
		dst = append(dst, data...)
	}
	return append(dst, '}')
}

// AppendString appends s to dst as a JSON string, escaped as JavaScript's
// JSON.stringify escapes it: quotes, backslashes and control characters
// only, so that Go and upstream produce the same bytes. Each byte of invalid
// UTF-8 becomes U+FFFD.
func AppendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[start:i]...)
				dst = append(dst, "\ufffd"...)
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		default:
			const hex = "0123456789abcdef"
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Marshal encodes v as JSON without encoding/json's HTML escaping of <, >
// and &, as JavaScript's JSON.stringify does not escape them either.
func Marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// ErrorData returns the data of an error event: {"message": text}.
func ErrorData(text string) json.RawMessage {
	return append(AppendString([]byte(`{"message":`), text), '}')
}
