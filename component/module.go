package component

import (
	"fmt"
	"log/slog"
	"net/http"
	"reflect"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"

	"github.com/echows/echows/browser"
	"github.com/echows/echows/emitter"
	"github.com/echows/echows/internal/serve"
	"github.com/echows/echows/websocket"
)

// RedisClientName is the fx name under which the module looks for the app's
// Redis client: a redis.UniversalClient tagged `name:"echows"`. See UseRedis.
const RedisClientName = "echows"

// HandlersGroup is the fx value group of websocket.EventHandler values the
// module routes custom events to. Handlers provides into it; a constructor
// may also do so with an fx.Out field tagged `group:"echows.handlers"`.
const HandlersGroup = "echows.handlers"

// Module is the echows fx module for apps on Echo v4. It takes from the
// graph:
//
//   - Config, optional: without one every default applies.
//   - the hooks, each an optional value of its websocket type:
//     websocket.AuthenticateFunc (required: without it fx.New fails with an
//     error wrapping websocket.ErrNoAuthenticate), HandshakeFunc (required
//     with Settings.RequireEncryption), ValidateRoomsFunc, ConnectedFunc,
//     DisconnectedFunc, MessageFunc, OutboundTransformer and
//     InboundTransformer.
//   - the event handlers of every module, in the HandlersGroup value group
//     (see Handlers).
//   - *slog.Logger, optional (default slog.Default()).
//   - a redis.UniversalClient named "echows", optional (see UseRedis).
//   - a prometheus.Registerer, optional: the server's metrics are registered
//     on it (see package prommetrics), and on nothing without one.
//   - the app's *echo.Echo, on which the endpoint is mounted at
//     Settings.Path while the graph is built, and the health handlers at
//     Config.ReadinessPath and LivenessPath when they are set.
//
// It provides *emitter.Emitter and *websocket.Server, and nothing else: no
// Redis client, no Echo, no configuration of the app's HTTP server. The
// emitter does not depend on the hooks, so hooks, handlers and the services
// they call may take it. On start the server is configured (its broker
// ready) and the endpoint opens; on stop the server shuts down (1001 to
// every client) and then the emitter, the broker and the Redis client it
// opened close, in that order. See the package documentation for how this
// orders itself with the app's HTTP server.
var Module = fx.Module("echows", Core, fx.Invoke(mountEcho))

// Core is Module without the route: it provides the emitter and the server
// and appends their start and stop hooks, and mounts nothing. Module is
// Core plus a route on Echo v4, and echov5.Module Core plus a route on Echo
// v5. With any other router, use Core and mount the *websocket.Server (an
// http.Handler) at its Path yourself, from a function that takes the server
// (so it runs after the server's hooks were appended).
var Core = fx.Options(
	fx.Provide(newStack, fx.Private),
	fx.Provide(newEmitter, newServer),
)

// UseRedis is an fx option that hands the app's own Redis client, provided
// as a T (*redis.Client, *redis.ClusterClient, redis.UniversalClient, ...),
// to the module under RedisClientName. echows opens its own pub/sub
// connections from it and never closes it. It is the same as providing
//
//	fx.Annotate(func(c T) redis.UniversalClient { return c }, fx.ResultTags(`name:"echows"`))
func UseRedis[T redis.UniversalClient]() fx.Option {
	return fx.Provide(fx.Annotate(
		func(c T) redis.UniversalClient { return c },
		fx.ResultTags(`name:"`+RedisClientName+`"`),
	))
}

var (
	handlerType  = reflect.TypeFor[websocket.EventHandler]()
	handlersType = reflect.TypeFor[[]websocket.EventHandler]()
	errorType    = reflect.TypeFor[error]()
)

// Handlers is an fx option that provides the event handlers ctor returns to
// the module, from any module of the app. ctor is an fx constructor: it may
// take any dependency (the emitter, the app's services) and returns a
// websocket.EventHandler or a []websocket.EventHandler, optionally with an
// error:
//
//	component.Handlers(func(chat *ChatService) []websocket.EventHandler {
//		return []websocket.EventHandler{
//			websocket.HandleAs("chat", chat.Say),
//			websocket.HandleAs("typing", chat.Typing),
//		}
//	})
//
// Two handlers for one event, from one module or two, fail fx.New with an
// error wrapping websocket.ErrDuplicateHandler that names where each was
// made (websocket.Handle and HandleAs record their caller); a handler for a
// system event fails with websocket.ErrReservedEvent.
func Handlers(ctor any) fx.Option {
	t := reflect.TypeOf(ctor)
	if t == nil || t.Kind() != reflect.Func || t.NumOut() < 1 || t.NumOut() > 2 ||
		(t.NumOut() == 2 && t.Out(1) != errorType) {
		return fx.Error(fmt.Errorf("component.Handlers: %T is not a constructor returning websocket.EventHandler or []websocket.EventHandler (and optionally an error)", ctor))
	}
	tag := `group:"` + HandlersGroup + `"`
	switch t.Out(0) {
	case handlerType:
	case handlersType:
		tag = `group:"` + HandlersGroup + `,flatten"`
	default:
		return fx.Error(fmt.Errorf("component.Handlers: %T returns %v, not websocket.EventHandler or []websocket.EventHandler", ctor, t.Out(0)))
	}
	return fx.Provide(fx.Annotate(ctor, fx.ResultTags(tag)))
}

