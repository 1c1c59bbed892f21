package websocket

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/websocket/wire"
)

// shardWait bounds the recovery after a resharding or a failover. It is a
// guard, not a measure: the test logs how long recovery took.
const shardWait = 30 * time.Second

// Sharded pub/sub on a real three-master cluster (with a replica each):
// interests spread over every shard, one subscriber connection per shard,
// then a slot moves and a master dies, and each time the broker follows.
func TestRedisBrokerShardedCluster(t *testing.T) {
	rbVerifyNone(t)
	c := redistest.StartClusterOf(t, redistest.ClusterOptions{Masters: 3, Replicas: 1})
	app := c.Client(t)
	ctx := context.Background()

	t.Run("slots", func(t *testing.T) {
		for _, key := range []string{"", "a", "ws:broadcast", "ws:room:lobby", "ws:room:{x}y", "{}z", "{a}{b}", "a{b", "ünï🚀", strings.Repeat("k", 300)} {
			if got, want := clusterSlot(key), c.Slot(key); got != want {
				t.Errorf("clusterSlot(%q) = %d, CLUSTER KEYSLOT says %d", key, got, want)
			}
		}
	})

	// Two rooms on each master.
	rooms := map[*redistest.Server][]string{}
	for i := 0; len(rooms) < 3 || len(rooms[c.Masters[0]]) < 2 || len(rooms[c.Masters[1]]) < 2 || len(rooms[c.Masters[2]]) < 2; i++ {
		ch := wire.RoomChannel(fmt.Sprint("room-", i))
		m := c.Owner(c.Slot(ch))
		if len(rooms[m]) < 2 {
			rooms[m] = append(rooms[m], ch)
		}
	}
	var all []string
	for _, m := range c.Masters {
		all = append(all, rooms[m]...)
	}

	logs := &rbLogs{}
	opts := RedisBrokerOptions{Routing: RoutingSharded, Logger: newTextLogger(logs)}
	a := newTestRedisBroker(t, app, opts)
	b := newTestRedisBroker(t, app, opts)
	subscribeRecorder(t, a)
	rec, sub := subscribeRecorder(t, b, all...)

	// deliver publishes on ch through A and checks that B gets it.
	deliver := func(t *testing.T, ch, payload string) {
		t.Helper()
		if err := a.Publish(ctx, ch, []byte(payload)); err != nil {
			t.Fatalf("publish %s: %v", ch, err)
		}
		if got := rec.next(); got != (rbMessage{ch, payload}) {
			t.Fatalf("B got %+v, want %s on %s", got, payload, ch)
		}
	}

	t.Run("every shard", func(t *testing.T) {
		// Listen returned: each channel is confirmed on its shard.
		for _, ch := range all {
			if n, err := app.SPublish(ctx, ch, "probe").Result(); err != nil || n != 1 {
				t.Fatalf("SPUBLISH %s right after Listen reached %d subscribers (%v), want 1", ch, n, err)
			}
			if got := rec.next(); got != (rbMessage{ch, "probe"}) {
				t.Fatalf("B got %+v", got)
			}
			deliver(t, ch, "via A")
		}
		deliver(t, wire.ChannelBroadcast, "everyone")
		// One subscriber connection of B per master, holding that master's
		// rooms (and ws:broadcast on its own shard).
		for _, m := range c.Masters {
			want := len(rooms[m])
			if c.Owner(c.Slot(wire.ChannelBroadcast)) == m {
				want++
			}
			if got := shardSubscribers(t, m); !slicesContain(got, want) {
				t.Errorf("master %s: subscriber connections with ssub=%v, want one with %d", m.Addr(), got, want)
			}
		}
	})

	t.Run("resharding", func(t *testing.T) {
		ch := rooms[c.Masters[0]][0]
		slot := c.Slot(ch)
		c.MoveSlot(slot, c.Masters[1])
		// The old owner unsubscribed B; B finds the new owner.
		start := time.Now()
		waitSPublish(t, app, ch, 1)
		waitReady(t, sub)
		t.Logf("slot %d moved: B heard %s again after %v", slot, ch, time.Since(start).Round(time.Millisecond))
		// Only the probe that reached one subscriber got to B.
		if got := rec.next(); got != (rbMessage{ch, "probe"}) {
			t.Fatalf("B got %+v, want the probe on %s", got, ch)
		}
		deliver(t, ch, "after the move")
		for _, other := range all {
			deliver(t, other, "still there")
		}
		if !strings.Contains(logs.String(), "dropped a subscription on its own") {
			t.Errorf("no log of the node's unsubscription:\n%s", logs)
		}
	})

	t.Run("failover", func(t *testing.T) {
		victim := c.Masters[2]
		ch := rooms[victim][0]
		victim.Kill()
		start := time.Now()
		c.WaitAgree() // the replica took over
		waitSPublish(t, app, ch, 1)
		waitReady(t, sub)
		t.Logf("master %s killed: B heard %s on the promoted replica after %v", victim.Addr(), ch, time.Since(start).Round(time.Millisecond))
		if got := rec.next(); got != (rbMessage{ch, "probe"}) {
			t.Fatalf("B got %+v, want the probe on %s", got, ch)
		}
		for _, other := range all {
			deliver(t, other, "after the failover")
		}
		deliver(t, wire.ChannelBroadcast, "everyone, after")
	})
}

