package component

import (
	"fmt"
	"log/slog"

	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"

	"github.com/echows/echows/emitter"
	"github.com/echows/echows/lifecycle"
	"github.com/echows/echows/websocket"
)

// RedisClientName is the fx name under which the module looks for the app's
// Redis client: a redis.UniversalClient tagged `name:"echows"`. See UseRedis.
const RedisClientName = "echows"

// Module is the echows fx module. It takes from the graph:
//
//   - Config, optional: without one every default applies. Supply it with
//     fx.Supply or fx.Provide; fx.Replace works with or without one, and
//     fx.Decorate on a supplied one.
//   - the hooks, each an optional value of its websocket type:
//     websocket.AuthenticateFunc (required: without it the app fails with an
//     error wrapping websocket.ErrNoAuthenticate), HandshakeFunc (required
//     with Config.RequireEncryption), ValidateRoomsFunc, ConnectedFunc,
//     DisconnectedFunc, MessageFunc, OutboundTransformer and
//     InboundTransformer. Provide them with fx.Provide; fx.Decorate wraps one.
//   - *slog.Logger, optional (default slog.Default()).
//   - a redis.UniversalClient named "echows", optional (see UseRedis).
//   - the app's *echo.Echo, on which the endpoint is mounted at Config.Path.
//
// It provides *websocket.Server, *emitter.Emitter and
// lifecycle.EchoServerConfig (for lifecycle.EchoServer), and nothing else: no
// Redis client, no Echo. On start it configures the server (waiting for its
// broker) and opens the endpoint; on stop it shuts the server down (1001 to
// every client) and then closes the emitter, the broker and the Redis client
// it opened, in that order.
var Module = fx.Module("echows",
	fx.Provide(provide, provideEchoServerConfig),
	fx.Invoke(lifecycle.Register),
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

// Params are what the module takes from the fx graph. Everything is optional
// but the lifecycle; a missing Authenticate is reported by the constructor.
type Params struct {
	fx.In

	Lifecycle fx.Lifecycle
	Config    Config                `optional:"true"`
	Logger    *slog.Logger          `optional:"true"`
	Redis     redis.UniversalClient `name:"echows" optional:"true"`

	Authenticate      websocket.AuthenticateFunc    `optional:"true"`
	Handshake         websocket.HandshakeFunc       `optional:"true"`
	ValidateRooms     websocket.ValidateRoomsFunc   `optional:"true"`
	OnConnected       websocket.ConnectedFunc       `optional:"true"`
	OnDisconnected    websocket.DisconnectedFunc    `optional:"true"`
	OnMessage         websocket.MessageFunc         `optional:"true"`
	TransformOutbound websocket.OutboundTransformer `optional:"true"`
	TransformInbound  websocket.InboundTransformer  `optional:"true"`
}

// Hooks returns the hooks in p.
func (p Params) Hooks() websocket.Hooks {
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

// Result is what the module provides.
type Result struct {
	fx.Out

	Server  *websocket.Server
	Emitter *emitter.Emitter
}

// provide builds the Stack and registers its Close as a stop hook. The hook
// is appended while the graph is built, before lifecycle.Register (which
// needs the server) appends the server's, and fx stops hooks in reverse
// order: the server shuts down first, then what it used is closed.
func provide(p Params) (Result, error) {
	if p.Authenticate == nil {
		return Result{}, fmt.Errorf("echows: %w; provide one, e.g. fx.Provide(func() websocket.AuthenticateFunc { ... })", websocket.ErrNoAuthenticate)
	}
	if p.Config.RequireEncryption && p.Handshake == nil {
		return Result{}, fmt.Errorf("echows: %w; provide a websocket.HandshakeFunc", websocket.ErrNoHandshake)
	}
	st, err := New(p.Config, Deps{Hooks: p.Hooks(), Logger: p.Logger, Redis: p.Redis})
	if err != nil {
		return Result{}, err
	}
	p.Lifecycle.Append(fx.StopHook(st.Close))
	return Result{Server: st.Server, Emitter: st.Emitter}, nil
}

func provideEchoServerConfig(p struct {
	fx.In
	Config Config `optional:"true"`
}) lifecycle.EchoServerConfig {
	return lifecycle.EchoServerConfig{Addr: p.Config.ListenAddr}
}
