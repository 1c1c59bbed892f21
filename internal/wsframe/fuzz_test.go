package wsframe

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"
)

// FuzzParseHeader: any bytes parse without panicking, and a parsed header
// encodes back to the bytes it came from.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{0x81, 0x05})
	f.Add([]byte{0x81, 0xFE, 0x00, 0x7E, 1, 2, 3, 4})
	f.Add([]byte{0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0x7B, 0xFF, 0, 0, 0, 0, 0, 0, 0, 5, 9, 9, 9, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, n, err := ParseHeader(b)
		if errors.Is(err, ErrIncomplete) {
			if n != 0 {
				t.Fatalf("incomplete with size %d", n)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if n != h.Size() {
			t.Fatalf("size %d, Size() %d", n, h.Size())
		}
		if enc := AppendHeader(nil, h); !bytes.Equal(enc, b[:n]) {
			t.Fatalf("% x encodes back as % x", b[:n], enc)
		}
		_ = Check(h, true)
		_ = Check(h, false)
	})
}

// FuzzUTF8: the streaming validator agrees with utf8.Valid, however the
// text is cut.
func FuzzUTF8(f *testing.F) {
	for _, s := range utf8Samples {
		f.Add([]byte(s), uint8(1), uint8(2))
	}
	f.Fuzz(func(t *testing.T, b []byte, i, j uint8) {
		c1, c2 := min(int(i), len(b)), min(int(j), len(b))
		if c1 > c2 {
			c1, c2 = c2, c1
		}
		if got, want := validInPieces(b, c1, c2), utf8.Valid(b); got != want {
			t.Fatalf("%q cut at %d, %d: %v, want %v", b, c1, c2, got, want)
		}
	})
}