// waitSPublish publishes probes on ch until one reaches want subscribers,
// failing the test after shardWait.
func waitSPublish(t *testing.T, app *redis.ClusterClient, ch string, want int64) {
	t.Helper()
	deadline := time.Now().Add(shardWait)
	for {
		n, err := app.SPublish(context.Background(), ch, "probe").Result()
		if err == nil && n == want {
			return
		}
		if err != nil {
			// go-redis reloads its slot map on MOVED, which a dead master
			// never answers: ask for it (the broker does the same)
			app.ReloadState(context.Background())
		}
		if time.Now().After(deadline) {
			t.Fatalf("SPUBLISH %s reached %d subscribers (%v) after %v, want %d", ch, n, err, shardWait, want)
		}
		time.Sleep(20 * time.Millisecond) // the interval of a bounded poll
	}
}

var ssubRE = regexp.MustCompile(` ssub=(\d+) `)

// shardSubscribers returns the ssub count of every connection of m with
// shard subscriptions.
func shardSubscribers(t *testing.T, m *redistest.Server) []int {
	t.Helper()
	list, err := m.Client(t).ClientList(context.Background()).Result()
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, match := range ssubRE.FindAllStringSubmatch(list, -1) {
		if n, _ := strconv.Atoi(match[1]); n > 0 {
			out = append(out, n)
		}
	}
	return out
}

func slicesContain(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// Interest routing with classic pub/sub on a real three-master cluster: the
// subscriber connection listens on one node, and PUBLISH reaches it from any.
// When that node dies (no replica: its slots stay down), the subscription
// moves to another node, and publishes to channels of the dead node's slots
// go to any live node.
func TestRedisBrokerInterestOnCluster(t *testing.T) {
	rbVerifyNone(t)
	// Classic PUBLISH travels between nodes on the cluster bus, whose links
	// are reset (losing what they carry) when a node does not answer a ping
	// within half the node timeout, as can happen on a loaded test machine:
	// a generous timeout (no failover is needed here).
	c := redistest.StartClusterOf(t, redistest.ClusterOptions{Masters: 3, NodeTimeout: 10 * time.Second})
	app := c.Client(t)
	ctx := context.Background()
	logs := &rbLogs{}
	opts := RedisBrokerOptions{Routing: RoutingInterest, Logger: newTextLogger(logs)}
	a := newTestRedisBroker(t, app, opts)
	b := newTestRedisBroker(t, app, opts)
	var rooms []string
	for i := range 12 {
		rooms = append(rooms, wire.RoomChannel(fmt.Sprint("room-", i)))
	}
	rec, sub := subscribeRecorder(t, b, rooms...)
	// In order, per channel and across: one sequential publisher, and a
	// channel's messages always take the node that owns its slot.
	for round := range 3 {
		for _, ch := range rooms {
			if err := a.Publish(ctx, ch, []byte(strconv.Itoa(round))); err != nil {
				t.Fatal(err)
			}
		}
	}
	seen := map[string]int{}
	for range 3 * len(rooms) {
		m := rec.next()
		if want := strconv.Itoa(seen[m.channel]); m.payload != want {
			t.Fatalf("%s: got message %s, want %s", m.channel, m.payload, want)
		}
		seen[m.channel]++
	}

	// B's subscriber node dies.
	var victim *redistest.Server
	for _, m := range c.Masters {
		list, err := m.Client(t).ClientList(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(list, fmt.Sprintf(" sub=%d ", len(rooms)+1)) {
			victim = m
		}
	}
	if victim == nil {
		t.Fatal("B's subscriber connection is on no master")
	}
	victim.Kill()
	waitNotReady(t, sub)
	start := time.Now()
	waitReady(t, sub)
	t.Logf("B's subscriber node killed: B subscribed again elsewhere after %v", time.Since(start).Round(time.Millisecond))
	for _, ch := range rooms {
		if err := a.Publish(ctx, ch, []byte("after")); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]bool{}
	for range rooms {
		var m rbMessage
		select {
		case m = <-rec.ch:
		case <-time.After(rbWait):
			t.Fatalf("B has %d of the %d messages after %v; A: %+v\nlogs:\n%s", len(got), len(rooms), rbWait, a.Stats(), logs)
		}
		if m.payload != "after" || got[m.channel] {
			t.Fatalf("got %+v after the kill (have %v)", m, got)
		}
		got[m.channel] = true
	}
}
