package websocket

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestCorkDeliversEverythingInOrder(t *testing.T) {
	ts := startServer(t, Config{})
	m := ts.members(t, "a", "b")
	ts.Cork(func() {
		ts.Cork(func() { // nested: writers wait for the outermost
			for i := range 50 {
				ts.Local().Broadcast("n", i)
			}
		})
		ts.Local().ToClient(m[0].id, "last", nil)
	})
	for _, x := range m {
		for i := range 50 {
			got := x.c.expect("n")
			var n int
			json.Unmarshal(got.Data, &n)
			if n != i {
				t.Fatalf("message %d arrived as %d", i, n)
			}
		}
	}
	m[0].c.expect("last")
	ts.expectNothing(t, m[1].c, m[1].id)
}

func TestCorkReleasesAClientPastTheLimit(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{BackpressureLimit: 4 * corkLimit}})
	m := ts.members(t, "a")
	// Until the connected frame's writer has handed the token back, a
	// message queued meanwhile goes out with it, uncorked, and the four
	// below would not all be held.
	settle(t, ts, m[0].id)
	big := strings.Repeat("x", corkLimit/4)
	ts.Cork(func() {
		for range 4 { // the fourth takes the client past corkLimit
			ts.Local().Broadcast("big", big)
		}
		for range 4 {
			m[0].c.expect("big") // would wait for the cork's end, and time out, if still held
		}
	})
}
