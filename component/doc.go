// Package component is the echows fx module: one option that gives an Echo
// app a WebSocket endpoint with authentication, rooms, heartbeat and
// cross-instance fan-out.
//
// # Wiring
//
// Add Module, provide a websocket.AuthenticateFunc, and optionally supply a
// Config and the other hooks:
//
//	fx.New(
//		lifecycle.ProvideEcho, // or the app's own *echo.Echo
//		lifecycle.EchoServer,  // or the app starts Echo itself
//		component.Module,
//		fx.Supply(component.Config{RedisURL: os.Getenv("REDIS_URL")}),
//		fx.Provide(func(users *UserStore) websocket.AuthenticateFunc { ... }),
//		fx.Provide(func() websocket.ValidateRoomsFunc { ... }),
//	)
//
// Services then take *websocket.Server (Send, SendToUser, SendToRoom,
// Broadcast, JoinRoom, ...) or *emitter.Emitter from the graph. The server
// is usable as soon as it is injected: local sends work before the app
// starts.
//
// # What the module takes and provides
//
// Config is optional: without one every default applies (path "/ws",
// in-process broker). Every hook is an optional value of its websocket type
// (AuthenticateFunc, HandshakeFunc, ValidateRoomsFunc, ConnectedFunc,
// DisconnectedFunc, MessageFunc, OutboundTransformer, InboundTransformer);
// only AuthenticateFunc is required, and HandshakeFunc with
// Config.RequireEncryption. Override defaults the fx way: provide a hook,
// fx.Decorate a provided one, fx.Supply or fx.Replace the Config. A
// *slog.Logger in the graph receives the server's logs.
//
// A hook's constructor cannot take *websocket.Server or *emitter.Emitter
// from the graph: both are built from the hooks, and fx reports a cycle.
//
// The module provides *websocket.Server, *emitter.Emitter and
// lifecycle.EchoServerConfig. It never provides a type the app is likely to
// provide itself: no *redis.Client, no *echo.Echo (lifecycle.ProvideEcho is
// a separate, opt-in option).
//
// # Redis
//
// The broker is chosen at construction:
//
//  1. a redis.UniversalClient named "echows" in the graph (see UseRedis): the
//     app's client, never closed by echows. The broker clones its options
//     into a small client of its own, so WebSocket traffic does not share the
//     app's pool;
//  2. else Config.RedisURL or Config.RedisAddr: a client the module opens
//     and closes on stop;
//  3. else one in-process websocket.MemoryBroker, shared by the server and
//     the emitter, so the emitter reaches this process's clients.
//
// Setting both 1 and 2 is an error, not a silent precedence.
//
// # Lifecycle
//
// On start the server subscribes to its broker, waiting at most
// Config.ReadyTimeout (bounded by fx.StartTimeout too), and only then does
// the endpoint accept upgrades (it answers 503 before). On stop every client
// is closed with 1001 "Server shutting down" and the disconnected hook runs
// for each; then the emitter, the broker and the Redis client the module
// opened are closed, in that order. See package lifecycle.
//
// # Errors at start-up
//
// Every configuration error wraps websocket.ErrInvalidConfig and fails
// fx.New (app.Err()): a missing authenticate hook
// (websocket.ErrNoAuthenticate), RequireEncryption without a handshake hook
// (websocket.ErrNoHandshake), negative durations or sizes, a path not
// starting with "/", conflicting Redis settings. A Redis that never becomes
// ready fails app.Start with websocket.ErrBrokerNotReady, naming the address
// and the wait.
//
// # Without fx
//
// New builds the same server and emitter from a Config and Hooks; package
// lifecycle has the start and stop steps as plain functions.
package component
