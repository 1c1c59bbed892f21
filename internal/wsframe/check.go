package wsframe

import (
	"errors"
	"fmt"
)

// ErrProtocol is wrapped by every rule violation Check and Checker report,
// so errors.Is(err, ErrProtocol) tells a broken peer from a broken socket.
var ErrProtocol = errors.New("wsframe: protocol violation")

// Rule violations. Each wraps ErrProtocol; CloseCodeFor says how a peer
// closes the connection for it.
var (
	ErrReservedBits      = fmt.Errorf("%w: reserved bits set", ErrProtocol)
	ErrReservedOpcode    = fmt.Errorf("%w: reserved opcode", ErrProtocol)
	ErrMask              = fmt.Errorf("%w: wrong mask bit (client frames are masked, server frames are not)", ErrProtocol)
	ErrLengthMSB         = fmt.Errorf("%w: 64-bit length with the most significant bit set", ErrProtocol)
	ErrNonMinimalLength  = fmt.Errorf("%w: length not in its minimal encoding", ErrProtocol)
	ErrFragmentedControl = fmt.Errorf("%w: fragmented control frame", ErrProtocol)
	ErrControlTooLong    = fmt.Errorf("%w: control frame payload over 125 bytes", ErrProtocol)
	ErrContinuation      = fmt.Errorf("%w: continuation frame without a message to continue", ErrProtocol)
	ErrUnfinishedMessage = fmt.Errorf("%w: new message before the previous one's final frame", ErrProtocol)
	ErrCloseLength       = fmt.Errorf("%w: close payload of 1 byte", ErrProtocol)
	ErrCloseCode         = fmt.Errorf("%w: close code not allowed on the wire", ErrProtocol)
	ErrCloseReason       = fmt.Errorf("%w: close reason is not valid UTF-8", ErrProtocol)
	ErrInvalidUTF8       = fmt.Errorf("%w: text message is not valid UTF-8", ErrProtocol)
	ErrFrameAfterClose   = fmt.Errorf("%w: frame after a close frame", ErrProtocol)
)

// CloseCodeFor returns the close code a peer sends when it fails the
// connection for err: 1007 for invalid UTF-8 in a text message, 1002 for
// any other violation, 0 for an error that is no violation.
func CloseCodeFor(err error) int {
	switch {
	case errors.Is(err, ErrInvalidUTF8):
		return CloseInvalidPayload
	case errors.Is(err, ErrProtocol):
		return CloseProtocolError
	}
	return 0
}

// Check reports the first rule of RFC 6455 §5 the header alone breaks, for
// a frame sent by a client (fromClient) or a server: reserved bits (no
// extension is ever negotiated here), reserved opcodes, the mask bit, the
// length's most significant bit and minimal encoding, and a control frame's
// FIN bit and length.
func Check(h Header, fromClient bool) error {
	switch {
	case h.RSV != 0:
		return fmt.Errorf("%w: %#02x", ErrReservedBits, h.RSV)
	case (h.Opcode >= 0x3 && h.Opcode <= 0x7) || h.Opcode >= 0xB:
		return fmt.Errorf("%w: %#x", ErrReservedOpcode, h.Opcode)
	case h.Masked != fromClient:
		return ErrMask
	case h.Length>>63 != 0:
		return ErrLengthMSB
	case (h.LengthBytes == 2 && h.Length <= 125) || (h.LengthBytes == 8 && h.Length <= 0xFFFF):
		return fmt.Errorf("%w: %d in %d bytes", ErrNonMinimalLength, h.Length, h.LengthBytes)
	case h.IsControl() && !h.Fin:
		return fmt.Errorf("%w: opcode %#x", ErrFragmentedControl, h.Opcode)
	case h.IsControl() && h.Length > MaxControlPayload:
		return fmt.Errorf("%w: %d bytes", ErrControlTooLong, h.Length)
	}
	return nil
}

// Checker follows the frames one side of a connection sends and reports the
// first that breaks RFC 6455: each header (Check), the order of fragments,
// UTF-8 of text messages in and across fragments (failing at the fragment
// that breaks it), close payloads, and any frame after a close. Feed it
// every frame in order with unmasked payloads. The zero value checks frames
// from a server.
type Checker struct {
	FromClient bool

	inMessage bool // a data message has started and not ended
	text      bool // ... and it is a text message
	utf8      UTF8
	closed    bool // a close frame went by
}

// Frame checks the next frame. After the first error the Checker's state is
// unspecified.
func (c *Checker) Frame(h Header, payload []byte) error {
	if c.closed {
		return fmt.Errorf("%w: opcode %#x", ErrFrameAfterClose, h.Opcode)
	}
	if err := Check(h, c.FromClient); err != nil {
		return err
	}
	switch h.Opcode {
	case OpClose:
		c.closed = true
		_, _, err := ParseClose(payload)
		return err
	case OpPing, OpPong:
		return nil
	case OpContinuation:
		if !c.inMessage {
			return ErrContinuation
		}
	default: // text or binary
		if c.inMessage {
			return ErrUnfinishedMessage
		}
		c.inMessage, c.text = true, h.Opcode == OpText
	}
	if c.text && !c.utf8.Write(payload) {
		return ErrInvalidUTF8
	}
	if h.Fin {
		c.inMessage = false
		if c.text && !c.utf8.End() {
			return fmt.Errorf("%w: message ends inside a code point", ErrInvalidUTF8)
		}
	}
	return nil
}

// Closed reports whether a close frame went by.
func (c *Checker) Closed() bool { return c.closed }

// InMessage reports whether a fragmented message has started and not ended.
func (c *Checker) InMessage() bool { return c.inMessage }
