package browserclient_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.uber.org/goleak"

	"github.com/echows/echows/examples/internal/browsertest"
	"github.com/echows/echows/websocket"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// event is one event a client of the test page recorded (see
// testdata/index.html): state, close, connected, queue, error or pong.
type event struct {
	Type string `json:"type"`
	// state
	State    string `json:"state"`
	Previous string `json:"previous"`
	Text     string `json:"text"`
	// close
	Code       int      `json:"code"`
	Reason     string   `json:"reason"`
	Error      string   `json:"error"`
	Message    string   `json:"message"`
	Reconnect  bool     `json:"reconnect"`
	Delay      *float64 `json:"delay"`
	RetryAt    *float64 `json:"retryAt"`
	StatusText string   `json:"statusText"`
	// connected
	ID     string `json:"id"`
	UserID string `json:"userId"`
	// queue
	Pending []string `json:"pending"`
	Added   int      `json:"added"`
	Sent    int      `json:"sent"`
	Dropped int      `json:"dropped"`
	// pong
	Data json.RawMessage `json:"data"`
}

// tab is the test page in a tab of its own.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// openPage opens url (a stack's or a proxy's) in a new browser context.
func openPage(t *testing.T, browser context.Context, url string) tab {
	t.Helper()
	ctx := browsertest.NewTab(t, browser, t.Name())
	browsertest.Do(t, ctx, "open the test page", chromedp.Navigate(url), browsertest.Visible(`body[data-ready="true"]`))
	return tab{t, ctx}
}

// start makes client name with options (a JavaScript object literal) and
// calls its connect().
func (p tab) start(name, options string) {
	p.t.Helper()
	browsertest.Eval[bool](p.t, p.ctx, "start client "+name, fmt.Sprintf("start(%q, %s)", name, options))
}

// js runs a statement on client name, which the page calls c.
func (p tab) js(name, statement string) {
	p.t.Helper()
	browsertest.Eval[any](p.t, p.ctx, statement, fmt.Sprintf("((c) => { %s; return null; })(clients[%q])", statement, name))
}

// next waits for client name's next event of type typ.
func (p tab) next(name, typ string) event {
	p.t.Helper()
	return browsertest.Eval[event](p.t, p.ctx, "wait for "+name+"'s "+typ, fmt.Sprintf("next(%q, %q)", name, typ))
}

// connectResult is how client name's first connect() settled.
type connectResult struct {
	OK      bool   `json:"ok"`
	Name    string `json:"name"`
	Message string `json:"message"`
	Code    int    `json:"code"`
	Error   string `json:"error"`
}

func (p tab) connectResult(name string) connectResult {
	p.t.Helper()
	return browsertest.Eval[connectResult](p.t, p.ctx, "connect() of "+name, fmt.Sprintf("connectResult(%q)", name))
}

func (p tab) states(name string) []string {
	p.t.Helper()
	return browsertest.Eval[[]string](p.t, p.ctx, "states of "+name, fmt.Sprintf("states(%q)", name))
}

// fast is a backoff without jitter, so delays are exact: 20, 40, 80, ...
const fast = `{ minDelay: 20, maxDelay: 200, factor: 2, jitter: 0 }`

// expectClose checks a close event's fields, and that the client is in
// the state they imply.
func expectClose(t *testing.T, got event, code int, reason, message string, reconnect bool) {
	t.Helper()
	if got.Code != code || got.Reason != reason || got.Message != message || got.Reconnect != reconnect || got.StatusText != message {
		t.Fatalf("close: got code %d reason %q message %q reconnect %v statusText %q;\nwant %d %q %q %v (statusText the message)",
			got.Code, got.Reason, got.Message, got.Reconnect, got.StatusText, code, reason, message, reconnect)
	}
	switch {
	case reconnect && (got.State != "reconnecting" || got.Delay == nil || got.RetryAt == nil):
		t.Fatalf("close %d: state %q, delay %v, retryAt %v; want reconnecting with a delay and a time", code, got.State, got.Delay, got.RetryAt)
	case !reconnect && (got.State != "closed" || got.Delay != nil || got.RetryAt != nil):
		t.Fatalf("close %d: state %q, delay %v, retryAt %v; want closed without a retry", code, got.State, got.Delay, got.RetryAt)
	}
}

func delay(e event) float64 {
	if e.Delay == nil {
		return -1
	}
	return *e.Delay
}

