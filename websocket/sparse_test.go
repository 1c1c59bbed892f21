//go:build unix

// The flush goroutines and non-blocking writes exist on unix only:
// elsewhere every client has a writer goroutine of its own.

package websocket

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echows/echows/internal/wstest"
	"github.com/echows/echows/websocket/wire"
)

// sparseServer serves a server whose flush goroutine starts are counted.
func sparseServer(t *testing.T, cfg Config) (*testServer, *atomic.Int32) {
	return sparseServerOn(t, cfg, 0)
}

// sparseServerOn is sparseServer with the flusher sized for procs
// processors (0: GOMAXPROCS).
func sparseServerOn(t *testing.T, cfg Config, procs int) (*testServer, *atomic.Int32) {
	s := newServer(t, cfg)
	if procs > 0 {
		s.flush.max = procs
	}
	var starts atomic.Int32
	start := s.flush.start
	s.flush.start = func() { starts.Add(1); start() }
	return serve(t, s, httptest.NewServer), &starts
}

// inRoom dials n raw clients into room, and waits until nothing is being
// written to them.
func inRoom(t *testing.T, ts *testServer, room string, n int) []*wstest.Raw {
	rs := make([]*wstest.Raw, n)
	ids := make([]string, n)
	for i := range rs {
		rs[i] = wstest.DialRaw(t, ts.url)
		ids[i] = rs[i].Authenticate(fmt.Sprintf("u%d", i)).ID
		if err := ts.JoinRoom(ids[i], room); err != nil {
			t.Fatalf("JoinRoom: %v", err)
		}
	}
	settle(t, ts, ids...)
	return rs
}

// Who writes a fan-out's members: the sender's call for a message that
// comes alone (no flush goroutine starts, and every member has it when the
// call returns); the flush goroutines for a message right after another
// (that is what batches a burst). On one processor a steady fan-out writes
// every member itself (up to maxInline); on more, the flush goroutines
// take all but the last flushChunk members, so a large room is written in
// parallel.
func TestWhoWritesAFanOut(t *testing.T) {
	for _, tc := range []struct {
		name       string
		procs      int // 0: GOMAXPROCS
		members    int
		dense      bool
		wantStarts int32
	}{
		{"sparse, the sender writes", 0, 3, false, 0},
		{"dense, the flush goroutines write", 0, 3, true, 1},
		{"sparse on one processor, the sender writes all", 1, flushChunk + 44, false, 0},
		{"sparse on two processors, the flush goroutines share", 2, flushChunk + 44, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts, starts := sparseServerOn(t, Config{}, tc.procs)
			rs := inRoom(t, ts, "r", tc.members)
			before := starts.Load()

			if tc.dense {
				ts.flush.endedJustNow()
			} else {
				ts.flush.endedLongAgo()
			}
			if err := ts.Local().ToRoom("r", "m", 1); err != nil {
				t.Fatal(err)
			}
			if n := starts.Load() - before; n != tc.wantStarts {
				t.Fatalf("%d flush goroutines started, want %d", n, tc.wantStarts)
			}
			for _, r := range rs {
				r.Expect("m")
			}
		})
	}
}

// A member whose socket is full does not hold up a sparse fan-out: the
// sender's write to it is short, its own writer takes the rest, the other
// member gets every message in order, and the stalled member gets what its
// budget let through, in order.
func TestSparseFanOutPastAStalledMember(t *testing.T) {
	ts, _ := sparseServer(t, Config{Settings: Settings{BackpressureLimit: 256 << 10}})
	reader, stalled := ts.dial(t), ts.dial(t)
	var stalledID string
	for _, c := range []*testClient{reader, stalled} {
		stalledID = c.authenticate("u").ID
		if err := ts.JoinRoom(stalledID, "r"); err != nil {
			t.Fatalf("JoinRoom: %v", err)
		}
	}
	settle(t, ts, stalledID)
	// Small socket buffers on both ends, so that what the stalled socket
	// holds does not depend on how far TCP's autotuning got.
	sc, ok := ts.Client(stalledID)
	if !ok {
		t.Fatal("the stalled client is not registered")
	}
	if err := sc.raw.(*net.TCPConn).SetWriteBuffer(32 << 10); err != nil {
		t.Fatal(err)
	}
	if err := stalled.conn.UnderlyingConn().(*net.TCPConn).SetReadBuffer(32 << 10); err != nil {
		t.Fatal(err)
	}

	const n = 128 // 4 MiB: far more than the stalled socket and its budget hold
	pad := strings.Repeat("x", 32<<10)
	// The reading member's budget holds 7 of these messages. A batch its
	// writer took counts against the budget until the writer is back from
	// the socket, which on a loaded machine can be after the reader has
	// read it: with the sender at most w messages ahead of the reader, up
	// to 2w count. So the sender keeps at most 2 ahead, and a slow reader
	// is never past its budget (its drops would be right, and no sign of
	// the stalled member holding anyone up: CI saw them with the sender
	// unpaced, and a loaded machine with it 4 ahead).
	window := make(chan struct{}, 2)
	got := make(chan error, 1)
	go func() { // the reader reads as the messages come
		for i := range n {
			reader.conn.SetReadDeadline(time.Now().Add(readTimeout))
			_, b, err := reader.conn.ReadMessage()
			if err != nil {
				got <- err
				return
			}
			if d, err := frameIndex(b); err != nil || d != i {
				got <- fmt.Errorf("message %d: got %d (%v)", i, d, err)
				return
			}
			<-window
		}
		got <- nil
	}()
	for i := range n {
		select {
		case window <- struct{}{}:
		case err := <-got: // the reader failed, or waited readTimeout
			t.Fatalf("before message %d: %v", i, err)
		}
		ts.flush.endedLongAgo()
		if err := ts.Local().ToRoom("r", "m", map[string]any{"i": i, "pad": pad}); err != nil {
			t.Fatal(err)
		}
	}
	if err := wstest.Wait(t, got, "the reading member's messages"); err != nil {
		t.Fatal(err)
	}
	dropped := int(ts.Stats().Dropped)
	if dropped == 0 {
		t.Fatal("nothing was dropped: the stalled member's socket never filled, so the test proved nothing")
	}
	last := -1
	for range n - dropped {
		_, b, err := stalled.conn.ReadMessage()
		if err != nil {
			t.Fatalf("stalled member, after %d: %v", last, err)
		}
		d, err := frameIndex(b)
		if err != nil || d <= last {
			t.Fatalf("stalled member: got %d after %d (%v)", d, last, err)
		}
		last = d
	}
}

