package component_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"

	"github.com/echows/echows/component"
	"github.com/echows/echows/emitter"
	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/internal/wstest"
	"github.com/echows/echows/lifecycle"
	"github.com/echows/echows/websocket"
	"github.com/echows/echows/websocket/wire"
)

// slowRoute is an HTTP handler in flight when the app stops: it tells the
// test it started, waits until Echo's Shutdown has begun (the app is
// stopping), then sends through the emitter and the server and reports how
// that went in its response.
type slowRoute struct {
	entered  chan struct{}
	stopping chan struct{} // closed when Echo's Shutdown begins
}

func (r *slowRoute) register(e *echo.Echo, em *emitter.Emitter, s *websocket.Server) {
	e.Server.RegisterOnShutdown(func() { close(r.stopping) })
	e.GET("/slow", func(c echo.Context) error {
		close(r.entered)
		<-r.stopping
		ctx := c.Request().Context()
		errEmit := em.ToUser(ctx, "bob", "from-emitter", "late")
		errSend := s.ToUser(ctx, "alice", "from-server", "late")
		return c.String(http.StatusOK, fmt.Sprintf("emitter: %v, server: %v", errEmit, errSend))
	})
}

// A request in flight when the app stops finishes, and what it sends still
// goes out, through the emitter to another instance (over Redis) and
// through the server to a local client, before that client gets 1001:
// whichever order the app lists EchoServer and Module in.
func TestInFlightRequestSendsDuringStop(t *testing.T) {
	for _, tc := range []struct {
		name    string
		modules []fx.Option
	}{
		{name: "EchoServerFirst", modules: []fx.Option{lifecycle.EchoServer, component.Module}},
		{name: "ModuleFirst", modules: []fx.Option{component.Module, lifecycle.EchoServer}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := redistest.Start(t)
			route := &slowRoute{entered: make(chan struct{}), stopping: make(chan struct{})}
			a := buildApp(t, component.Config{RedisURL: redisURL(rs)}, tc.modules,
				provideAuth(testAuth), listenLoopback, fx.Invoke(route.register))
			a.RequireStart()
			b := startApp(t, component.Config{RedisURL: redisURL(rs)})

			alice := a.dial(t)
			alice.Authenticate("alice")
			bob := b.dial(t)
			bob.Authenticate("bob")

			type result struct {
				body string
				err  error
			}
			responded := make(chan result, 1)
			go func() {
				resp, err := http.Get("http://" + a.echo.ListenerAddr().String() + "/slow")
				if err != nil {
					responded <- result{err: err}
					return
				}
				defer resp.Body.Close()
				body, err := io.ReadAll(resp.Body)
				responded <- result{string(body), err}
			}()
			wstest.Wait(t, route.entered, "the request to start")

			aliceGot := alice.ReceiveUntilClose()
			stopped := make(chan error, 1)
			go func() { stopped <- a.Stop(boundedCtx(t)) }()

			got := wstest.Wait(t, responded, "the response")
			if got.err != nil || got.body != "emitter: <nil>, server: <nil>" {
				t.Fatalf("in-flight request: %q, %v; want both sends to succeed", got.body, got.err)
			}
			bob.ExpectData("from-emitter", `"late"`)
			if err := wstest.Wait(t, stopped, "the app's stop"); err != nil {
				t.Fatalf("stop: %v", err)
			}
			if got := wstest.Wait(t, aliceGot, "alice's close"); strings.Join(got.Events, ",") != "from-server" || got.Closed.Code != wire.CloseGoingAway {
				t.Fatalf("alice got %v then %+v, want from-server then 1001", got.Events, got.Closed)
			}
		})
	}
}
