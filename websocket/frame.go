package websocket

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"unicode/utf8"

	"github.com/echows/echows/internal/jsonwire"
)

// WebSocket opcodes (RFC 6455 §5.2) of the frames the server writes itself.
const (
	opText  = 0x1
	opClose = 0x8
	opPing  = 0x9
	opPong  = 0xA
	finBit  = 0x80
	// maxHeader is the largest header of an unmasked server frame.
	maxHeader = 10
)

// pingFrame is an empty ping, shared by every client.
var pingFrame = []byte{finBit | opPing, 0}

// putHeader writes the header of an unmasked final frame of opcode op and
// payload length n so that it ends at buf[maxHeader], and returns where it
// starts.
func putHeader(buf []byte, op byte, n int) int {
	switch {
	case n <= 125:
		buf[maxHeader-2] = finBit | op
		buf[maxHeader-1] = byte(n)
		return maxHeader - 2
	case n <= 0xFFFF:
		buf[maxHeader-4] = finBit | op
		buf[maxHeader-3] = 126
		binary.BigEndian.PutUint16(buf[maxHeader-2:], uint16(n))
		return maxHeader - 4
	default:
		buf[0] = finBit | op
		buf[1] = 127
		binary.BigEndian.PutUint64(buf[2:], uint64(n))
		return 0
	}
}

// messageFrame encodes {"event":event,"data":data} as one text frame, with a
// single allocation. The result is immutable and shared by every recipient.
//
// It is where every message frame is built, so it is where text frames are
// kept valid UTF-8, whatever the app, a transformer or another instance
// handed over: data that is not valid UTF-8 is repaired, each invalid byte
// sequence becoming U+FFFD (as a JavaScript peer decoding the bytes would
// have it), and repaired reports it. The event is escaped by
// jsonwire.AppendString, which repairs the same way.
func messageFrame(event string, data json.RawMessage) (frame []byte, repaired bool) {
	if !utf8.Valid(data) {
		data, repaired = bytes.ToValidUTF8(data, []byte("\uFFFD")), true
	}
	repaired = repaired || !utf8.ValidString(event)
	buf := make([]byte, maxHeader, maxHeader+len(`{"event":"","data":}`)+len(event)+len(data)+8)
	buf = jsonwire.AppendMessage(buf, event, data)
	start := putHeader(buf, opText, len(buf)-maxHeader)
	return buf[start:], repaired
}

// controlFrameOf builds an unmasked control frame (payload at most 125
// bytes, as gorilla and the reader guarantee).
func controlFrameOf(op byte, payload []byte) []byte {
	return append([]byte{finBit | op, byte(len(payload))}, payload...)
}

// maxCloseReason is the longest close reason: a control frame's payload is
// at most 125 bytes, two of which are the code.
const maxCloseReason = 123

// checkClose reports a close code or reason that must not go on the wire
// (RFC 6455 §7.4.1 and §5.5): codes below 1000 or above 4999, 1004, 1005,
// 1006 and 1015, codes 1016–2999 that IANA has not assigned, a reason longer
// than 123 bytes or not valid UTF-8.
func checkClose(code int, reason string) error {
	valid := (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
	switch {
	case !valid:
		return fmt.Errorf("%w: code %d", ErrInvalidClose, code)
	case len(reason) > maxCloseReason:
		return fmt.Errorf("%w: reason is %d bytes (at most %d)", ErrInvalidClose, len(reason), maxCloseReason)
	case !utf8.ValidString(reason):
		return fmt.Errorf("%w: reason is not valid UTF-8", ErrInvalidClose)
	}
	return nil
}

// closeFrame encodes a close frame with code and reason. The reason is cut
// to fit the 125-byte control frame limit.
func closeFrame(code int, reason string) []byte {
	if len(reason) > maxCloseReason {
		reason = reason[:maxCloseReason]
		for !utf8.ValidString(reason) {
			reason = reason[:len(reason)-1]
		}
	}
	b := make([]byte, 4, 4+len(reason))
	b[0] = finBit | opClose
	b[1] = byte(2 + len(reason))
	binary.BigEndian.PutUint16(b[2:], uint16(code))
	return append(b, reason...)
}
