// Package echov5 is the echows binding for Echo v5 (github.com/labstack/echo/v5),
// beside the Echo v4 one (packages component and lifecycle): the same fx
// module, the same hooks, handlers, Config and order of start and stop, with
// the route mounted on a v5 *echo.Echo and, optionally, a v5 Echo server
// lifecycle.
//
// Import this package when the app is on Echo v5; on Echo v4 use
// component.Module and package lifecycle. Everything else is shared:
// component.Config, component.Handlers, component.UseRedis, the websocket
// hook types and *emitter.Emitter.
//
//	fx.New(
//		echov5.ProvideEcho, // omit when the app provides its own *echo.Echo
//		echov5.EchoServer,  // omit when the app serves Echo itself
//		echov5.Module,      // component.Module for Echo v5
//		fx.Supply(component.Config{RedisURL: os.Getenv("REDIS_URL")}),
//		fx.Supply(echov5.EchoServerConfig{Addr: ":8080"}),
//		fx.Provide(func() websocket.AuthenticateFunc { ... }),
//	)
//
// Without fx, build the server with component.New and Stack.NewServer (or
// websocket.New), call Start before Echo serves, serve Echo as v5 does
// (echo.StartConfig), and after it returned call Server.Shutdown and then
// Stack.Close.
//
// Echo v5 changed echo.Context into a struct and made configs return errors
// instead of panicking; nothing of that reaches echows, whose server is a
// plain net/http handler. Echo v4 gets fixes until the end of 2026.
package echov5
