package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/websocket/wire"
)

// ---------------------------------------------------------------------------
// What upstream's emitter puts on Redis, and how echows' wire package reads it

// TestUpstreamEmitterEnvelopes runs upstream's WebSocketEmitter and checks
// every envelope it publishes byte for byte (channel and payload), then that
// wire.DecodeEnvelope reads each one and wire.Envelope.Encode writes it back
// as upstream does.
func TestUpstreamEmitterEnvelopes(t *testing.T) {
	start(t)
	rs := redistest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub := rs.Client(t).PSubscribe(ctx, "ws:*")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil { // the psubscribe confirmation
		t.Fatalf("psubscribe: %v", err)
	}

	cases := []struct {
		op      op
		channel string
		payload string
		// encodeDiff says why wire.Envelope.Encode may not give the same
		// bytes (the JSON is still equal); "" means it must.
		encodeDiff string
	}{
		{toClient("c-1", "e-client", `{"a":1,"b":"x"}`), "ws:client:c-1",
			`{"serverId":"emitter","type":"client","target":"c-1","event":"e-client","data":{"a":1,"b":"x"}}`, ""},
		{toUser("u-1", "e-user", `[1,2]`), "ws:user:u-1",
			`{"serverId":"emitter","type":"user","target":"u-1","event":"e-user","data":[1,2]}`, ""},
		{toRoom("r-1", "e-room", `{"k":null}`, "c-1", "c-2"), "ws:room:r-1",
			`{"serverId":"emitter","type":"room","target":"r-1","event":"e-room","data":{"k":null},"exclude":["c-1","c-2"]}`, ""},
		{toRoom("r-2", "e-room", `"s"`), "ws:room:r-2", // exclude left out: no key
			`{"serverId":"emitter","type":"room","target":"r-2","event":"e-room","data":"s"}`, ""},
		{op{Op: "toRoom", Room: "r-3", Event: "e-room", Data: json.RawMessage(`1`), Exclude: []string{}}, "ws:room:r-3",
			`{"serverId":"emitter","type":"room","target":"r-3","event":"e-room","data":1,"exclude":[]}`,
			"an explicitly empty exclude is sent as [] by upstream; Encode leaves it out (same meaning: upstream tests exclude?.length)"},
		{broadcast("e-bc", `{"z":true}`), "ws:broadcast", // no target key
			`{"serverId":"emitter","type":"broadcast","event":"e-bc","data":{"z":true}}`, ""},
		{op{Op: "toClient", ClientID: "c-1", Event: "e-nodata"}, "ws:client:c-1", // data undefined: no key
			`{"serverId":"emitter","type":"client","target":"c-1","event":"e-nodata"}`,
			`upstream leaves out undefined data; Encode writes "data":null`},
		{broadcast("e-null", `null`), "ws:broadcast",
			`{"serverId":"emitter","type":"broadcast","event":"e-null","data":null}`, ""},
		{toRoom("r-4", "e-text", `{"u":"é<>&\u2028\u0001/"}`), "ws:room:r-4",
			"{\"serverId\":\"emitter\",\"type\":\"room\",\"target\":\"r-4\",\"event\":\"e-text\",\"data\":{\"u\":\"é<>&\u2028\\u0001/\"}}",
			`JSON.stringify writes <, >, & and U+2028 raw; encoding/json escapes them (\u003c ...)`},
	}
	ops := make([]op, len(cases))
	for i, c := range cases {
		ops[i] = c.op
	}
	runUpstreamEmitter(t, rs.Addr(), ops)

	for i, c := range cases {
		rctx, rcancel := context.WithTimeout(ctx, frameTimeout)
		msg, err := sub.ReceiveMessage(rctx)
		rcancel()
		if err != nil {
			t.Fatalf("envelope %d (%s): %v", i+1, c.op.Op, err)
		}
		if msg.Channel != c.channel || msg.Payload != c.payload {
			t.Errorf("envelope %d (%s):\n got  %s %s\n want %s %s", i+1, c.op.Op, msg.Channel, msg.Payload, c.channel, c.payload)
			continue
		}
		env, err := wire.DecodeEnvelope([]byte(msg.Payload))
		if err != nil {
			t.Errorf("envelope %d: wire.DecodeEnvelope(%s): %v", i+1, msg.Payload, err)
			continue
		}
		if env.ServerID != wire.EmitterServerID || env.Channel() != c.channel || env.Event != c.op.Event {
			t.Errorf("envelope %d: decoded %+v", i+1, env)
		}
		if !slices.Equal(env.Exclude, c.op.Exclude) {
			t.Errorf("envelope %d: exclude %q, want %q", i+1, env.Exclude, c.op.Exclude)
		}
		enc, err := env.Encode()
		if err != nil {
			t.Errorf("envelope %d: Encode: %v", i+1, err)
			continue
		}
		switch {
		case string(enc) == c.payload:
			if c.encodeDiff != "" {
				t.Logf("envelope %d: Encode now matches upstream byte for byte (note %q is out of date)", i+1, c.encodeDiff)
			}
		case c.encodeDiff == "":
			t.Errorf("envelope %d: wire.Envelope.Encode differs from upstream:\n got  %s\n want %s", i+1, enc, c.payload)
		default:
			if !envelopeEquiv(enc, []byte(c.payload)) {
				t.Errorf("envelope %d: Encode is not even JSON-equal to upstream:\n got  %s\n want %s", i+1, enc, c.payload)
			}
			t.Logf("envelope %d: Encode differs from upstream in bytes only: %s\n\tupstream %s\n\techows   %s", i+1, c.encodeDiff, c.payload, enc)
		}
	}
}

