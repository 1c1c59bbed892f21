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
//
// Inbound decoding is the per-frame cost under a message flood, so the common
// frame takes decodeMessageFast; every frame it is not sure of goes to
// decodeMessageStd, the encoding/json decoder, whose results it matches
// exactly (FuzzDecodeMessageMatchesStdlib checks that).
func DecodeMessage(b []byte) (Message, error) {
	m, ok := decodeMessageFast(b)
	if !ok {
		return decodeMessageStd(b)
	}
	if m.Event == "" {
		return Message{}, ErrNoEvent
	}
	return m, nil
}

// decodeMessageStd is DecodeMessage done by encoding/json. It is the
// fallback of the fast path and the reference it is tested against.
func decodeMessageStd(b []byte) (Message, error) {
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

// decodeMessageFast decodes the common frame without reflection: valid JSON
// that is an object whose keys are plain ASCII (no backslash) and whose event
// and id, when present, are strings without escapes in valid UTF-8; data may
// be any value, and repeated keys keep the last value, as with encoding/json.
// It reports false for anything else, and for keys that encoding/json would
// match to a field case-insensitively ("EVENT", "Data"), so that the caller
// falls back to decodeMessageStd. It does not check that the event is set.
func decodeMessageFast(b []byte) (Message, bool) {
	if !json.Valid(b) {
		return Message{}, false // let encoding/json word the error
	}
	var m Message
	s := frameScanner{b: b}
	if !s.consume('{') {
		return Message{}, false // not an object
	}
	if !s.consume('}') {
		for {
			key := s.value()
			if !s.consume(':') {
				return Message{}, false
			}
			if !setField(&m, key, s.value()) {
				return Message{}, false
			}
			if s.consume('}') {
				break
			}
			if !s.consume(',') {
				return Message{}, false
			}
		}
	}
	if m.Data != nil {
		m.Data = bytes.Clone(m.Data) // setField left it aliasing b
	}
	return m, true
}

// setField stores the member key: val of a frame in m, as encoding/json
// would, and reports false when it cannot be sure to match encoding/json.
// key and val are raw JSON; m.Data is set to val itself, aliasing the frame.
func setField(m *Message, key, val []byte) bool {
	name, ok := plainString(key)
	if !ok {
		return false
	}
	switch string(name) {
	case "event":
		m.Event, ok = stringValue(val)
		return ok
	case "id":
		m.ID, ok = stringValue(val)
		return ok
	case "data":
		m.Data = val // null too: RawMessage keeps the bytes null
		return true
	}
	// Any other key is ignored, unless encoding/json would match it to a
	// field: it compares names case-insensitively, by Unicode case folding
	// (which folds some non-ASCII letters to ASCII ones, as the Kelvin sign
	// to K). Non-ASCII keys are left to it rather than reasoned about.
	for _, c := range name {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return !bytes.EqualFold(name, []byte("event")) &&
		!bytes.EqualFold(name, []byte("id")) &&
		!bytes.EqualFold(name, []byte("data"))
}

// stringValue returns the JSON string raw as a Go string when encoding/json
// would decode it to its very bytes (see plainString), and false otherwise.
func stringValue(raw []byte) (string, bool) {
	s, ok := plainString(raw)
	if !ok {
		return "", false
	}
	return string(s), true
}

// plainString returns the contents of the JSON string raw, which json.Valid
// has accepted, when encoding/json would decode it to those very bytes: no
// escapes and valid UTF-8 (encoding/json turns invalid UTF-8 into U+FFFD;
// json.Valid already rejects control characters). It reports false for any
// other string and for values that are not strings. The result aliases raw.
func plainString(raw []byte) ([]byte, bool) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return nil, false
	}
	s := raw[1 : len(raw)-1]
	if bytes.IndexByte(s, '\\') >= 0 || !utf8.Valid(s) {
		return nil, false
	}
	return s, true
}

// frameScanner walks a frame that json.Valid has accepted, value by value,
// without decoding: it finds where each value ends, which is all the fast
// path needs. Past the end of the frame it sees zero bytes, so a frame it
// does not expect makes the caller fall back rather than panic.
type frameScanner struct {
	b []byte
	i int // offset of the next byte to read
}

// peek returns the byte at the offset, or 0 at the end of the frame.
func (s *frameScanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// skipSpace moves past the whitespace JSON allows between tokens.
func (s *frameScanner) skipSpace() {
	for {
		switch s.peek() {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume moves past whitespace and then past c if c is next, and reports
// whether it was.
func (s *frameScanner) consume(c byte) bool {
	s.skipSpace()
	if s.peek() != c {
		return false
	}
	s.i++
	return true
}

// value moves past whitespace and the value that follows, and returns the
// value's raw bytes: a string with its quotes, an object or array with
// everything nested in it, or a number or literal.
func (s *frameScanner) value() []byte {
	s.skipSpace()
	start := s.i
	switch s.peek() {
	case '"':
		s.skipString()
	case '{', '[':
		s.skipNested()
	default: // number, true, false or null: up to the next delimiter
		for {
			switch s.peek() {
			case 0, ',', '}', ']', ':', ' ', '\t', '\n', '\r':
				return s.b[start:s.i]
			}
			s.i++
		}
	}
	return s.b[start:s.i]
}

// skipString moves past the string that starts at the offset, escaped
// quotes included.
func (s *frameScanner) skipString() {
	for s.i++; s.i < len(s.b); s.i++ {
		switch s.b[s.i] {
		case '\\':
			s.i++ // the escaped byte, which may be a quote
		case '"':
			s.i++
			return
		}
	}
	s.i = len(s.b) // an unterminated string ending in a backslash stepped past the end
}

// skipNested moves past the object or array that starts at the offset,
// counting depth and skipping strings, which may hold brackets.
func (s *frameScanner) skipNested() {
	depth := 0
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case '"':
			s.skipString()
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				s.i++
				return
			}
		}
		s.i++
	}
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
