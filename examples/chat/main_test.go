package main

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
	"go.uber.org/goleak"

	"github.com/echows/echows/emitter"
	"github.com/echows/echows/websocket"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// instance is one running chat app.
type instance struct {
	echo    *echo.Echo
	server  *websocket.Server
	emitter *emitter.Emitter // on the app's broker, as a service would get it
}

// wsURL and pageURL are where the app serves the endpoint and the page.
func (in instance) wsURL() string   { return "ws://" + in.echo.ListenerAddr().String() + "/ws" }
func (in instance) pageURL() string { return "http://" + in.echo.ListenerAddr().String() + "/" }

// startChat starts the chat app on a free loopback port, with Redis at
// redisAddr (host:port) or, when it is empty, the in-process broker. It
// stops when the test ends.
func startChat(t *testing.T, redisAddr string) instance {
	t.Helper()
	var in instance
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	redisURL := ""
	if redisAddr != "" {
		redisURL = "redis://" + redisAddr + "/0"
	}
	app := fxtest.New(t,
		fx.NopLogger,
		App(Settings{Addr: "127.0.0.1:0", RedisURL: redisURL, Logger: logger}),
		fx.Populate(&in.echo, &in.server, &in.emitter),
	)
	app.RequireStart()
	t.Cleanup(app.RequireStop)
	return in
}

// A -redis that cannot work fails when the app is built, before anything
// waits for Redis, with an error naming the setting.
func TestBadRedisURLFailsAtOnce(t *testing.T) {
	for _, url := range []string{"localhost", "127.0.0.1:6379", "redis://localhost"} {
		app := fx.New(fx.NopLogger, App(Settings{Addr: "127.0.0.1:0", RedisURL: url}))
		if err := app.Err(); !errors.Is(err, websocket.ErrInvalidConfig) || !strings.Contains(err.Error(), "RedisURL") {
			t.Errorf("-redis %q: %v, want an error wrapping ErrInvalidConfig naming RedisURL", url, err)
		}
	}
}

// Each chat event goes to its module's handler; anything else, and data of
// the wrong shape, gets an error event back.
func TestEventsNoModuleHandlesAreAnswered(t *testing.T) {
	in := startChat(t, "")
	c := connect(t, in.wsURL(), "alice")
	c.Send("dance", nil)
	if m := c.Expect(eventError); !strings.Contains(string(m.Data), `unknown event \"dance\"`) {
		t.Fatalf("error %s, want one about the unknown event", m.Data)
	}
	c.Send(eventChat, "not an object")
	c.ExpectData(eventError, `{"message":"Invalid message format"}`)
	c.Send(eventChat, map[string]string{"room": "elsewhere", "text": "hi"})
	if m := c.Expect(eventError); !strings.Contains(string(m.Data), "not in room") {
		t.Fatalf("error %s, want one about the room", m.Data)
	}
	c.enter(t, "ops") // who, handled by the presence module
}
