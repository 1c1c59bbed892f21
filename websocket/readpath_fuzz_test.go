package websocket_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/echows/echows/internal/wsframe"
	"github.com/echows/echows/websocket"
)

// FuzzReadPath feeds frame sequences to a real server after a real
// handshake, then half-closes the connection, and checks what must hold
// whatever a peer sends: the server never panics (a panic on any of its
// goroutines kills the test binary), every frame it writes passes the
// strict reader, it ends the connection within the guard, the client leaves
// its indexes, and (TestMain's goleak) its goroutines return after
// Shutdown.
//
// The input is a flags byte and a sequence of records, so that mutations
// stay frames the server parses deeply instead of bytes it refuses at the
// first mask bit:
//
//	input  = flags record*
//	flags:  bit 0 set: the client authenticates (and reads connected)
//	        before the records, so they reach the authenticated paths
//	record = b0 b1 n payload[n]
//	b0: the frame's first header byte as sent (FIN, RSV bits, opcode)
//	b1: 0x80 set: send the frame unmasked; 0x40 set: the header's length
//	    lies (see lieLength, by b1&0x0F); other bits are ignored
//	n:  the payload's length, cut to what is left of the input
//
// The seed corpus (testdata/fuzz/FuzzReadPath) covers each category of
// the torture suite; readPathSeeds builds it, and
// TestReadPathCorpusIsCurrent keeps the files in step.
func FuzzReadPath(f *testing.F) {
	ts := startTarget(f, unlimited(websocket.Config{Settings: websocket.Settings{MaxPayloadLength: 4096}}))
	f.Fuzz(func(t *testing.T, input []byte) {
		if len(input) == 0 {
			return
		}
		r := ts.dial(t)
		if input[0]&1 != 0 {
			r.Authenticate("fuzz")
		}
		r.WriteRaw(encodeRecords(input[1:], r.Mask()))
		r.CloseWrite()
		for {
			fr, err := r.ReadFrame()
			if err == nil {
				continue
			}
			switch {
			case errors.Is(err, wsframe.ErrProtocol):
				t.Fatalf("the server broke RFC 6455: %v", err)
			case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, net.ErrClosed):
			default:
				t.Fatalf("the server neither ended the connection nor wrote a whole frame within %v: %v (last %s)", guard, err, fr)
			}
			break
		}
		eventually(t, "the client to leave the server", func() bool { return ts.Stats().Clients == 0 })
	})
}

// lieLength returns the length a lying header declares instead of n.
func lieLength(sel byte, n int) (length uint64, lengthBytes int) {
	switch sel {
	case 0:
		return 0, 0
	case 1:
		return 125, 0
	case 2:
		return 126, 0
	case 3:
		return 65535, 0
	case 4:
		return 65536, 0
	case 5:
		return 1 << 20, 0
	case 6:
		return 1 << 62, 0
	case 7:
		return 1<<63 | uint64(n), 8 // the most significant bit set
	case 8:
		return ^uint64(0), 8
	case 9:
		return uint64(n) + 1, 0
	case 10:
		return uint64(max(n-1, 0)), 0
	case 11:
		return uint64(n) + 4096, 0
	case 12:
		return uint64(n), 2 // the 16-bit form for any length
	case 13:
		return uint64(n), 8 // the 64-bit form for any length
	}
	return uint64(n), 0
}

// encodeRecords turns a fuzz input into the bytes sent on the wire.
func encodeRecords(input []byte, mask [4]byte) []byte {
	var out []byte
	for len(input) >= 3 {
		b0, b1, n := input[0], input[1], int(input[2])
		input = input[3:]
		n = min(n, len(input))
		p := input[:n]
		input = input[n:]
		h := wsframe.Header{
			Fin: b0&wsframe.FinBit != 0, RSV: b0 & wsframe.RSVBits, Opcode: b0 & wsframe.OpcodeBits,
			Masked: b1&0x80 == 0, Mask: mask, Length: uint64(n),
		}
		if b1&0x40 != 0 {
			h.Length, h.LengthBytes = lieLength(b1&0x0F, n)
		}
		out = wsframe.AppendHeader(out, h)
		start := len(out)
		out = append(out, p...)
		if h.Masked {
			wsframe.MaskBytes(mask, 0, out[start:])
		}
	}
	return out
}

// rec is one record of a seed.
type rec struct {
	b0, b1 byte
	p      []byte
}

func fin(op byte, p string) rec  { return rec{b0: wsframe.FinBit | op, p: []byte(p)} }
func part(op byte, p string) rec { return rec{b0: op, p: []byte(p)} }

// lie is a record whose header declares lieLength(sel) bytes.
func lie(r rec, sel byte) rec { r.b1 |= 0x40 | sel; return r }

func unmasked(r rec) rec { r.b1 |= 0x80; return r }

func withRSV(r rec, rsv byte) rec { r.b0 |= rsv; return r }

// records encodes a seed; authed sets the flag that authenticates first.
func records(authed bool, rs ...rec) []byte {
	b := []byte{0}
	if authed {
		b[0] = 1
	}
	for _, r := range rs {
		b = append(b, r.b0, r.b1, byte(len(r.p)))
		b = append(b, r.p...)
	}
	return b
}

type seed struct {
	name  string
	input []byte
}

