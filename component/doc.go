// Package component is the echows fx module: one option that gives an Echo
// app a WebSocket endpoint with authentication, rooms, heartbeat and
// cross-instance fan-out, and gives its services an emitter.
//
// # Wiring
//
// Add Module, provide a websocket.AuthenticateFunc, and optionally supply a
// Config, the other hooks and event handlers:
//
//	fx.New(
//		lifecycle.ProvideEcho, // or the app's own *echo.Echo
//		lifecycle.EchoServer,  // or the app serves Echo itself
//		component.Module,
//		fx.Supply(component.Config{RedisURL: os.Getenv("REDIS_URL")}),
//		fx.Supply(lifecycle.EchoServerConfig{Addr: ":8080"}), // optional
//		fx.Provide(NewChatService), // func NewChatService(*emitter.Emitter) *ChatService
//		fx.Provide(func(users *UserStore) websocket.AuthenticateFunc { ... }),
//		fx.Provide(func(chat *ChatService) websocket.MessageFunc { ... }),
//		component.Handlers(NewPresenceHandlers), // from any module
//	)
//
// Services take *emitter.Emitter (ToClient, ToUser, ToRoom, Broadcast: every
// instance) or *websocket.Server (the same, plus Local, Send, JoinRoom,
// Disconnect, ...). The server is usable as soon as it is injected: local
// sends work before the app starts.
//
// On Echo v5 use package echov5 instead of Module and package lifecycle;
// with another router, Core (see below).
//
// # The graph: hooks may use the app's services
//
// The module builds, in this order:
//
//	Config (+ the app's Redis client) → broker → emitter
//	broker + hooks + event handlers          → server
//
// The broker (an in-process websocket.MemoryBroker, or a websocket.RedisBroker)
// and the emitter publishing on it need only the Config, so they come first,
// and hooks, handlers and the services they call may take the emitter and
// each other: a message hook calling a ChatService that emits to a room is
// the normal shape, and it has no cycle. Only the server is built from the
// hooks, so a hook's constructor cannot take the *websocket.Server (fx would
// report a cycle). A hook does not need to: it is given the
// *websocket.Client it serves, which answers that client (c.Send) and
// reaches the server (c.Server(): rooms, local delivery, disconnects); the
// emitter reaches everyone else.
//
// Why values in the graph rather than registration after construction (as
// centrifuge's Node.OnConnecting or melody's HandleMessage do): the server
// is complete when fx hands it out, so no connection can arrive before its
// hooks are set and none is ever served by a half-configured server; a
// missing authenticate hook or two handlers for one event fail fx.New, not a
// client at run time; the hooks are ordinary fx citizens, overridden with
// fx.Provide, fx.Decorate and fx.Replace like anything else; and nothing
// needs a mutable setter that must be called "before start". The price is
// the one above: a hook reaches the server through its client, and sends to
// others through the emitter.
//
// # Event handlers from any module
//
// Custom events are routed by name: each module of the app contributes
// handlers for its own events with Handlers, whose constructor may take any
// dependency. websocket.HandleAs gives a handler the event's data decoded
// into its own type (data that does not decode is answered with "Invalid
// message format"). Events no handler claims go to the websocket.MessageFunc
// hook (upstream's messageHandler), if the app provides one, and are dropped
// otherwise. Two handlers for one event fail fx.New with an error wrapping
// websocket.ErrDuplicateHandler naming both (each handler records where it
// was made); a handler for a system event fails with
// websocket.ErrReservedEvent.
//
// # Overriding defaults, and where decorators go
//
// Config is optional: without one every default applies (path "/ws",
// in-process broker). Every hook is an optional value of its websocket type
// (AuthenticateFunc, HandshakeFunc, ValidateRoomsFunc, ConnectedFunc,
// DisconnectedFunc, MessageFunc, OutboundTransformer, InboundTransformer);
// only AuthenticateFunc is required, and HandshakeFunc with
// Settings.RequireEncryption. Override the fx way: provide a hook, fx.Decorate
// a provided one, fx.Supply or fx.Replace the Config. A *slog.Logger in the
// graph receives echows' logs.
//
// Put fx.Decorate of an echows hook (or of Config) at the app's root, in
// fx.New's own options. fx applies a decorator only to what is built inside
// the module that declares it and the modules nested in it, and the server
// is built inside the "echows" module: a decorator inside the app's own
// fx.Module("auth", ...) is silently not applied to the server's hook. fx
// reports no error for it, and echows cannot see it. A module that wants to
// wrap a hook can instead provide the hook itself (one provider per type),
// or handle its own events with Handlers.
//
// # Metrics and health
//
// When the graph has a prometheus.Registerer (unnamed), the module
// registers the server's metrics on it (see package prommetrics) and
// unregisters them on stop; without one nothing is registered, on the
// global registry neither. Config.ReadinessPath and Config.LivenessPath
// (off by default) mount the server's readiness handler (503 while the
// broker's subscriptions are down or the delivery probe is overdue) and a
// liveness handler; point Kubernetes' readinessProbe and livenessProbe at
// them.
//
// # Redis
//
// The broker is chosen at construction:
//
//  1. a redis.UniversalClient named "echows" in the graph (see UseRedis): the
//     app's client, never closed by echows. The broker clones its options
//     into a small client of its own, so WebSocket traffic does not share the
//     app's pool;
//  2. else Config.RedisURL: a client the module opens and closes on stop;
//  3. else one in-process websocket.MemoryBroker, shared by the server and
//     the emitter, so the emitter reaches this process's clients.
//
// Setting both 1 and 2 is an error, not a silent precedence. A RedisURL that
// cannot work (not a URL, no host, no port) fails fx.New at once; a Redis
// that does not answer fails the start after Settings.ReadyTimeout.
//
// # Start and stop, in any option order
//
// fx starts lifecycle hooks in the order they were appended and stops them
// in reverse, and a constructor runs before whatever depends on it. The
// module appends its hooks from its constructors, so the order follows the
// graph, not the order of the options:
//
//   - the broker's constructor appends the closing of the emitter, the
//     broker and the Redis client the module opened;
//   - the server's constructor (which needs the broker) appends configure on
//     start and shutdown on stop;
//   - lifecycle.EchoServer (and echov5.EchoServer) takes the server, so its
//     hook comes after both.
//
// Start: the broker is ready and the server configured (waiting at most
// Settings.ReadyTimeout, itself bounded by fx.StartTimeout), then the
// endpoint opens, then Echo serves; /healthz cannot answer before /ws works.
// Stop: Echo stops accepting and waits for the requests in flight, which may
// still send and emit; then every WebSocket client gets 1001 "Server
// shutting down" and the disconnected hook runs for each (and may still
// emit); then the emitter, the broker and the Redis client close. An app
// service whose own stop hook emits takes the emitter, so it stops before
// the emitter closes.
//
// An app that serves its HTTP server from its own hook gets the same order
// by taking *websocket.Server (or *emitter.Emitter) in the function that
// appends that hook. Should its server serve before echows is configured
// anyway, the endpoint answers 503 Service Unavailable with Retry-After
// until then. See package lifecycle for the HTTP server settings (the
// Slowloris guard) an app's own server should have.
//
// # Other routers
//
// Module is Core plus a route on the app's Echo v4. echov5.Module is Core
// plus a route on Echo v5. With any other router, use Core and mount the
// *websocket.Server (an http.Handler) at its Path from a function that takes
// the server.
//
// # Errors at start-up
//
// Every configuration error wraps websocket.ErrInvalidConfig and fails
// fx.New (app.Err()): a missing authenticate hook
// (websocket.ErrNoAuthenticate), RequireEncryption without a handshake hook
// (websocket.ErrNoHandshake), two handlers for one event
// (websocket.ErrDuplicateHandler), a handler for a system event
// (websocket.ErrReservedEvent), negative durations or sizes, a path not
// starting with "/", a RedisURL that cannot work, RedisURL beside the app's
// named client. A Redis that never becomes ready fails app.Start with
// websocket.ErrBrokerNotReady, naming the address and the wait.
//
// # Without fx
//
// New builds the broker and the emitter (hand the emitter to the services
// the hooks use), Stack.NewServer the server from the hooks and handlers;
// package lifecycle has the start and stop steps as plain functions.
package component