// envelopeEquiv reports whether two envelopes hold the same JSON once an
// empty exclude and a null data are dropped (upstream treats an empty exclude
// as none; a null data differs from a missing one only in the client frame:
// "data":null instead of no data key).
func envelopeEquiv(a, b []byte) bool {
	norm := func(raw []byte) (map[string]any, bool) {
		var m map[string]any
		if json.Unmarshal(raw, &m) != nil {
			return nil, false
		}
		if ex, ok := m["exclude"].([]any); ok && len(ex) == 0 {
			delete(m, "exclude")
		}
		if d, ok := m["data"]; ok && d == nil {
			delete(m, "data")
		}
		return m, true
	}
	ma, okA := norm(a)
	mb, okB := norm(b)
	return okA && okB && reflect.DeepEqual(ma, mb)
}

// ---------------------------------------------------------------------------
// What upstream's server sends its clients (the reference for echows' server)

// Frames both servers send, byte for byte.
const (
	errInvalid = `{"event":"error","data":{"message":"Invalid message format"}}`
	errNotAuth = `{"event":"error","data":{"message":"Not authenticated"}}`
	errAlready = `{"event":"error","data":{"message":"Already authenticated"}}`
	errFailed  = `{"event":"error","data":{"message":"Authentication failed"}}`
	errAuthErr = `{"event":"error","data":{"message":"Authentication error"}}`
)

// protocolProfile is where a server may differ from the common protocol:
// the transport-level closes are Bun's on upstream, and echows answers binary
// frames with an error where upstream reads them as text (see SPEC).
type protocolProfile struct {
	binaryIsText bool   // a binary frame is handled like a text frame
	utf8Reason   string // reason of the 1007 close for invalid UTF-8
	tooBigReason string // reason of the 1009 close for an oversized frame; "" for any (SPEC names none)
	// badJoinIsInvalid: a join whose data has no rooms array gets "Invalid
	// message format" (upstream says nothing; SPEC is silent).
	badJoinIsInvalid bool
}

var (
	upstreamProfile = protocolProfile{binaryIsText: true, utf8Reason: "Received invalid UTF-8", tooBigReason: "Received too big message"}
	echowsProfile   = protocolProfile{utf8Reason: wire.ReasonInvalidUTF8, badJoinIsInvalid: true}
)

