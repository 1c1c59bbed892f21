package wsframe

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHeaderRoundTrip(t *testing.T) {
	mask := [4]byte{1, 2, 3, 4}
	tests := []struct {
		name string
		h    Header
		want []byte // the encoding; nil: not checked byte for byte
	}{
		{"empty text", Header{Fin: true, Opcode: OpText}, []byte{0x81, 0}},
		{"125", Header{Fin: true, Opcode: OpBinary, Length: 125}, []byte{0x82, 125}},
		{"126", Header{Fin: true, Opcode: OpText, Length: 126, LengthBytes: 2}, []byte{0x81, 126, 0, 126}},
		{"65535", Header{Fin: true, Opcode: OpText, Length: 65535, LengthBytes: 2}, []byte{0x81, 126, 0xFF, 0xFF}},
		{"65536", Header{Fin: true, Opcode: OpText, Length: 65536, LengthBytes: 8}, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{"masked ping", Header{Fin: true, Opcode: OpPing, Masked: true, Mask: mask, Length: 5}, []byte{0x89, 0x85, 1, 2, 3, 4}},
		{"fragment with RSV", Header{RSV: RSV1 | RSV3, Opcode: OpContinuation, Length: 1}, []byte{0x50, 1}},
		{"non-minimal 16-bit", Header{Fin: true, Opcode: OpText, Length: 5, LengthBytes: 2}, []byte{0x81, 126, 0, 5}},
		{"non-minimal 64-bit", Header{Fin: true, Opcode: OpText, Length: 5, LengthBytes: 8}, []byte{0x81, 127, 0, 0, 0, 0, 0, 0, 0, 5}},
		{"MSB set", Header{Fin: true, Opcode: OpText, Length: 1 << 63, LengthBytes: 8, Masked: true, Mask: mask},
			[]byte{0x81, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}},
		{"reserved opcode", Header{Fin: true, Opcode: 0xB}, []byte{0x8B, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := AppendHeader(nil, tt.h)
			if !bytes.Equal(b, tt.want) {
				t.Fatalf("AppendHeader = % x, want % x", b, tt.want)
			}
			if len(b) != tt.h.Size() || HeaderSize(b[1]) != len(b) {
				t.Fatalf("Size %d, wrote %d", tt.h.Size(), len(b))
			}
			got, n, err := ParseHeader(append(b, 0xEE)) // a payload byte follows
			if err != nil || n != len(b) || got != tt.h {
				t.Fatalf("ParseHeader = %+v, %d, %v; want %+v, %d", got, n, err, tt.h, len(b))
			}
			for i := range len(b) {
				if _, n, err := ParseHeader(b[:i]); !errors.Is(err, ErrIncomplete) || n != 0 {
					t.Fatalf("ParseHeader of %d of %d bytes: %d, %v", i, len(b), n, err)
				}
			}
		})
	}
}

func TestAppendFrameMasks(t *testing.T) {
	payload := []byte("Hello")
	h := Header{Fin: true, Opcode: OpText, Masked: true, Mask: [4]byte{0x37, 0xfa, 0x21, 0x3d}}
	// RFC 6455 §5.7: a single-frame masked text message containing "Hello".
	want := []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}
	if got := AppendFrame(nil, h, payload); !bytes.Equal(got, want) {
		t.Fatalf("AppendFrame = % x, want % x", got, want)
	}
	if string(payload) != "Hello" {
		t.Fatal("AppendFrame changed the payload")
	}
	// Unmasking in pieces restores it.
	b := want[6:]
	pos := MaskBytes(h.Mask, 0, b[:2])
	MaskBytes(h.Mask, pos, b[2:])
	if string(b) != "Hello" {
		t.Fatalf("unmasked in pieces: %q", b)
	}
}

func TestParseClose(t *testing.T) {
	tests := []struct {
		name    string
		payload []byte
		code    int
		reason  string
		err     error
	}{
		{"empty", nil, CloseNoStatus, "", nil},
		{"one byte", []byte{0x03}, 0, "", ErrCloseLength},
		{"code only", []byte{0x03, 0xE8}, 1000, "", nil},
		{"code and reason", append([]byte{0x0F, 0xA0}, "bye"...), 4000, "bye", nil},
		{"123-byte reason", append([]byte{0x03, 0xE8}, strings.Repeat("r", 123)...), 1000, strings.Repeat("r", 123), nil},
		{"124-byte reason", append([]byte{0x03, 0xE8}, strings.Repeat("r", 124)...), 1000, strings.Repeat("r", 124), ErrControlTooLong},
		{"1005", []byte{0x03, 0xED}, 1005, "", ErrCloseCode},
		{"invalid UTF-8 reason", []byte{0x03, 0xE8, 0xFF}, 1000, "\xff", ErrCloseReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, reason, err := ParseClose(tt.payload)
			if code != tt.code || reason != tt.reason || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("ParseClose = %d %q %v, want %d %q %v", code, reason, err, tt.code, tt.reason, tt.err)
			}
			if tt.err == nil && tt.code != CloseNoStatus {
				if b := AppendClosePayload(nil, code, reason); !bytes.Equal(b, tt.payload) {
					t.Fatalf("AppendClosePayload = % x", b)
				}
			}
		})
	}
}

