package websocket

import (
	"context"
	"encoding/json"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/echows/echows/internal/wsframe"
)

// A client whose next message is already in the socket when the reader
// is ready for it sends often, however long the message before took (its
// hook, its throttle wait): the reader must read it on the stack it grew,
// as the linger is there for, not park and restart on a fresh goroutine.
// (A first version of the occasional-sender rule measured the gap between
// two frames as the reader parsed them, which includes that work, and
// failed both cases.)
//
// Each case writes all its messages in one write, so each is in the socket
// long before the reader gets to it; the payloads are large, so that the
// reader's small buffer holds nothing of the next frame after a message
// (its payload is read straight into the message buffer). The hook records
// the goroutine each message ran on; consecutive messages that were all
// waiting should run on the same one.
func TestReaderKeepsItsStackWhenTheNextMessageWaits(t *testing.T) {
	cases := []struct {
		name     string
		settings Settings
		hook     time.Duration
		msgs     int
		// same: the pair of messages (1-based) that must share a goroutine
		a, b int
	}{
		// A hook that takes longer than readLinger (a database call): the
		// gap from message 1 to message 2 is the hook's time.
		{name: "slow hook", hook: 30 * time.Millisecond, msgs: 3, a: 2, b: 3,
			settings: Settings{MessageRate: 1e6, MessageBurst: 1e6, ReadRate: 1 << 30}},
		// A flood over MessageRate: after the throttle's wait (at least
		// throttleQuantum) the next frame's gap is the wait.
		{name: "throttled flood", msgs: 4, a: 3, b: 4,
			settings: Settings{MessageRate: 20, MessageBurst: 3, ReadRate: 1 << 30}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.settings.IdleTimeout = time.Hour
			tc.settings.HeartbeatInterval = time.Hour
			tc.settings.HeartbeatTimeout = time.Hour
			var (
				mu  sync.Mutex
				gid = map[int]string{}
			)
			s := newServer(t, Config{Settings: tc.settings,
				Hooks: Hooks{OnMessage: func(_ context.Context, c *Client, m Message) error {
					var d struct{ N int }
					_ = json.Unmarshal(m.Data, &d)
					buf := make([]byte, 64)
					buf = buf[:runtime.Stack(buf, false)]
					id, _, _ := strings.Cut(strings.TrimPrefix(string(buf), "goroutine "), " ")
					mu.Lock()
					gid[d.N] = id
					mu.Unlock()
					time.Sleep(tc.hook)
					return c.Send("ack", strconv.Itoa(d.N))
				}}})
			r, _ := dialParking(t, s)
			var all []byte
			pad := strings.Repeat("x", 8000)
			for n := 1; n <= tc.msgs; n++ {
				p, _ := json.Marshal(map[string]any{"event": "note", "data": map[string]any{"n": n, "p": pad}})
				all = append(all, r.Frame(wsframe.Header{Fin: true, Opcode: wsframe.OpText, Masked: true}, p)...)
			}
			r.WriteRaw(all)
			for range tc.msgs {
				r.Expect("ack")
			}
			mu.Lock()
			defer mu.Unlock()
			t.Logf("goroutines: %v", gid)
			if gid[tc.a] == "" || gid[tc.a] != gid[tc.b] {
				t.Errorf("message %d ran on goroutine %s, message %d (already in the socket) on %s: the reader parked between them and restarted on a fresh stack",
					tc.a, gid[tc.a], tc.b, gid[tc.b])
			}
		})
	}
}