// protocolSuite checks the client-facing protocol of a server: connected,
// every error text, what is dropped without a word, and the closes of failed
// authentication, auth timeout, invalid UTF-8 and oversized frames. The
// server must run the harness hooks and have the given auth timeout.
func protocolSuite(t *testing.T, tg target, authTimeout time.Duration, prof protocolProfile) {
	t.Run("connected", func(t *testing.T) {
		c := tg.dial(t)
		c.auth(`{"token":"user-1"}`, "user-1") // checks the frame byte for byte (regexp)
		anon := tg.dial(t)
		anon.auth(`{"anonymous":true}`, "") // no userId key at all
	})

	t.Run("before authentication", func(t *testing.T) {
		c := tg.dial(t)
		c.sendText(`not json`)
		c.sendText(`{"data":1}`)                              // no event: dropped, no frame
		c.sendText(`{"event":"heartbeat"}`)                   // consumed, no frame
		c.sendText(`{"event":"join","data":{"rooms":["a"]}}`) // Not authenticated
		c.sendText(`{"event":"custom","data":1}`)             // Not authenticated
		c.sendRaw(gws.BinaryMessage, []byte(`not json`))      // binary: Invalid message format on both
		c.expect(errInvalid)
		c.expect(errNotAuth)
		c.expect(errNotAuth)
		c.expect(errInvalid)
		c.auth(`{"token":"user-2"}`, "user-2") // nothing else came before connected
	})

	t.Run("after authentication", func(t *testing.T) {
		c := tg.dial(t)
		c.auth(`{"token":"user-3"}`, "user-3")
		c.sendText(`{"event":"authenticate","data":{"token":"user-3"}}`)
		c.expect(errAlready)
		// An object without an event is dropped (upstream throws a TypeError
		// on null and stays up), and so is a leave of rooms not joined.
		for _, f := range []string{`null`, `{"event":""}`, `{"data":1}`, `{"event":"leave","data":{"rooms":["nope"]}}`} {
			c.sendText(f)
		}
		c.sync()
		// A join without a rooms array: upstream drops it (throwing a
		// TypeError for a string), echows answers Invalid message format.
		c.sendText(`{"event":"join"}`)
		c.sendText(`{"event":"join","data":{"rooms":"abc"}}`)
		if prof.badJoinIsInvalid {
			c.expect(errInvalid)
			c.expect(errInvalid)
		}
		c.sync()
		c.sendRaw(gws.BinaryMessage, []byte(`{"event":"echo","data":"bin"}`))
		if prof.binaryIsText { // upstream: Buffer.toString(), then as text
			c.expect(`{"event":"echo","data":"bin"}`)
		} else {
			c.expect(errInvalid)
		}
		c.sync()
		c.sendRaw(gws.TextMessage, []byte("{\"event\":\"echo\",\"data\":\"\xff\"}"))
		c.expectClose(gws.CloseInvalidFramePayloadData, prof.utf8Reason, frameTimeout)
	})

	t.Run("JSON that is not an object is dropped", func(t *testing.T) {
		// It is JSON, so not "Invalid message format" (SPEC: that is for
		// "not JSON"); it has no event, so it is dropped (SPEC and upstream).
		c := tg.dial(t)
		c.auth(`{"token":"user-6"}`, "user-6")
		for _, f := range []string{`42`, `"str"`, `[]`, `true`} {
			c.sendText(f)
		}
		c.sync()
	})

	t.Run("authentication rejected", func(t *testing.T) {
		for _, tc := range []struct{ data, frame string }{
			{`{"token":"fail"}`, errFailed}, // the hook returned null / nil
			{`{}`, errFailed},
			{`{"token":"throw"}`, errAuthErr}, // the hook threw / returned an error
		} {
			c := tg.dial(t)
			c.sendText(`{"event":"authenticate","data":` + tc.data + `}`)
			c.expect(tc.frame)
			c.expectClose(4003, "Authentication failed", frameTimeout)
		}
		c := tg.dial(t) // authenticate without data: upstream passes {}
		c.sendText(`{"event":"authenticate"}`)
		c.expect(errFailed)
		c.expectClose(4003, "Authentication failed", frameTimeout)
	})

	t.Run("auth timeout", func(t *testing.T) {
		c := tg.dial(t)
		c.sendText(`{"event":"heartbeat"}`) // does not count as authenticating
		took := c.expectClose(4001, "Authentication timeout", authTimeout+frameTimeout)
		if took < authTimeout*8/10 {
			t.Errorf("closed after %v, before the auth timeout (%v)", took, authTimeout)
		}
	})

	t.Run("oversized frame", func(t *testing.T) {
		c := tg.dial(t)
		c.auth(`{"token":"user-4"}`, "user-4")
		c.sendText(`{"event":"echo","data":"` + strings.Repeat("x", 128<<10) + `"}`)
		if reason := c.expectCloseCode(gws.CloseMessageTooBig, frameTimeout); prof.tooBigReason != "" && reason != prof.tooBigReason {
			t.Errorf("1009 close reason %q, want %q", reason, prof.tooBigReason)
		}
	})
}

