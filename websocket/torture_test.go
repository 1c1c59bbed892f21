package websocket_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/echows/echows/internal/wsframe"
	"github.com/echows/echows/internal/wstest"
	"github.com/echows/echows/websocket"
	"github.com/echows/echows/websocket/wire"
)

// The transport torture suite: raw sockets against a real Server, in the
// categories the Autobahn testsuite checks (its case numbers in brackets),
// so the server's hand-written parts (the ping/pong fast path, the frame
// writer, the close path) are held to RFC 6455 as gorilla's own are. Every
// server frame is checked by wstest.Raw's strict reader, so each case also
// proves the server wrote nothing invalid on the way.
//
// What "accepted" means: the server went on reading (RoundTrip: a text
// frame that is not JSON gets "Invalid message format", in order) and, for
// an authenticated client, echoed the message through the OnMessage hook.
// What "fails the connection" means: the next frame is a close with the
// code RFC 6455 names, and the TCP connection ends after it.

type tortureCase struct {
	name string
	run  func(t *testing.T, r *wstest.Raw)
}

// runTorture runs each case on a fresh authenticated connection to one
// server. The rate limits are lifted: the suite sends hundreds of frames a
// second on purpose, and rate limiting has tests of its own.
func runTorture(t *testing.T, cfg websocket.Config, cases []tortureCase) {
	t.Helper()
	ts := startTarget(t, unlimited(cfg))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := ts.login(t, "torturer")
			tc.run(t, r)
		})
	}
}

// failsWith returns a case body that writes frames and expects a close
// with one of codes.
func failsWith(codes []int, write func(r *wstest.Raw)) func(t *testing.T, r *wstest.Raw) {
	return func(t *testing.T, r *wstest.Raw) {
		write(r)
		r.ExpectClose(codes...)
	}
}

var (
	protocolError  = []int{wsframe.CloseProtocolError}
	invalidPayload = []int{wsframe.CloseInvalidPayload}
	tooBig         = []int{wsframe.CloseTooBig}
)

// payload returns n bytes 0, 1, 2, … (mod 256).
func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// [1.1, 1.2, 9.1, 9.2] Text and binary messages of every length class, on
// both sides of each length-encoding boundary. The echo of a message of n
// bytes is a frame of n bytes, so the server's header writer is checked at
// the same boundaries.
func TestTortureFraming(t *testing.T) {
	var cases []tortureCase
	for _, n := range []int{0, 1, 2, 25} {
		cases = append(cases, tortureCase{fmt.Sprintf("text of %d bytes, not JSON", n), func(t *testing.T, r *wstest.Raw) {
			r.SendText(strings.Repeat("x", n))
			r.ExpectError(wire.ErrTextInvalidFormat)
			r.RoundTrip()
		}})
	}
	for _, n := range []int{26, 27, 124, 125, 126, 127, 128, 1000, 65534, 65535, 65536, 65537, 100_000, websocket.DefaultMaxPayloadLength} {
		cases = append(cases, tortureCase{fmt.Sprintf("text of %d bytes echoed", n), func(t *testing.T, r *wstest.Raw) {
			msg := echoFrame(t, n)
			r.Send(wsframe.OpText, msg)
			expectEcho(t, r, msg)
			r.RoundTrip()
		}})
	}
	for _, n := range []int{0, 1, 125, 126, 65535, 65536, websocket.DefaultMaxPayloadLength} {
		cases = append(cases, tortureCase{fmt.Sprintf("binary of %d bytes is Invalid message format", n), func(t *testing.T, r *wstest.Raw) {
			r.Send(wsframe.OpBinary, payload(n))
			r.ExpectError(wire.ErrTextInvalidFormat)
			r.RoundTrip()
		}})
	}
	cases = append(cases,
		tortureCase{"text written one byte at a time", func(t *testing.T, r *wstest.Raw) {
			msg := echoFrame(t, 200)
			r.WriteChopped(r.Frame(masked(wsframe.OpText), msg))
			expectEcho(t, r, msg)
		}},
		tortureCase{"many messages in one write", func(t *testing.T, r *wstest.Raw) {
			var b []byte
			var msgs [][]byte
			for i := range 100 {
				m := echoFrame(t, 26+i*7)
				msgs = append(msgs, m)
				b = append(b, r.Frame(masked(wsframe.OpText), m)...)
			}
			r.WriteRaw(b)
			for _, m := range msgs {
				expectEcho(t, r, m)
			}
		}},
		tortureCase{"length with the 64-bit MSB set", func(t *testing.T, r *wstest.Raw) {
			// RFC 6455 §5.2: the most significant bit MUST be 0. A server may
			// also see it as too big: 1002 or 1009, never a wait for 2^63
			// bytes.
			h := masked(wsframe.OpText)
			h.Length, h.LengthBytes, h.Mask = 1<<63|5, 8, r.Mask()
			r.WriteRaw(append(wsframe.AppendHeader(nil, h), "hello"...))
			r.ExpectClose(wsframe.CloseProtocolError, wsframe.CloseTooBig)
		}},
		tortureCase{"length of 2^62 bytes is too big", func(t *testing.T, r *wstest.Raw) {
			h := masked(wsframe.OpBinary)
			h.Length, h.Mask = 1<<62, r.Mask()
			r.WriteRaw(append(wsframe.AppendHeader(nil, h), "hello"...))
			r.ExpectClose(tooBig...)
		}},
	)
	runTorture(t, websocket.Config{}, cases)
}

