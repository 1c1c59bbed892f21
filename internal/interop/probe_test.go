package interop

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/websocket"
	"github.com/echows/echows/websocket/wire"
)

// The delivery probe an echows server sends itself through Redis reaches
// every upstream server on that Redis too (they pattern-subscribe
// ws:client:*). Upstream takes it for a message to a client it does not
// have and does nothing: none of its clients gets a frame, it logs no
// error, and it keeps delivering; meanwhile the probe keeps coming back to
// the echows server.
func TestProbeIsHarmlessToUpstream(t *testing.T) {
	start(t)
	rs := redistest.Start(t)
	up := startUpstreamServer(t, rs.Addr(), upstreamOptions{})
	uc := up.dial(t)
	id := uc.auth(`{"token":"u1"}`, "u1")
	uc.join("lobby")

	g := startGoServer(t, rs.Addr(), func(cfg *websocket.Config) { cfg.ProbeInterval = 20 * time.Millisecond })
	deadline := time.Now().Add(readyTimeout)
	for g.srv.Stats().Probe.Returned < 20 {
		if time.Now().After(deadline) {
			t.Fatalf("probes: %+v", g.srv.Stats().Probe)
		}
		time.Sleep(10 * time.Millisecond) // the interval of a bounded poll
	}
	if err := g.srv.Ready(); err != nil {
		t.Fatalf("echows Ready: %v", err)
	}

	// Upstream still delivers, and its client got nothing before: the next
	// frame is the one sent now, through Redis, by the echows server.
	ctx, cancel := context.WithTimeout(context.Background(), emitTimeout)
	defer cancel()
	if err := g.srv.ToClient(ctx, id, "after-probes", 1); err != nil {
		t.Fatal(err)
	}
	uc.expect(`{"event":"after-probes","data":1}`)
	if err := g.srv.ToRoom(ctx, "lobby", "room-after-probes", 2); err != nil {
		t.Fatal(err)
	}
	uc.expect(`{"event":"room-after-probes","data":2}`)
	uc.sync() // and it still answers its own client

	out := up.output()
	for _, bad := range []string{"Failed to parse Redis message", "Invalid Redis message", "rror"} {
		if strings.Contains(out, bad) {
			t.Errorf("upstream logged %q while probed:\n%s", bad, out)
		}
	}
	if !strings.Contains(wire.ProbeChannel(g.srv.ID()), wire.PrefixClient) {
		t.Fatal("the probe is not on a client channel: upstream would not hear it")
	}
}