// TestUpstreamServerProtocol pins the protocol of upstream's server, plus
// what only its stdout shows (hooks called).
func TestUpstreamServerProtocol(t *testing.T) {
	start(t)
	rs := redistest.Start(t)
	const authTimeout = time.Second
	s := startUpstreamServer(t, rs.Addr(), upstreamOptions{AuthTimeout: authTimeout})
	protocolSuite(t, s.target(), authTimeout, upstreamProfile)

	t.Run("hooks", func(t *testing.T) {
		c := s.dial(t)
		c.auth(`{"token":"user-5"}`, "user-5")
		s.waitLine(frameTimeout, "CONNECTED line", prefixed("CONNECTED "+c.id+" user-5"))
		// Upstream hands client-sent system events to the message handler
		// (echows drops them, see SPEC); the harness logs them as MESSAGE.
		c.sendText(`{"event":"connected","data":1}`)
		s.waitLine(frameTimeout, "MESSAGE connected", prefixed("MESSAGE "+c.id+` {"event":"connected","data":1}`))
		// The id of a client frame reaches the handler.
		c.sendText(`{"event":"custom","data":2,"id":"m-1"}`)
		s.waitLine(frameTimeout, "MESSAGE custom", prefixed("MESSAGE "+c.id+` {"event":"custom","data":2,"id":"m-1"}`))
		// Invalid UTF-8: the client sees 1007 from Bun, the helper's close
		// handler sees 1006.
		c.sendRaw(gws.TextMessage, []byte("\xff"))
		s.waitLine(frameTimeout, "CLOSE line", prefixed("CLOSE "+c.id+` 1006 "Received invalid UTF-8"`))
		s.waitLine(frameTimeout, "DISCONNECTED line", prefixed("DISCONNECTED "+c.id+" user-5"))
	})
}

// TestUpstreamServerTimeouts pins the heartbeat close (4002) and the
// shutdown close (1001).
func TestUpstreamServerTimeouts(t *testing.T) {
	start(t)
	rs := redistest.Start(t)
	const hbTimeout = 600 * time.Millisecond
	s := startUpstreamServer(t, rs.Addr(), upstreamOptions{
		AuthTimeout: 5 * time.Second, HeartbeatInterval: 200 * time.Millisecond, HeartbeatTimeout: hbTimeout,
	})
	idle := s.dial(t)
	// From before the authenticate frame: the server's last activity of
	// the client is later, so the close cannot come sooner than this plus
	// the timeout (timed from the connected event it could, by the trip).
	sent := time.Now()
	idle.auth(`{"token":"idle"}`, "idle")
	idle.expectClose(4002, "Heartbeat timeout", hbTimeout+frameTimeout)
	if took := time.Since(sent); took < hbTimeout {
		t.Errorf("heartbeat close %v after the last activity, before the timeout (%v)", took, hbTimeout)
	}

	authed := s.dial(t)
	authed.auth(`{"token":"stays"}`, "stays")
	unauthed := s.dial(t)
	s.stop() // SIGTERM: the script calls helper.shutdown()
	authed.expectClose(gws.CloseGoingAway, "Server shutting down", frameTimeout)
	unauthed.expectClose(gws.CloseGoingAway, "Server shutting down", frameTimeout)
}

