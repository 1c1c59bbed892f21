package websocket_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/echows/echows/internal/wsframe"
	"github.com/echows/echows/internal/wstest"
	"github.com/echows/echows/websocket"
)

// Helpers of the tests that attack a server from outside (torture_test.go,
// hostile_test.go, readpath_fuzz_test.go): a real Server behind a real
// listener, raw-socket clients (wstest.Raw) that write any bytes and read
// every server frame strictly, and nothing but the exported API.

// guard bounds every wait in these tests. It is a guard against a hung
// test, never an assertion about speed.
const guard = wstest.ReadTimeout

// target is a server under attack.
type target struct {
	*websocket.Server
	url string
}

// startTarget starts a Server for cfg behind an httptest server. Missing
// hooks get test defaults: any token is accepted as the user id, custom
// events are echoed back to their sender (so a test sees what the server
// read), every room is allowed. Both stop when the test ends.
func startTarget(tb testing.TB, cfg websocket.Config) *target {
	tb.Helper()
	if cfg.Authenticate == nil {
		cfg.Authenticate = acceptToken
	}
	if cfg.OnMessage == nil {
		cfg.OnMessage = echo
	}
	if cfg.ValidateRooms == nil {
		cfg.ValidateRooms = allowRooms
	}
	if cfg.Logger == nil {
		cfg.Logger = discard()
	}
	s, err := websocket.New(cfg)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	if err := s.Configure(context.Background()); err != nil {
		tb.Fatalf("Configure: %v", err)
	}
	hs := httptest.NewServer(s)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), guard)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil && !errors.Is(err, websocket.ErrServerClosed) {
			tb.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return &target{Server: s, url: "ws" + strings.TrimPrefix(hs.URL, "http")}
}

// unlimited lifts cfg's inbound rate limits (MessageRate, MessageBurst,
// ReadRate) for tests that send many frames quickly on purpose.
func unlimited(cfg websocket.Config) websocket.Config {
	cfg.MessageRate, cfg.MessageBurst, cfg.ReadRate = 1e9, 1e9, 1<<30
	return cfg
}

// dial opens a raw connection, not authenticated.
func (ts *target) dial(tb testing.TB) *wstest.Raw {
	tb.Helper()
	return wstest.DialRaw(tb, ts.url)
}

// login opens a raw connection authenticated as user and returns it with
// its client id.
func (ts *target) login(tb testing.TB, user string) (*wstest.Raw, string) {
	tb.Helper()
	r := ts.dial(tb)
	return r, r.Authenticate(user).ID
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// acceptToken accepts {"token": t} as user t.
func acceptToken(_ context.Context, req websocket.AuthRequest) (*websocket.Identity, error) {
	var creds struct{ Token string }
	if err := json.Unmarshal(req.Data, &creds); err != nil || creds.Token == "" {
		return nil, websocket.ErrRejected
	}
	return &websocket.Identity{UserID: creds.Token}, nil
}

// echo sends a custom event back to its sender, event and data unchanged.
func echo(_ context.Context, c *websocket.Client, msg websocket.Message) error {
	var data any
	if msg.Data != nil {
		data = msg.Data
	}
	return c.Send(msg.Event, data)
}

func allowRooms(_ context.Context, _ *websocket.Client, rooms []string) ([]string, error) {
	return rooms, nil
}

// echoFrame returns a client message {"event":"echo","data":"xx…"} of
// exactly n bytes (n >= 26): the server's echo of it is n bytes too.
func echoFrame(tb testing.TB, n int) []byte {
	const empty = `{"event":"echo","data":""}`
	if n < len(empty) {
		tb.Fatalf("an echo frame has at least %d bytes", len(empty))
	}
	return []byte(`{"event":"echo","data":"` + strings.Repeat("x", n-len(empty)) + `"}`)
}

// expectEcho reads the next message and checks it is the echo of msg: the
// server writes {"event":…,"data":…} with the bytes the client sent.
func expectEcho(tb testing.TB, r *wstest.Raw, msg []byte) {
	tb.Helper()
	op, got := r.NextMessage()
	if op != wsframe.OpText || string(got) != string(msg) {
		if len(got) > 80 {
			got = append(got[:80:80], "…"...)
		}
		tb.Fatalf("got message op %#x %q (%d bytes), want the echo of %d bytes", op, got, len(got), len(msg))
	}
}

// eventually polls cond until it holds, failing the test after guard. The
// poll interval is no synchronisation: the condition is the signal.
func eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	for deadline := time.Now().Add(guard); !cond(); {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// within returns what ch delivers, failing the test after guard.
func within[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	return wstest.Wait(tb, ch, what)
}

// masked is the header of a final, masked frame of opcode op.
func masked(op byte) wsframe.Header { return wsframe.Header{Fin: true, Opcode: op, Masked: true} }
