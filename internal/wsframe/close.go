package wsframe

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"
)

// Close codes with a meaning of their own here (RFC 6455 §7.4.1).
const (
	CloseNormal        = 1000
	CloseProtocolError = 1002
	// CloseNoStatus (1005) is what a close frame without a payload means. It
	// is never sent in a frame.
	CloseNoStatus       = 1005
	CloseInvalidPayload = 1007
	CloseTooBig         = 1009
)

// MaxCloseReason is the longest close reason in bytes: a control payload
// holds 125 bytes, two of which are the code.
const MaxCloseReason = MaxControlPayload - 2

// ValidCloseCode reports whether code may be carried by a close frame, sent
// or received: 1000–1003, 1007–1014 (the IANA-registered ones, 1012–1014
// included) and 3000–4999. 1004 is reserved, 1005, 1006 and 1015 must never
// be on the wire, and the rest of 0–2999 is unassigned.
func ValidCloseCode(code int) bool {
	return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
}

// AppendClosePayload appends the payload of a close frame with code and
// reason to dst. A code of 0 writes an empty payload (no status). It writes
// what it is given: check with ParseClose or ValidCloseCode.
func AppendClosePayload(dst []byte, code int, reason string) []byte {
	if code == 0 && reason == "" {
		return dst
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// ParseClose decodes a close frame's payload. An empty payload is
// CloseNoStatus with no reason. It fails with ErrCloseLength for a 1-byte
// payload, ErrControlTooLong past 125 bytes, ErrCloseCode for a code that
// is not ValidCloseCode and ErrCloseReason for a reason that is not valid
// UTF-8; code and reason are returned as found in each case but the first.
func ParseClose(payload []byte) (code int, reason string, err error) {
	switch {
	case len(payload) == 0:
		return CloseNoStatus, "", nil
	case len(payload) == 1:
		return 0, "", ErrCloseLength
	}
	code, reason = int(binary.BigEndian.Uint16(payload)), string(payload[2:])
	switch {
	case len(payload) > MaxControlPayload:
		err = fmt.Errorf("%w: close payload of %d bytes", ErrControlTooLong, len(payload))
	case !ValidCloseCode(code):
		err = fmt.Errorf("%w: %d", ErrCloseCode, code)
	case !utf8.ValidString(reason):
		err = fmt.Errorf("%w: %q", ErrCloseReason, reason)
	}
	return code, reason, err
}