// ---------------------------------------------------------------------------
// Delivery across Redis: publisher -> server -> clients

// target is a WebSocket server under test, sharing the test's Redis.
type target interface {
	// dial connects a new client. The server must echo "echo" events to
	// their sender (wsClient.sync relies on it).
	dial(t *testing.T) *wsClient
}

func (s *upstreamServer) target() target { return upstreamTarget{s} }

type upstreamTarget struct{ s *upstreamServer }

func (u upstreamTarget) dial(t *testing.T) *wsClient { return u.s.dial(t) }

// rawWirePublisher publishes envelopes built with echows' wire package
// (serverId "emitter") through go-redis: no emitter code involved, only the
// wire format.
type rawWirePublisher struct{}

func (rawWirePublisher) publish(t *testing.T, redisAddr string, ops []op) {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), emitTimeout)
	defer cancel()
	for _, o := range ops {
		env := wire.Envelope{ServerID: wire.EmitterServerID, Event: o.Event, Data: o.Data, Exclude: o.Exclude}
		switch o.Op {
		case "toClient":
			env.Type, env.Target = wire.TypeClient, o.ClientID
		case "toUser":
			env.Type, env.Target = wire.TypeUser, o.UserID
		case "toRoom":
			env.Type, env.Target = wire.TypeRoom, o.Room
		case "broadcast":
			env.Type = wire.TypeBroadcast
		default:
			t.Fatalf("unknown op %q", o.Op)
		}
		b, err := env.Encode()
		if err != nil {
			t.Fatalf("encode %+v: %v", env, err)
		}
		if err := rc.Publish(ctx, env.Channel(), b).Err(); err != nil {
			t.Fatalf("publish on %s: %v", env.Channel(), err)
		}
	}
}

// deliveryScenario checks the four message types end to end: three clients
// on tg (a1 and a2 of user-a, b of user-b; a1 and b in room-x), pub
// publishes one message of each type (the room one twice, with and without
// exclude), then a broadcast fence; each client must get exactly its frames,
// byte for byte, before the fence.
func deliveryScenario(t *testing.T, redisAddr string, tg target, pub publisher) {
	a1 := tg.dial(t)
	a1.auth(`{"token":"user-a"}`, "user-a")
	a1.join("room-x")
	a2 := tg.dial(t)
	a2.auth(`{"token":"user-a"}`, "user-a")
	a2.sync()
	b := tg.dial(t)
	b.auth(`{"token":"user-b"}`, "user-b")
	b.join("room-x")

	const (
		fClient  = `{"event":"t-client","data":{"n":1}}`
		fUser    = `{"event":"t-user","data":{"n":2}}`
		fRoomEx  = `{"event":"t-room-excl","data":{"n":3}}`
		fRoomAll = `{"event":"t-room","data":{"n":4,"s":"é<&>"}}`
		fBcast   = `{"event":"t-bc","data":[5,null,true,"x"]}`
		fFence   = `{"event":"fence","data":{}}`
	)
	pub.publish(t, redisAddr, []op{
		toClient(a1.id, "t-client", `{"n":1}`),
		toUser("user-a", "t-user", `{"n":2}`),
		toRoom("room-x", "t-room-excl", `{"n":3}`, a1.id),
		toRoom("room-x", "t-room", `{"n":4,"s":"é<&>"}`),
		broadcast("t-bc", `[5,null,true,"x"]`),
		broadcast("fence", `{}`),
	})
	want := map[*wsClient][]string{
		a1: {fClient, fUser, fRoomAll, fBcast},
		a2: {fUser, fBcast},
		b:  {fRoomEx, fRoomAll, fBcast},
	}
	names := map[*wsClient]string{a1: "a1 (user-a, room-x)", a2: "a2 (user-a)", b: "b (user-b, room-x)"}
	for c, frames := range want {
		got := readUntil(t, c, fFence)
		// Order is compared too: one publisher, one subscriber connection
		// and one queue per client keep it on both implementations.
		if !slices.Equal(got, frames) {
			t.Errorf("client %s got\n\t%s\nwant\n\t%s", names[c], strings.Join(got, "\n\t"), strings.Join(frames, "\n\t"))
		}
	}
}

