package prommetrics_test

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/echows/echows/internal/wstest"
	"github.com/echows/echows/prommetrics"
	"github.com/echows/echows/websocket"
	"github.com/echows/echows/websocket/wire"
)

// families are every family the collector exports, each with one series
// at least from the first scrape on.
var families = []string{
	"echows_connections", "echows_connects_total", "echows_disconnects_total",
	"echows_authentications_total", "echows_users", "echows_rooms",
	"echows_messages_received_total", "echows_messages_sent_total", "echows_deliveries_total",
	"echows_socket_writes_total", "echows_socket_written_bytes_total", "echows_delivery_latency_seconds",
	"echows_backpressure_drops_total", "echows_backpressure_episodes_total", "echows_backpressure_closes_total",
	"echows_limit_refusals_total", "echows_invalid_utf8_repaired_total",
	"echows_broker_publishes_total", "echows_broker_publish_errors_total", "echows_broker_received_total",
	"echows_broker_malformed_total", "echows_broker_own_skipped_total", "echows_broker_listen_errors_total", "echows_broker_unwanted_total", "echows_broker_inbox_depth",
	"echows_broker_subscriptions_live", "echows_broker_reconnects_total",
	"echows_broker_outbox_messages", "echows_broker_outbox_bytes", "echows_broker_outbox_queued_total",
	"echows_broker_outbox_replayed_total", "echows_broker_outbox_dropped_total",
	"echows_probe_sent_total", "echows_probe_returned_total", "echows_probe_overdue",
	"echows_probe_round_trip_seconds", "echows_ready",
	"echows_hook_duration_seconds", "echows_hook_errors_total", "echows_hook_panics_total",
}

func TestEveryFamilyIsExportedFromTheStart(t *testing.T) {
	n := startNode(t, websocket.Config{})
	s := n.scrape()
	for _, f := range families {
		if s[f] == nil || len(s[f].GetMetric()) == 0 {
			t.Errorf("family %s missing from the first scrape", f)
		}
	}
	for name := range s {
		if !slices.Contains(families, name) {
			t.Errorf("family %s is exported but not listed in the test (and the docs?)", name)
		}
	}
	if v := s.value(t, "echows_ready"); v != 1 {
		t.Errorf("echows_ready %v, want 1 once configured", v)
	}
	if v := s.value(t, "echows_broker_subscriptions_live"); v != 1 {
		t.Errorf("echows_broker_subscriptions_live %v, want 1 on the in-process broker", v)
	}
}

