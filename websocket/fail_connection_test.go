package websocket

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/echows/echows/internal/wsframe"
	"github.com/echows/echows/internal/wstest"
)

// RFC 6455 §7.1.7: an endpoint instructed to _Fail the WebSocket
// Connection_ (§8.1: a text frame that is not valid UTF-8; §5.5.1 and
// §7.4: a close frame with a bad payload) "MUST NOT continue to attempt to
// process data ... from the remote endpoint". The server sends its 1007 or
// 1002 and gives the peer closeGrace to answer; a message the peer sends
// meanwhile must not reach the app's hooks.
func TestNoMessageIsProcessedAfterFailingTheConnection(t *testing.T) {
	cases := map[string]struct {
		fail func(r *wstest.Raw)
		code int
	}{
		"invalid UTF-8": {func(r *wstest.Raw) { r.Send(wsframe.OpText, []byte{'"', 0xff, '"'}) }, wsframe.CloseInvalidPayload},
		"1-byte close":  {func(r *wstest.Raw) { r.Send(wsframe.OpClose, []byte{3}) }, wsframe.CloseProtocolError},
		"close 1005":    {func(r *wstest.Raw) { r.Send(wsframe.OpClose, []byte{0x03, 0xed}) }, wsframe.CloseProtocolError},
		"close reason not UTF-8": {func(r *wstest.Raw) { r.Send(wsframe.OpClose, []byte{0x03, 0xe8, 0xff}) },
			wsframe.CloseInvalidPayload},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var after atomic.Int32
			ts := startServer(t, Config{Hooks: Hooks{OnMessage: func(_ context.Context, _ *Client, msg Message) error {
				if msg.Event == "after" {
					after.Add(1)
				}
				return nil
			}}})
			r := wstest.DialRaw(t, ts.url)
			r.Authenticate("u")
			tc.fail(r)
			r.SendMessage("after", 1)  // before reading the server's close
			code, _ := r.ExpectClose() // answers it; the server then ends the connection
			if code != tc.code {
				t.Fatalf("closed with %d, want %d", code, tc.code)
			}
			if n := after.Load(); n != 0 {
				t.Fatalf("the message hook ran %d times for a message after the connection failed", n)
			}
		})
	}
}

// A close frame between the fragments of a message (RFC 6455 §5.4 allows
// control frames there) is checked as one between messages is: the
// reader checks those itself (frameHead), gorilla checks these, and gorilla
// takes a 1-byte payload for "no status" (1005) and a reason that is not
// UTF-8 for a protocol error (1002).
func TestCloseBetweenFragmentsIsCheckedLikeAnyClose(t *testing.T) {
	cases := map[string]struct {
		payload []byte
		code    int
	}{
		"1-byte payload":     {[]byte{3}, wsframe.CloseProtocolError},
		"reason not UTF-8":   {[]byte{0x03, 0xe8, 0xff}, wsframe.CloseInvalidPayload},
		"code 1005 received": {[]byte{0x03, 0xed}, wsframe.CloseProtocolError},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ts := startServer(t, Config{})
			r := wstest.DialRaw(t, ts.url)
			r.WriteFrame(wsframe.Header{Fin: false, Opcode: wsframe.OpText, Masked: true}, []byte(`{"event":`))
			r.Send(wsframe.OpClose, tc.payload)
			if code, _ := r.ExpectClose(); code != tc.code {
				t.Fatalf("closed with %d, want %d (as between messages)", code, tc.code)
			}
		})
	}
}
