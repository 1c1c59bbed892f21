package websocket_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"

	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/websocket"
)

// A server that accepts any token as the user id, mounted on a test HTTP
// server; a client authenticates and receives a room message.
func Example() {
	srv, err := websocket.New(websocket.Config{Hooks: websocket.Hooks{Authenticate: websocket.AuthenticateAs(func(_ context.Context, _ websocket.AuthRequest, creds struct{ Token string }) (*websocket.Identity, error) {
		if creds.Token == "" {
			return nil, websocket.ErrRejected
		}
		return &websocket.Identity{UserID: creds.Token}, nil
	})}})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	srv.Configure(ctx)
	defer srv.Shutdown(ctx)
	hs := httptest.NewServer(srv)
	defer hs.Close()

	conn, _, err := gws.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+srv.Path(), nil)
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	conn.WriteMessage(gws.TextMessage, []byte(`{"event":"authenticate","data":{"token":"alice"}}`))

	var msg struct {
		Event string
		Data  json.RawMessage
	}
	conn.ReadJSON(&msg)
	fmt.Println(msg.Event)

	srv.ToRoom(ctx, "ws-default", "greeting", map[string]string{"text": "hello"})
	conn.ReadJSON(&msg)
	fmt.Println(msg.Event, string(msg.Data))
	// Output:
	// connected
	// greeting {"text":"hello"}
}

// Hooks get the client; metadata set by Authenticate is read back typed.
func ExampleMetadataAs() {
	type account struct{ Plan string }
	onMessage := func(_ context.Context, c *websocket.Client, msg websocket.Message) error {
		if acct, ok := websocket.MetadataAs[account](c); ok && acct.Plan == "pro" {
			fmt.Println("pro user sent", msg.Event)
		}
		return nil
	}
	_ = websocket.Config{Hooks: websocket.Hooks{OnMessage: onMessage}}
	// Output:
}
