package websocket

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// expectSeq reads want from c: events and their numeric data, in order.
func expectSeq(t *testing.T, c *testClient, who string, want []string) {
	t.Helper()
	for i, w := range want {
		m := c.read()
		var n int
		json.Unmarshal(m.Data, &n)
		if got := fmt.Sprintf("%s%d", m.Event, n); got != w {
			t.Fatalf("%s: message %d is %s, want %s", who, i, got, w)
		}
	}
}

// A burst of room messages is batched; direct messages, exclusions, joins
// and leaves in the middle of it must still reach each client exactly as
// sent: a direct message after the room messages sent before it, a client
// that left nothing sent after it left, one that joined nothing sent
// before.
func TestBatchedFanOutsKeepEachClientsOrder(t *testing.T) {
	ts := startServer(t, Config{})
	m := ts.members(t, "a", "b", "c")
	a, b, c := m[0], m[1], m[2]
	for _, x := range []member{a, b} {
		if err := ts.JoinRoom(x.id, "lobby"); err != nil {
			t.Fatal(err)
		}
	}
	var want [3][]string
	for i := range 200 {
		ts.flush.endedJustNow() // a burst, whatever the clock says
		if err := ts.Local().ToRoom("lobby", "r", i); err != nil {
			t.Fatal(err)
		}
		want[0] = append(want[0], fmt.Sprint("r", i))
		if i <= 60 {
			want[1] = append(want[1], fmt.Sprint("r", i))
		}
		if i > 100 {
			want[2] = append(want[2], fmt.Sprint("r", i))
		}
		switch {
		case i%9 == 0:
			ts.Local().ToClient(a.id, "d", i)
			want[0] = append(want[0], fmt.Sprint("d", i))
		case i == 60:
			if err := ts.LeaveRoom(b.id, "lobby"); err != nil {
				t.Fatal(err)
			}
		case i == 100:
			if err := ts.JoinRoom(c.id, "lobby"); err != nil {
				t.Fatal(err)
			}
		case i == 150: // not batched: it has an exclusion
			ts.Local().ToRoom("lobby", "x", i, a.id)
			want[2] = append(want[2], fmt.Sprint("x", i))
		}
	}
	for i, x := range m {
		expectSeq(t, x.c, x.id, want[i])
		ts.expectNothing(t, x.c, x.id)
	}
}

// Messages batched before a client is closed reach it before the close.
func TestBatchedFanOutsGoBeforeTheClose(t *testing.T) {
	ts := startServer(t, Config{})
	m := ts.members(t, "a", "b")
	var want []string
	for i := range 5 {
		ts.flush.endedJustNow()
		ts.Local().Broadcast("r", i)
		want = append(want, fmt.Sprint("r", i))
	}
	cl, _ := ts.Client(m[0].id)
	cl.Close(4100, "bye")
	expectSeq(t, m[0].c, "a", want)
	m[0].c.expectClose(4100, "bye")
	expectSeq(t, m[1].c, "b", want)
}

// A batch that never fills is queued and written with no further send:
// by the flush goroutine that was started for it (the first message of
// the burst, not batched, has been written and its flush goroutine is
// gone before the batch begins).
func TestBatchTailIsDelivered(t *testing.T) {
	ts := startServer(t, Config{})
	m := ts.members(t, "a", "b")
	ts.flush.endedJustNow()
	ts.Local().Broadcast("r", 0)
	for _, x := range m {
		expectSeq(t, x.c, x.id, []string{"r0"})
	}
	settle(t, ts, m[0].id, m[1].id)
	for i := 1; i < 3; i++ {
		ts.flush.endedJustNow()
		ts.Local().Broadcast("r", i)
	}
	if n := ts.batch.batched(); n != 2 {
		t.Fatalf("%d messages batched, want 2", n)
	}
	for _, x := range m {
		expectSeq(t, x.c, x.id, []string{"r1", "r2"})
	}
}

// Which messages of a burst are batched: those to the audience of the
// fan-out before them. Bursts that alternate audiences (concurrent senders
// to many rooms) are queued message by message, as is a burst's first.
func TestWhatIsBatched(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rooms   []string
		batched uint64
	}{
		{"one room", []string{"x", "x", "x", "x"}, 3},
		{"alternating rooms", []string{"x", "y", "x", "y"}, 0},
		{"a room, then another", []string{"x", "x", "y", "y"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, Config{})
			m := ts.members(t, "a")
			for _, r := range []string{"x", "y"} {
				if err := ts.JoinRoom(m[0].id, r); err != nil {
					t.Fatal(err)
				}
			}
			var want []string
			for i, r := range tc.rooms {
				ts.flush.endedJustNow()
				ts.Local().ToRoom(r, r, i)
				want = append(want, fmt.Sprint(r, i))
			}
			if n := ts.batch.batched(); n != tc.batched {
				t.Errorf("%d messages batched, want %d", n, tc.batched)
			}
			expectSeq(t, m[0].c, m[0].id, want)
		})
	}
}

// Stats counts batched messages as delivered, as it counts them unbatched.
func TestStatsCountBatchedMessages(t *testing.T) {
	ts := startServer(t, Config{})
	m := ts.members(t, "a", "b")
	before := ts.Stats().Deliveries
	for i := range 3 {
		ts.flush.endedJustNow()
		ts.Local().Broadcast("r", i)
	}
	if got := ts.Stats().Deliveries - before; got != 3*uint64(len(m)) {
		t.Fatalf("deliveries %d, want %d", got, 3*len(m))
	}
}

// pushAll is push repeated: the same frames queued, the same ones dropped,
// the same backpressure episode, whatever the sizes and the budget.
func TestPushAllIsPushRepeated(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 500 {
		limit := 1 + rng.IntN(4000)
		var msgs []*outbound
		for range 1 + rng.IntN(40) {
			msgs = append(msgs, &outbound{frame: make([]byte, 1+rng.IntN(600))})
		}
		var one, all queue
		c := &Client{}        // no socket: a writer goroutine's token, nothing started
		if rng.IntN(3) == 0 { // some data already queued
			pre := &outbound{frame: make([]byte, rng.IntN(2000))}
			one.push(c, pre, limit, false)
			all.push(c, pre, limit, false)
		}
		var queued, dropped int
		var first bool
		for _, o := range msgs {
			switch res, _ := one.push(c, o, limit, false); res {
			case pushQueued:
				queued++
			case pushDroppedFirst:
				first = true
				fallthrough
			case pushDropped:
				dropped++
			}
		}
		r := all.pushAll(c, msgs, limit)
		if r.queued != queued || r.dropped != dropped || r.first != first ||
			!slices.Equal(all.items, one.items) || all.bytes != one.bytes ||
			all.dropped != one.dropped || all.backpressured != one.backpressured || all.state != one.state {
			t.Fatalf("trial %d: pushAll %+v (bytes %d), pushes queued %d dropped %d first %v (bytes %d)",
				trial, r, all.bytes, queued, dropped, first, one.bytes)
		}
	}
}

// batched returns how many messages went through the batch.
func (b *coalescer) batched() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.added
}
