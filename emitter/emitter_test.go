package emitter_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/echows/echows/emitter"
	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/websocket"
	"github.com/echows/echows/websocket/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Both brokers fit emitter.Publisher as they are.
var (
	_ emitter.Publisher = (*websocket.MemoryBroker)(nil)
	_ emitter.Publisher = (*websocket.RedisBroker)(nil)
)

const testWait = 10 * time.Second

// subscribe subscribes a plain go-redis PubSub to channels on its own
// connection and waits until Redis confirmed each of them.
func subscribe(t *testing.T, c *redis.Client, channels ...string) *redis.PubSub {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	ps := c.Subscribe(ctx, channels...)
	t.Cleanup(func() { ps.Close() })
	for range channels {
		msg, err := ps.Receive(ctx)
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		if _, ok := msg.(*redis.Subscription); !ok {
			t.Fatalf("subscribe: got %T, want a confirmation", msg)
		}
	}
	return ps
}

func TestEmitterPublishesUpstreamEnvelopes(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	e := emitter.New(client)
	defer e.Close()
	ps := subscribe(t, srv.Client(t),
		"ws:client:c-1", "ws:user:u-1", "ws:room:lobby", "ws:broadcast")
	ctx := context.Background()

	tests := []struct {
		name    string
		emit    func() error
		channel string
		payload string
		shape   map[string]any // the envelope as upstream's JSON.parse sees it
	}{
		{
			name:    "client",
			emit:    func() error { return e.ToClient(ctx, "c-1", "notify", map[string]int{"n": 1}) },
			channel: "ws:client:c-1",
			payload: `{"serverId":"emitter","type":"client","target":"c-1","event":"notify","data":{"n":1}}`,
			shape: map[string]any{"serverId": "emitter", "type": "client", "target": "c-1", "event": "notify",
				"data": map[string]any{"n": 1.0}},
		},
		{
			name:    "user",
			emit:    func() error { return e.ToUser(ctx, "u-1", "notify", "hello <b>&</b> é") },
			channel: "ws:user:u-1",
			// strings escaped as JSON.stringify escapes them: <, > and & as they are
			payload: `{"serverId":"emitter","type":"user","target":"u-1","event":"notify","data":"hello <b>&</b> é"}`,
			shape: map[string]any{"serverId": "emitter", "type": "user", "target": "u-1", "event": "notify",
				"data": "hello <b>&</b> é"},
		},
		{
			name: "room with exclude",
			emit: func() error {
				return e.ToRoom(ctx, "lobby", "chat", json.RawMessage(`{"text":"hi","at":[1,2]}`), "c-2", "c-3")
			},
			channel: "ws:room:lobby",
			payload: `{"serverId":"emitter","type":"room","target":"lobby","event":"chat","data":{"text":"hi","at":[1,2]},"exclude":["c-2","c-3"]}`,
			shape: map[string]any{"serverId": "emitter", "type": "room", "target": "lobby", "event": "chat",
				"data": map[string]any{"text": "hi", "at": []any{1.0, 2.0}}, "exclude": []any{"c-2", "c-3"}},
		},
		{
			name:    "room",
			emit:    func() error { return e.ToRoom(ctx, "lobby", "chat", []string{"a"}) },
			channel: "ws:room:lobby",
			payload: `{"serverId":"emitter","type":"room","target":"lobby","event":"chat","data":["a"]}`,
			shape:   map[string]any{"serverId": "emitter", "type": "room", "target": "lobby", "event": "chat", "data": []any{"a"}},
		},
		{
			name:    "broadcast",
			emit:    func() error { return e.Broadcast(ctx, "news", nil) },
			channel: "ws:broadcast",
			payload: `{"serverId":"emitter","type":"broadcast","event":"news","data":null}`,
			shape:   map[string]any{"serverId": "emitter", "type": "broadcast", "event": "news", "data": nil},
		},
		{
			name:    "broadcast with exclude",
			emit:    func() error { return e.Broadcast(ctx, "news", 3.5, "c-9") },
			channel: "ws:broadcast",
			payload: `{"serverId":"emitter","type":"broadcast","event":"news","data":3.5,"exclude":["c-9"]}`,
			shape: map[string]any{"serverId": "emitter", "type": "broadcast", "event": "news", "data": 3.5,
				"exclude": []any{"c-9"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.emit(); err != nil {
				t.Fatalf("emit: %v", err)
			}
			rctx, cancel := context.WithTimeout(ctx, testWait)
			defer cancel()
			msg, err := ps.ReceiveMessage(rctx)
			if err != nil {
				t.Fatalf("receive: %v", err)
			}
			if msg.Channel != tt.channel {
				t.Errorf("channel = %q, want %q", msg.Channel, tt.channel)
			}
			if msg.Payload != tt.payload {
				t.Errorf("payload =\n%s\nwant\n%s", msg.Payload, tt.payload)
			}
			var shape map[string]any
			if err := json.Unmarshal([]byte(msg.Payload), &shape); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(shape, tt.shape) {
				t.Errorf("decoded = %#v\nwant %#v", shape, tt.shape)
			}
			env, err := wire.DecodeEnvelope([]byte(msg.Payload))
			if err != nil || env.Channel() != tt.channel || env.ServerID != wire.EmitterServerID {
				t.Errorf("DecodeEnvelope = %+v, %v", env, err)
			}
		})
	}
}

// recorder is a Publisher that records its calls.
type recorder struct {
	mu    sync.Mutex
	calls []string
	err   error
}

func (r *recorder) Publish(_ context.Context, channel string, payload []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, channel+" "+string(payload))
	return r.err
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}

