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

// exampleClient is a browser stand-in: a Go WebSocket client.
type exampleClient struct{ conn *gws.Conn }

// connect dials the app's endpoint and authenticates as user.
func connect(e *echo.Echo, path, user string) *exampleClient {
	conn, _, err := gws.DefaultDialer.Dial("ws://"+e.ListenerAddr().String()+path, nil)
	if err != nil {
		log.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	c := &exampleClient{conn}
	c.send("authenticate", credentials{Token: user})
	if event, _ := c.read(); event != "connected" {
		log.Fatalf("got %q, want connected", event)
	}
	return c
}

func (c *exampleClient) send(event string, data any) {
	if err := c.conn.WriteJSON(map[string]any{"event": event, "data": data}); err != nil {
		log.Fatal(err)
	}
}

// read returns the next message's event and data.
func (c *exampleClient) read() (event, data string) {
	var m struct {
		Event string
		Data  json.RawMessage
	}
	if err := c.conn.ReadJSON(&m); err != nil {
		log.Fatal(err)
	}
	return m.Event, string(m.Data)
}

// run starts app, and returns the function that stops it.
func run(app *fx.App) (stop func()) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	if err := app.Start(ctx); err != nil {
		log.Fatal(err)
	}
	return func() { app.Stop(ctx); cancel() }
}

// The minimal app: the module, a Config and the authenticate hook. Echo is
// provided and served by package lifecycle, on the address its own config
// gives; a service gets the server and the emitter injected.
func Example() {
	var server *websocket.Server
	app := fx.New(
		fx.NopLogger, // keep the example's output to what it prints
		lifecycle.ProvideEcho,
		lifecycle.EchoServer,
		component.Module,
		fx.Supply(component.Config{Settings: websocket.Settings{Path: "/realtime"}}),
		fx.Supply(lifecycle.EchoServerConfig{Addr: "127.0.0.1:0"}),
		fx.Provide(authenticate),
		fx.Populate(&server),
	)
	defer run(app)()
	fmt.Println("endpoint:", server.Path())
	// Output: endpoint: /realtime
}

// A client (here a Go one) connects, authenticates and receives what a
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
		fx.Supply(lifecycle.EchoServerConfig{Addr: "127.0.0.1:0"}),
		fx.Provide(authenticate),
		fx.Provide(func(s *websocket.Server, em *emitter.Emitter) *service { return &service{s, em} }),
		fx.Populate(&e, &svc),
	)
	defer run(app)()

	c := connect(e, "/ws", "alice")
	ctx := context.Background()
	svc.server.ToUser(ctx, "alice", "greeting", map[string]string{"text": "hello"})
	fmt.Println(c.read())
	svc.emitter.ToUser(ctx, "alice", "job-done", map[string]int{"id": 7})
	fmt.Println(c.read())
	// Output:
	// greeting {"text":"hello"}
	// job-done {"id":7}
}

// ChatService is an app service that sends through the emitter. The
// emitter is provided before, and without, the hooks, so a hook may depend
// on the service.
type ChatService struct{ emitter *emitter.Emitter }

func NewChatService(em *emitter.Emitter) *ChatService { return &ChatService{em} }

// Say sends text from user to everyone in room, on every instance.
func (s *ChatService) Say(ctx context.Context, room, user, text string) error {
	return s.emitter.ToRoom(ctx, room, "chat", map[string]string{"from": user, "text": text})
}

// A message hook calls an app service that uses the emitter: the hook's
// constructor takes the service, the service's takes the emitter. The hook
// reaches the client it serves through the *websocket.Client it is given.
func Example_hookUsesService() {
	var e *echo.Echo
	app := fx.New(
		fx.NopLogger,
		lifecycle.ProvideEcho,
		lifecycle.EchoServer,
		component.Module,
		fx.Supply(lifecycle.EchoServerConfig{Addr: "127.0.0.1:0"}),
		fx.Provide(authenticate, NewChatService),
		fx.Provide(func(chat *ChatService) websocket.MessageFunc {
			return func(ctx context.Context, c *websocket.Client, msg websocket.Message) error {
				var text string
				if err := json.Unmarshal(msg.Data, &text); err != nil {
					return c.Send("error", map[string]string{"message": "say what?"})
				}
				return chat.Say(ctx, "ws-default", c.UserID(), text)
			}
		}),
		fx.Populate(&e),
	)
	defer run(app)()

	c := connect(e, "/ws", "alice")
	c.send("say", "hi all")
	fmt.Println(c.read())
	// Output: chat {"from":"alice","text":"hi all"}
}