// [9.x limits] MaxPayloadLength bounds a message, fragmented or not, with
// 1009 "Message too big".
func TestTortureMaxPayloadLength(t *testing.T) {
	const limit = 1024
	tooBigClose := func(t *testing.T, r *wstest.Raw) {
		if _, reason := r.ExpectClose(tooBig...); reason != wire.ReasonMessageTooBig {
			t.Errorf("1009 reason %q, want %q", reason, wire.ReasonMessageTooBig)
		}
	}
	runTorture(t, websocket.Config{Settings: websocket.Settings{MaxPayloadLength: limit}}, []tortureCase{
		{"a message at the limit is accepted", func(t *testing.T, r *wstest.Raw) {
			msg := echoFrame(t, limit)
			r.Send(wsframe.OpText, msg)
			expectEcho(t, r, msg)
		}},
		{"a fragmented message at the limit is accepted", func(t *testing.T, r *wstest.Raw) {
			msg := echoFrame(t, limit)
			r.SendFragments(wsframe.OpText, msg[:500], msg[500:1000], msg[1000:])
			expectEcho(t, r, msg)
		}},
		{"one byte over: 1009", func(t *testing.T, r *wstest.Raw) {
			r.Send(wsframe.OpText, echoFrame(t, limit+1))
			tooBigClose(t, r)
		}},
		{"binary over the limit: 1009", func(t *testing.T, r *wstest.Raw) {
			r.Send(wsframe.OpBinary, payload(limit+1))
			tooBigClose(t, r)
		}},
		{"fragments adding up to one byte over: 1009", func(t *testing.T, r *wstest.Raw) {
			msg := echoFrame(t, limit+1)
			r.SendFragments(wsframe.OpText, msg[:600], msg[600:])
			tooBigClose(t, r)
		}},
		{"far over the limit, all of it sent: the 1009 is not lost to a reset", func(t *testing.T, r *wstest.Raw) {
			// The server stops reading at the limit; if it closed the socket
			// with the rest unread, the kernel's reset would overtake the
			// close frame, and the peer would see 1006.
			r.Send(wsframe.OpText, echoFrame(t, 256<<10))
			tooBigClose(t, r)
		}},
		{"a header over the limit, payload never sent: 1009", func(t *testing.T, r *wstest.Raw) {
			h := masked(wsframe.OpText)
			h.Length, h.Mask = 1<<20, r.Mask()
			r.WriteRaw(wsframe.AppendHeader(nil, h))
			tooBigClose(t, r)
		}},
	})
}

