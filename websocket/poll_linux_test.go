package websocket

import (
	"context"
	"runtime"
	"testing"
	"time"
)

// A flush goroutine polls the parked readers between chunks of writes
// (parker.poll), so that a message that comes while it writes is read then,
// not when the writes end. Here the test plays the flush goroutine. On one
// processor, between the peer's write and the poll, the parker's own
// goroutine rarely gets the processor to take the event first; when it
// does, the message is read all the same and the test tries again. A poll
// that never starts a reader fails it.
func TestParkerPollStartsTheReaderOfAMessageThatCame(t *testing.T) {
	got := make(chan int, 1)
	s := newServer(t, Config{
		Settings: Settings{IdleTimeout: time.Hour, HeartbeatInterval: time.Hour, HeartbeatTimeout: time.Hour},
		Hooks: Hooks{OnMessage: func(_ context.Context, _ *Client, m Message) error {
			got <- len(m.Data)
			return nil
		}},
	})
	s.oftenWithin = 0 // every client is occasional: its reader parks after each message
	r, c := dialParking(t, s)
	waitFor(t, "the reader to park", c.parked.Load)
	if s.parker.poll() {
		t.Fatal("poll started a reader with nothing to read")
	}

	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	for attempt := 1; ; attempt++ {
		r.SendMessage("note", attempt)
		woke := s.parker.poll()
		select { // read, by the reader poll started or by one the parker's goroutine did
		case <-got:
		case <-time.After(readTimeout):
			t.Fatal("a message to a parked reader was never read")
		}
		if woke {
			break
		}
		if attempt == 20 {
			t.Fatal("20 messages came to a parked reader and poll started none of them")
		}
		waitFor(t, "the reader to park again", c.parked.Load)
	}
	waitFor(t, "the reader to park again", c.parked.Load)
	if s.parker.poll() {
		t.Fatal("poll started a reader with nothing to read")
	}
}

// Polls racing the server's shutdown neither start a reader for a client
// that is gone nor keep the parker's goroutine from stopping (the wake
// pipe is level triggered, and poll leaves it to run); TestMain's goleak
// checks that every goroutine ended.
func TestParkerPollDuringShutdown(t *testing.T) {
	s := newServer(t, Config{
		Settings: Settings{IdleTimeout: time.Hour, HeartbeatInterval: time.Hour, HeartbeatTimeout: time.Hour},
	})
	s.oftenWithin = 0
	r, c := dialParking(t, s)
	waitFor(t, "the reader to park", c.parked.Load)

	stop := make(chan struct{})
	polled := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				polled <- n
				return
			default:
			}
			s.parker.poll()
			n++
		}
	}()
	r.SendMessage("note", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown with polls beside it: %v", err)
	}
	close(stop)
	if n := <-polled; n == 0 {
		t.Fatal("no poll ran")
	}
	if s.parker.poll() {
		t.Fatal("poll started a reader after Shutdown")
	}
}
