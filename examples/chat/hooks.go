package main

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/fx"

	"github.com/echows/echows/component"
	"github.com/echows/echows/websocket"
)

// The chat's own events, on top of the echows protocol. Each is a custom
// event, sent by the browser with client.send(event, data), and handled by
// one module of the app: chat here, who, here and bye in the presence
// module (presence.go).
//
//	chat {room, text}  → the room gets chat {room, from, text, time}
//	who  {room}        → the sender gets who {room, joined, members}, with the
//	                     members connected to this instance; the room gets
//	                     presence {room, user, client, status: "joined"}
//	here {room, to}    → client `to` gets presence {..., status: "here"}: the
//	                     answer of a member to someone's "joined", so that the
//	                     newcomer learns the members on other instances too
//	bye  {room}        → the room gets presence {..., status: "left"}; sent
//	                     just before leaving. A client that goes away without
//	                     saying bye is announced gone by the disconnected hook.
//
// Any other event gets an error event back (the catch-all message hook).
// Data that does not decode into the handler's type gets echows' "Invalid
// message format".
//
// What a room hears goes through the server's ToRoom and ToClient, which
// reach the members on every instance when the app runs with Redis. The
// handlers reach the server through the client they are given
// (c.Server()); an injected *emitter.Emitter would reach them too, but the
// server also delivers to this instance's clients while Redis is down.
const (
	eventChat     = "chat"
	eventWho      = "who"
	eventHere     = "here"
	eventBye      = "bye"
	eventPresence = "presence"
	eventError    = "error"
)

// Limits on what people type.
const (
	maxNameLength = 32  // characters in a name
	maxTextLength = 500 // characters in a message
)

// roomName is what ValidateRooms lets a client join.
var roomName = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)

// ChatModule is who may connect and join which room, the chat event, and
// the answer to events no module handles.
var ChatModule = fx.Module("chat",
	fx.Provide(
		NewChat,
		func(ch *Chat) websocket.AuthenticateFunc { return websocket.AuthenticateAs(ch.Authenticate) },
		func(ch *Chat) websocket.ValidateRoomsFunc { return ch.ValidateRooms },
		func(ch *Chat) websocket.MessageFunc { return ch.OnUnknown },
	),
	component.Handlers(func(ch *Chat) websocket.EventHandler { return websocket.HandleAs(eventChat, ch.Say) }),
)

// Chat holds the chat's hooks and its chat handler.
type Chat struct {
	now func() time.Time
}

// NewChat returns the chat.
func NewChat() *Chat { return &Chat{now: time.Now} }

// Credentials are what the page sends in authenticate.
type Credentials struct {
	Name string `json:"name"`
}

// Authenticate accepts any name of 1 to 32 printable characters as the
// user id: a demo, not a login. A real app checks a token here.
func (ch *Chat) Authenticate(_ context.Context, _ websocket.AuthRequest, c Credentials) (*websocket.Identity, error) {
	name := strings.TrimSpace(c.Name)
	switch {
	case name == "":
		return nil, fmt.Errorf("%w: empty name", websocket.ErrRejected)
	case utf8.RuneCountInString(name) > maxNameLength:
		return nil, fmt.Errorf("%w: name longer than %d characters", websocket.ErrRejected, maxNameLength)
	case strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return nil, fmt.Errorf("%w: name with unprintable characters", websocket.ErrRejected)
	}
	return &websocket.Identity{UserID: name, Metadata: newMember()}, nil
}

// ValidateRooms lets a client join the rooms whose names match
// ^[a-z0-9-]{1,32}$ and refuses the others.
func (ch *Chat) ValidateRooms(_ context.Context, _ *websocket.Client, rooms []string) ([]string, error) {
	return slices.DeleteFunc(rooms, func(r string) bool { return !roomName.MatchString(r) }), nil
}

// said is the data of a chat event from a client.
type said struct {
	Room string `json:"room"`
	Text string `json:"text"`
}

// chatMessage is the data of a chat event to a room.
type chatMessage struct {
	Room string `json:"room"`
	From string `json:"from"`
	Text string `json:"text"`
	Time string `json:"time"`
}

// Say re-sends what a client said to its room, on every instance. The
// sender must be in the room.
func (ch *Chat) Say(ctx context.Context, c *websocket.Client, m said) error {
	text := strings.TrimSpace(m.Text)
	switch {
	case !slices.Contains(c.Rooms(), m.Room):
		return reject(c, fmt.Sprintf("you are not in room %q", m.Room))
	case text == "" || utf8.RuneCountInString(text) > maxTextLength:
		return reject(c, fmt.Sprintf("a message has 1 to %d characters", maxTextLength))
	}
	ctx, cancel := detach(ctx)
	defer cancel()
	return c.Server().ToRoom(ctx, m.Room, eventChat, chatMessage{
		Room: m.Room, From: c.UserID(), Text: text, Time: ch.now().UTC().Format(time.RFC3339Nano),
	})
}

// OnUnknown answers the events no module handles.
func (ch *Chat) OnUnknown(_ context.Context, c *websocket.Client, msg websocket.Message) error {
	return reject(c, fmt.Sprintf("unknown event %q", msg.Event))
}

// publishTimeout bounds how long a handler waits for Redis to take a
// message.
const publishTimeout = 5 * time.Second

// detach returns a context for publishing what a client said. A handler's
// ctx is the client's: it ends when the client goes away, and what the
// client said before leaving is still published to the other instances.
func detach(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
}

// reject tells the client what was wrong with its request. It is the
// client's mistake, not the server's: nothing is logged.
func reject(c *websocket.Client, message string) error {
	return c.Send(eventError, map[string]string{"message": message})
}
