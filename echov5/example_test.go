package echov5_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"time"

	gws "github.com/gorilla/websocket"
	"go.uber.org/fx"

	"github.com/echows/echows/component"
	"github.com/echows/echows/echov5"
	"github.com/echows/echows/emitter"
	"github.com/echows/echows/websocket"
)

// An app on Echo v5: the same options as on v4, from package echov5. A
// client connects, authenticates and gets what a service emits.
func Example() {
	var (
		addr net.Addr
		em   *emitter.Emitter
	)
	app := fx.New(
		fx.NopLogger,
		echov5.ProvideEcho,
		echov5.EchoServer,
		echov5.Module,
		fx.Supply(component.Config{}), // RedisURL: os.Getenv("REDIS_URL") to scale out
		fx.Supply(echov5.EchoServerConfig{
			Addr:             "127.0.0.1:0",
			ListenerAddrFunc: func(a net.Addr) { addr = a },
		}),
		fx.Provide(func() websocket.AuthenticateFunc {
			return websocket.AuthenticateAs(func(_ context.Context, _ websocket.AuthRequest, c struct{ Token string }) (*websocket.Identity, error) {
				return &websocket.Identity{UserID: c.Token}, nil
			})
		}),
		fx.Populate(&em),
	)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer app.Stop(ctx)

	conn, _, err := gws.DefaultDialer.Dial("ws://"+addr.String()+"/ws", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	conn.WriteJSON(map[string]any{"event": "authenticate", "data": map[string]string{"token": "alice"}})
	var m struct{ Event string }
	conn.ReadJSON(&m)
	fmt.Println(m.Event)

	em.ToUser(ctx, "alice", "hello", "from a service")
	_, frame, _ := conn.ReadMessage()
	fmt.Println(string(frame))
	// Output:
	// connected
	// {"event":"hello","data":"from a service"}
}
