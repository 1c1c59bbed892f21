package main

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/echows/echows/internal/wsframe"
)

// TestFleetPlace checks the fleet's spread: every room on one instance or
// two (about half of them on two), its clients split evenly between the
// two, and every instance holding as many clients as the others.
func TestFleetPlace(t *testing.T) {
	for _, tc := range []struct{ clients, rooms, instances int }{
		{400, 100, 4}, {800, 40, 4}, {120, 12, 3}, {40, 10, 2}, {10, 5, 1},
	} {
		t.Run(fmt.Sprintf("%d/%d/%d", tc.clients, tc.rooms, tc.instances), func(t *testing.T) {
			perInst := make([]int, tc.instances)
			on := make([]map[int]int, tc.rooms) // room → instance → clients
			for k := range on {
				on[k] = map[int]int{}
			}
			for i := range tc.clients {
				k, inst := fleetPlace(i, tc.rooms, tc.instances)
				if k < 0 || k >= tc.rooms || inst < 0 || inst >= tc.instances {
					t.Fatalf("client %d: room %d, instance %d", i, k, inst)
				}
				perInst[inst]++
				on[k][inst]++
			}
			split := 0
			for k, m := range on {
				switch {
				case len(m) == 1 && m[k%tc.instances] > 0:
				case len(m) == 2 && m[k%tc.instances] == m[(k+1)%tc.instances]:
					split++
				default:
					t.Fatalf("room %d has clients %v", k, m)
				}
			}
			if d := split - tc.rooms/2; tc.instances > 1 && (d < -tc.instances || d > tc.instances) {
				t.Errorf("%d rooms of %d on two instances, want about half", split, tc.rooms)
			}
			for i, n := range perInst {
				if n != tc.clients/tc.instances {
					t.Errorf("instance %d holds %d clients, want %d (all: %v)", i, n, tc.clients/tc.instances, perInst)
				}
			}
		})
	}
}

// TestFleetSchedule checks that a period's messages are numbered from 0 in
// each room and counted by room.
func TestFleetSchedule(t *testing.T) {
	room, seq, perRoom := fleetSchedule(rand.New(rand.NewPCG(1, 2)), 1000, 7)
	next := make([]int, 7)
	for i, k := range room {
		if seq[i] != next[k] {
			t.Fatalf("message %d: room %d seq %d, want %d", i, k, seq[i], next[k])
		}
		next[k]++
	}
	var total int64
	for k, n := range perRoom {
		if int(n) != next[k] {
			t.Fatalf("room %d: perRoom %d, messages %d", k, n, next[k])
		}
		total += n
	}
	if total != 1000 {
		t.Fatalf("%d messages counted", total)
	}
}

// TestRoomBurstState feeds a connection the frames of a fleet period: the
// join's answer puts it in its room, and it is done once it has its room's
// messages; messages of another room break the order.
func TestRoomBurstState(t *testing.T) {
	bs := newRoomBurstState(5, []int64{0, 2, 3}, []int64{4, 1, 2})
	if bs.target != 3 || bs.total != 2*1+3*2 {
		t.Fatalf("target %d total %d, want 3 and 8", bs.target, bs.total)
	}
	p := &pool{bufSize: 4 << 10}
	p.cur.Store(bs)
	c := &wsConn{p: p, buf: make([]byte, 4<<10), acked: make(chan struct{}, 1), room: -1}
	feed := func(msgs ...string) {
		t.Helper()
		var frames []byte
		for _, m := range msgs {
			frames = wsframe.AppendFrame(frames, wsframe.Header{Fin: true, Opcode: wsframe.OpText}, []byte(m))
		}
		c.have = copy(c.buf, frames)
		if !c.parse(2000) || c.have != 0 {
			t.Fatal("parse failed")
		}
	}
	bench := func(seq int) string {
		return fmt.Sprintf(`{"event":"bench","data":{"b":5,"s":%d,"t":1000,"p":"x"}}`, seq)
	}
	feed(`{"event":"bench","data":{"ack":2}}`)
	select {
	case <-c.acked:
	default:
		t.Fatal("the join's answer was not noticed")
	}
	if c.room != 2 {
		t.Fatalf("room %d, want 2", c.room)
	}
	feed(bench(0), bench(1))
	if bs.done.Load() != 0 {
		t.Fatal("done after 2 of 3 messages")
	}
	feed(bench(2))
	if bs.done.Load() != 1 || bs.received.Load() != 3 || bs.gaps.Load() != 0 || bs.reordered.Load() != 0 {
		t.Fatalf("done %d received %d gaps %d reordered %d", bs.done.Load(), bs.received.Load(), bs.gaps.Load(), bs.reordered.Load())
	}
	if got := newRoomBurstState(6, []int64{0, 0}, []int64{3, 3}); got.target != 0 {
		t.Fatalf("no message: target %d", got.target)
	} else {
		select {
		case <-got.allDone:
		default:
			t.Fatal("a period without recipients is not done at once")
		}
	}
}

// TestParseInfo reads INFO, commandstats, CLIENT LIST and RESP replies as
// Redis 7.0 writes them.
func TestParseInfo(t *testing.T) {
	info := parseInfo("# Stats\r\ntotal_net_output_bytes:276\r\npubsub_channels:3\r\npubsub_patterns:2\r\n" +
		"pubsubshard_channels:4\r\n\r\n# Commandstats\r\n" +
		"cmdstat_publish:calls=10,usec=30,usec_per_call=3.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_spublish:calls=5,usec=30,usec_per_call=6.00,rejected_calls=0,failed_calls=0\r\n" +
		"cmdstat_client|list:calls=1,usec=17,usec_per_call=17.00,rejected_calls=0,failed_calls=0\r\n")
	if got := info.int("total_net_output_bytes"); got != 276 {
		t.Errorf("total_net_output_bytes %d", got)
	}
	if got := info.channels(); got != 7 {
		t.Errorf("channels %d, want 7", got)
	}
	if got := info.calls("publish", "spublish", "subscribe"); got != 15 {
		t.Errorf("publish calls %d, want 15", got)
	}
	if got := info.calls("client|list"); got != 1 {
		t.Errorf("client|list calls %d", got)
	}
	list := "id=3 addr=127.0.0.1:1 fd=8 name= sub=2 psub=3 ssub=0 multi=-1 cmd=client|list\n" +
		"id=4 addr=127.0.0.1:2 fd=9 name= sub=0 psub=0 ssub=5 multi=-1 cmd=ssubscribe\n"
	if got := subscriptions(list); got != 10 {
		t.Errorf("subscriptions %d, want 10", got)
	}
	for in, want := range map[string]string{"+OK\r\n": "OK", ":12\r\n": "12", "$5\r\nab\r\nc\r\n": "ab\r\nc"} {
		if got, err := readReply(bufio.NewReader(strings.NewReader(in))); err != nil || got != want {
			t.Errorf("reply %q: %q, %v", in, got, err)
		}
	}
	if _, err := readReply(bufio.NewReader(strings.NewReader("-ERR nope\r\n"))); err == nil || !strings.Contains(err.Error(), "ERR nope") {
		t.Errorf("error reply: %v", err)
	}
}
