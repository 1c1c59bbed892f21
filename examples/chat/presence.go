package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"

	"go.uber.org/fx"

	"github.com/echows/echows/component"
	"github.com/echows/echows/websocket"
)

// PresenceModule is who is in a room, on every instance: the who, here and
// bye events, and the disconnected hook that announces a client gone. The
// hook and the handlers are built from the same Presence service, which fx
// injects into them.
var PresenceModule = fx.Module("presence",
	fx.Provide(
		NewPresence,
		func(p *Presence) websocket.DisconnectedFunc { return p.OnDisconnected },
	),
	component.Handlers((*Presence).Handlers),
)

// Presence announces clients to the rooms they are in.
type Presence struct{}

// NewPresence returns the presence service.
func NewPresence() *Presence { return &Presence{} }

// Handlers are the presence module's event handlers.
func (p *Presence) Handlers() []websocket.EventHandler {
	return []websocket.EventHandler{
		websocket.HandleAs(eventWho, p.Who),
		websocket.HandleAs(eventHere, p.Here),
		websocket.HandleAs(eventBye, p.Bye),
	}
}

// member is what the chat keeps with each client (its metadata): the rooms
// it announced itself in, to announce it gone when it disconnects.
type member struct {
	mu    sync.Mutex
	rooms map[string]struct{}
}

func newMember() *member { return &member{rooms: map[string]struct{}{}} }

// presence is the data of a presence event.
type presence struct {
	Room   string `json:"room"`
	User   string `json:"user"`
	Client string `json:"client"`
	Status string `json:"status"` // joined, here or left
}

// roomRequest is the data of who, here and bye.
type roomRequest struct {
	Room string `json:"room"`
	To   string `json:"to"` // here only: the client answered
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

// Who answers with the room's members on this instance and, when the
// client is in the room, announces it there ("joined").
func (p *Presence) Who(ctx context.Context, c *websocket.Client, r roomRequest) error {
	in := slices.Contains(c.Rooms(), r.Room)
	a := whoAnswer{Room: r.Room, Joined: in, Members: []roomMember{}}
	if in {
		for _, m := range c.Server().RoomClients(r.Room) {
			a.Members = append(a.Members, roomMember{User: m.UserID(), Client: m.ID()})
		}
		slices.SortFunc(a.Members, func(x, y roomMember) int { return strings.Compare(x.User+x.Client, y.User+y.Client) })
	}
	if err := c.Send(eventWho, a); err != nil || !in {
		return err
	}
	remember(c, r.Room, true)
	ctx, cancel := detach(ctx)
	defer cancel()
	return c.Server().ToRoom(ctx, r.Room, eventPresence, announce(c, r.Room, "joined"), c.ID())
}

// Here answers someone's "joined": client r.To, wherever it is connected,
// learns that c is in the room too.
func (p *Presence) Here(ctx context.Context, c *websocket.Client, r roomRequest) error {
	if !slices.Contains(c.Rooms(), r.Room) || r.To == "" {
		return nil // a late answer from someone who left meanwhile
	}
	ctx, cancel := detach(ctx)
	defer cancel()
	return c.Server().ToClient(ctx, r.To, eventPresence, announce(c, r.Room, "here"))
}

// Bye announces that c leaves the room.
func (p *Presence) Bye(ctx context.Context, c *websocket.Client, r roomRequest) error {
	if !slices.Contains(c.Rooms(), r.Room) || !remember(c, r.Room, false) {
		return nil
	}
	ctx, cancel := detach(ctx)
	defer cancel()
	return c.Server().ToRoom(ctx, r.Room, eventPresence, announce(c, r.Room, "left"), c.ID())
}

// OnDisconnected tells the rooms the client had announced itself in that it
// is gone.
func (p *Presence) OnDisconnected(ctx context.Context, c *websocket.Client) {
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
		errs = append(errs, c.Server().ToRoom(ctx, r, eventPresence, announce(c, r, "left")))
	}
	// The server logs hook errors; a disconnected hook returns none.
	if err := errors.Join(errs...); err != nil {
		c.Server().Config().Logger.Warn("chat: announce departure", "client", c.ID(), "err", err)
	}
}

// announce is what c says about itself in room.
func announce(c *websocket.Client, room, status string) presence {
	return presence{Room: room, User: c.UserID(), Client: c.ID(), Status: status}
}

// remember adds room to (or removes it from) the rooms c announced itself
// in, and reports whether that changed anything.
func remember(c *websocket.Client, room string, in bool) bool {
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
