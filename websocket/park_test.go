//go:build linux

package websocket

import (
	"runtime"
	"testing"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// allParked waits until every client of ts waits in the epoll set.
func allParked(t *testing.T, ts *testServer, n int) {
	t.Helper()
	waitFor(t, "the readers to park", func() bool {
		cs := ts.Clients()
		parked := 0
		for _, c := range cs {
			if c.parked.Load() {
				parked++
			}
		}
		return len(cs) == n && parked == n
	})
}

// Idle connections hold no goroutine: their readers wait in the server's
// epoll set, and wake when the peer sends.
func TestIdleClientsHoldNoGoroutine(t *testing.T) {
	ts := startServer(t, Config{})
	const n = 50
	m := ts.members(t, make([]string, n)...)
	for i := range m {
		m[i].c.roundTrip() // a message, and its answer, before idling
	}
	allParked(t, ts, n)
	// The test's own goroutines: the client side reads on demand, so n
	// parked server readers cost nothing here; count against a margin far
	// below n.
	base := runtime.NumGoroutine()
	if base > n {
		t.Fatalf("%d goroutines for %d idle clients", base, n)
	}
	for _, x := range m { // each wakes, answers, parks again
		x.c.roundTrip()
	}
	allParked(t, ts, n)
}

// A parked client closed by the server wakes to wait for the peer's answer
// under the close's deadline: a peer that never answers is dropped after
// closeGrace, not left parked.
func TestParkedClientClosedByTheServer(t *testing.T) {
	ts := startServer(t, Config{})
	m := ts.members(t, "a")
	allParked(t, ts, 1)
	if err := ts.Disconnect(m[0].id, 4000, "bye"); err != nil {
		t.Fatal(err)
	}
	// the peer reads nothing and answers nothing
	waitFor(t, "the client to be removed", func() bool { return ts.Stats().Clients == 0 })
}

// A parked client whose socket the server closes (the writer failed) wakes
// and finishes.
func TestParkedClientWhoseSocketCloses(t *testing.T) {
	ts := startServer(t, Config{})
	m := ts.members(t, "a")
	allParked(t, ts, 1)
	cl, _ := ts.Client(m[0].id)
	cl.closeSocket()
	waitFor(t, "the client to be removed", func() bool { return ts.Stats().Clients == 0 })
}

// A parked peer that goes silent (no pongs) is dropped by the sweep after
// IdleTimeout, as a reading one is.
func TestParkedSilentPeerIsDropped(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{IdleTimeout: 100 * time.Millisecond, AuthTimeout: time.Hour}})
	c := ts.dial(t) // never reads, so never answers a ping
	c.send(wire.EventHeartbeat, nil)
	waitFor(t, "the silent peer to be dropped", func() bool { return ts.Stats().Clients == 0 })
}
