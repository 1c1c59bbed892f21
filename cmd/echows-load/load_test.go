package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/echows/echows/cmd/echows-load/internal/benchsrv"
	"github.com/echows/echows/websocket"
	"github.com/echows/echows/websocket/wire"
)

// TestSmoke runs the load tool's client and burst logic against an
// in-process echows bench server: 50 clients, three bursts of 10 messages,
// nothing lost, nothing reordered, no client dropped. It is a correctness
// check of the tool, not a benchmark.
func TestSmoke(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := websocket.New(benchsrv.Config(wire.RoomDefault, 64<<20, logger))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Configure(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(benchsrv.Mux(srv, wire.RoomDefault, false))
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	const n = 50
	p := &pool{addr: strings.TrimPrefix(hs.URL, "http://"), path: "/ws", bufSize: 4 << 10}
	defer p.closeAll()
	if _, failed, err := p.connectAll(n, 8, "u", 10*time.Second); err != nil || failed != 0 {
		t.Fatalf("connect: %d failed: %v", failed, err)
	}
	o := options{count: 10, size: 64, room: wire.RoomDefault, burstTimeout: 10 * time.Second} // every client is in the default rooms
	for id := int64(1); id <= 3; id++ {
		br := doBurst(o, false, p, os.Getpid(), hs.URL, "room", id, n)
		if br.TimedOut || br.Received != n*10 || br.Lost != 0 || br.Reordered != 0 || br.Gaps != 0 || br.Stale != 0 {
			t.Fatalf("burst %d: %+v", id, br)
		}
		if br.P50us <= 0 || br.P99us < br.P50us {
			t.Errorf("burst %d: latency p50 %d µs p99 %d µs", id, br.P50us, br.P99us)
		}
	}
	if c := p.closed.Load(); c != 0 {
		t.Fatalf("%d clients closed: %s", c, p.firstErr())
	}
	if e := p.errs.Load(); e != 0 {
		t.Fatalf("%d error events: %s", e, p.firstErr())
	}
}