// [2.x] Pings and pongs: a ping is answered with a pong carrying its
// payload; a pong nobody asked for is ignored; a ping over 125 bytes or
// fragmented fails the connection.
func TestTorturePings(t *testing.T) {
	runTorture(t, websocket.Config{}, []tortureCase{
		{"[2.1] empty ping", func(t *testing.T, r *wstest.Raw) {
			r.Send(wsframe.OpPing, nil)
			r.ExpectPong(nil)
			r.RoundTrip()
		}},
		{"[2.2] ping with text", func(t *testing.T, r *wstest.Raw) {
			r.Send(wsframe.OpPing, []byte("Hello, world!"))
			r.ExpectPong([]byte("Hello, world!"))
		}},
		{"[2.3] ping with binary payload", func(t *testing.T, r *wstest.Raw) {
			p := []byte{0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff}
			r.Send(wsframe.OpPing, p)
			r.ExpectPong(p)
		}},
		{"[2.4] ping of 125 bytes", func(t *testing.T, r *wstest.Raw) {
			p := bytes.Repeat([]byte{0xfe}, 125)
			r.Send(wsframe.OpPing, p)
			r.ExpectPong(p)
			r.RoundTrip()
		}},
		{"[2.5] ping of 126 bytes: 1002", failsWith(protocolError, func(r *wstest.Raw) {
			r.Send(wsframe.OpPing, bytes.Repeat([]byte{0xfe}, 126))
		})},
		{"[2.6] ping of 125 bytes written one byte at a time", func(t *testing.T, r *wstest.Raw) {
			p := payload(125)
			r.WriteChopped(r.Frame(masked(wsframe.OpPing), p))
			r.ExpectPong(p)
		}},
		{"[2.7] unsolicited empty pong is ignored", func(t *testing.T, r *wstest.Raw) {
			r.Send(wsframe.OpPong, nil)
			r.RoundTrip()
		}},
		{"[2.8] unsolicited pong with payload is ignored", func(t *testing.T, r *wstest.Raw) {
			r.Send(wsframe.OpPong, []byte("unsolicited pong payload"))
			r.RoundTrip()
		}},
		{"[2.9] unsolicited pong, then ping", func(t *testing.T, r *wstest.Raw) {
			r.Send(wsframe.OpPong, []byte("unsolicited pong payload"))
			r.Send(wsframe.OpPing, []byte("ping payload"))
			r.ExpectPong([]byte("ping payload"))
			r.RoundTrip()
		}},
		{"[2.10] ten pings: the last is answered, in order", func(t *testing.T, r *wstest.Raw) {
			expectPongsFor(t, r, false)
		}},
		{"[2.11] ten pings written one byte at a time", func(t *testing.T, r *wstest.Raw) {
			expectPongsFor(t, r, true)
		}},
		{"[5.1] fragmented ping: 1002", failsWith(protocolError, func(r *wstest.Raw) {
			r.WriteFrame(wsframe.Header{Opcode: wsframe.OpPing, Masked: true}, []byte("frag"))
			r.WriteFrame(wsframe.Header{Fin: true, Opcode: wsframe.OpContinuation, Masked: true}, []byte("ment"))
		})},
		{"[5.2] fragmented pong: 1002", failsWith(protocolError, func(r *wstest.Raw) {
			r.WriteFrame(wsframe.Header{Opcode: wsframe.OpPong, Masked: true}, []byte("frag"))
			r.WriteFrame(wsframe.Header{Fin: true, Opcode: wsframe.OpContinuation, Masked: true}, []byte("ment"))
		})},
		{"pong of 126 bytes: 1002", failsWith(protocolError, func(r *wstest.Raw) {
			r.Send(wsframe.OpPong, payload(126))
		})},
	})
}

