package websocket

import (
	"context"
	"errors"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/websocket/wire"
)

func TestHistogramBuckets(t *testing.T) {
	var h histogram
	for _, d := range []time.Duration{0, 100 * time.Microsecond, 101 * time.Microsecond, time.Second, time.Hour} {
		h.observe(d)
	}
	s := h.snapshot()
	want := map[int]uint64{0: 2, 1: 1, 12: 1, len(histogramBounds): 1} // ≤100µs twice, ≤250µs, ≤1s, +Inf
	for i, n := range s.Counts {
		if n != want[i] {
			t.Errorf("bucket %d (le %v): %d, want %d", i, boundOf(s, i), n, want[i])
		}
	}
	if s.Count != 5 || s.Sum != 101*time.Microsecond+100*time.Microsecond+time.Second+time.Hour {
		t.Errorf("count %d sum %v", s.Count, s.Sum)
	}
	s.Bounds[0] = 0 // a copy: the server's bounds stay
	if histogramBounds[0] != 100*time.Microsecond {
		t.Fatal("Histogram.Bounds shares the server's array")
	}
}

func boundOf(s Histogram, i int) any {
	if i < len(s.Bounds) {
		return s.Bounds[i]
	}
	return "+Inf"
}

func TestCloseCodeOf(t *testing.T) {
	for _, tc := range []struct {
		frame []byte
		want  int32
	}{
		{closeFrame(4003, "Authentication failed"), 4003},
		{closeFrame(1000, ""), 1000},
		{[]byte{finBit | opClose, 0}, 1005}, // no status
	} {
		if got := closeCodeOf(tc.frame); got != tc.want {
			t.Errorf("closeCodeOf(% x) = %d, want %d", tc.frame, got, tc.want)
		}
	}
}

func TestHookIndex(t *testing.T) {
	for i, name := range hookNames[:hookEventHandler] {
		if got := hookIndex(name); got != i {
			t.Errorf("hookIndex(%q) = %d, want %d", name, got, i)
		}
	}
	if got := hookIndex(handlerHookPrefix + "chat"); got != hookEventHandler {
		t.Errorf("an event handler's index %d", got)
	}
}

func TestLogLimiter(t *testing.T) {
	var l logLimiter
	if ok, _ := l.allow(); !ok {
		t.Fatal("first line held back")
	}
	for range 3 {
		if ok, _ := l.allow(); ok {
			t.Fatal("a second line within logEvery")
		}
	}
	l.next.Store(0) // as if logEvery had passed
	if ok, skipped := l.allow(); !ok || skipped != 3 {
		t.Fatalf("after logEvery: ok %v skipped %d, want true 3", ok, skipped)
	}
}

// Close codes the peer causes: a protocol error (1002), invalid UTF-8
// (1007); and binary frames are invalid messages.
func TestStatsCountPeerFaults(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.dial(t)
	c.conn.WriteMessage(gws.BinaryMessage, []byte("x"))
	c.expectError(wire.ErrTextInvalidFormat)
	c.sendRaw("{\"event\":\"x\xff\"}")
	c.expectClose(wire.CloseInvalidPayload, wire.ReasonInvalidUTF8)

	d := ts.dial(t)
	d.conn.UnderlyingConn().Write([]byte{0x88, 0x81, 0, 0, 0, 0, 0}) // a masked close with a 1-byte payload
	d.expectClose(wire.CloseProtocolError, wire.ReasonProtocolError)

	waitFor(t, "both disconnects", func() bool { return ts.Stats().Clients == 0 })
	st := ts.Stats()
	if st.Disconnects[1007] != 1 || st.Disconnects[1002] != 1 || st.Inbound.Invalid != 2 || st.Connects != 2 {
		t.Fatalf("disconnects %v inbound %+v connects %d", st.Disconnects, st.Inbound, st.Connects)
	}
	if len(st.Disconnects) != len(trackedCloseCodes)+1 {
		t.Fatalf("Disconnects has %d keys, want every tracked code and 0", len(st.Disconnects))
	}
	if st.Unauthorized != 0 || st.Authenticating != 0 {
		t.Fatalf("state gauges %d/%d after every client left", st.Unauthorized, st.Authenticating)
	}
}

// A client behind TLS has a writer goroutine of its own (blocking writes):
// its writes are counted too.
func TestStatsCountBlockingWrites(t *testing.T) {
	ts := startTLSServer(t, Config{})
	ts.dial(t).authenticate("tls")
	waitFor(t, "the connected frame's write counted", func() bool {
		st := ts.Stats()
		return st.WriteCalls >= 1 && st.BytesWritten >= uint64(len(`{"event":"connected","data":{}}`))
	})
}

// A failed encryption handshake and rooms refused past MaxRoomsPerClient
// are counted.
func TestStatsCountHandshakeFailuresAndRoomRefusals(t *testing.T) {
	ts := startServer(t, Config{
		Settings: Settings{MaxRoomsPerClient: 4, RequireEncryption: true},
		Hooks: Hooks{ValidateRooms: allowAllRooms, Handshake: func(_ context.Context, req HandshakeRequest) (*HandshakeResult, error) {
			if req.UserID == "nokey" {
				return nil, errors.New("no public key")
			}
			return &HandshakeResult{ServerPublicKey: "k", Salt: "s"}, nil
		}},
	})
	c := ts.dial(t)
	c.send(wire.EventAuthenticate, map[string]any{"token": "nokey"})
	c.expectError(wire.ErrTextHandshakeFailed)
	c.expectClose(wire.CloseEncryptionReq, wire.ReasonEncryptionReq)

	d := ts.dial(t)
	d.authenticate("ok") // own id + 2 default rooms: one room left
	d.send(wire.EventJoin, map[string]any{"rooms": []string{"r1", "r2", "r3"}})
	d.roundTrip()
	st := ts.Stats()
	if st.Auth.HandshakeFailed != 1 || st.Auth.OK != 1 || st.Limits.Rooms != 2 {
		t.Fatalf("auth %+v limits %+v", st.Auth, st.Limits)
	}
}
