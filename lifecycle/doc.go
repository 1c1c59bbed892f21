// Package lifecycle starts and stops an echows WebSocket server with an Echo
// app: configure on start, graceful shutdown on stop, route mounting, and an
// optional Echo server lifecycle for apps that want one.
//
// With fx, component.Module registers the WebSocket hooks itself (through
// Register); add EchoServer (and ProvideEcho when the app has no
// *echo.Echo) to have the app listen and serve too:
//
//	fx.New(
//		lifecycle.ProvideEcho, // only when the app provides no *echo.Echo
//		lifecycle.EchoServer,  // listens on component.Config.ListenAddr
//		component.Module,
//		fx.Provide(func() websocket.AuthenticateFunc { ... }),
//	)
//
// On start the WebSocket server is configured (it waits, within
// Config.ReadyTimeout, for its broker) and only then does its endpoint
// accept upgrades; before that it answers 503. On stop the server closes
// every client with 1001 "Server shutting down" and runs the disconnected
// hook for each; then what the module opened for it (emitter, broker, Redis
// client) is closed. Echo's own Shutdown does not track hijacked
// connections, so it never waits for WebSocket clients: the WebSocket stop
// hook is what ends them.
//
// Without fx the same steps are plain functions:
//
//	if err := lifecycle.Start(ctx, e, server); err != nil { ... } // Configure + Mount
//	running, err := lifecycle.StartEcho(e, ":8080")
//	...
//	_ = lifecycle.Stop(ctx, server, stack) // Shutdown, then close what was opened
//	_ = running.Stop(ctx)
//
// The package imports Echo and fx so that package websocket need not: the
// server itself is a plain net/http handler.
package lifecycle