// Two modules of one app handle their own events; events no handler claims
// go to the message hook. The handlers' constructors take what they need
// from the graph, here the emitter.
func ExampleHandlers() {
	type note struct {
		Text string `json:"text"`
	}
	notes := fx.Module("notes", component.Handlers(func(em *emitter.Emitter) websocket.EventHandler {
		return websocket.HandleAs("note", func(ctx context.Context, c *websocket.Client, n note) error {
			return em.ToUser(ctx, c.UserID(), "noted", n)
		})
	}))
	presence := fx.Module("presence", component.Handlers(func() []websocket.EventHandler {
		return []websocket.EventHandler{
			websocket.Handle("ping", func(_ context.Context, c *websocket.Client, _ websocket.Message) error {
				return c.Send("pong", nil)
			}),
		}
	}))
	var e *echo.Echo
	app := fx.New(
		fx.NopLogger,
		lifecycle.ProvideEcho,
		lifecycle.EchoServer,
		component.Module,
		fx.Supply(lifecycle.EchoServerConfig{Addr: "127.0.0.1:0"}),
		fx.Provide(authenticate),
		notes,
		presence,
		fx.Provide(func() websocket.MessageFunc {
			return func(_ context.Context, c *websocket.Client, msg websocket.Message) error {
				return c.Send("unknown", msg.Event)
			}
		}),
		fx.Populate(&e),
	)
	defer run(app)()

	c := connect(e, "/ws", "alice")
	c.send("note", note{Text: "buy milk"})
	fmt.Println(c.read())
	c.send("ping", nil)
	fmt.Println(c.read())
	c.send("dance", nil)
	fmt.Println(c.read())
	// Output:
	// noted {"text":"buy milk"}
	// pong null
	// unknown "dance"
}

// Two handlers for one event fail fx.New, naming where each was made.
func ExampleHandlers_clash() {
	ping := func() websocket.EventHandler {
		return websocket.Handle("ping", func(context.Context, *websocket.Client, websocket.Message) error { return nil })
	}
	app := fx.New(
		fx.NopLogger,
		lifecycle.ProvideEcho,
		component.Module,
		fx.Provide(authenticate),
		fx.Module("a", component.Handlers(ping)),
		fx.Module("b", component.Handlers(ping)),
	)
	fmt.Println(errors.Is(app.Err(), websocket.ErrDuplicateHandler))
	// Output: true
}

// Without an authenticate hook the app does not start; the error says what
// to provide.
func Example_missingAuthenticate() {
	app := fx.New(fx.NopLogger, lifecycle.ProvideEcho, component.Module)
	fmt.Println(errors.Is(app.Err(), websocket.ErrNoAuthenticate))
	// Output: true
}

// A RedisURL that cannot work fails fx.New at once, before any connection
// is tried.
func Example_badRedisURL() {
	app := fx.New(fx.NopLogger, lifecycle.ProvideEcho, component.Module, fx.Provide(authenticate),
		fx.Supply(component.Config{RedisURL: "localhost:6379"}))
	fmt.Println(errors.Is(app.Err(), websocket.ErrInvalidConfig))
	// Output: true
}

// Override a provided hook with fx.Decorate, here to refuse a banned user
// before the app's own check. The decorator sits at the app's root: fx
// applies a decorator only inside the module that declares it, and the
// server is built inside the echows module.
func Example_decorate() {
	var e *echo.Echo
	app := fx.New(
		fx.NopLogger,
		lifecycle.ProvideEcho,
		lifecycle.EchoServer,
		component.Module,
		fx.Supply(lifecycle.EchoServerConfig{Addr: "127.0.0.1:0"}),
		fx.Provide(authenticate),
		fx.Decorate(func(next websocket.AuthenticateFunc) websocket.AuthenticateFunc {
			return func(ctx context.Context, req websocket.AuthRequest) (*websocket.Identity, error) {
				if string(req.Data) == `{"token":"mallory"}` {
					return nil, websocket.ErrRejected
				}
				return next(ctx, req)
			}
		}),
		fx.Populate(&e),
	)
	defer run(app)()

	conn, _, err := gws.DefaultDialer.Dial("ws://"+e.ListenerAddr().String()+"/ws", nil)
	if err != nil {
		log.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	c := &exampleClient{conn}
	c.send("authenticate", credentials{Token: "mallory"})
	fmt.Println(c.read())
	// Output: error {"message":"Authentication failed"}
}

// Without fx: New builds the broker and the emitter (services take the
// emitter), NewServer the server from the hooks, and package lifecycle runs
// the start and stop steps.
func ExampleNew() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := component.New(component.Config{}, component.Deps{})
	if err != nil {
		log.Fatal(err)
	}
	chat := NewChatService(st.Emitter)
	server, err := st.NewServer(websocket.Hooks{
		Authenticate: authenticate(),
		OnMessage: func(ctx context.Context, c *websocket.Client, msg websocket.Message) error {
			return chat.Say(ctx, "ws-default", c.UserID(), string(msg.Data))
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	e := lifecycle.NewEcho()
	if err := lifecycle.Start(ctx, e, server); err != nil { // Configure, then mount
		log.Fatal(err)
	}
	running, err := lifecycle.StartEcho(e, lifecycle.EchoServerConfig{Addr: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("serving", server.Path())

	// On the way out: Echo's requests first, then the WebSocket clients,
	// then what New opened.
	fmt.Println(running.Stop(ctx), lifecycle.Stop(ctx, server, st))
	// Output:
	// serving /ws
	// <nil> <nil>
}
