package websocket

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/echows/echows/websocket/wire"
)

// Each custom event goes to its handler; an event no handler claims goes to
// OnMessage; typed data that does not decode is answered with "Invalid
// message format" and the handler is not called.
func TestHandlersRouteByEvent(t *testing.T) {
	type say struct {
		Text string `json:"text"`
	}
	ts := startServer(t, Config{
		Handlers: []EventHandler{
			HandleAs("say", func(_ context.Context, c *Client, d say) error {
				return c.Send("said", d.Text)
			}),
			Handle("ping", func(_ context.Context, c *Client, msg Message) error {
				return c.Send("pong", msg.Data)
			}),
		},
		Hooks: Hooks{OnMessage: func(_ context.Context, c *Client, msg Message) error {
			return c.Send("caught", msg.Event)
		}},
	})
	c := ts.dial(t)
	c.authenticate("alice")

	c.send("say", map[string]string{"text": "hi"})
	if m := c.expect("said"); string(m.Data) != `"hi"` {
		t.Fatalf("said %s, want \"hi\"", m.Data)
	}
	c.send("ping", 7)
	if m := c.expect("pong"); string(m.Data) != `7` {
		t.Fatalf("pong %s, want 7", m.Data)
	}
	c.send("other", nil)
	if m := c.expect("caught"); string(m.Data) != `"other"` {
		t.Fatalf("caught %s, want \"other\"", m.Data)
	}
	c.send("say", "not an object")
	c.expectError(wire.ErrTextInvalidFormat)
	c.sendRaw(`{"event":"say"}`) // no data: the zero value
	if m := c.expect("said"); string(m.Data) != `""` {
		t.Fatalf("said %s for a message without data, want \"\"", m.Data)
	}
}

// Without OnMessage an unclaimed event is dropped; handlers still work, and
// an unauthenticated client reaches no handler.
func TestHandlersWithoutOnMessage(t *testing.T) {
	ts := startServer(t, Config{Handlers: []EventHandler{
		Handle("ping", func(_ context.Context, c *Client, _ Message) error { return c.Send("pong", nil) }),
	}})
	c := ts.dial(t)
	c.send("ping", nil)
	c.expectError(wire.ErrTextNotAuthenticated)
	c.authenticate("bob")
	c.send("unclaimed", nil)
	c.send("ping", nil)
	c.expect("pong") // the unclaimed event produced nothing before it
}

func TestHandlerConfigErrors(t *testing.T) {
	noop := func(context.Context, *Client, Message) error { return nil }
	for _, tc := range []struct {
		name     string
		handlers []EventHandler
		want     error
		mentions []string
	}{
		{
			name:     "Duplicate",
			handlers: []EventHandler{Handle("chat", noop), {Event: "chat", Func: noop, Source: "presence module"}},
			want:     ErrDuplicateHandler,
			mentions: []string{`"chat"`, "websocket.TestHandlerConfigErrors (handlers_test.go:", "presence module"},
		},
		{
			name:     "DuplicateWithoutSource",
			handlers: []EventHandler{{Event: "chat", Func: noop}, {Event: "chat", Func: noop}},
			want:     ErrDuplicateHandler,
			mentions: []string{"websocket.TestHandlerConfigErrors.func", "handlers_test.go:"},
		},
		{name: "SystemEvent", handlers: []EventHandler{Handle("join", noop)}, want: ErrReservedEvent, mentions: []string{`"join"`}},
		{name: "NoEvent", handlers: []EventHandler{Handle("", noop)}, want: ErrInvalidConfig, mentions: []string{"no event"}},
		{name: "NoFunc", handlers: []EventHandler{Handle("chat", nil)}, want: ErrInvalidConfig, mentions: []string{"no Func"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(Config{Hooks: Hooks{Authenticate: testAuth}, Handlers: tc.handlers})
			if !errors.Is(err, tc.want) || !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New: %v, want %v (and ErrInvalidConfig)", err, tc.want)
			}
			for _, m := range tc.mentions {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not mention %s", err, m)
				}
			}
		})
	}
}

// The server keeps its own copy of the handlers.
func TestHandlersAreCopied(t *testing.T) {
	handlers := []EventHandler{Handle("ping", func(_ context.Context, c *Client, _ Message) error { return c.Send("pong", nil) })}
	ts := startServer(t, Config{Handlers: handlers})
	handlers[0] = Handle("other", func(context.Context, *Client, Message) error { return nil })
	if got := ts.Config().Handlers[0].Event; got != "ping" {
		t.Fatalf("Config().Handlers[0].Event = %q after the caller's slice changed, want ping", got)
	}
	c := ts.dial(t)
	c.authenticate("carol")
	c.send("ping", nil)
	c.expect("pong")
}
