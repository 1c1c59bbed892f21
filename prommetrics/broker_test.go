package prommetrics_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/emitter"
	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/internal/wstest"
	"github.com/echows/echows/websocket"
)

// redisNode starts a server on a RedisBroker to addr, checking its
// connection every 100 ms and probing after 200 ms of quiet.
func redisNode(t *testing.T, addr string) *node {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rc.Close() })
	b, err := websocket.NewRedisBroker(rc, websocket.RedisBrokerOptions{Logger: quietLogger(), HealthInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() }) // after the server's Shutdown (cleanups run last first)
	return startNode(t, websocket.Config{
		Settings: websocket.Settings{ProbeInterval: 200 * time.Millisecond, ReadyTimeout: waitTimeout},
		Broker:   b,
	})
}

// Redis stopped and restarted: the subscriptions gauge and readiness go
// down and come back by themselves, the reconnect is counted, and the
// probe's round trips are recorded while the broker is quiet.
func TestRedisOutage(t *testing.T) {
	rs := redistest.Start(t)
	n := redisNode(t, rs.Addr())
	c := wstest.Dial(t, n.ws)
	c.Authenticate("alice")

	s := n.waitMetric("a probe's round trip", "echows_probe_round_trip_seconds", atLeast(1))
	for _, tc := range []struct {
		name string
		want float64
	}{{"echows_ready", 1}, {"echows_broker_subscriptions_live", 1}, {"echows_broker_reconnects_total", 0}, {"echows_probe_overdue", 0}} {
		if v := s.value(t, tc.name); v != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, v, tc.want)
		}
	}
	checkHistogram(t, s, "echows_probe_round_trip_seconds")
	if v := s.value(t, "echows_probe_returned_total"); v < 1 {
		t.Errorf("probes returned %v", v)
	}
	if v := s.value(t, "echows_broker_received_total"); v != 0 {
		t.Errorf("broker received %v: probes are not envelopes for clients", v)
	}
	if body := n.waitStatus("ready", "/readyz", http.StatusOK); body != "ready\n" {
		t.Errorf("/readyz body %q", body)
	}
	// The server's own envelopes come back from Redis (on a channel it
	// listens to: alice's user), and are skipped.
	if err := n.srv.ToUser(context.Background(), "alice", "e", 1); err != nil {
		t.Fatal(err)
	}
	c.ExpectData("e", "1")
	s = n.waitMetric("the own envelope skipped", "echows_broker_own_skipped_total", equals(1))
	if v := s.value(t, "echows_broker_publishes_total"); v != 1 {
		t.Errorf("publishes %v, want 1 (probes are not counted)", v)
	}

	rs.Stop()
	n.waitMetric("the subscriptions down", "echows_broker_subscriptions_live", equals(0))
	body := n.waitStatus("not ready", "/readyz", http.StatusServiceUnavailable)
	if !strings.Contains(body, "not ready") {
		t.Errorf("/readyz body %q", body)
	}
	if status, _ := n.get("/livez"); status != http.StatusOK {
		t.Errorf("/livez %d while Redis is down: liveness must not depend on it", status)
	}
	// Local delivery goes on meanwhile; the publish waits in the outbox.
	if err := n.srv.ToUser(context.Background(), "alice", "local", 1); err != nil {
		t.Errorf("ToUser with Redis down: %v, want the publish queued in the outbox", err)
	}
	c.ExpectData("local", "1")
	s = n.scrape()
	// (the delivery probes wait there too)
	if v := s.value(t, "echows_broker_outbox_messages"); v < 1 {
		t.Errorf("outbox holds %v messages, want at least 1", v)
	}
	if v := s.value(t, "echows_broker_outbox_queued_total"); v < 1 {
		t.Errorf("outbox queued %v, want at least 1", v)
	}

	rs.Restart()
	n.waitMetric("the subscriptions back", "echows_broker_subscriptions_live", equals(1))
	n.waitMetric("the reconnect counted", "echows_broker_reconnects_total", equals(1))
	n.waitMetric("the outbox replayed", "echows_broker_outbox_replayed_total", atLeast(1))
	n.waitMetric("the outbox empty", "echows_broker_outbox_messages", equals(0))
	n.waitStatus("ready again", "/readyz", http.StatusOK)
	n.waitMetric("ready again", "echows_ready", equals(1))

	// And cross-instance delivery works again: an emitter reaches alice.
	em := emitter.New(rs.Client(t))
	defer em.Close()
	if err := em.ToUser(context.Background(), "alice", "again", 2); err != nil {
		t.Fatal(err)
	}
	c.ExpectData("again", "2")
	if v := n.scrape().value(t, "echows_broker_received_total"); v != 1 {
		t.Errorf("broker received %v, want 1", v)
	}
}

// A proxy between the broker and Redis swallows every byte without closing
// anything: readiness fails within a bounded time, and comes back once the
// path carries traffic again.
func TestStalledPathFailsReadiness(t *testing.T) {
	rs := redistest.Start(t)
	proxy := redistest.StartProxy(t, rs.Addr())
	n := redisNode(t, proxy.Addr())
	n.waitStatus("ready", "/readyz", http.StatusOK)
	n.waitMetric("a probe's round trip", "echows_probe_round_trip_seconds", atLeast(1))

	proxy.Stall()
	n.waitStatus("not ready behind the stalled proxy", "/readyz", http.StatusServiceUnavailable)
	n.waitMetric("ready 0", "echows_ready", equals(0))

	proxy.Resume()
	n.waitStatus("ready once the path works", "/readyz", http.StatusOK)
	s := n.waitMetric("the subscriptions back", "echows_broker_subscriptions_live", equals(1))
	if v := s.value(t, "echows_broker_reconnects_total"); v < 1 {
		t.Errorf("reconnects %v", v)
	}
}
