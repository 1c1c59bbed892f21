package wstest

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/echows/echows/internal/wsframe"
)

// fakeServer accepts one connection, answers the upgrade (with a wrong
// Sec-WebSocket-Accept when badAccept), writes frames and closes. It
// returns the ws:// URL.
func fakeServer(t *testing.T, badAccept bool, frames []byte) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); <-done })
	go func() {
		defer close(done)
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		accept := base64.StdEncoding.EncodeToString(sum[:])
		if badAccept {
			accept = "x" + accept
		}
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept)
		c.Write(frames)
	}()
	return "ws://" + l.Addr().String() + "/ws"
}

func serverFrame(h wsframe.Header, payload string) []byte {
	return wsframe.AppendFrame(nil, h, []byte(payload))
}

// TestRawReadsStrictly checks that Raw reports each server violation as a
// wsframe.ErrProtocol error, after reading the valid frames before it.
func TestRawReadsStrictly(t *testing.T) {
	text := wsframe.Header{Fin: true, Opcode: wsframe.OpText}
	closeH := wsframe.Header{Fin: true, Opcode: wsframe.OpClose}
	tests := []struct {
		name   string
		frames []byte
		valid  int // frames read before the violation
		want   error
	}{
		{"masked text", serverFrame(wsframe.Header{Fin: true, Opcode: wsframe.OpText, Masked: true, Mask: [4]byte{1, 2, 3, 4}}, "{}"), 0, wsframe.ErrMask},
		{"invalid UTF-8", append(serverFrame(text, "ok"), serverFrame(text, "\xff")...), 1, wsframe.ErrInvalidUTF8},
		{"invalid UTF-8 across fragments", append(serverFrame(wsframe.Header{Opcode: wsframe.OpText}, "\xce"),
			serverFrame(wsframe.Header{Fin: true}, "a")...), 1, wsframe.ErrInvalidUTF8},
		{"reserved opcode", serverFrame(wsframe.Header{Fin: true, Opcode: 0xB}, ""), 0, wsframe.ErrReservedOpcode},
		{"1-byte close", serverFrame(closeH, "\x03"), 0, wsframe.ErrCloseLength},
		{"close 1005", serverFrame(closeH, "\x03\xed"), 0, wsframe.ErrCloseCode},
		{"frame after close", append(serverFrame(closeH, ""), serverFrame(text, "{}")...), 1, wsframe.ErrFrameAfterClose},
		{"length MSB, payload never sent", wsframe.AppendHeader(nil, wsframe.Header{Fin: true, Opcode: wsframe.OpBinary, Length: 1 << 63}), 0, wsframe.ErrLengthMSB},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := DialRaw(t, fakeServer(t, false, tt.frames))
			for i := range tt.valid {
				if _, err := r.ReadFrame(); err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
			}
			_, err := r.ReadFrame()
			if !errors.Is(err, tt.want) || !errors.Is(err, wsframe.ErrProtocol) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("valid frames, then the end", func(t *testing.T) {
		r := DialRaw(t, fakeServer(t, false, append(serverFrame(text, `{"event":"e","data":"κόσμε"}`), serverFrame(closeH, "\x03\xe8bye")...)))
		if m := r.NextEvent(); m.Event != "e" || string(m.Data) != `"κόσμε"` {
			t.Fatalf("got %+v", m)
		}
		if code, reason := r.ExpectClose(1000); code != 1000 || reason != "bye" {
			t.Fatalf("close %d %q", code, reason)
		}
		if _, err := r.ReadFrame(); !errors.Is(err, io.EOF) {
			t.Fatalf("after the end: %v", err)
		}
	})
	t.Run("wrong Sec-WebSocket-Accept", func(t *testing.T) {
		if _, _, err := TryDialRaw(t, fakeServer(t, true, nil), nil); err == nil {
			t.Fatal("upgrade accepted")
		}
	})
}
