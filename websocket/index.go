package websocket

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/echows/echows/websocket/wire"
)

// index is the registry of this server's clients: by id, by user, by room,
// and the set of authenticated clients (the broadcast audience). One lock
// guards it and every client's room list. Nothing under the lock does I/O
// or calls a hook; enqueueing the connected frame is the most it does.
//
// It is shaped for idle memory, since most connections idle: a user's
// clients are a short slice (a user has few sessions), a client's rooms a
// short slice of names, and the room of a client's own id is not stored at
// all: every authenticated client is in it, alone (see ownerLocked).
type index struct {
	mu      sync.RWMutex
	clients map[string]*Client
	users   map[string][]*Client
	rooms   map[string]*memberSet
	authed  map[*Client]struct{}
	// version changes with every change of an audience (authenticate,
	// remove, join, leave), under the write lock: a batch of fan-outs
	// (see coalescer) is valid while it stays the same.
	version atomic.Uint64
}

func newIndex() *index {
	return &index{
		clients: make(map[string]*Client),
		users:   make(map[string][]*Client),
		rooms:   make(map[string]*memberSet),
		authed:  make(map[*Client]struct{}),
	}
}

func (x *index) add(c *Client) {
	x.mu.Lock()
	x.clients[c.id] = c
	x.mu.Unlock()
}

func (x *index) get(id string) *Client {
	x.mu.RLock()
	c := x.clients[id]
	x.mu.RUnlock()
	return c
}

// getAuthed returns the client with id if it is authenticated.
func (x *index) getAuthed(id string) *Client {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if c := x.clients[id]; c != nil {
		if _, ok := x.authed[c]; ok {
			return c
		}
	}
	return nil
}

// authResult is what index.authenticate did.
type authResult uint8

const (
	authOK      authResult = iota
	authGone               // the client left, or was closed, meanwhile
	authTooMany            // its user is at MaxConnectionsPerUser here
)

// authenticate marks c authenticated, indexes it by user, joins rooms and
// queues connected, all under the lock: no room or broadcast message can
// reach c before connected, and once c has connected the indexes show it.
// connected never goes through the transformer: it carries the key
// material. c is refused when its user already has maxPerUser clients.
// added are the rooms c joined: those of rooms it was not in already.
func (x *index) authenticate(c *Client, userID string, rooms []string, connected []byte, maxPerUser int) (res authResult, st start, added []string) {
	x.mu.Lock()
	x.version.Add(1)
	defer x.mu.Unlock()
	if x.clients[c.id] != c {
		return authGone, startNone, nil
	}
	if userID != "" && len(x.users[userID]) >= maxPerUser {
		return authTooMany, startNone, nil
	}
	pr, st := c.out.push(c, &outbound{event: wire.EventConnected, frame: connected, plain: true}, 0, true)
	if pr != pushQueued || !c.state.CompareAndSwap(int32(StateAuthenticating), int32(StateAuthenticated)) {
		return authGone, st, nil // closing meanwhile (the auth window ended)
	}
	c.server.m.authenticated()
	c.userID = userID
	x.authed[c] = struct{}{}
	if c.userID != "" {
		x.users[userID] = append(x.users[userID], c)
	}
	for _, r := range rooms {
		if x.joinLocked(c, r) {
			added = append(added, r)
		}
	}
	return authOK, st, added
}

// remove takes c out of every index, deleting entries that become empty.
// It returns whether c was authenticated and the rooms it was in: what it
// made this instance listen to.
func (x *index) remove(c *Client) (authed bool, rooms []string) {
	x.mu.Lock()
	x.version.Add(1)
	defer x.mu.Unlock()
	if x.clients[c.id] == c {
		delete(x.clients, c.id)
	}
	_, authed = x.authed[c]
	delete(x.authed, c)
	if c.userID != "" {
		if others := deleteClient(x.users[c.userID], c); len(others) > 0 {
			x.users[c.userID] = others
		} else {
			delete(x.users, c.userID)
		}
	}
	rooms = c.rooms
	for _, r := range rooms {
		removeMember(x.rooms, r, c)
	}
	c.rooms = nil
	return authed, rooms
}

// deleteClient removes c from list, keeping the order of the others.
func deleteClient(list []*Client, c *Client) []*Client {
	for i, x := range list {
		if x == c {
			copy(list[i:], list[i+1:])
			list[len(list)-1] = nil
			return list[:len(list)-1]
		}
	}
	return list
}

