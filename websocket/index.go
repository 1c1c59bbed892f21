package websocket

import "sync"

// index is the registry of this server's clients: by id, by user, by room,
// and the set of authenticated clients (the broadcast audience). One lock
// guards it and every client's room set. Nothing under the lock does I/O or
// calls a hook; enqueueing a frame on a client's queue is the most it does.
type index struct {
	mu      sync.RWMutex
	clients map[string]*Client
	users   map[string]map[*Client]struct{}
	rooms   map[string]map[*Client]struct{}
	authed  map[*Client]struct{}
	// ownRooms counts the clients in the room of their own id: that
	// membership lives only in the client's room set (the room is found
	// through clients), which saves a one-member set per client.
	ownRooms int
}

func newIndex() *index {
	return &index{
		clients: make(map[string]*Client),
		users:   make(map[string]map[*Client]struct{}),
		rooms:   make(map[string]map[*Client]struct{}),
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
func (x *index) authenticate(c *Client, userID string, rooms []string, connected []byte, maxPerUser int) (authResult, start) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.clients[c.id] != c {
		return authGone, startNone
	}
	if userID != "" && len(x.users[userID]) >= maxPerUser {
		return authTooMany, startNone
	}
	res, st := c.out.push(c, item{frame: connected}, 0, true)
	if res != pushQueued || !c.state.CompareAndSwap(int32(StateAuthenticating), int32(StateAuthenticated)) {
		return authGone, st // closing meanwhile (the auth window ended)
	}
	c.server.m.authenticated()
	c.userID = userID
	x.authed[c] = struct{}{}
	if c.userID != "" {
		addTo(x.users, c.userID, c)
	}
	for _, r := range rooms {
		x.joinLocked(c, r)
	}
	return authOK, st
}

// remove takes c out of every index, deleting entries that become empty.
func (x *index) remove(c *Client) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.clients[c.id] == c {
		delete(x.clients, c.id)
	}
	delete(x.authed, c)
	if c.userID != "" {
		removeFrom(x.users, c.userID, c)
	}
	for r := range c.rooms {
		if r == c.id {
			x.ownRooms--
			continue
		}
		removeFrom(x.rooms, r, c)
	}
	c.rooms = nil
}

// join adds c to each of rooms while c is in fewer than maxRooms rooms, and
// returns how many of rooms it is in after: the first ones (it stops at the
// first refused). It fails with ErrClientNotFound when c is no longer
// indexed, and ErrTooManyRooms when it could not join them all.
func (x *index) join(c *Client, rooms []string, maxRooms int) (int, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.clients[c.id] != c {
		return 0, ErrClientNotFound
	}
	for i, r := range rooms {
		if _, in := c.rooms[r]; !in && len(c.rooms) >= maxRooms {
			return i, ErrTooManyRooms
		}
		x.joinLocked(c, r)
	}
	return len(rooms), nil
}

func (x *index) joinLocked(c *Client, room string) {
	if c.rooms == nil {
		c.rooms = make(map[string]struct{}, 4)
	}
	if _, ok := c.rooms[room]; ok {
		return
	}
	c.rooms[room] = struct{}{}
	if room == c.id {
		x.ownRooms++
		return
	}
	addTo(x.rooms, room, c)
}

// leave removes c from those of rooms it is in, but the room of its own id,
// which it never leaves.
func (x *index) leave(c *Client, rooms []string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, room := range rooms {
		if _, ok := c.rooms[room]; !ok || room == c.id {
			continue
		}
		delete(c.rooms, room)
		removeFrom(x.rooms, room, c)
	}
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

func (x *index) roomsOf(c *Client) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]string, 0, len(c.rooms))
	for r := range c.rooms {
		out = append(out, r)
	}
	return out
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

// ownerLocked returns the client whose own-id room is room, when it is in
// it.
func (x *index) ownerLocked(room string) *Client {
	if c := x.clients[room]; c != nil {
		if _, in := c.rooms[room]; in {
			return c
		}
	}
	return nil
}

// eachInRoom calls fn for every member of room under the read lock, the
// client whose own-id room it is included.
func (x *index) eachInRoom(room string, fn func(*Client)) {
	x.mu.RLock()
	for c := range x.rooms[room] {
		fn(c)
	}
	if c := x.ownerLocked(room); c != nil {
		fn(c)
	}
	x.mu.RUnlock()
}

// eachOfUser calls fn for every client of userID under the read lock.
func (x *index) eachOfUser(userID string, fn func(*Client)) {
	x.mu.RLock()
	for c := range x.users[userID] {
		fn(c)
	}
	x.mu.RUnlock()
}

// eachAuthed calls fn for every authenticated client under the read lock.
func (x *index) eachAuthed(fn func(*Client)) {
	x.mu.RLock()
	for c := range x.authed {
		fn(c)
	}
	x.mu.RUnlock()
}

// The each* functions call fn under the read lock: fn must not block; it
// may only enqueue. snapshot turns one of them into a list, safe to use
// without the lock.
func snapshot(each func(fn func(*Client))) []*Client {
	var out []*Client
	each(func(c *Client) { out = append(out, c) })
	return out
}

func (x *index) counts() (clients, authed, users, rooms int) {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.clients), len(x.authed), len(x.users), len(x.rooms) + x.ownRooms
}

func addTo(m map[string]map[*Client]struct{}, key string, c *Client) {
	set := m[key]
	if set == nil {
		set = make(map[*Client]struct{}, 1)
		m[key] = set
	}
	set[c] = struct{}{}
}

func removeFrom(m map[string]map[*Client]struct{}, key string, c *Client) {
	set := m[key]
	delete(set, c)
	if len(set) == 0 {
		delete(m, key)
	}
}