// The client after each close code it handles differently, in Chromium,
// against real echows servers whose timeouts are short so that the server
// closes quickly. Every step waits for an event of the page; nothing sleeps.
func TestCloseCodes(t *testing.T) {
	browsertest.Chromium(t) // skips before anything starts
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	browser := browsertest.Start(t, ctx)

	t.Run("4001 authentication timeout: reconnects", func(t *testing.T) {
		s := newStack(t, websocket.Settings{AuthTimeout: 50 * time.Millisecond})
		p := openPage(t, browser, s.url())
		// The first credentials never come: the server closes with 4001.
		p.start("a", `{ reconnect: `+fast+`, credentials: (() => { let n = 0; return () => n++ === 0 ? new Promise(() => {}) : { name: 'ada' }; })() }`)
		closed := p.next("a", "close")
		expectClose(t, closed, 4001, "Authentication timeout", "Authentication took too long", true)
		if delay(closed) != 20 {
			t.Errorf("4001: delay %v, want the first backoff step, 20", delay(closed))
		}
		c := p.next("a", "connected")
		if _, ok := s.server().Client(c.ID); !ok || c.UserID != "ada" {
			t.Fatalf("connected as %+v; the server does not know it", c)
		}
		want := []string{"connecting", "authenticating", "reconnecting", "authenticating", "open"}
		if got := p.states("a"); !slices.Equal(got, want) {
			t.Fatalf("states %q, want %q", got, want)
		}
	})

	t.Run("4002 heartbeat timeout: reconnects", func(t *testing.T) {
		s := newStack(t, websocket.Settings{HeartbeatInterval: 20 * time.Millisecond, HeartbeatTimeout: 60 * time.Millisecond})
		p := openPage(t, browser, s.url())
		// Heartbeats off: the server's sweep finds the client idle.
		p.start("a", `{ reconnect: `+fast+`, heartbeatInterval: 0, credentials: { name: 'ada' } }`)
		first := p.next("a", "connected")
		expectClose(t, p.next("a", "close"), 4002, "Heartbeat timeout", "The server heard nothing from this client for too long", true)
		second := p.next("a", "connected")
		p.js("a", "c.close()")
		if second.ID == first.ID {
			t.Fatalf("reconnected with the same client id %s", first.ID)
		}
	})

	t.Run("4003 credentials refused: stops", func(t *testing.T) {
		s := newStack(t, websocket.Settings{})
		p := openPage(t, browser, s.url())
		p.start("a", `{ reconnect: `+fast+`, credentials: { name: '' } }`)
		if e := p.next("a", "error"); e.Message != "Authentication failed" {
			t.Fatalf("error event %q, want Authentication failed", e.Message)
		}
		closed := p.next("a", "close")
		expectClose(t, closed, 4003, "Authentication failed", "Authentication failed: the server refused the credentials", false)
		if closed.Error != "Authentication failed" {
			t.Errorf("close error %q, want the server's error event", closed.Error)
		}
		r := p.connectResult("a")
		if r.OK || r.Name != "EchowsError" || r.Code != 4003 || r.Message != closed.Message || r.Error != "Authentication failed" {
			t.Fatalf("connect() settled with %+v, want an EchowsError for 4003", r)
		}
		if want := []string{"connecting", "authenticating", "closed"}; !slices.Equal(p.states("a"), want) {
			t.Fatalf("states %q, want %q", p.states("a"), want)
		}
	})

	t.Run("4003 authenticate hook failed: reconnects", func(t *testing.T) {
		s := newStack(t, websocket.Settings{})
		p := openPage(t, browser, s.url())
		// The hook fails on the first attempt (its store is down), not after.
		p.start("a", `{ reconnect: `+fast+`, credentials: (() => { let n = 0; return () => ({ name: 'ada', fail: n++ === 0 }); })() }`)
		closed := p.next("a", "close")
		expectClose(t, closed, 4003, "Authentication failed", "The server could not check the credentials", true)
		if closed.Error != "Authentication error" {
			t.Errorf("close error %q, want Authentication error", closed.Error)
		}
		if c := p.next("a", "connected"); c.UserID != "ada" {
			t.Fatalf("connected as %+v", c)
		}
	})

	t.Run("4004 encryption required: stops", func(t *testing.T) {
		s := newStack(t, websocket.Settings{RequireEncryption: true})
		p := openPage(t, browser, s.url())
		p.start("a", `{ reconnect: `+fast+`, credentials: { name: 'ada' } }`)
		closed := p.next("a", "close")
		expectClose(t, closed, 4004, "Encryption required", "The server requires encryption, which this client does not support", false)
		if closed.Error != "Encryption handshake failed" {
			t.Errorf("close error %q, want Encryption handshake failed", closed.Error)
		}
		if r := p.connectResult("a"); r.OK || r.Code != 4004 {
			t.Fatalf("connect() settled with %+v, want an EchowsError for 4004", r)
		}
	})

	t.Run("1001 server going away: reconnects soon, to the next server, rooms and all", func(t *testing.T) {
		s := newStack(t, websocket.Settings{})
		p := openPage(t, browser, s.url())
		// minDelay 300: the first backoff step would be exactly 300 (no
		// jitter); "soon" is a random moment below it.
		p.start("a", `{ reconnect: { minDelay: 300, maxDelay: 1000, factor: 2, jitter: 0 }, credentials: { name: 'ada' } }`)
		first := p.next("a", "connected")
		p.js("a", "c.join('news'); c.send('ping')")
		if pong := p.next("a", "pong"); !roomsInclude(t, pong, "news") {
			t.Fatalf("before the restart the client is not in news: %s", pong.Data)
		}
		next := s.restart() // the old server shuts down: 1001 to its clients
		closed := p.next("a", "close")
		expectClose(t, closed, 1001, "Server shutting down", "The server is restarting", true)
		if d := delay(closed); d < 0 || d >= 300 {
			t.Errorf("1001: delay %v, want below minDelay (300)", d)
		}
		second := p.next("a", "connected")
		if _, ok := next.Client(second.ID); !ok || second.ID == first.ID {
			t.Fatalf("reconnected as %s (before: %s); the new server does not know it", second.ID, first.ID)
		}
		p.js("a", "c.send('ping')")
		if pong := p.next("a", "pong"); !roomsInclude(t, pong, "news") {
			t.Fatalf("after the restart the client is not in news again: %s", pong.Data)
		}
	})

	t.Run("1006 network lost: reconnects with backoff, sends what was queued", func(t *testing.T) {
		s := newStack(t, websocket.Settings{})
		px := browsertest.StartProxy(t, s.http.Listener.Addr().String())
		p := openPage(t, browser, px.URL()) // page and socket through the proxy
		p.start("a", `{ reconnect: `+fast+`, credentials: { name: 'ada' } }`)
		p.next("a", "connected")

		px.SetDown(true)
		expectClose(t, p.next("a", "close"), 1006, "", "The connection was lost", true)
		p.js("a", "c.send('ping', 'sent while down')")
		if q := p.next("a", "queue"); q.Added != 1 || !slices.Equal(q.Pending, []string{"ping"}) {
			t.Fatalf("queue after a send while down: %+v", q)
		}
		retry := p.next("a", "close") // an attempt while the server is unreachable
		expectClose(t, retry, 1006, "", "Cannot reach the server", true)
		if delay(retry) != 40 {
			t.Errorf("second attempt's delay %v, want the second backoff step, 40", delay(retry))
		}

		px.SetDown(false)
		p.next("a", "connected")
		if q := p.next("a", "queue"); q.Sent != 1 || len(q.Pending) != 0 {
			t.Fatalf("queue after the reconnect: %+v, want the ping sent", q)
		}
		pong := p.next("a", "pong")
		var data struct{ Echo string }
		if err := json.Unmarshal(pong.Data, &data); err != nil || data.Echo != "sent while down" {
			t.Fatalf("pong %s (%v), want the queued ping's data back", pong.Data, err)
		}
	})

	t.Run("1008 too many connections: stops", func(t *testing.T) {
		s := newStack(t, websocket.Settings{MaxConnectionsPerUser: 1})
		p := openPage(t, browser, s.url())
		p.start("a", `{ reconnect: `+fast+`, credentials: { name: 'ada' } }`)
		p.next("a", "connected")
		// a second connection of the same user, past MaxConnectionsPerUser
		p.start("b", `{ reconnect: `+fast+`, credentials: { name: 'ada' } }`)
		expectClose(t, p.next("b", "close"), 1008, "Too many connections",
			"Too many connections for this user: close another tab or window, then connect again", false)
	})

	t.Run("1009 message too big: says so, reconnects", func(t *testing.T) {
		// Far larger than the server reads: closing the socket with the rest
		// of it unread would send a TCP reset that can overtake the close
		// frame (the browser then reports 1006), so the server reads and
		// drops the rest first.
		s := newStack(t, websocket.Settings{MaxPayloadLength: 100})
		p := openPage(t, browser, s.url())
		p.start("a", `{ reconnect: `+fast+`, credentials: { name: 'ada' } }`)
		first := p.next("a", "connected")
		p.js("a", "c.send('chat', 'x'.repeat(64 * 1024))")
		expectClose(t, p.next("a", "close"), 1009, "Message too big", "A message was larger than the server accepts and was not delivered", true)
		if second := p.next("a", "connected"); second.ID == first.ID {
			t.Fatalf("reconnected with the same client id %s", first.ID)
		}
	})

	t.Run("1013 try again later: reconnects after a longer backoff", func(t *testing.T) {
		s := newStack(t, websocket.Settings{})
		p := openPage(t, browser, s.url())
		p.start("a", `{ reconnect: `+fast+`, credentials: { name: 'ada' } }`)
		c := p.next("a", "connected")
		// What a backpressured client gets with CloseOnBackpressureLimit.
		if err := s.server().Disconnect(c.ID, 1013, "Backpressure limit exceeded"); err != nil {
			t.Fatal(err)
		}
		closed := p.next("a", "close")
		expectClose(t, closed, 1013, "Backpressure limit exceeded", "The server is busy", true)
		if delay(closed) != 80 {
			t.Errorf("1013: delay %v, want 4 × minDelay, 80", delay(closed))
		}
		p.next("a", "connected")
	})
}

// roomsInclude reports whether a pong lists room among the client's rooms.
func roomsInclude(t *testing.T, pong event, room string) bool {
	t.Helper()
	var data struct{ Rooms []string }
	if err := json.Unmarshal(pong.Data, &data); err != nil {
		t.Fatalf("pong %s: %v", pong.Data, err)
	}
	return slices.Contains(data.Rooms, room)
}