// frameIndex returns the "i" of a message frame.
func frameIndex(frame []byte) (int, error) {
	var m struct {
		Data struct {
			I int `json:"i"`
		} `json:"data"`
	}
	err := json.Unmarshal(frame, &m)
	return m.Data.I, err
}

// sparse grants one inline slot at a time, never under a cork, never while
// flush goroutines run, and never right after a fan-out.
func TestSparse(t *testing.T) {
	f := newFlusher(func() {}, new(coalescer))
	f.endedLongAgo()
	if !f.sparse() {
		t.Fatal("a fan-out long after the last one is not sparse")
	}
	if f.sparse() {
		t.Fatal("a second fan-out got the inline slot while the first holds it")
	}
	f.fanOutDone(true)
	f.endedJustNow()
	if f.sparse() {
		t.Fatal("a fan-out right after another is sparse")
	}
	f.lastDone.Store(-int64(time.Hour)) // a pause, after a dense fan-out
	if f.sparse() {
		t.Fatal("the first fan-out after a pause that ended a burst is sparse")
	}
	f.lastDone.Store(-int64(time.Hour)) // a second message after a pause
	if !f.sparse() {
		t.Fatal("the second of two messages after pauses is not sparse")
	}
	f.fanOutDone(true)

	f.endedLongAgo()
	f.corkBegin()
	if f.sparse() {
		t.Fatal("a fan-out under a cork is sparse")
	}
	f.corkEnd()

	f.mu.Lock()
	f.running = 1
	f.mu.Unlock()
	if f.sparse() {
		t.Fatal("a fan-out while a flush goroutine runs is sparse")
	}
	f.mu.Lock()
	f.running = 0
	f.mu.Unlock()
	if !f.sparse() {
		t.Fatal("the slot was not given back")
	}
}

// What is queued for a member while a sparse fan-out writes to it is not
// left behind: the fan-out hands the member to the flush goroutines.
func TestSparseFanOutHandsOnWhatCameDuringItsWrite(t *testing.T) {
	s := newServer(t, Config{})
	held := holdWrites(t, s)
	ts := serve(t, s, httptest.NewServer)
	r := wstest.DialRaw(t, ts.url)
	id := r.Authenticate("u").ID
	if err := ts.JoinRoom(id, "r"); err != nil {
		t.Fatalf("JoinRoom: %v", err)
	}
	c, ok := ts.Client(id)
	if !ok {
		t.Fatal("the client is not registered")
	}
	settle(t, ts, id)

	held.armed.Store(true)
	ts.flush.endedLongAgo()
	sent := make(chan error, 1)
	go func() { sent <- ts.Local().ToRoom("r", "first", 1) }()
	wstest.Wait(t, held.inWrite, "the sparse fan-out's write to start")
	if err := c.Send("second", 2); err != nil { // queued behind the write in progress
		t.Fatal(err)
	}
	held.release()
	if err := wstest.Wait(t, sent, "the fan-out to return"); err != nil {
		t.Fatal(err)
	}
	r.Expect("first")
	r.Expect("second")
}

// An envelope from another instance that arrives alone is delivered
// without a cork, so steady traffic through the broker is written by the
// dispatcher's fan-out, as local steady traffic is.
func TestLoneEnvelopeIsWrittenByTheDispatcher(t *testing.T) {
	broker := NewMemoryBroker()
	ts, starts := sparseServer(t, Config{Broker: broker})
	rs := inRoom(t, ts, "r", 2)
	payload, err := wire.Envelope{ServerID: "other", Type: wire.TypeRoom, Target: "r", Event: "from-afar"}.Encode()
	if err != nil {
		t.Fatal(err)
	}
	before := starts.Load()

	ts.flush.endedLongAgo()
	if err := broker.Publish(context.Background(), wire.Envelope{Type: wire.TypeRoom, Target: "r"}.Channel(), payload); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		r.Expect("from-afar")
	}
	if n := starts.Load() - before; n != 0 {
		t.Fatalf("a lone envelope's fan-out started %d flush goroutines; want the dispatcher to write", n)
	}
}