// readPathSeeds is the seed corpus: a few inputs per torture category.
func readPathSeeds() []seed {
	const (
		text, binary, cont = wsframe.OpText, wsframe.OpBinary, wsframe.OpContinuation
		ping, pong, closed = wsframe.OpPing, wsframe.OpPong, wsframe.OpClose
	)
	auth := fin(text, `{"event":"authenticate","data":{"token":"fuzz"}}`)
	echo := func(n int) string { // a message whose echo is n bytes
		return `{"event":"echo","data":"` + strings.Repeat("x", n-26) + `"}`
	}
	closeFrame := func(code int, reason string) rec {
		return fin(closed, string(wsframe.AppendClosePayload(nil, code, reason)))
	}
	s := []seed{
		{"framing_auth_echo", records(true, fin(text, `{"event":"echo","data":"hello"}`), closeFrame(1000, ""))},
		{"framing_not_json", records(false, fin(text, "not json"), fin(text, ""))},
		{"framing_echo_125_126_255", records(true, fin(text, echo(125)), fin(text, echo(126)), fin(text, echo(255)))},
		{"framing_binary", records(false, fin(binary, "\x00\xff"), auth, fin(binary, `{"event":"echo"}`))},
		{"framing_authenticate_twice", records(true, auth, fin(text, `{"event":"heartbeat"}`))},
		{"framing_msb_length", records(true, lie(fin(text, "hello"), 7))},
		{"framing_declared_too_big", records(false, lie(fin(text, "hello"), 4))},
		{"framing_declared_longer", records(false, lie(fin(text, `{"event":"heartbeat"}`), 9), fin(text, "x"))},
		{"framing_non_minimal_length", records(false, lie(fin(text, `{"event":"heartbeat"}`), 12), lie(fin(ping, "p"), 13))},
		{"pings_empty_and_full", records(false, fin(ping, ""), fin(ping, string(bytes.Repeat([]byte{0xfe}, 125))))},
		{"pings_126", records(false, fin(ping, string(bytes.Repeat([]byte{0xfe}, 126))))},
		{"pings_declared_126", records(false, lie(fin(ping, "abc"), 2))},
		{"pings_fragmented", records(false, part(ping, "frag"), fin(cont, "ment"))},
		{"pings_unsolicited_pong", records(false, fin(pong, "unsolicited"), fin(ping, "after"))},
		{"pings_ten", records(false, fin(ping, "0"), fin(ping, "1"), fin(ping, "2"), fin(ping, "3"), fin(ping, "4"),
			fin(ping, "5"), fin(ping, "6"), fin(ping, "7"), fin(ping, "8"), fin(ping, "9"))},
		{"rsv_text", records(false, fin(text, "not json"), withRSV(fin(text, "{}"), wsframe.RSV1), fin(ping, ""))},
		{"rsv_ping", records(false, withRSV(fin(ping, "x"), wsframe.RSV3))},
		{"opcode_3", records(false, fin(0x3, ""))},
		{"opcode_b_after_message", records(true, fin(text, `{"event":"echo","data":1}`), fin(0xB, "reserved"))},
		{"fragments_with_ping_between", records(true, part(text, `{"event":"ec`), fin(ping, "between"), fin(cont, `ho","data":2}`))},
		{"fragments_continuation_first", records(false, fin(cont, "continuation"))},
		{"fragments_text_before_fin", records(false, part(text, "abc"), fin(text, "def"))},
		{"fragments_empty", records(false, part(text, ""), part(cont, ""), fin(cont, "not json"))},
		{"utf8_invalid", records(false, fin(text, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"))},
		{"utf8_invalid_across_fragments", records(false, part(text, "ok \xce"), fin(cont, "a"))},
		{"utf8_split_code_point", records(true, part(text, "{\"event\":\"echo\",\"data\":\"\xce"), fin(cont, "\xba\"}"))},
		{"utf8_invalid_first_fragment", records(false, part(text, "\xff"), fin(ping, "still reading?"))},
		{"close_empty", records(false, fin(closed, ""), fin(text, "after close"))},
		{"close_one_byte", records(false, fin(closed, "\x03"))},
		{"close_with_reason", records(true, closeFrame(4000, "bye"))},
		{"close_invalid_code", records(false, closeFrame(1005, ""))},
		{"close_invalid_reason", records(false, closeFrame(1000, "\xff"))},
		{"close_between_fragments", records(false, part(text, "not "), closeFrame(1000, ""), fin(cont, "json"))},
		{"close_fragmented", records(false, rec{b0: closed, p: []byte{0x03, 0xe8}})},
		{"unmasked_text", records(false, unmasked(fin(text, "{}")))},
		{"unmasked_ping", records(false, unmasked(fin(ping, "x")))},
		{"rooms_join_leave", records(true, fin(text, `{"event":"join","data":{"rooms":["a","b","ws:x",""]}}`),
			fin(text, `{"event":"leave","data":{"rooms":["a"]}}`))},
		{"truncated_header", []byte{1, wsframe.FinBit | text, 0}},
	}
	return s
}

// TestReadPathCorpusIsCurrent checks that testdata/fuzz/FuzzReadPath holds
// exactly readPathSeeds, in the go test fuzz format. Run it with
// ECHOWS_WRITE_CORPUS=1 to rewrite the files after changing the seeds.
func TestReadPathCorpusIsCurrent(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReadPath")
	write := os.Getenv("ECHOWS_WRITE_CORPUS") == "1"
	if write {
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	seeds := readPathSeeds()
	for _, s := range seeds {
		file := filepath.Join(dir, s.name)
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(s.input)))
		if write {
			if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(file)
		if err != nil || string(got) != want {
			t.Errorf("%s is not the seed readPathSeeds builds (run with ECHOWS_WRITE_CORPUS=1): %v", file, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(seeds) {
		t.Errorf("%s holds %d files, readPathSeeds %d (run with ECHOWS_WRITE_CORPUS=1)", dir, len(entries), len(seeds))
	}
}
