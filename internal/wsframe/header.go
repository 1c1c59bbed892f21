// Package wsframe encodes and decodes WebSocket frames (RFC 6455 §5): frame
// headers, masking, close payloads, and a checker that follows a stream of
// frames and reports the first one that breaks the RFC. It does no I/O and
// allocates nothing on its parsing paths, so the same primitives serve the
// load tool's hot read loop, the raw test client and fuzz targets.
//
// Parsing is lenient: ParseHeader decodes whatever bytes it is given, and
// Check and Checker say what is wrong with them. Encoding is exact:
// AppendHeader writes what the Header says, reserved bits, opcodes and
// lengths that lie included, so tests can build any frame a hostile peer
// could send.
package wsframe

import (
	"encoding/binary"
	"errors"
)

// Opcodes (RFC 6455 §5.2). 0x3–0x7 and 0xB–0xF are reserved.
const (
	OpContinuation byte = 0x0
	OpText         byte = 0x1
	OpBinary       byte = 0x2
	OpClose        byte = 0x8
	OpPing         byte = 0x9
	OpPong         byte = 0xA
)

// Bits of the first two header bytes.
const (
	FinBit     byte = 0x80 // first byte: the final fragment of a message
	RSV1       byte = 0x40 // first byte: reserved bits, 0 without an extension
	RSV2       byte = 0x20
	RSV3       byte = 0x10
	RSVBits         = RSV1 | RSV2 | RSV3
	OpcodeBits byte = 0x0F
	MaskBit    byte = 0x80 // second byte: the payload is masked
)

// Size limits.
const (
	// MaxHeaderLen is the longest header: 2 bytes, an 8-byte length and a
	// 4-byte mask key.
	MaxHeaderLen = 14
	// MaxControlPayload is the largest payload of a control frame.
	MaxControlPayload = 125
)

// ErrIncomplete means the bytes hold only the start of a header.
var ErrIncomplete = errors.New("wsframe: incomplete header")

// Header is a frame header. The zero value is a non-final continuation
// frame, unmasked, empty.
type Header struct {
	Fin    bool
	RSV    byte // the reserved bits as they sit in the first byte (a subset of RSVBits)
	Opcode byte // the low four bits of the first byte
	Masked bool
	Mask   [4]byte
	Length uint64
	// LengthBytes is how many bytes carry the extended payload length: 0
	// (the length is in the second byte), 2 or 8. ParseHeader sets it from
	// the frame. For AppendHeader, 0 means the minimal encoding RFC 6455
	// requires, and 2 or 8 force that form (a non-minimal encoding when the
	// length is small).
	LengthBytes int
}

// IsControl reports whether the opcode is one of a control frame (0x8–0xF).
func (h Header) IsControl() bool { return h.Opcode&0x8 != 0 }

// Size returns how many bytes AppendHeader writes for h.
func (h Header) Size() int {
	n := 2 + lengthBytes(h)
	if h.Masked {
		n += 4
	}
	return n
}

// lengthBytes returns the size of the extended length AppendHeader writes.
func lengthBytes(h Header) int {
	switch {
	case h.LengthBytes == 8 || h.Length > 0xFFFF:
		return 8
	case h.LengthBytes == 2 || h.Length > 125:
		return 2
	}
	return 0
}

// AppendHeader appends the encoded header to dst. It writes what h says,
// whether or not RFC 6455 allows it. It allocates only when dst is too
// small.
func AppendHeader(dst []byte, h Header) []byte {
	b0 := h.RSV&RSVBits | h.Opcode&OpcodeBits
	if h.Fin {
		b0 |= FinBit
	}
	var b1 byte
	if h.Masked {
		b1 = MaskBit
	}
	switch lengthBytes(h) {
	case 0:
		dst = append(dst, b0, b1|byte(h.Length))
	case 2:
		dst = append(dst, b0, b1|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Length))
	default:
		dst = append(dst, b0, b1|127)
		dst = binary.BigEndian.AppendUint64(dst, h.Length)
	}
	if h.Masked {
		dst = append(dst, h.Mask[:]...)
	}
	return dst
}

// HeaderSize returns the size of a header from its second byte: how many
// bytes to read before ParseHeader can decode it.
func HeaderSize(b1 byte) int {
	n := 2
	switch b1 &^ MaskBit {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&MaskBit != 0 {
		n += 4
	}
	return n
}

// ParseHeader decodes the header at the start of b and returns it with its
// size in bytes. When b holds only part of a header it returns
// ErrIncomplete (and size 0). Every byte pattern is a header: use Check to
// know whether RFC 6455 allows it.
func ParseHeader(b []byte) (Header, int, error) {
	var h Header
	n := h.Parse(b)
	if n == 0 {
		return Header{}, 0, ErrIncomplete
	}
	return h, n, nil
}

// Parse decodes the header at the start of b into h and returns its size,
// or 0 when b holds only part of a header (h is then unspecified). It is
// ParseHeader for hot loops: no copy of the Header, no error value.
func (h *Header) Parse(b []byte) int {
	if len(b) < 2 {
		return 0
	}
	*h = Header{
		Fin:    b[0]&FinBit != 0,
		RSV:    b[0] & RSVBits,
		Opcode: b[0] & OpcodeBits,
		Masked: b[1]&MaskBit != 0,
		Length: uint64(b[1] &^ MaskBit),
	}
	n := 2
	switch h.Length {
	case 126:
		if len(b) < 4 {
			return 0
		}
		h.Length, h.LengthBytes, n = uint64(binary.BigEndian.Uint16(b[2:])), 2, 4
	case 127:
		if len(b) < 10 {
			return 0
		}
		h.Length, h.LengthBytes, n = binary.BigEndian.Uint64(b[2:]), 8, 10
	}
	if h.Masked {
		if len(b) < n+4 {
			return 0
		}
		copy(h.Mask[:], b[n:n+4])
		n += 4
	}
	return n
}

// MaskBytes XORs b in place with key, starting at position pos of the
// payload (0 for a whole payload), and returns the position after b, so a
// payload can be (un)masked in pieces. Masking twice restores the bytes.
func MaskBytes(key [4]byte, pos int, b []byte) int {
	for i := range b {
		b[i] ^= key[(pos+i)&3]
	}
	return pos + len(b)
}

// AppendFrame appends a whole frame to dst: h with Length set to
// len(payload), then the payload, masked with h.Mask when h.Masked (payload
// itself is not changed).
func AppendFrame(dst []byte, h Header, payload []byte) []byte {
	h.Length = uint64(len(payload))
	dst = AppendHeader(dst, h)
	start := len(dst)
	dst = append(dst, payload...)
	if h.Masked {
		MaskBytes(h.Mask, 0, dst[start:])
	}
	return dst
}