// expectPongsFor sends ten pings (chopped: one byte per write) and a round
// trip. RFC 6455 §5.5.3 lets a server answer only the most recent of the
// pings it has not answered yet: the pongs must carry ping payloads in the
// order sent, and the last ping must be answered.
func expectPongsFor(t *testing.T, r *wstest.Raw, chopped bool) {
	t.Helper()
	var pings [][]byte
	for i := range 10 {
		p := fmt.Appendf(nil, "ping %d", i)
		pings = append(pings, p)
		if chopped {
			r.WriteChopped(r.Frame(masked(wsframe.OpPing), p))
		} else {
			r.Send(wsframe.OpPing, p)
		}
	}
	r.SendText("not json")
	next, gotError := 0, false
	for next < len(pings) || !gotError {
		f := r.Next()
		switch f.Opcode {
		case wsframe.OpPong:
			i := next
			for i < len(pings) && !bytes.Equal(pings[i], f.Payload) {
				i++
			}
			if i == len(pings) {
				t.Fatalf("pong %q: no such ping, or out of order (next possible: %q)", f.Payload, pings[min(next, len(pings)-1)])
			}
			next = i + 1
		case wsframe.OpText:
			if gotError || !bytes.Contains(f.Payload, []byte(wire.ErrTextInvalidFormat)) {
				t.Fatalf("unexpected %s", f)
			}
			gotError = true
		case wsframe.OpPing:
			r.Send(wsframe.OpPong, f.Payload)
		default:
			t.Fatalf("unexpected %s", f)
		}
	}
}

// [3.x] Reserved bits: no extension is negotiated, so any RSV bit fails the
// connection, on every kind of frame; what came before is still handled.
func TestTortureReservedBits(t *testing.T) {
	var cases []tortureCase
	for _, rsv := range []byte{wsframe.RSV1, wsframe.RSV2, wsframe.RSV3, wsframe.RSV1 | wsframe.RSV2, wsframe.RSVBits} {
		for _, op := range []byte{wsframe.OpText, wsframe.OpBinary, wsframe.OpPing, wsframe.OpPong, wsframe.OpClose} {
			cases = append(cases, tortureCase{fmt.Sprintf("RSV %#02x on opcode %#x", rsv, op), func(t *testing.T, r *wstest.Raw) {
				h := masked(op)
				h.RSV = rsv
				r.SendText("not json") // handled before the bad frame
				r.WriteFrame(h, []byte("{}"))
				r.Send(wsframe.OpPing, []byte("after")) // never answered
				r.ExpectError(wire.ErrTextInvalidFormat)
				r.ExpectClose(protocolError...)
			}})
		}
	}
	cases = append(cases, tortureCase{"RSV1 on a continuation", failsWith(protocolError, func(r *wstest.Raw) {
		r.WriteFrame(wsframe.Header{Opcode: wsframe.OpText, Masked: true}, []byte(`{"event":`))
		r.WriteFrame(wsframe.Header{Fin: true, RSV: wsframe.RSV1, Masked: true}, []byte(`"echo"}`))
	})})
	runTorture(t, websocket.Config{}, cases)
}

// [4.x] Reserved opcodes fail the connection, with or without a payload,
// alone or after a valid message.
func TestTortureReservedOpcodes(t *testing.T) {
	var cases []tortureCase
	for _, op := range []byte{3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF} {
		cases = append(cases,
			tortureCase{fmt.Sprintf("opcode %#x", op), failsWith(protocolError, func(r *wstest.Raw) {
				r.Send(op, nil)
			})},
			tortureCase{fmt.Sprintf("opcode %#x with payload after a message", op), func(t *testing.T, r *wstest.Raw) {
				msg := echoFrame(t, 40)
				r.Send(wsframe.OpText, msg)
				r.Send(op, []byte("reserved"))
				r.Send(wsframe.OpPing, nil)
				expectEcho(t, r, msg)
				r.ExpectClose(protocolError...)
			}},
		)
	}
	runTorture(t, websocket.Config{}, cases)
}

