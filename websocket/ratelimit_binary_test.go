package websocket

import (
	"testing"

	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/websocket/wire"
)

// MessageRate bounds every message a peer sends, whatever its type: a
// binary message costs the server a read and an error event, as a text one
// does. Fifty of them over a burst of five must be throttled.
func TestBinaryMessagesAreChargedToMessageRate(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{MessageRate: 1000, MessageBurst: 5}})
	c := ts.dial(t)
	const n = 50
	for range n {
		if err := c.conn.WriteMessage(gws.BinaryMessage, []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		c.expectError(wire.ErrTextInvalidFormat)
	}
	if got := ts.Stats().Throttled; got == 0 {
		t.Fatalf("%d binary messages over a burst of 5 were never throttled", n)
	}
}