// stackParams are what the stack is built from.
type stackParams struct {
	fx.In

	Lifecycle  fx.Lifecycle
	Config     Config                `optional:"true"`
	Logger     *slog.Logger          `optional:"true"`
	Redis      redis.UniversalClient `name:"echows" optional:"true"`
	Registerer prometheus.Registerer `optional:"true"`
}

// newStack builds the stack and appends its Close as a stop hook. The hook
// is appended before the server's (the server is built from the stack) and
// before those of everything that takes the emitter, and fx stops hooks in
// reverse order: the emitter, broker and Redis client close last.
func newStack(p stackParams) (*Stack, error) {
	st, err := New(p.Config, Deps{Logger: p.Logger, Redis: p.Redis, Registerer: p.Registerer})
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.StopHook(st.Close))
	return st, nil
}

func newEmitter(st *Stack) *emitter.Emitter { return st.Emitter }

// serverParams are what the server is built from: the stack, the event
// handlers and one field per websocket.Hooks field (fx needs a field per
// type; hooks maps them, and a test keeps the two lists equal).
type serverParams struct {
	fx.In

	Lifecycle fx.Lifecycle
	Stack     *Stack
	Handlers  []websocket.EventHandler `group:"echows.handlers"`

	Authenticate      websocket.AuthenticateFunc    `optional:"true"`
	Handshake         websocket.HandshakeFunc       `optional:"true"`
	ValidateRooms     websocket.ValidateRoomsFunc   `optional:"true"`
	OnConnected       websocket.ConnectedFunc       `optional:"true"`
	OnDisconnected    websocket.DisconnectedFunc    `optional:"true"`
	OnMessage         websocket.MessageFunc         `optional:"true"`
	TransformOutbound websocket.OutboundTransformer `optional:"true"`
	TransformInbound  websocket.InboundTransformer  `optional:"true"`
}

func (p serverParams) hooks() websocket.Hooks {
	return websocket.Hooks{
		Authenticate:      p.Authenticate,
		Handshake:         p.Handshake,
		ValidateRooms:     p.ValidateRooms,
		OnConnected:       p.OnConnected,
		OnDisconnected:    p.OnDisconnected,
		OnMessage:         p.OnMessage,
		TransformOutbound: p.TransformOutbound,
		TransformInbound:  p.TransformInbound,
	}
}

// served is what newServer provides: the server, and the gate in front of
// it that the route mounts (internal: only the bindings take it).
type served struct {
	fx.Out

	Server *websocket.Server
	Gate   *serve.Gate
	Health serve.Health
}

// newServer builds the server from the stack and the hooks and appends its
// hooks: configure (then open the gate) on start, shut down on stop.
// Whatever takes the server (the Echo server's hooks among them) is built
// after this and so starts after the server is configured and stops before
// it shuts down.
func newServer(p serverParams) (_ served, err error) {
	defer func() {
		if err != nil {
			_ = p.Stack.Close() // fx.New fails: no stop hook will run
		}
	}()
	if p.Authenticate == nil {
		return served{}, fmt.Errorf("echows: %w; provide one, e.g. fx.Provide(func() websocket.AuthenticateFunc { ... })", websocket.ErrNoAuthenticate)
	}
	if p.Stack.cfg.RequireEncryption && p.Handshake == nil {
		return served{}, fmt.Errorf("echows: %w; provide a websocket.HandshakeFunc", websocket.ErrNoHandshake)
	}
	s, err := p.Stack.NewServer(p.hooks(), p.Handlers...)
	if err != nil {
		return served{}, err
	}
	g := serve.Attach(p.Lifecycle, s)
	g.ScriptPath = p.Stack.cfg.BrowserClientPath
	health := serve.Health{ReadinessPath: p.Stack.cfg.ReadinessPath, LivenessPath: p.Stack.cfg.LivenessPath}
	return served{Server: s, Gate: g, Health: health}, nil
}

// mountEcho mounts the server's gate on the app's Echo v4, and the browser
// client and the health handlers at the paths the Config names.
func mountEcho(e *echo.Echo, s *websocket.Server, g *serve.Gate, h serve.Health) {
	e.GET(s.Path(), echo.WrapHandler(g))
	if g.ScriptPath != "" {
		script := echo.WrapHandler(browser.Handler())
		e.GET(g.ScriptPath, script)
		e.HEAD(g.ScriptPath, script)
	}
	h.Each(s, func(path string, handler http.Handler) { e.GET(path, echo.WrapHandler(handler)) })
}