// [5.x] Fragmentation: fragments make one message, control frames may come
// between them, and a continuation must continue something.
func TestTortureFragmentation(t *testing.T) {
	msg := []byte(`{"event":"echo","data":"fragmented message"}`)
	runTorture(t, websocket.Config{}, []tortureCase{
		{"[5.3] text in two fragments", func(t *testing.T, r *wstest.Raw) {
			r.SendFragments(wsframe.OpText, msg[:10], msg[10:])
			expectEcho(t, r, msg)
			r.RoundTrip() // one message, not two
		}},
		{"[5.5] text in two fragments, one byte per write", func(t *testing.T, r *wstest.Raw) {
			r.WriteChopped(r.Frame(wsframe.Header{Opcode: wsframe.OpText, Masked: true}, msg[:10]))
			r.WriteChopped(r.Frame(wsframe.Header{Fin: true, Masked: true}, msg[10:]))
			expectEcho(t, r, msg)
		}},
		{"one fragment per byte", func(t *testing.T, r *wstest.Raw) {
			parts := make([][]byte, len(msg))
			for i := range msg {
				parts[i] = msg[i : i+1]
			}
			r.SendFragments(wsframe.OpText, parts...)
			expectEcho(t, r, msg)
		}},
		{"empty fragments", func(t *testing.T, r *wstest.Raw) {
			r.SendFragments(wsframe.OpText, nil, msg[:5], nil, nil, msg[5:], nil)
			expectEcho(t, r, msg)
		}},
		{"[5.6] ping between fragments", func(t *testing.T, r *wstest.Raw) {
			r.WriteFrame(wsframe.Header{Opcode: wsframe.OpText, Masked: true}, msg[:10])
			r.Send(wsframe.OpPing, []byte("between"))
			r.WriteFrame(wsframe.Header{Fin: true, Masked: true}, msg[10:])
			r.ExpectPong([]byte("between"))
			expectEcho(t, r, msg)
		}},
		{"[5.19] five fragments with pings and pongs between", func(t *testing.T, r *wstest.Raw) {
			for i := range 5 {
				h := wsframe.Header{Fin: i == 4, Masked: true}
				if i == 0 {
					h.Opcode = wsframe.OpText
				}
				r.WriteFrame(h, msg[i*len(msg)/5:(i+1)*len(msg)/5])
				r.Send(wsframe.OpPong, []byte("pong between"))
				if i < 4 {
					r.Send(wsframe.OpPing, fmt.Appendf(nil, "ping %d", i))
				}
			}
			// RFC 6455 §5.5.3: a pong may answer only the latest of the
			// pings not yet answered; the last ping is always answered.
			for last := -1; last < 3; {
				f := r.Next()
				var k int
				if _, err := fmt.Sscanf(string(f.Payload), "ping %d", &k); f.Opcode != wsframe.OpPong || err != nil || k <= last {
					t.Fatalf("got %s, want a pong for a ping after ping %d", f, last)
				}
				last = k
			}
			expectEcho(t, r, msg)
		}},
		{"binary in fragments: one Invalid message format", func(t *testing.T, r *wstest.Raw) {
			r.SendFragments(wsframe.OpBinary, []byte("a"), []byte("b"), []byte("c"))
			r.ExpectError(wire.ErrTextInvalidFormat)
			r.RoundTrip()
		}},
		{"[5.9] continuation with FIN, nothing to continue: 1002", failsWith(protocolError, func(r *wstest.Raw) {
			r.WriteFrame(wsframe.Header{Fin: true, Masked: true}, []byte("continuation"))
		})},
		{"[5.10] the same, one byte per write", failsWith(protocolError, func(r *wstest.Raw) {
			r.WriteChopped(r.Frame(wsframe.Header{Fin: true, Masked: true}, []byte("continuation")))
		})},
		{"[5.12] continuation without FIN, nothing to continue: 1002", failsWith(protocolError, func(r *wstest.Raw) {
			r.WriteFrame(wsframe.Header{Masked: true}, []byte("continuation"))
		})},
		{"[5.15] continuation after a complete message: 1002", func(t *testing.T, r *wstest.Raw) {
			r.SendFragments(wsframe.OpText, msg[:10], msg[10:])
			r.WriteFrame(wsframe.Header{Masked: true}, []byte("fragment3"))
			expectEcho(t, r, msg)
			r.ExpectClose(protocolError...)
		}},
		{"[5.18] text before the previous message's FIN: 1002", failsWith(protocolError, func(r *wstest.Raw) {
			r.WriteFrame(wsframe.Header{Opcode: wsframe.OpText, Masked: true}, msg[:10])
			r.WriteFrame(masked(wsframe.OpText), msg)
		})},
		{"binary before the previous text's FIN: 1002", failsWith(protocolError, func(r *wstest.Raw) {
			r.WriteFrame(wsframe.Header{Opcode: wsframe.OpText, Masked: true}, msg[:10])
			r.WriteFrame(masked(wsframe.OpBinary), []byte("bin"))
		})},
		{"fragmented close: 1002", failsWith(protocolError, func(r *wstest.Raw) {
			r.WriteFrame(wsframe.Header{Opcode: wsframe.OpClose, Masked: true}, wsframe.AppendClosePayload(nil, 1000, ""))
		})},
	})
}

