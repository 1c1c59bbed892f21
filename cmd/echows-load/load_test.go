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
)

// smokeRoom is the bench room of the smoke tests: a default room.
const smokeRoom = "ws-default"

// startSmoke starts an in-process echows bench server with n clients of
// the load tool connected.
func startSmoke(t *testing.T, n int) (*pool, string) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := websocket.New(benchsrv.Config(smokeRoom, 0, logger))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Configure(context.Background()); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(benchsrv.Mux(srv, smokeRoom, false))
	t.Cleanup(hs.Close)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	p := &pool{addr: strings.TrimPrefix(hs.URL, "http://"), path: "/ws", bufSize: 4 << 10}
	t.Cleanup(p.closeAll)
	if _, failed, err := p.connectAll(n, 8, "u", 10*time.Second); err != nil || failed != 0 {
		t.Fatalf("connect: %d failed: %v", failed, err)
	}
	return p, hs.URL
}

// TestSmoke runs the load tool's client and burst logic against an
// in-process echows bench server: 50 clients, three bursts of 10 messages,
// nothing lost, nothing reordered, no client dropped. It is a correctness
// check of the tool, not a benchmark.
func TestSmoke(t *testing.T) {
	const n = 50
	p, url := startSmoke(t, n)
	o := options{count: 10, size: 64, room: smokeRoom, burstTimeout: 10 * time.Second}
	for id := int64(1); id <= 3; id++ {
		br := doBurst(o, false, p, os.Getpid(), url, "room", id, n)
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

// TestSteadySmoke runs the steady scenario's publishers and checks against
// the same server: 3 publishers, 30 messages into the room of 20 clients,
// each received once, in each publisher's order.
func TestSteadySmoke(t *testing.T) {
	const n = 20
	p, _ := startSmoke(t, n)
	o := options{rate: 300, publishers: 3, duration: 100 * time.Millisecond, size: 64, burstTimeout: 10 * time.Second}
	br := doSteady(o, p, p.publishers(o.publishers), os.Getpid(), "pub", 1, n)
	if br.TimedOut || br.Received != n*30 || br.Lost != 0 || br.Reordered != 0 || br.Gaps != 0 || br.Stale != 0 {
		t.Fatalf("steady: %+v", br)
	}
	if c := p.closed.Load(); c != 0 {
		t.Fatalf("%d clients closed: %s", c, p.firstErr())
	}
}