func TestEmitterRejectsInvalidInput(t *testing.T) {
	rec := &recorder{}
	e := emitter.NewWithPublisher(rec)
	ctx := context.Background()
	tests := []struct {
		name string
		err  error
		want error
		text string
	}{
		{"empty client id", e.ToClient(ctx, "", "ev", 1), emitter.ErrInvalidTarget, `emit "ev" to client "": emitter: invalid target: empty client id`},
		{"empty user id", e.ToUser(ctx, "", "ev", 1), emitter.ErrInvalidTarget, "empty user id"},
		{"empty room", e.ToRoom(ctx, "", "ev", 1), emitter.ErrInvalidTarget, "empty room"},
		{"empty event to client", e.ToClient(ctx, "c", "", 1), emitter.ErrInvalidEvent, "empty event"},
		{"empty event to user", e.ToUser(ctx, "u", "", 1), emitter.ErrInvalidEvent, "empty event"},
		{"empty event to room", e.ToRoom(ctx, "r", "", 1), emitter.ErrInvalidEvent, "empty event"},
		{"empty event broadcast", e.Broadcast(ctx, "", 1), emitter.ErrInvalidEvent, `emit "" to everyone`},
		{"invalid raw JSON", e.ToRoom(ctx, "r", "ev", json.RawMessage(`{"a":`)), emitter.ErrEncode, "not valid JSON"},
		{"unencodable data", e.ToUser(ctx, "u", "ev", make(chan int)), emitter.ErrEncode, "chan int"},
		{"failing marshaler", e.Broadcast(ctx, "ev", badJSON{}), emitter.ErrEncode, "bad json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("err = %v, want %v", tt.err, tt.want)
			}
			if !strings.Contains(tt.err.Error(), tt.text) {
				t.Fatalf("err = %q, want it to contain %q", tt.err, tt.text)
			}
		})
	}
	if n := rec.count(); n != 0 {
		t.Fatalf("%d envelopes published for invalid input", n)
	}
	// A nil json.RawMessage is null, as nil is.
	if err := e.ToUser(ctx, "u", "ev", json.RawMessage(nil)); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.calls[0], `ws:user:u {"serverId":"emitter","type":"user","target":"u","event":"ev","data":null}`; got != want {
		t.Fatalf("published %s, want %s", got, want)
	}
}

type badJSON struct{}

func (badJSON) MarshalJSON() ([]byte, error) { return nil, errors.New("bad json") }

func TestEmitterClosed(t *testing.T) {
	srv := redistest.Start(t)
	client := srv.Client(t)
	e := emitter.New(client)
	ps := subscribe(t, srv.Client(t), "ws:broadcast")
	ctx := context.Background()

	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	for name, err := range map[string]error{
		"ToClient":  e.ToClient(ctx, "c", "ev", 1),
		"ToUser":    e.ToUser(ctx, "u", "ev", 1),
		"ToRoom":    e.ToRoom(ctx, "r", "ev", 1),
		"Broadcast": e.Broadcast(ctx, "ev", 1),
	} {
		if !errors.Is(err, emitter.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
	// Close left the caller's client open, and published nothing.
	n, err := client.Publish(ctx, "ws:broadcast", "marker").Result()
	if err != nil || n != 1 {
		t.Fatalf("client after emitter Close: %d, %v", n, err)
	}
	rctx, cancel := context.WithTimeout(ctx, testWait)
	defer cancel()
	if msg, err := ps.ReceiveMessage(rctx); err != nil || msg.Payload != "marker" {
		t.Fatalf("first message after Close = %v, %v; want the marker", msg, err)
	}
}

func TestEmitterPublishFailure(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	client := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	defer client.Close()
	e := emitter.New(client)

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = e.ToRoom(ctx, "lobby", "chat", "hi")
	if err == nil || !strings.Contains(err.Error(), `emit "chat" to room "lobby": publish ws:room:lobby: `) {
		t.Fatalf("err = %v, want a publish error with context", err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second {
		t.Errorf("ToRoom returned after %v, long past its 300ms context", elapsed)
	}

	rec := &recorder{err: errors.New("boom")}
	if err := emitter.NewWithPublisher(rec).Broadcast(context.Background(), "ev", 1); err == nil || !strings.Contains(err.Error(), "publish ws:broadcast: boom") {
		t.Fatalf("err = %v", err)
	}
}

func TestEmitterRejectsUnusableClients(t *testing.T) {
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": "127.0.0.1:1"}})
	defer ring.Close()
	for name, e := range map[string]*emitter.Emitter{
		"nil":               emitter.New(nil),
		"typed nil client":  emitter.New((*redis.Client)(nil)),
		"typed nil cluster": emitter.New((*redis.ClusterClient)(nil)),
		"ring":              emitter.New(ring),
		"nil publisher":     emitter.NewWithPublisher(nil),
	} {
		err := e.Broadcast(context.Background(), "ev", 1)
		if !errors.Is(err, emitter.ErrInvalidClient) {
			t.Errorf("%s: err = %v, want ErrInvalidClient", name, err)
		}
	}
}

func TestEmitterInProcessWithMemoryBroker(t *testing.T) {
	broker := websocket.NewMemoryBroker()
	var got []string
	sub, err := broker.Subscribe(context.Background(), func(channel string, payload []byte) {
		got = append(got, channel+" "+string(payload))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	e := emitter.NewWithPublisher(broker)
	if err := e.ToClient(context.Background(), "c", "ev", true); err != nil {
		t.Fatal(err)
	}
	want := []string{`ws:client:c {"serverId":"emitter","type":"client","target":"c","event":"ev","data":true}`}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