// [6.x] UTF-8: a text message must be valid UTF-8 as a whole; a code point
// may be split between fragments; invalid text closes with 1007 "Invalid
// UTF-8".
func TestTortureUTF8(t *testing.T) {
	invalid := map[string]string{
		"lone continuation":       "\x80",
		"0xFE":                    "\xfe",
		"0xFF":                    "\xff",
		"overlong slash":          "\xc0\xaf",
		"overlong NUL":            "\xe0\x80\x80",
		"overlong 4-byte":         "\xf0\x80\x80\xaf",
		"5-byte sequence":         "\xf8\x88\x80\x80\x80",
		"surrogate D800":          "\xed\xa0\x80",
		"surrogate pair":          "\xed\xa0\x80\xed\xb0\x80",
		"above U+10FFFF":          "\xf4\x90\x80\x80",
		"truncated 2-byte at end": "κόσμ\xce",
		"truncated 4-byte at end": "ok\xf0\x9f\x98",
		"inside valid text":       "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64",
		"inside a JSON message":   "{\"event\":\"echo\",\"data\":\"\xff\"}",
	}
	expect1007 := func(t *testing.T, r *wstest.Raw) {
		t.Helper()
		if _, reason := r.ExpectClose(invalidPayload...); reason != wire.ReasonInvalidUTF8 {
			t.Errorf("1007 reason %q, want %q", reason, wire.ReasonInvalidUTF8)
		}
	}
	var cases []tortureCase
	for name, text := range invalid {
		cases = append(cases,
			tortureCase{"[6.3] in one frame: " + name, func(t *testing.T, r *wstest.Raw) {
				r.SendText(text)
				expect1007(t, r)
			}},
			tortureCase{"[6.3.2] in the last of three fragments: " + name, func(t *testing.T, r *wstest.Raw) {
				r.SendFragments(wsframe.OpText, []byte("valid "), []byte("κόσμε "), []byte(text))
				expect1007(t, r)
			}},
		)
	}
	valid := []string{"κόσμε", "\U0001F600\u20ac\u00a9\U0010FFFF", "\xef\xbf\xbd", "\xed\x9f\xbf\xee\x80\x80", "Hello-µ@ßöäüàá-UTF-8!!"}
	cases = append(cases,
		tortureCase{"[6.1] empty text messages", func(t *testing.T, r *wstest.Raw) {
			r.SendText("")
			r.ExpectError(wire.ErrTextInvalidFormat)
			r.SendFragments(wsframe.OpText, nil, nil, nil)
			r.ExpectError(wire.ErrTextInvalidFormat)
		}},
		tortureCase{"[6.2] valid text split at every byte, code points included", func(t *testing.T, r *wstest.Raw) {
			for _, s := range valid {
				msg := []byte(`{"event":"echo","data":"` + s + `"}`)
				for cut := 1; cut < len(msg); cut++ {
					r.SendFragments(wsframe.OpText, msg[:cut], msg[cut:])
					expectEcho(t, r, msg)
				}
			}
		}},
		tortureCase{"[6.2.4] valid text, one fragment per byte", func(t *testing.T, r *wstest.Raw) {
			msg := []byte(`{"event":"echo","data":"` + strings.Join(valid, "") + `"}`)
			parts := make([][]byte, len(msg))
			for i := range msg {
				parts[i] = msg[i : i+1]
			}
			r.SendFragments(wsframe.OpText, parts...)
			expectEcho(t, r, msg)
		}},
		tortureCase{"a code point cut by a fragment boundary, then a bad byte", func(t *testing.T, r *wstest.Raw) {
			r.SendFragments(wsframe.OpText, []byte("ok \xce"), []byte("a"))
			expect1007(t, r)
		}},
		tortureCase{"valid fragments, message ends inside a code point", func(t *testing.T, r *wstest.Raw) {
			r.SendFragments(wsframe.OpText, []byte("κό"), []byte("σμ\xce"))
			expect1007(t, r)
		}},
		tortureCase{"[6.4] fails fast: invalid first fragment, message never finished", func(t *testing.T, r *wstest.Raw) {
			// RFC 6455 §8.1: fail the connection on finding invalid UTF-8,
			// not at the end of the message. The ping after the fragment
			// would be answered by a server still waiting for the rest.
			r.WriteFrame(wsframe.Header{Opcode: wsframe.OpText, Masked: true}, []byte("κόσμε\xed\xa0\x80edited"))
			r.Send(wsframe.OpPing, []byte("still reading?"))
			expect1007(t, r)
		}},
	)
	runTorture(t, websocket.Config{}, cases)
}

