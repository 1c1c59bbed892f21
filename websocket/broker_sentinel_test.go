package websocket

import (
	"context"
	"testing"
	"time"

	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/websocket/wire"
)

// failoverWait bounds how long cross-instance delivery may take to come back
// after the master is killed. It is a guard, not a measure: the test logs
// how long recovery took.
const failoverWait = 30 * time.Second

// A real Sentinel failover: the master is killed (SIGKILL: no goodbye to
// anyone), Sentinel promotes the replica, and both brokers follow it.
// Instance A publishes to a room at a steady 50 messages a second, instance
// B listens to it: B's interests are subscribed again on the new master, and
// every message reaches B, once, in order.
func TestRedisBrokerSentinelFailover(t *testing.T) {
	forRoutings(t, rbRoutings, func(t *testing.T, routing RedisRouting) {
		rbVerifyNone(t)
		f := redistest.StartFailover(t, "echows", 1)
		app := f.Client(t)
		logs := &rbLogs{}
		opts := RedisBrokerOptions{Routing: routing, Logger: newTextLogger(logs)}
		a := newTestRedisBroker(t, app, opts)
		b := newTestRedisBroker(t, app, opts)
		room, user := wire.RoomChannel("lobby"), wire.UserChannel("u")
		subscribeRecorder(t, a)
		rec, sub := subscribeRecorder(t, b, room, user)

		pub := startPublisher(t, a, room)
		seq := &sequence{rec: rec, channel: room, logs: logs}
		seq.receiveUpTo(t, 10)
		old := f.KillMaster()
		killed := time.Now()
		newMaster := f.WaitFailover(old)
		t.Logf("Sentinel promoted %s %v after the kill", newMaster.Addr(), time.Since(killed).Round(time.Millisecond))

		// Delivery comes back: B gets a message published after the
		// failover, and everything before it.
		after := pub.count() + 1
		pub.waitCount(t, after)
		guard := time.AfterFunc(failoverWait-time.Since(killed), func() {
			t.Errorf("B has not received message %d %v after the kill (guard)", after-1, failoverWait)
		})
		t.Cleanup(func() { guard.Stop() })
		seq.receiveUpTo(t, after)
		guard.Stop()
		t.Logf("B received message %d (published after the failover) %v after the kill", after-1, time.Since(killed).Round(time.Millisecond))

		// B is ready, and its interests are all on the new master (A's
		// and B's ws:broadcast; with RoutingPatterns, their patterns).
		waitReady(t, sub)
		nm := newMaster.Client(t)
		want := map[string]int64{wire.ChannelBroadcast: 2, room: 1, user: 1}
		if routing == RoutingPatterns {
			want[room], want[user] = 0, 0
			if n, err := nm.PubSubNumPat(context.Background()).Result(); err != nil || n != 3 {
				t.Errorf("new master: %d patterns subscribed (%v), want the 3", n, err)
			}
		}
		for ch, n := range numSub(t, nm, wire.ChannelBroadcast, room, user) {
			if n != want[ch] {
				t.Errorf("new master: %s has %d subscribers, want %d", ch, n, want[ch])
			}
		}
		pub.Stop()
		seq.receiveUpTo(t, pub.count())
		if err := pub.err(); err != nil {
			t.Fatalf("a Publish failed: %v", err)
		}
		t.Logf("A's outbox: %+v", a.Stats())
	})
}
