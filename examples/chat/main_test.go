package main

import (
	"log/slog"
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
// redisAddr or, when it is empty, the in-process broker. It stops when the
// test ends.
func startChat(t *testing.T, redisAddr string) instance {
	t.Helper()
	var in instance
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	app := fxtest.New(t,
		fx.NopLogger,
		App(Settings{Addr: "127.0.0.1:0", Redis: redisAddr, Logger: logger}),
		fx.Populate(&in.echo, &in.server, &in.emitter),
	)
	app.RequireStart()
	t.Cleanup(app.RequireStop)
	return in
}