// [7.x] The close handshake: a close is answered with a close (echoing a
// valid code), nothing is handled after it, and a close frame that breaks
// a rule fails the connection.
func TestTortureClose(t *testing.T) {
	normalOrNone := []int{wsframe.CloseNormal, wsframe.CloseNoStatus}
	var cases []tortureCase
	cases = append(cases,
		tortureCase{"[7.3.1] empty close is answered", failsWith(normalOrNone, func(r *wstest.Raw) {
			r.SendClose(0, "")
		})},
		tortureCase{"[7.3.2] close payload of 1 byte: 1002", failsWith(protocolError, func(r *wstest.Raw) {
			r.Send(wsframe.OpClose, []byte{0x03})
		})},
		tortureCase{"[7.3.3] close 1000 is echoed", failsWith([]int{1000}, func(r *wstest.Raw) {
			r.SendClose(1000, "")
		})},
		tortureCase{"[7.3.4] close 1000 with a reason", failsWith([]int{1000}, func(r *wstest.Raw) {
			r.SendClose(1000, "Hello World!")
		})},
		tortureCase{"[7.3.5] close with a 123-byte reason", failsWith([]int{1000}, func(r *wstest.Raw) {
			r.SendClose(1000, strings.Repeat("*", 123))
		})},
		tortureCase{"[7.3.6] close with a 124-byte reason: 1002", failsWith(protocolError, func(r *wstest.Raw) {
			r.SendClose(1000, strings.Repeat("*", 124))
		})},
		tortureCase{"[7.5.1] close reason not valid UTF-8: 1007 or 1002", failsWith([]int{1007, 1002}, func(r *wstest.Raw) {
			r.SendClose(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80\x65\x64\x69\x74\x65\x64")
		})},
		tortureCase{"[7.1.2] two closes: one answer", failsWith([]int{1000}, func(r *wstest.Raw) {
			r.SendClose(1000, "")
			r.SendClose(1000, "")
		})},
		tortureCase{"[7.1.3] ping after close: not answered", failsWith([]int{1000}, func(r *wstest.Raw) {
			r.SendClose(1000, "")
			r.Send(wsframe.OpPing, []byte("after close"))
		})},
		tortureCase{"[7.1.4] text after close: ignored", failsWith([]int{1000}, func(r *wstest.Raw) {
			r.SendClose(1000, "")
			r.SendText("not json")
		})},
		tortureCase{"[7.1.5] close between fragments: the message is dropped", failsWith([]int{1000}, func(r *wstest.Raw) {
			r.WriteFrame(wsframe.Header{Opcode: wsframe.OpText, Masked: true}, []byte("not "))
			r.SendClose(1000, "")
			r.WriteFrame(wsframe.Header{Fin: true, Masked: true}, []byte("json"))
		})},
		tortureCase{"[7.1.6] messages before close are handled first", func(t *testing.T, r *wstest.Raw) {
			msg := echoFrame(t, 60000)
			for range 3 {
				r.Send(wsframe.OpText, msg)
			}
			r.SendClose(1000, "")
			for range 3 {
				expectEcho(t, r, msg)
			}
			r.ExpectClose(1000)
		}},
	)
	for _, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999} {
		cases = append(cases, tortureCase{fmt.Sprintf("[7.7] valid code %d is echoed", code), failsWith([]int{code, 1000}, func(r *wstest.Raw) {
			r.SendClose(code, "")
		})})
	}
	for _, code := range []int{0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535} {
		cases = append(cases, tortureCase{fmt.Sprintf("[7.9] invalid code %d: 1002", code), failsWith(protocolError, func(r *wstest.Raw) {
			r.Send(wsframe.OpClose, wsframe.AppendClosePayload(nil, code, "reason"))
		})})
	}
	runTorture(t, websocket.Config{}, cases)
}

