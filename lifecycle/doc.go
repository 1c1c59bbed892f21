// Package lifecycle starts and stops an echows WebSocket server with an Echo
// v4 app: route mounting, configure on start, graceful shutdown on stop, and
// an optional Echo server lifecycle for apps that want one. (On Echo v5, see
// package echov5.)
//
// With fx, component.Module mounts the endpoint and appends the WebSocket
// server's hooks itself; add EchoServer (and ProvideEcho when the app has no
// *echo.Echo) to have the app listen and serve too:
//
//	fx.New(
//		lifecycle.ProvideEcho, // only when the app provides no *echo.Echo
//		lifecycle.EchoServer,  // serves Echo on EchoServerConfig.Addr
//		component.Module,
//		fx.Supply(lifecycle.EchoServerConfig{Addr: ":8080"}), // optional
//		fx.Provide(func() websocket.AuthenticateFunc { ... }),
//	)
//
// # Order
//
// The options may come in any order. EchoServer takes the
// *websocket.Server, so fx builds the server (whose constructor appends its
// hooks) before EchoServer appends its own: on start the WebSocket server is
// configured (its broker ready, within Settings.ReadyTimeout) before Echo
// serves; on stop Echo stops accepting and waits for its requests in flight
// (they may still send and emit), then the WebSocket clients get 1001
// "Server shutting down" and the disconnected hook runs for each, then the
// emitter, broker and Redis client close. Echo's Shutdown does not wait for
// WebSocket connections (net/http forgets hijacked connections); the
// WebSocket server's stop hook ends them.
//
// An app that builds its own *websocket.Server calls Register from that
// server's constructor to get the same. An app that serves Echo from its own
// hook takes *websocket.Server in the function that appends the hook; if
// its Echo serves before the WebSocket server is configured anyway, the
// endpoint answers 503 Service Unavailable with Retry-After until then.
//
// # HTTP server settings
//
// EchoServer sets two timeouts on e.Server (EchoServerConfig): a
// ReadHeaderTimeout (default 10 s), without which a client can hold a
// connection forever by sending its request headers a byte at a time
// (Slowloris; a WebSocket upgrade is headers only), and an IdleTimeout for
// keep-alive connections (default 120 s). An app running its own
// http.Server should set the same two. ReadTimeout and WriteTimeout may be
// set too: net/http clears a connection's deadlines when the WebSocket
// server takes it over, so they bound ordinary requests only; the WebSocket
// connections have their own limits (websocket.Settings: IdleTimeout,
// WriteTimeout, AuthTimeout, MaxPayloadLength, read rates).
//
// # Without fx
//
// The same steps are plain functions:
//
//	if err := lifecycle.Start(ctx, e, server); err != nil { ... } // Configure + Mount
//	running, err := lifecycle.StartEcho(e, lifecycle.EchoServerConfig{Addr: ":8080"})
//	...
//	_ = running.Stop(ctx)                  // Echo's requests in flight finish first
//	_ = lifecycle.Stop(ctx, server, stack) // then Shutdown (1001), then close what was opened
//
// The package imports Echo and fx so that package websocket need not: the
// server itself is a plain net/http handler.
package lifecycle