func TestValidCloseCode(t *testing.T) {
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		if !ValidCloseCode(code) {
			t.Errorf("%d refused", code)
		}
	}
	for _, code := range []int{-1, 0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535, 70000} {
		if ValidCloseCode(code) {
			t.Errorf("%d accepted", code)
		}
	}
}

// utf8Samples are texts whose every split point TestUTF8Pieces tries.
var utf8Samples = []string{
	"",
	"Hello-µ@ßöäüàá-UTF-8!!",
	"κόσμε",
	"\U0001F600 \u20AC \u00A9 \U0010FFFF",
	"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64", // a surrogate inside
	"\xf4\x90\x80\x80",         // above U+10FFFF
	"\xc0\xaf",                 // overlong
	"\xe0\x80\xaf",             // overlong
	"abc\x80",                  // a lone continuation byte
	"\xfe\xff",                 // never in UTF-8
	"\xce\xba\xe1\xbd",         // ends inside a code point
	"\xf0\x9f\x98",             // ends inside a 4-byte code point
	"\xef\xbf\xbd",             // U+FFFD itself is valid
	"\xed\x9f\xbf\xee\x80\x80", // around the surrogates, valid
}

// TestUTF8Pieces checks the streaming validator against utf8.Valid for
// every way of cutting each sample in two and three pieces.
func TestUTF8Pieces(t *testing.T) {
	for _, s := range utf8Samples {
		want := utf8.ValidString(s)
		for i := 0; i <= len(s); i++ {
			for j := i; j <= len(s); j++ {
				if got := validInPieces([]byte(s), i, j); got != want {
					t.Errorf("%q cut at %d and %d: %v, want %v", s, i, j, got, want)
				}
			}
		}
	}
}

func validInPieces(b []byte, cuts ...int) bool {
	var u UTF8
	prev := 0
	for _, c := range append(cuts, len(b)) {
		if !u.Write(b[prev:c]) {
			return false
		}
		prev = c
	}
	return u.End()
}

// TestUTF8FailsFast checks that the first piece holding an impossible byte
// is refused, before the message ends.
func TestUTF8FailsFast(t *testing.T) {
	for _, piece := range []string{"\xff", "ok\xc0", "\xed\xa0", "\xf4\x90", "a\x80", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"} {
		var u UTF8
		if u.Write([]byte(piece)) {
			t.Errorf("%q accepted as the start of a message", piece)
		}
	}
	var u UTF8
	if !u.Write([]byte("\xf0\x9f")) || !u.Write([]byte("\x98")) || !u.Write([]byte("\x80!")) || !u.End() {
		t.Error("a code point cut in three pieces refused")
	}
}

