package websocket

import (
	"context"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/websocket/wire"
)

func TestProtocolErrors(t *testing.T) {
	ts := startServer(t, Config{})
	tests := []struct {
		name  string
		frame string
		auth  bool
		want  string
	}{
		{"not json", "{oops", false, wire.ErrTextInvalidFormat},
		{"event of the wrong type", `{"event":5}`, false, wire.ErrTextInvalidFormat},
		{"id of the wrong type", `{"event":"x","id":7}`, true, wire.ErrTextInvalidFormat},
		{"custom event before auth", `{"event":"chat","data":1}`, false, wire.ErrTextNotAuthenticated},
		{"join before auth", `{"event":"join","data":{"rooms":["a"]}}`, false, wire.ErrTextNotAuthenticated},
		{"authenticate twice", `{"event":"authenticate","data":{"token":"bob"}}`, true, wire.ErrTextAlreadyAuthed},
		{"join with rooms not an array", `{"event":"join","data":{"rooms":"a"}}`, true, wire.ErrTextInvalidFormat},
		{"join without data", `{"event":"join"}`, true, wire.ErrTextInvalidFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ts.dial(t)
			if tt.auth {
				c.authenticate("bob")
			}
			c.sendRaw(tt.frame)
			c.expectError(tt.want)
		})
	}
}

func TestMessageWithoutEventIsDropped(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.dial(t)
	c.sendRaw(`{"data":1}`)
	c.sendRaw(`{"event":"","data":1}`)
	c.sendRaw(`[1,2]`)
	c.sendRaw(`"just a string"`)
	c.sendRaw(`null`)
	c.roundTrip() // the first frame the client gets answers the round trip
}

func TestBinaryFrameIsInvalidFormat(t *testing.T) {
	ts := startServer(t, Config{})
	c := ts.dial(t)
	if err := c.conn.WriteMessage(gws.BinaryMessage, []byte(`{"event":"heartbeat"}`)); err != nil {
		t.Fatal(err)
	}
	c.expectError(wire.ErrTextInvalidFormat)
}

func TestAuthenticationFailures(t *testing.T) {
	ts := startServer(t, Config{})
	tests := []struct {
		token string
		want  string
	}{
		{"reject", wire.ErrTextAuthFailed},
		{"error", wire.ErrTextAuthError},
		{"panic", wire.ErrTextAuthError},
	}
	for _, tt := range tests {
		t.Run(tt.token, func(t *testing.T) {
			c := ts.dial(t)
			c.send(wire.EventAuthenticate, map[string]string{"token": tt.token})
			c.expectError(tt.want)
			c.expectClose(wire.CloseAuthFailed, wire.ReasonAuthFailed)
		})
	}
	t.Run("credentials of the wrong type", func(t *testing.T) {
		c := ts.dial(t)
		c.send(wire.EventAuthenticate, "just a string")
		c.expectError(wire.ErrTextAuthFailed)
		c.expectClose(wire.CloseAuthFailed, wire.ReasonAuthFailed)
	})
}

func TestAuthTimeout(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{AuthTimeout: 50 * time.Millisecond}})
	t.Run("nothing sent", func(t *testing.T) {
		c := ts.dial(t)
		c.expectClose(wire.CloseAuthTimeout, wire.ReasonAuthTimeout)
	})
	t.Run("heartbeats do not authenticate", func(t *testing.T) {
		c := ts.dial(t)
		c.send(wire.EventHeartbeat, nil)
		c.expectClose(wire.CloseAuthTimeout, wire.ReasonAuthTimeout)
	})
	t.Run("hook never finishes", func(t *testing.T) {
		c := ts.dial(t)
		c.send(wire.EventAuthenticate, map[string]string{"token": "hang"})
		c.expectClose(wire.CloseAuthTimeout, wire.ReasonAuthTimeout)
	})
}

func TestSlowAuthenticationDoesNotBlockOthers(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{AuthTimeout: time.Minute}})
	slow := ts.dial(t)
	slow.send(wire.EventAuthenticate, map[string]string{"token": "hang"})
	slow.send(wire.EventAuthenticate, map[string]string{"token": "again"})
	slow.expectError(wire.ErrTextAlreadyAuthed) // its read loop is free meanwhile
	fast := ts.dial(t)
	fast.authenticate("fast")
}

func TestAuthenticateAsDecodesCredentials(t *testing.T) {
	type creds struct {
		Type  string `json:"type"`
		Token string `json:"token"`
	}
	decoded := make(chan creds, 1)
	auth := AuthenticateAs(func(_ context.Context, _ AuthRequest, c creds) (*Identity, error) {
		decoded <- c
		return &Identity{UserID: c.Token}, nil
	})
	ts := startServer(t, Config{Hooks: Hooks{Authenticate: auth}})
	c := ts.dial(t)
	c.send(wire.EventAuthenticate, map[string]string{"type": "Bearer", "token": "carol"})
	c.expect(wire.EventConnected)
	if got := <-decoded; got.Type != "Bearer" || got.Token != "carol" {
		t.Fatalf("decoded %+v", got)
	}
}