// RFC 6455 §5.1: a server must fail the connection on an unmasked client
// frame, of any kind.
func TestTortureUnmaskedFrames(t *testing.T) {
	var cases []tortureCase
	for _, op := range []byte{wsframe.OpText, wsframe.OpBinary, wsframe.OpPing, wsframe.OpPong, wsframe.OpClose} {
		cases = append(cases, tortureCase{fmt.Sprintf("unmasked opcode %#x: 1002", op), failsWith(protocolError, func(r *wstest.Raw) {
			p := []byte("{}")
			if op == wsframe.OpClose {
				p = wsframe.AppendClosePayload(nil, 1000, "")
			}
			r.WriteFrame(wsframe.Header{Fin: true, Opcode: op}, p)
		})})
	}
	cases = append(cases,
		tortureCase{"unmasked continuation: 1002", failsWith(protocolError, func(r *wstest.Raw) {
			r.WriteFrame(wsframe.Header{Opcode: wsframe.OpText, Masked: true}, []byte("not "))
			r.WriteFrame(wsframe.Header{Fin: true}, []byte("json"))
		})},
		tortureCase{"unmasked ping of 125 bytes: 1002", failsWith(protocolError, func(r *wstest.Raw) {
			r.WriteFrame(wsframe.Header{Fin: true, Opcode: wsframe.OpPing}, payload(125))
		})},
		tortureCase{"an all-zero mask key is a mask", func(t *testing.T, r *wstest.Raw) {
			msg := echoFrame(t, 30)
			r.WriteRaw(wsframe.AppendFrame(nil, masked(wsframe.OpText), msg)) // key 0,0,0,0
			expectEcho(t, r, msg)
		}},
	)
	runTorture(t, websocket.Config{}, cases)
}

// Before authentication the same rules hold, and binary frames and pings
// get the same answers.
func TestTortureBeforeAuthentication(t *testing.T) {
	ts := startTarget(t, websocket.Config{})
	t.Run("binary is Invalid message format", func(t *testing.T) {
		r := ts.dial(t)
		r.Send(wsframe.OpBinary, []byte(`{"event":"authenticate","data":{"token":"a"}}`))
		r.ExpectError(wire.ErrTextInvalidFormat)
		r.Authenticate("a") // still unauthenticated, still reading
	})
	t.Run("ping is answered", func(t *testing.T) {
		r := ts.dial(t)
		r.Send(wsframe.OpPing, []byte("who is there"))
		r.ExpectPong([]byte("who is there"))
		r.RoundTrip()
	})
	t.Run("fragmented authenticate", func(t *testing.T) {
		r := ts.dial(t)
		auth := []byte(`{"event":"authenticate","data":{"token":"frag"}}`)
		r.SendFragments(wsframe.OpText, auth[:5], auth[5:30], auth[30:])
		r.Expect(wire.EventConnected)
	})
	t.Run("reserved opcode: 1002", func(t *testing.T) {
		r := ts.dial(t)
		r.Send(0x5, nil)
		r.ExpectClose(protocolError...)
	})
	t.Run("invalid UTF-8: 1007", func(t *testing.T) {
		r := ts.dial(t)
		r.SendText("\xff")
		r.ExpectClose(invalidPayload...)
	})
}