func TestCheckerAcceptsValidStreams(t *testing.T) {
	tests := []struct {
		name   string
		client bool
		frames []testFrame
	}{
		{"server text and close", false, []testFrame{
			{h: Header{Fin: true, Opcode: OpText}, p: "{}"},
			{h: Header{Fin: true, Opcode: OpPing}},
			{h: Header{Fin: true, Opcode: OpClose}, p: "\x03\xe8bye"},
		}},
		{"client fragments with control frames between", true, []testFrame{
			{h: Header{Opcode: OpText, Masked: true}, p: "\xce"},
			{h: Header{Fin: true, Opcode: OpPing, Masked: true}, p: "x"},
			{h: Header{Opcode: OpContinuation, Masked: true}, p: "\xba\xe1"},
			{h: Header{Fin: true, Opcode: OpPong, Masked: true}},
			{h: Header{Fin: true, Opcode: OpContinuation, Masked: true}, p: "\xbd\xb9"},
			{h: Header{Fin: true, Opcode: OpBinary, Masked: true}, p: "\xff"},
			{h: Header{Fin: true, Opcode: OpClose, Masked: true}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Checker{FromClient: tt.client}
			for i, f := range tt.frames {
				if err := c.Frame(f.h, []byte(f.p)); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
		})
	}
}

type testFrame struct {
	h Header
	p string
}

func TestCheckerRefuses(t *testing.T) {
	text := Header{Fin: true, Opcode: OpText}
	tests := []struct {
		name   string
		frames []testFrame // the last one breaks a rule
		err    error
		code   int
	}{
		{"masked server frame", []testFrame{{h: Header{Fin: true, Opcode: OpText, Masked: true}}}, ErrMask, 1002},
		{"RSV1", []testFrame{{h: Header{Fin: true, RSV: RSV1, Opcode: OpText}}}, ErrReservedBits, 1002},
		{"opcode 3", []testFrame{{h: Header{Fin: true, Opcode: 0x3}}}, ErrReservedOpcode, 1002},
		{"opcode 15", []testFrame{{h: Header{Fin: true, Opcode: 0xF}}}, ErrReservedOpcode, 1002},
		{"MSB", []testFrame{{h: Header{Fin: true, Opcode: OpBinary, Length: 1 << 63, LengthBytes: 8}}}, ErrLengthMSB, 1002},
		{"non-minimal", []testFrame{{h: Header{Fin: true, Opcode: OpBinary, Length: 125, LengthBytes: 2}}}, ErrNonMinimalLength, 1002},
		{"fragmented ping", []testFrame{{h: Header{Opcode: OpPing}}}, ErrFragmentedControl, 1002},
		{"126-byte pong", []testFrame{{h: Header{Fin: true, Opcode: OpPong, Length: 126, LengthBytes: 2}}}, ErrControlTooLong, 1002},
		{"continuation first", []testFrame{{h: Header{Fin: true, Opcode: OpContinuation}}}, ErrContinuation, 1002},
		{"continuation after a final frame", []testFrame{{h: text, p: "a"}, {h: Header{Opcode: OpContinuation}}}, ErrContinuation, 1002},
		{"text inside a message", []testFrame{{h: Header{Opcode: OpText}, p: "a"}, {h: text, p: "b"}}, ErrUnfinishedMessage, 1002},
		{"invalid UTF-8", []testFrame{{h: text, p: "\xff"}}, ErrInvalidUTF8, 1007},
		{"invalid UTF-8 across fragments", []testFrame{{h: Header{Opcode: OpText}, p: "\xce"}, {h: Header{Fin: true}, p: "a"}}, ErrInvalidUTF8, 1007},
		{"ends inside a code point", []testFrame{{h: Header{Opcode: OpText}, p: "a"}, {h: Header{Fin: true}, p: "\xce"}}, ErrInvalidUTF8, 1007},
		{"1-byte close", []testFrame{{h: Header{Fin: true, Opcode: OpClose}, p: "\x03"}}, ErrCloseLength, 1002},
		{"close 1006", []testFrame{{h: Header{Fin: true, Opcode: OpClose}, p: "\x03\xee"}}, ErrCloseCode, 1002},
		{"close reason", []testFrame{{h: Header{Fin: true, Opcode: OpClose}, p: "\x03\xe8\xff"}}, ErrCloseReason, 1002},
		{"after close", []testFrame{{h: Header{Fin: true, Opcode: OpClose}}, {h: Header{Fin: true, Opcode: OpPong}}}, ErrFrameAfterClose, 1002},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Checker
			for i, f := range tt.frames {
				if f.h.Length == 0 {
					f.h.Length = uint64(len(f.p))
				}
				err := c.Frame(f.h, []byte(f.p))
				if i < len(tt.frames)-1 {
					if err != nil {
						t.Fatalf("frame %d: %v", i, err)
					}
					continue
				}
				if !errors.Is(err, tt.err) || !errors.Is(err, ErrProtocol) {
					t.Fatalf("got %v, want %v", err, tt.err)
				}
				if code := CloseCodeFor(err); code != tt.code {
					t.Fatalf("CloseCodeFor = %d, want %d", code, tt.code)
				}
			}
		})
	}
	if CloseCodeFor(errors.New("EOF")) != 0 {
		t.Fatal("CloseCodeFor of an I/O error")
	}
}

func BenchmarkParseHeader(b *testing.B) {
	frame := AppendFrame(nil, Header{Fin: true, Opcode: OpText}, make([]byte, 300))
	b.ReportAllocs()
	for b.Loop() {
		h, n, err := ParseHeader(frame)
		if err != nil || n != 4 || h.Length != 300 {
			b.Fatal(h, n, err)
		}
	}
}

func BenchmarkHeaderParse(b *testing.B) {
	frame := AppendFrame(nil, Header{Fin: true, Opcode: OpText}, make([]byte, 300))
	var h Header
	b.ReportAllocs()
	for b.Loop() {
		if n := h.Parse(frame); n != 4 || h.Length != 300 {
			b.Fatal(h, n)
		}
	}
}

func BenchmarkAppendHeader(b *testing.B) {
	buf := make([]byte, 0, MaxHeaderLen)
	h := Header{Fin: true, Opcode: OpText, Length: 300, Masked: true, Mask: [4]byte{1, 2, 3, 4}}
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendHeader(buf[:0], h)
	}
}