// join adds c to each of rooms while c is in fewer than maxRooms rooms, and
// returns how many of rooms it is in after (the first ones: it stops at the
// first refused) and which of them it was not in before. It fails with
// ErrClientNotFound when c is no longer indexed, errNotAuthenticated when it
// is not authenticated (the check and the join are one step under the lock,
// so a client never joins a room between a check and its disconnect), and
// ErrTooManyRooms when it could not join them all.
func (x *index) join(c *Client, rooms []string, maxRooms int) (in int, added []string, err error) {
	x.mu.Lock()
	x.version.Add(1)
	defer x.mu.Unlock()
	if x.clients[c.id] != c {
		return 0, nil, ErrClientNotFound
	}
	if _, ok := x.authed[c]; !ok {
		return 0, nil, errNotAuthenticated
	}
	for i, r := range rooms {
		if !contains(c.rooms, r) && 1+len(c.rooms) >= maxRooms { // 1: its own room
			return i, added, ErrTooManyRooms
		}
		if x.joinLocked(c, r) {
			added = append(added, r)
		}
	}
	return len(rooms), added, nil
}

// joinLocked adds c to room, which is never c's own id (a name shaped like
// a client id is refused before), and reports whether c was not in it.
func (x *index) joinLocked(c *Client, room string) bool {
	if contains(c.rooms, room) {
		return false
	}
	c.rooms = append(c.rooms, room)
	addMember(x.rooms, room, c)
	return true
}

// leave removes c from those of rooms it is in, and returns those. The room
// of its own id is not among them: it never leaves it.
func (x *index) leave(c *Client, rooms []string) (left []string) {
	x.mu.Lock()
	x.version.Add(1)
	defer x.mu.Unlock()
	for _, room := range rooms {
		i := slices.Index(c.rooms, room)
		if i < 0 {
			continue
		}
		c.rooms = slices.Delete(c.rooms, i, i+1)
		removeMember(x.rooms, room, c)
		left = append(left, room)
	}
	return left
}

func (x *index) hasRoom(room string) bool {
	x.mu.RLock()
	_, ok := x.rooms[room]
	if !ok {
		ok = x.ownerLocked(room) != nil
	}
	x.mu.RUnlock()
	return ok
}

// roomsOf returns the rooms c is in, its own room first when it is
// authenticated.
func (x *index) roomsOf(c *Client) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]string, 0, 1+len(c.rooms))
	if _, ok := x.authed[c]; ok {
		out = append(out, c.id)
	}
	return append(out, c.rooms...)
}

// all returns a snapshot of every client.
func (x *index) all() []*Client {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]*Client, 0, len(x.clients))
	for _, c := range x.clients {
		out = append(out, c)
	}
	return out
}

// ownerLocked returns the client whose own-id room is room: an
// authenticated client is in the room of its own id, alone.
func (x *index) ownerLocked(room string) *Client {
	if c := x.clients[room]; c != nil {
		if _, ok := x.authed[c]; ok {
			return c
		}
	}
	return nil
}

// eachAuthed calls fn for every authenticated client under the read lock:
// fn must not block; it may only enqueue.
func (x *index) eachAuthed(fn func(*Client)) {
	x.mu.RLock()
	for c := range x.authed {
		fn(c)
	}
	x.mu.RUnlock()
}

// audience appends to dst the clients of to (a room's members and the
// client whose own-id room it is, a user's clients, or every authenticated
// client) and returns the index's version they belong to. The list is safe
// to use without the lock.
func (x *index) audience(to audience, dst []*Client) ([]*Client, uint64) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	switch to.kind {
	case audienceRoom:
		if set := x.rooms[to.name]; set != nil {
			dst = append(dst, set.list...)
		}
		if c := x.ownerLocked(to.name); c != nil {
			dst = append(dst, c)
		}
	case audienceUser:
		dst = append(dst, x.users[to.name]...)
	case audienceAll:
		for c := range x.authed {
			dst = append(dst, c)
		}
	}
	return dst, x.version.Load()
}

func (x *index) counts() (clients, authed, users, rooms int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.clients), len(x.authed), len(x.users), len(x.rooms) + len(x.authed) // and each one's own room
}

// memberSet is a room's members: a slice, which a fan-out walks without a
// map iterator's cost, and each member's position in it, so a member
// leaves in constant time (the last one takes its place).
type memberSet struct {
	list []*Client
	pos  map[*Client]int
}

func addMember(m map[string]*memberSet, room string, c *Client) {
	set := m[room]
	if set == nil {
		set = &memberSet{pos: make(map[*Client]int, 1)}
		m[room] = set
	}
	set.pos[c] = len(set.list)
	set.list = append(set.list, c)
}

func removeMember(m map[string]*memberSet, room string, c *Client) {
	set := m[room]
	if set == nil {
		return
	}
	i, ok := set.pos[c]
	if !ok {
		return
	}
	last := len(set.list) - 1
	if i != last {
		moved := set.list[last]
		set.list[i] = moved
		set.pos[moved] = i
	}
	set.list[last] = nil
	set.list = set.list[:last]
	delete(set.pos, c)
	switch {
	case len(set.list) == 0:
		delete(m, room)
	case cap(set.list) > 64 && len(set.list) < cap(set.list)/4:
		set.list = slices.Clone(set.list) // a room that emptied out gives its array back
	}
}
