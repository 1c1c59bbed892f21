package component_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"

	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/component"
	"github.com/echows/echows/emitter"
	"github.com/echows/echows/lifecycle"
	"github.com/echows/echows/websocket"
)

// credentials is what this example's clients send in authenticate.
type credentials struct {
	Token string `json:"token"`
}

// authenticate accepts any non-empty token as the user of that name; a real
// app verifies a JWT or a session here.
func authenticate() websocket.AuthenticateFunc {
	return websocket.AuthenticateAs(func(_ context.Context, _ websocket.AuthRequest, c credentials) (*websocket.Identity, error) {
		if c.Token == "" {
			return nil, websocket.ErrRejected
		}
		return &websocket.Identity{UserID: c.Token}, nil
	})
}

// The minimal app: the module, a Config and the authenticate hook. Echo is
// provided and served by package lifecycle; a service gets the server
// injected.
func Example() {
	var server *websocket.Server
	app := fx.New(
		fx.NopLogger, // keep the example's output to what it prints
		lifecycle.ProvideEcho,
		lifecycle.EchoServer,
		component.Module,
		fx.Supply(component.Config{Settings: websocket.Settings{Path: "/realtime"}, ListenAddr: "127.0.0.1:0"}),
		fx.Provide(authenticate),
		fx.Populate(&server),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer app.Stop(ctx)
	fmt.Println("endpoint:", server.Path())
	// Output: endpoint: /realtime
}

// A browser (here a Go client) connects, authenticates and receives what a
// service sends through the injected server and through the emitter.
func Example_client() {
	type service struct {
		server  *websocket.Server
		emitter *emitter.Emitter
	}
	var (
		e   *echo.Echo
		svc *service
	)
	app := fx.New(
		fx.NopLogger,
		lifecycle.ProvideEcho,
		lifecycle.EchoServer,
		component.Module,
		fx.Supply(component.Config{ListenAddr: "127.0.0.1:0"}),
		fx.Provide(authenticate),
		fx.Provide(func(s *websocket.Server, em *emitter.Emitter) *service { return &service{s, em} }),
		fx.Populate(&e, &svc),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer app.Stop(ctx)

	conn, _, err := gws.DefaultDialer.DialContext(ctx, "ws://"+e.ListenerAddr().String()+"/ws", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	read := func() (event, data string) {
		var m struct {
			Event string
			Data  json.RawMessage
		}
		if err := conn.ReadJSON(&m); err != nil {
			log.Fatal(err)
		}
		return m.Event, string(m.Data)
	}

	conn.WriteJSON(map[string]any{"event": "authenticate", "data": credentials{Token: "alice"}})
	event, data := read()
	var connected struct{ ID, UserID string }
	json.Unmarshal([]byte(data), &connected)
	fmt.Println(event, connected.UserID)

	svc.server.Local().ToUser("alice", "greeting", map[string]string{"text": "hello"})
	fmt.Println(read())
	svc.emitter.ToUser(ctx, "alice", "job-done", map[string]int{"id": 7})
	fmt.Println(read())
	// Output:
	// connected alice
	// greeting {"text":"hello"}
	// job-done {"id":7}
}

// Without an authenticate hook the app does not start; the error says what
// to provide.
func Example_missingAuthenticate() {
	app := fx.New(fx.NopLogger, lifecycle.ProvideEcho, component.Module)
	fmt.Println(errors.Is(app.Err(), websocket.ErrNoAuthenticate))
	// Output: true
}

// Override a provided hook with fx.Decorate, here to log every
// authentication around the app's own check.
func Example_decorate() {
	var server *websocket.Server
	app := fx.New(
		fx.NopLogger,
		lifecycle.ProvideEcho,
		component.Module,
		fx.Provide(authenticate),
		fx.Decorate(func(next websocket.AuthenticateFunc) websocket.AuthenticateFunc {
			return func(ctx context.Context, req websocket.AuthRequest) (*websocket.Identity, error) {
				id, err := next(ctx, req)
				log.Printf("authenticate %s: %v", req.ClientID, err)
				return id, err
			}
		}),
		fx.Populate(&server),
	)
	fmt.Println(app.Err() == nil, server.Path())
	// Output: true /ws
}

// Without fx: build the server and emitter with New, and run the lifecycle
// steps by hand.
func ExampleNew() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := component.New(component.Config{}, component.Deps{Hooks: websocket.Hooks{Authenticate: authenticate()}})
	if err != nil {
		log.Fatal(err)
	}
	e := lifecycle.NewEcho()
	if err := lifecycle.Start(ctx, e, st.Server); err != nil { // Configure, then mount
		log.Fatal(err)
	}
	running, err := lifecycle.StartEcho(e, "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("serving", st.Server.Path())

	// On the way out: WebSocket clients first, then what was opened, then Echo.
	fmt.Println(lifecycle.Stop(ctx, st.Server, st), running.Stop(ctx))
	// Output:
	// serving /ws
	// <nil> <nil>
}
