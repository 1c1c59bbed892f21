package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"go.uber.org/fx"

	"github.com/echows/echows/websocket"
)

// The chat's own events, on top of the echows protocol. Every one of them
// is a custom event: the browser sends it with client.send(event, data) and
// echows hands it to Chat.OnMessage.
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
//	                     saying bye is announced gone by OnDisconnected.
//
// Everything a room hears goes through server.Emit, so it reaches the
// members on every instance when the app runs with Redis.
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

// Chat holds the chat's hooks. They reply through the client's server
// (c.Server()): a hook's constructor cannot take the *websocket.Server,
// which fx builds from the hooks.
type Chat struct {
	now func() time.Time
}

// NewChat returns the chat's hooks.
func NewChat() *Chat { return &Chat{now: time.Now} }

// Module provides the chat's hooks to component.Module.
var Module = fx.Module("chat",
	fx.Provide(
		NewChat,
		func(ch *Chat) websocket.AuthenticateFunc { return websocket.AuthenticateAs(ch.Authenticate) },
		func(ch *Chat) websocket.ValidateRoomsFunc { return ch.ValidateRooms },
		func(ch *Chat) websocket.MessageFunc { return ch.OnMessage },
		func(ch *Chat) websocket.DisconnectedFunc { return ch.OnDisconnected },
	),
)

// Credentials are what the page sends in authenticate.
type Credentials struct {
	Name string `json:"name"`
}

// member is what the chat keeps with each client (its metadata): the rooms
// it announced itself in, to announce it gone when it disconnects.
type member struct {
	mu    sync.Mutex
	rooms map[string]struct{}
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
	return &websocket.Identity{UserID: name, Metadata: &member{rooms: map[string]struct{}{}}}, nil
}

// ValidateRooms lets a client join the rooms whose names match
// ^[a-z0-9-]{1,32}$ and refuses the others.
func (ch *Chat) ValidateRooms(_ context.Context, _ *websocket.Client, rooms []string) ([]string, error) {
	return slices.DeleteFunc(rooms, func(r string) bool { return !roomName.MatchString(r) }), nil
}

// publishTimeout bounds how long the hooks wait for Redis to take a
// message.
const publishTimeout = 5 * time.Second

// OnMessage handles the chat's events (see eventChat). A request that is
// malformed or names a room the client is not in gets an error event back.
//
// ctx is the client's: it ends when the client goes away. What the client
// said before leaving is still published to the other instances, so the
// hook publishes under a context of its own, detached and bounded.
func (ch *Chat) OnMessage(ctx context.Context, c *websocket.Client, msg websocket.Message) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	var req struct {
		Room string `json:"room"`
		Text string `json:"text"`
		To   string `json:"to"`
	}
	if err := json.Unmarshal(msg.Data, &req); err != nil {
		return ch.reject(c, fmt.Sprintf("%s: data must be an object", msg.Event))
	}
	in := slices.Contains(c.Rooms(), req.Room)
	switch msg.Event {
	case eventChat:
		text := strings.TrimSpace(req.Text)
		switch {
		case !in:
			return ch.reject(c, fmt.Sprintf("you are not in room %q", req.Room))
		case text == "" || utf8.RuneCountInString(text) > maxTextLength:
			return ch.reject(c, fmt.Sprintf("a message has 1 to %d characters", maxTextLength))
		}
		return c.Server().ToRoom(ctx, req.Room, eventChat, chatMessage{
			Room: req.Room, From: c.UserID(), Text: text, Time: ch.now().UTC().Format(time.RFC3339Nano),
		})
	case eventWho:
		if err := c.Send(eventWho, ch.who(c, req.Room, in)); err != nil || !in {
			return err
		}
		ch.remember(c, req.Room, true)
		return c.Server().ToRoom(ctx, req.Room, eventPresence, ch.presence(c, req.Room, "joined"), c.ID())
	case eventHere:
		if !in || req.To == "" {
			return nil // a late answer from someone who left meanwhile
		}
		return c.Server().ToClient(ctx, req.To, eventPresence, ch.presence(c, req.Room, "here"))
	case eventBye:
		if !in || !ch.remember(c, req.Room, false) {
			return nil
		}
		return c.Server().ToRoom(ctx, req.Room, eventPresence, ch.presence(c, req.Room, "left"), c.ID())
	}
	return ch.reject(c, fmt.Sprintf("unknown event %q", msg.Event))
}

// OnDisconnected tells the rooms the client had announced itself in that it
// is gone.
func (ch *Chat) OnDisconnected(ctx context.Context, c *websocket.Client) {
	m, ok := websocket.MetadataAs[*member](c)
	if !ok {
		return // never authenticated
	}
	m.mu.Lock()
	rooms := make([]string, 0, len(m.rooms))
	for r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.mu.Unlock()
	var errs []error
	for _, r := range rooms {
		errs = append(errs, c.Server().ToRoom(ctx, r, eventPresence, ch.presence(c, r, "left")))
	}
	// The server logs hook errors; a disconnected hook returns none.
	if err := errors.Join(errs...); err != nil {
		c.Server().Config().Logger.Warn("chat: announce departure", "client", c.ID(), "err", err)
	}
}

// chatMessage is the data of a chat event.
type chatMessage struct {
	Room string `json:"room"`
	From string `json:"from"`
	Text string `json:"text"`
	Time string `json:"time"`
}

// presence is the data of a presence event.
type presence struct {
	Room   string `json:"room"`
	User   string `json:"user"`
	Client string `json:"client"`
	Status string `json:"status"` // joined, here or left
}

// whoAnswer is the data of the who event sent back to the asker.
type whoAnswer struct {
	Room string `json:"room"`
	// Joined says whether the asker is in the room (false: its join was
	// refused).
	Joined bool `json:"joined"`
	// Members are the room's members connected to this instance; the
	// others answer the asker's announcement with "here".
	Members []roomMember `json:"members"`
}

type roomMember struct {
	User   string `json:"user"`
	Client string `json:"client"`
}

func (ch *Chat) who(c *websocket.Client, room string, in bool) whoAnswer {
	a := whoAnswer{Room: room, Joined: in, Members: []roomMember{}}
	if !in {
		return a
	}
	for _, m := range c.Server().RoomClients(room) {
		a.Members = append(a.Members, roomMember{User: m.UserID(), Client: m.ID()})
	}
	slices.SortFunc(a.Members, func(x, y roomMember) int { return strings.Compare(x.User+x.Client, y.User+y.Client) })
	return a
}

// presence is what c announces about itself in room.
func (ch *Chat) presence(c *websocket.Client, room, status string) presence {
	return presence{Room: room, User: c.UserID(), Client: c.ID(), Status: status}
}

// remember adds room to (or removes it from) the rooms c announced itself
// in, and reports whether that changed anything.
func (ch *Chat) remember(c *websocket.Client, room string, in bool) bool {
	m, ok := websocket.MetadataAs[*member](c)
	if !ok {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, had := m.rooms[room]
	if in {
		m.rooms[room] = struct{}{}
	} else {
		delete(m.rooms, room)
	}
	return had != in
}

// reject tells the client what was wrong with its request. It is the
// client's mistake, not the server's: nothing is logged.
func (ch *Chat) reject(c *websocket.Client, message string) error {
	return c.Server().Local().ToClient(c.ID(), eventError, map[string]string{"message": message})
}