// readUntil returns the text frames c gets before fence.
func readUntil(t *testing.T, c *wsClient, fence string) []string {
	t.Helper()
	var got []string
	for {
		f := c.next()
		if f == fence {
			return got
		}
		got = append(got, f)
		if len(got) > 100 {
			t.Fatalf("client %s: no fence after 100 frames: %q", c.id, got)
		}
	}
}

// TestUpstreamEmitterToUpstreamServer is the control: upstream on both ends.
// When it fails the harness is broken, not echows.
func TestUpstreamEmitterToUpstreamServer(t *testing.T) {
	start(t)
	rs := redistest.Start(t)
	s := startUpstreamServer(t, rs.Addr(), upstreamOptions{})
	deliveryScenario(t, rs.Addr(), s.target(), upstreamEmitter{})
}

// TestWireEnvelopeToUpstreamServer: envelopes encoded by echows' wire
// package, published raw, reach the clients of upstream's server.
func TestWireEnvelopeToUpstreamServer(t *testing.T) {
	start(t)
	rs := redistest.Start(t)
	s := startUpstreamServer(t, rs.Addr(), upstreamOptions{})
	deliveryScenario(t, rs.Addr(), s.target(), rawWirePublisher{})
}

// TestUpstreamServerQuirks pins how upstream's server reads envelopes where
// it differs from what one would guess; echows needs not copy these, but a
// mixed fleet sees them.
func TestUpstreamServerQuirks(t *testing.T) {
	start(t)
	rs := redistest.Start(t)
	s := startUpstreamServer(t, rs.Addr(), upstreamOptions{AuthTimeout: 5 * time.Second})
	rc := rs.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub := func(channel, payload string) {
		t.Helper()
		if err := rc.Publish(ctx, channel, payload).Err(); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}

	a := s.dial(t)
	a.auth(`{"token":"qa"}`, "qa")
	a.join("qr")
	b := s.dial(t)
	b.auth(`{"token":"qb"}`, "qb")
	b.join("qr")
	u := s.dial(t) // never authenticates
	fence := `{"serverId":"x","type":"broadcast","event":"fence"}`

	// The envelope's type and target route it, not the channel it came on.
	pub("ws:room:anything", `{"serverId":"x","type":"user","target":"qa","event":"q-type-wins","data":1}`)
	// No type: dropped.
	pub("ws:user:qa", `{"serverId":"x","event":"q-no-type","data":2}`)
	// Exclude on a broadcast is honoured (upstream's emitter never sends one).
	pub("ws:broadcast", fmt.Sprintf(`{"serverId":"x","type":"broadcast","event":"q-bc-excl","data":3,"exclude":[%q]}`, a.id))
	// A client message reaches an unauthenticated client, and so does a room
	// message for its own client id (Bun subscribes the socket to its id on open).
	pub("ws:client:"+u.id, fmt.Sprintf(`{"serverId":"x","type":"client","target":%q,"event":"q-unauth","data":4}`, u.id))
	pub("ws:room:"+u.id, fmt.Sprintf(`{"serverId":"x","type":"room","target":%q,"event":"q-unauth-room","data":5}`, u.id))
	// Data left out: the frame has no data key.
	pub("ws:room:qr", `{"serverId":"x","type":"room","target":"qr","event":"q-nodata"}`)
	pub("ws:broadcast", fence)
	pub("ws:client:"+u.id, fmt.Sprintf(`{"serverId":"x","type":"client","target":%q,"event":"fence"}`, u.id))

	check := func(name string, c *wsClient, want ...string) {
		t.Helper()
		got := readUntil(t, c, `{"event":"fence"}`)
		if !slices.Equal(got, want) {
			t.Errorf("%s got %q, want %q", name, got, want)
		}
	}
	check("a", a, `{"event":"q-type-wins","data":1}`, `{"event":"q-nodata"}`)
	check("b", b, `{"event":"q-bc-excl","data":3}`, `{"event":"q-nodata"}`)
	check("unauthenticated", u, `{"event":"q-unauth","data":4}`, `{"event":"q-unauth-room","data":5}`)

	// Server-side send(): the envelopes upstream's server publishes itself
	// (serverId = its UUID) for a broadcast, a local client, a local room and
	// an unknown destination (published as a room).
	sub := rc.PSubscribe(ctx, "ws:*")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatalf("psubscribe: %v", err)
	}
	s.send(map[string]any{"op": "send", "topic": "s-bc", "data": map[string]int{"n": 1}})
	s.send(map[string]any{"op": "send", "destination": a.id, "topic": "s-client", "data": 2})
	s.send(map[string]any{"op": "send", "destination": "qr", "topic": "s-room", "data": 3})
	s.send(map[string]any{"op": "send", "destination": "elsewhere", "topic": "s-remote", "data": 4})
	var serverID string
	for i, w := range []struct{ channel, rest string }{
		{"ws:broadcast", `","type":"broadcast","event":"s-bc","data":{"n":1}}`},
		{"ws:client:" + a.id, `","type":"client","target":"` + a.id + `","event":"s-client","data":2}`},
		{"ws:room:qr", `","type":"room","target":"qr","event":"s-room","data":3}`},
		{"ws:room:elsewhere", `","type":"room","target":"elsewhere","event":"s-remote","data":4}`},
	} {
		rctx, rcancel := context.WithTimeout(ctx, frameTimeout)
		msg, err := sub.ReceiveMessage(rctx)
		rcancel()
		if err != nil {
			t.Fatalf("send %d: %v", i+1, err)
		}
		const head = `{"serverId":"`
		if msg.Channel != w.channel || !strings.HasPrefix(msg.Payload, head) || !strings.HasSuffix(msg.Payload, w.rest) {
			t.Fatalf("send %d: got %s %s, want %s %s<uuid>%s", i+1, msg.Channel, msg.Payload, w.channel, head, w.rest)
		}
		id := strings.TrimSuffix(strings.TrimPrefix(msg.Payload, head), w.rest)
		if serverID == "" {
			serverID = id
		} else if id != serverID {
			t.Errorf("send %d: serverId %s, want %s", i+1, id, serverID)
		}
	}
	if len(serverID) != 36 || bytes.Count([]byte(serverID), []byte("-")) != 4 {
		t.Errorf("serverId %q is not a UUID", serverID)
	}
	// Local delivery of those sends (the server skips its own envelopes).
	check2 := func(name string, c *wsClient, want ...string) {
		t.Helper()
		for _, w := range want {
			c.expect(w)
		}
	}
	check2("a", a, `{"event":"s-bc","data":{"n":1}}`, `{"event":"s-client","data":2}`, `{"event":"s-room","data":3}`)
	check2("b", b, `{"event":"s-bc","data":{"n":1}}`, `{"event":"s-room","data":3}`)
}
