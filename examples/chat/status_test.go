package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/echows/echows/internal/redistest"
)

// getStatus GETs /status over HTTP.
func getStatus(t *testing.T, in instance) Status {
	t.Helper()
	resp, err := http.Get(strings.TrimSuffix(in.pageURL(), "/") + statusPath)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s Status
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", statusPath, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// waitStatus polls /status until cond holds (bounded: a guard, not a
// measure).
func waitStatus(t *testing.T, in instance, what string, cond func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := getStatus(t, in)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %+v", what, s)
		}
		time.Sleep(20 * time.Millisecond) // the interval of a bounded poll
	}
}

// The status panel's feed: connections, messages per second while people
// talk, and the broker's state, live from the server.
func TestStatusShowsConnectionsMessagesAndBroker(t *testing.T) {
	in := startChat(t, "")
	s := getStatus(t, in)
	if s.Connections != 0 || s.Broker != "in-process" || s.BrokerState != "live" || !s.Ready || s.Instance == "" {
		t.Fatalf("status of an idle chat: %+v", s)
	}
	alice, bob := connect(t, in.wsURL(), "alice"), connect(t, in.wsURL(), "bob")
	alice.enter(t, "lobby")
	bob.enter(t, "lobby")
	waitStatus(t, in, "two connections", func(s Status) bool { return s.Connections == 2 && s.Users == 2 })

	stop, done := make(chan struct{}), make(chan struct{})
	var once sync.Once
	halt := func() { once.Do(func() { close(stop); <-done }) }
	t.Cleanup(halt) // before the connection closes, should the test fail first
	go func() {     // alice talks until the status shows it
		defer close(done)
		msg := []byte(`{"event":"chat","data":{"room":"lobby","text":"hi"}}`)
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond): // her typing speed
				if alice.SendRaw(websocket.TextMessage, msg) != nil {
					return
				}
			}
		}
	}()
	s = waitStatus(t, in, "messages per second", func(s Status) bool { return s.MessagesPerSecond > 0 })
	halt()
	if s.DeliveriesPerSecond < s.MessagesPerSecond || s.ReceivedPerSecond <= 0 {
		t.Fatalf("rates %+v", s)
	}
}

// With Redis: the broker state follows Redis going away and coming back.
func TestStatusFollowsTheBroker(t *testing.T) {
	rs := redistest.Start(t)
	in := startChat(t, rs.Addr())
	if s := getStatus(t, in); s.Broker != "redis" || s.BrokerState != "live" || !s.Ready {
		t.Fatalf("status: %+v", s)
	}
	rs.Stop()
	waitStatus(t, in, "the broker reconnecting", func(s Status) bool { return s.BrokerState == "reconnecting" && !s.Ready })
	rs.Restart()
	waitStatus(t, in, "the broker live again", func(s Status) bool { return s.BrokerState == "live" && s.Ready })
}
