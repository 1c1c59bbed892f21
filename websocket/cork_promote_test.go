package websocket

import (
	"strings"
	"testing"
)

// Cork's promise: "a client that accumulates more than 256 KiB meanwhile is
// written early". Whether a scheduled client may be promoted is decided
// when its write token is taken (queue.held was set from a corked() hint), but
// where it waits is decided later, when it is added to the flusher: a
// fan-out adds the clients it scheduled in chunks, after queueing, and the
// broker's dispatcher corks every batch, so a cork often opens in between.
// Such a client waits in the held list but is never promoted: it
// accumulates up to BackpressureLimit and then drops, while the cork is
// open, what it would have been written.
//
// The test takes the two steps itself to place the cork between them.
func TestClientHeldByACorkThatOpenedAfterItWasScheduledIsPromoted(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{BackpressureLimit: 4 * corkLimit}})
	m := ts.members(t, "a")
	cl, _ := ts.Client(m[0].id)
	waitFor(t, "the connected frame to be written", func() bool {
		cl.out.mu.Lock()
		defer cl.out.mu.Unlock()
		return cl.out.state == stateIdle
	})

	big := strings.Repeat("x", corkLimit/4)
	o := ts.newMessage("big", []byte(`"`+big+`"`), sourceLocal)
	res, st := cl.push(o) // the token is taken with no cork open...
	if res != pushQueued || st != startFlush {
		t.Fatalf("push: %v %v", res, st)
	}
	ts.Cork(func() {
		cl.kick(st)   // ...and the client is added once one is
		for range 3 { // the third takes the client past corkLimit
			ts.Local().ToClient(m[0].id, "big", big)
		}
		for range 4 {
			m[0].c.expect("big") // would wait for the cork's end, and time out, if still held
		}
	})
}