// The collector passes Prometheus' own lint (names, units, help) and
// describes exactly what it collects.
func TestCollectorLint(t *testing.T) {
	srv, err := websocket.New(websocket.Config{Hooks: websocket.Hooks{Authenticate: testAuth}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	c := prommetrics.NewCollector(srv)
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
	reg := prometheus.NewPedanticRegistry() // checks every collected metric against Describe
	reg.MustRegister(c)
	if _, err := reg.Gather(); err != nil {
		t.Fatalf("pedantic gather: %v", err)
	}
}

func TestConnectionsAndAuthentication(t *testing.T) {
	n := startNode(t, websocket.Config{})

	alice := wstest.Dial(t, n.ws)
	alice.Authenticate("alice")
	s := n.scrape()
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"echows_connects_total", nil, 1},
		{"echows_connections", []string{"state", "authenticated"}, 1},
		{"echows_connections", []string{"state", "unauthorized"}, 0},
		{"echows_authentications_total", []string{"result", "ok"}, 1},
		{"echows_users", nil, 1},
		{"echows_rooms", nil, 3}, // its own id, ws-default, ws-notification
		{"echows_hook_duration_seconds", []string{"hook", "Authenticate"}, 1},
	} {
		if got := s.value(t, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}

	// Connected, not authenticated yet.
	idle := wstest.Dial(t, n.ws)
	n.waitMetric("an unauthorized connection", "echows_connections", equals(1), "state", "unauthorized")

	// Rejected credentials and a failing hook: 4003 each, counted apart.
	for _, tc := range []struct{ token, result string }{{"reject", "rejected"}, {"error", "error"}} {
		c := wstest.Dial(t, n.ws)
		c.Send(wire.EventAuthenticate, map[string]string{"token": tc.token})
		c.ExpectClose(wire.CloseAuthFailed, wire.ReasonAuthFailed)
		n.waitMetric("a "+tc.result+" authentication", "echows_authentications_total", equals(1), "result", tc.result)
	}
	s = n.waitMetric("the two 4003 disconnects", "echows_disconnects_total", equals(2), "code", "4003")
	if v := s.value(t, "echows_hook_errors_total", "hook", "Authenticate"); v != 1 {
		t.Errorf("Authenticate errors %v, want 1 (a rejection is not an error)", v)
	}

	// The idle client leaves without a close frame: 1006.
	idle.Close()
	n.waitMetric("the idle client's disconnect", "echows_disconnects_total", equals(1), "code", "1006")
	s = n.waitMetric("no unauthorized connection left", "echows_connections", equals(0), "state", "unauthorized")
	if v := s.value(t, "echows_connects_total"); v != 4 {
		t.Errorf("connects %v, want 4", v)
	}
}

// A client whose Authenticate hook runs is "authenticating" until it ends.
func TestAuthenticatingState(t *testing.T) {
	release := make(chan struct{})
	n := startNode(t, websocket.Config{Hooks: websocket.Hooks{Authenticate: func(ctx context.Context, req websocket.AuthRequest) (*websocket.Identity, error) {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return testAuth(ctx, req)
	}}})
	c := wstest.Dial(t, n.ws)
	c.Send(wire.EventAuthenticate, map[string]string{"token": "slow"})
	s := n.waitMetric("the authentication running", "echows_connections", equals(1), "state", "authenticating")
	if v := s.value(t, "echows_connections", "state", "unauthorized"); v != 0 {
		t.Errorf("unauthorized %v while authenticating", v)
	}
	close(release)
	c.Expect(wire.EventConnected)
	s = n.scrape()
	if a, b := s.value(t, "echows_connections", "state", "authenticating"), s.value(t, "echows_connections", "state", "authenticated"); a != 0 || b != 1 {
		t.Errorf("authenticating %v authenticated %v, want 0 1", a, b)
	}
}

func TestAuthenticationTimeoutAndPerUserRefusal(t *testing.T) {
	n := startNode(t, websocket.Config{Settings: websocket.Settings{AuthTimeout: 300 * time.Millisecond, MaxConnectionsPerUser: 1}})
	late := wstest.Dial(t, n.ws)
	late.ExpectClose(wire.CloseAuthTimeout, wire.ReasonAuthTimeout)
	n.waitMetric("the timeout counted", "echows_authentications_total", equals(1), "result", "timeout")
	n.waitMetric("its 4001", "echows_disconnects_total", equals(1), "code", "4001")

	first := wstest.Dial(t, n.ws)
	first.Authenticate("bob")
	second := wstest.Dial(t, n.ws)
	second.Send(wire.EventAuthenticate, map[string]string{"token": "bob"})
	second.ExpectClose(wire.ClosePolicy, wire.ReasonTooManyConns)
	s := n.waitMetric("the refusal", "echows_authentications_total", equals(1), "result", "refused")
	if v := s.value(t, "echows_limit_refusals_total", "limit", "connections_per_user"); v != 1 {
		t.Errorf("connections_per_user refusals %v, want 1", v)
	}
	n.waitMetric("its 1008", "echows_disconnects_total", equals(1), "code", "1008")
}

func TestMessagesReceivedAndHooks(t *testing.T) {
	n := startNode(t, websocket.Config{Hooks: websocket.Hooks{
		ValidateRooms: allowRooms,
		OnMessage: func(_ context.Context, _ *websocket.Client, msg websocket.Message) error {
			switch msg.Event {
			case "boom":
				panic("boom")
			case "fail":
				return fmt.Errorf("no")
			}
			return nil
		},
	}})
	c := wstest.Dial(t, n.ws)
	c.Authenticate("carol") // system 1
	c.Send("hello", 1)      // custom
	c.Send("boom", nil)     // custom, panics
	c.Send("fail", nil)     // custom, fails
	c.Send(wire.EventHeartbeat, nil)
	c.Send(wire.EventJoin, map[string][]string{"rooms": {"lobby"}})
	c.Send("", nil) // no event: invalid
	// not JSON: invalid, and answered in order, so everything before was handled
	if err := rawText(c, "not json"); err != nil {
		t.Fatal(err)
	}
	c.Expect(wire.EventError)

	s := n.scrape()
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"echows_messages_received_total", []string{"kind", "system"}, 3},
		{"echows_messages_received_total", []string{"kind", "custom"}, 3},
		{"echows_messages_received_total", []string{"kind", "invalid"}, 2},
		{"echows_hook_duration_seconds", []string{"hook", "OnMessage"}, 3},
		{"echows_hook_errors_total", []string{"hook", "OnMessage"}, 2},
		{"echows_hook_panics_total", []string{"hook", "OnMessage"}, 1},
		{"echows_hook_duration_seconds", []string{"hook", "ValidateRooms"}, 1},
		{"echows_hook_panics_total", []string{"hook", "ValidateRooms"}, 0},
		{"echows_rooms", nil, 4},
	} {
		if got := s.value(t, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
}

// rawText sends s as a text frame, bypassing the JSON encoding of wstest.
func rawText(c *wstest.Client, s string) error { return c.SendRaw(gws.TextMessage, []byte(s)) }

func TestSentDeliveriesWritesAndLatency(t *testing.T) {
	n := startNode(t, websocket.Config{})
	a, b := wstest.Dial(t, n.ws), wstest.Dial(t, n.ws)
	a.Authenticate("a")
	b.Authenticate("b")
	s0 := n.scrape()

	// One room message to two members: one message, two deliveries.
	if err := n.srv.Local().ToRoom(wire.RoomDefault, "news", "x"); err != nil {
		t.Fatal(err)
	}
	a.ExpectData("news", `"x"`)
	b.ExpectData("news", `"x"`)
	s := n.scrape()
	if d := s.value(t, "echows_messages_sent_total") - s0.value(t, "echows_messages_sent_total"); d != 1 {
		t.Errorf("messages sent +%v, want +1", d)
	}
	if d := s.value(t, "echows_deliveries_total") - s0.value(t, "echows_deliveries_total"); d != 2 {
		t.Errorf("deliveries +%v, want +2", d)
	}
	// A write is counted once the call returned, which may be after the
	// client read what it wrote.
	frame := len(`{"event":"news","data":"x"}`) + 2
	bytes0, writes0 := s0.value(t, "echows_socket_written_bytes_total"), s0.value(t, "echows_socket_writes_total")
	n.waitMetric("both frames' bytes counted", "echows_socket_written_bytes_total", atLeast(bytes0+float64(2*frame)))
	n.waitMetric("both write calls counted", "echows_socket_writes_total", atLeast(writes0+2))

	// Of any DeliverySampleEvery messages in a row, one is timed, at each
	// of its recipients' writes.
	timed := s.value(t, "echows_delivery_latency_seconds")
	for i := range websocket.DeliverySampleEvery {
		if err := n.srv.Local().ToRoom(wire.RoomDefault, "tick", i); err != nil {
			t.Fatal(err)
		}
		a.Expect("tick")
		b.Expect("tick")
	}
	s = n.scrape()
	if v := s.value(t, "echows_delivery_latency_seconds") - timed; v != 2 {
		t.Errorf("delivery latency observations %v, want 2 (one message of %d, two recipients)", v, websocket.DeliverySampleEvery)
	}
	checkHistogram(t, s, "echows_delivery_latency_seconds")
}

// checkHistogram checks that the buckets of the (unlabelled) histogram
// name are cumulative, in seconds from 100 µs to 10 s, and that the count
// and sum agree with them.
func checkHistogram(t *testing.T, s scrape, name string) {
	t.Helper()
	h := s[name].GetMetric()[0].GetHistogram()
	bs := h.GetBucket()
	if len(bs) != 17 || bs[0].GetUpperBound() != 0.0001 || bs[15].GetUpperBound() != 10 || !math.IsInf(bs[16].GetUpperBound(), 1) {
		t.Fatalf("%s buckets %v", name, bs)
	}
	for i := 1; i < len(bs); i++ {
		if bs[i].GetCumulativeCount() < bs[i-1].GetCumulativeCount() {
			t.Fatalf("%s buckets are not cumulative: %v", name, bs)
		}
	}
	if inf := bs[16].GetCumulativeCount(); inf != h.GetSampleCount() || inf == 0 {
		t.Fatalf("%s: +Inf bucket %d, count %d", name, inf, h.GetSampleCount())
	}
	if h.GetSampleSum() <= 0 {
		t.Fatalf("%s: sum %v", name, h.GetSampleSum())
	}
}

func TestDisconnectCodesAndPayloadLimit(t *testing.T) {
	n := startNode(t, websocket.Config{})

	// The peer closes normally: 1000.
	conn, _, err := gws.DefaultDialer.Dial(n.ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.WriteMessage(gws.CloseMessage, gws.FormatCloseMessage(gws.CloseNormalClosure, "bye"))
	_, _, _ = conn.ReadMessage() // the server's answer
	conn.Close()
	n.waitMetric("the normal close", "echows_disconnects_total", equals(1), "code", "1000")

	// A message over the limit before authentication (16 KiB): 1009.
	big := wstest.Dial(t, n.ws)
	if err := big.SendRaw(gws.TextMessage, []byte(strings.Repeat("x", 17<<10))); err != nil {
		t.Fatal(err)
	}
	big.ExpectClose(gws.CloseMessageTooBig, wire.ReasonMessageTooBig)
	s := n.waitMetric("the 1009", "echows_disconnects_total", equals(1), "code", "1009")
	if v := s.value(t, "echows_limit_refusals_total", "limit", "payload"); v != 1 {
		t.Errorf("payload refusals %v, want 1", v)
	}

	// The app closes a client with a code of its own: counted as other.
	c := wstest.Dial(t, n.ws)
	id := c.Authenticate("dave").ID
	if err := n.srv.Disconnect(id, 4321, "custom"); err != nil {
		t.Fatal(err)
	}
	c.ExpectClose(4321, "custom")
	n.waitMetric("the app's code", "echows_disconnects_total", equals(1), "code", "other")

	// Shutdown closes with 1001.
	d := wstest.Dial(t, n.ws)
	d.Authenticate("erin")
	closed := d.AwaitClose()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := n.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if got := wstest.Wait(t, closed, "the 1001"); got.Code != wire.CloseGoingAway {
		t.Fatalf("closed with %+v", got)
	}
	s = n.scrape()
	if v := s.value(t, "echows_disconnects_total", "code", "1001"); v != 1 {
		t.Errorf("1001 disconnects %v, want 1", v)
	}
	if v := s.value(t, "echows_ready"); v != 0 {
		t.Errorf("echows_ready %v after Shutdown, want 0", v)
	}
}

func TestMaxConnectionsRefusal(t *testing.T) {
	n := startNode(t, websocket.Config{Settings: websocket.Settings{MaxConnections: 1}})
	wstest.Dial(t, n.ws)
	_, resp, err := wstest.TryDial(n.ws)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("second dial: %v (%v), want 503", err, resp)
	}
	// The refusal is counted before the 503 is written; the first
	// connection's connect after its 101, in the server's handler, which
	// a client that got the 101 can overtake.
	s := n.waitMetric("the first connection's connect", "echows_connects_total", equals(1))
	if v := s.value(t, "echows_limit_refusals_total", "limit", "connections"); v != 1 {
		t.Errorf("connections refusals %v, want 1", v)
	}
	if v := s.value(t, "echows_connects_total"); v != 1 {
		t.Errorf("connects %v, want 1", v)
	}
}

// A client that reads nothing: its messages are dropped once it is over
// BackpressureLimit, one episode counted; with CloseOnBackpressureLimit it
// is closed with 1013.
func TestBackpressureDropsAndCloses(t *testing.T) {
	for _, closeIt := range []bool{false, true} {
		t.Run(fmt.Sprintf("close=%v", closeIt), func(t *testing.T) {
			n := startNode(t, websocket.Config{Settings: websocket.Settings{
				BackpressureLimit: 64 << 10, CloseOnBackpressureLimit: closeIt, WriteTimeout: time.Minute,
			}})
			conn, _, err := gws.DefaultDialer.Dial(n.ws, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.NetConn().(*net.TCPConn).SetReadBuffer(4096)
			if err := conn.WriteMessage(gws.TextMessage, []byte(`{"event":"authenticate","data":{"token":"stuck"}}`)); err != nil {
				t.Fatal(err)
			}
			if _, _, err := conn.ReadMessage(); err != nil { // connected; never read again
				t.Fatal(err)
			}
			payload := strings.Repeat("x", 16<<10)
			deadline := time.Now().Add(waitTimeout)
			for n.srv.Stats().Dropped == 0 {
				if time.Now().After(deadline) {
					t.Fatal("no message dropped")
				}
				_ = n.srv.Local().ToUser("stuck", "big", payload)
			}
			s := n.scrape()
			if v := s.value(t, "echows_backpressure_drops_total"); v < 1 {
				t.Errorf("drops %v", v)
			}
			if v := s.value(t, "echows_backpressure_episodes_total"); v != 1 {
				t.Errorf("episodes %v, want 1", v)
			}
			if closeIt {
				n.waitMetric("the 1013", "echows_disconnects_total", equals(1), "code", "1013")
				if v := s.value(t, "echows_backpressure_closes_total"); v != 1 {
					t.Errorf("backpressure closes %v, want 1", v)
				}
			} else if v := s.value(t, "echows_backpressure_closes_total"); v != 0 {
				t.Errorf("backpressure closes %v, want 0", v)
			}
		})
	}
}

// No label takes a client id, a user id or a room: 1,000 clients of 1,000
// distinct users, each in a room of its own, add no series.
func TestSeriesDoNotGrowWithClientsUsersOrRooms(t *testing.T) {
	n := startNode(t, websocket.Config{Hooks: websocket.Hooks{ValidateRooms: allowRooms}})
	before := n.scrape().series()

	const clients = 1000
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	conns := make(chan *gws.Conn, clients)
	sem := make(chan struct{}, 32)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			conn, err := joinAs(n.ws, fmt.Sprintf("user-%d", i), fmt.Sprintf("room-%d", i))
			if err != nil {
				errs <- err
				return
			}
			conns <- conn
		}()
	}
	wg.Wait()
	close(errs)
	close(conns)
	defer func() {
		for c := range conns {
			c.Close()
		}
	}()
	for err := range errs {
		t.Fatal(err)
	}
	s := n.waitMetric("every client in its room", "echows_rooms", equals(2*clients+2)) // own ids, rooms, 2 default
	if v := s.value(t, "echows_users"); v != clients {
		t.Fatalf("users %v, want %d", v, clients)
	}
	if after := s.series(); !slices.Equal(before, after) {
		t.Fatalf("the series changed with %d clients, users and rooms:\nbefore %d: %v\nafter %d: %v", clients, len(before), before, len(after), after)
	}
}

// joinAs connects, authenticates as user, joins room and waits for the
// server to have handled the join (an invalid frame is answered in order).
func joinAs(url, user, room string) (*gws.Conn, error) {
	conn, _, err := gws.DefaultDialer.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadDeadline(time.Now().Add(waitTimeout))
	steps := []struct{ send, want string }{
		{fmt.Sprintf(`{"event":"authenticate","data":{"token":%q}}`, user), wire.EventConnected},
		{fmt.Sprintf(`{"event":"join","data":{"rooms":[%q]}}`, room), ""},
		{`not json`, wire.EventError},
	}
	for _, st := range steps {
		if err := conn.WriteMessage(gws.TextMessage, []byte(st.send)); err != nil {
			conn.Close()
			return nil, err
		}
		if st.want == "" {
			continue
		}
		_, b, err := conn.ReadMessage()
		if err != nil || !strings.Contains(string(b), `"event":"`+st.want+`"`) {
			conn.Close()
			return nil, fmt.Errorf("%s: got %s (%v), want %s", user, b, err, st.want)
		}
	}
	return conn, nil
}
