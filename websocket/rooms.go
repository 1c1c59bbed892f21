package websocket

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/echows/echows/websocket/wire"
)

// MaxRoomLength is the longest room name a client may join, in characters.
const MaxRoomLength = 256

// validRoom reports whether room may be joined: non-empty, at most
// MaxRoomLength characters, not starting with the reserved "ws:" prefix, and
// not shaped like a client id (see checkRoom).
func validRoom(room string) bool { return checkRoom(room) == nil }

// checkRoom says why room may not be joined, or returns nil. A name shaped
// like a client id (a UUID) is reserved: every client is in the room of its
// own id, and nobody else may be, or they would receive its private
// messages.
func checkRoom(room string) error {
	switch {
	case room == "":
		return fmt.Errorf("%w: empty", ErrInvalidRoom)
	case utf8.RuneCountInString(room) > MaxRoomLength:
		return fmt.Errorf("%w: longer than %d characters", ErrInvalidRoom, MaxRoomLength)
	case wire.IsReserved(room):
		return fmt.Errorf("%w: %q starts with the reserved %q", ErrInvalidRoom, room, wire.ReservedPrefix)
	case isClientID(room):
		return fmt.Errorf("%w: %q is shaped like a client id", ErrInvalidRoom, room)
	}
	return nil
}

// isClientID reports whether s has the shape of a client id: a UUID in its
// 36-character text form, in either case.
func isClientID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// sanitizeRooms keeps the valid rooms of a client request, without
// duplicates, in order, at most limit of them; it is linear in the request.
func sanitizeRooms(rooms []string, limit int) []string {
	if len(rooms) > limit {
		rooms = rooms[:limit]
	}
	out := rooms[:0]
	seen := make(map[string]struct{}, len(rooms))
	for _, r := range rooms {
		if _, dup := seen[r]; dup || !validRoom(r) {
			continue
		}
		seen[r] = struct{}{}
		out = append(out, r)
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// clientJoin joins c to the rooms the ValidateRooms hook allows, up to
// MaxRoomsPerClient; the rest are refused, silently, as upstream refuses.
func (s *Server) clientJoin(c *Client, rooms []string) {
	if len(rooms) == 0 {
		return
	}
	if s.cfg.ValidateRooms == nil {
		s.log.Debug("websocket: join refused (no ValidateRooms hook)", "client", c.id, "rooms", len(rooms))
		return
	}
	var allowed []string
	err := s.runHook("ValidateRooms", c, func() (err error) {
		allowed, err = s.cfg.ValidateRooms(c.ctx, c, append([]string(nil), rooms...))
		return err
	})
	if err != nil || len(allowed) == 0 {
		return
	}
	asked := make(map[string]struct{}, len(rooms))
	for _, r := range rooms {
		asked[r] = struct{}{}
	}
	join := allowed[:0:0]
	for _, r := range allowed {
		if _, ok := asked[r]; ok {
			delete(asked, r) // once
			join = append(join, r)
		}
	}
	n, err := s.join(c.ctx, c, join)
	if errors.Is(err, ErrTooManyRooms) {
		s.m.limits[limitRooms].Add(uint64(len(join) - n))
		s.log.Debug("websocket: join refused past MaxRoomsPerClient", "client", c.id,
			"refused", len(join)-n, "limit", s.cfg.MaxRoomsPerClient)
	}
}

// join puts c in rooms (distinct, valid) as index.join does, once the
// broker hears them: the references are taken first, and those of the rooms
// c did not join (refused, or in them already) released after.
func (s *Server) join(ctx context.Context, c *Client, rooms []string) (int, error) {
	s.listenRooms(ctx, c.id, rooms)
	n, added, err := s.index.join(c, rooms, s.cfg.MaxRoomsPerClient)
	if len(added) < len(rooms) {
		s.interest.unlistenRooms(without(rooms, added))
	}
	return n, err
}

// leave takes c out of rooms, and releases the channels of those it left.
func (s *Server) leave(c *Client, rooms []string) {
	s.interest.unlistenRooms(s.index.leave(c, rooms))
}

// without returns the elements of list that are not in drop.
func without(list, drop []string) []string {
	out := make([]string, 0, len(list)-len(drop))
	for _, v := range list {
		if !contains(drop, v) {
			out = append(out, v)
		}
	}
	return out
}

// JoinRoom puts an authenticated client of this instance in room. Unlike a
// client's join request it needs no ValidateRooms approval; room must still
// be valid (non-empty, at most MaxRoomLength characters, no "ws:" prefix,
// not shaped like a client id), and the client in fewer than
// MaxRoomsPerClient rooms (ErrTooManyRooms). A client that is not
// authenticated (yet: during its Authenticate hook too) is refused with an
// error wrapping ErrClientNotFound, as Client.Send refuses it: room
// messages are for authenticated clients only. Rooms a client should be in
// from the start are joined in the Connected hook, or are DefaultRooms. With a broker that routes by interest (RedisBroker's
// default), JoinRoom returns once the broker hears the room, so a message
// published on any instance after it returns reaches the client; it waits
// at most ReadyTimeout for that, and while Redis is away it does not wait
// (the room is heard as soon as the broker can; Stats.ListenErrors counts
// it).
func (s *Server) JoinRoom(clientID, room string) error {
	if err := checkRoom(room); err != nil {
		return fmt.Errorf("join room: %w", err)
	}
	c := s.index.get(clientID)
	if c == nil {
		return fmt.Errorf("join room %q: client %q: %w", room, clientID, ErrClientNotFound)
	}
	if c.State() != StateAuthenticated { // refused before the broker is asked to listen
		return fmt.Errorf("join room %q: client %q: %w", room, clientID, errNotAuthenticated)
	}
	if _, err := s.join(context.Background(), c, []string{room}); err != nil {
		return fmt.Errorf("join room %q: client %q: %w", room, clientID, err)
	}
	return nil
}

// LeaveRoom takes a client of this instance out of room. Leaving a room the
// client is not in is not an error; a client never leaves the room of its
// own id.
func (s *Server) LeaveRoom(clientID, room string) error {
	c := s.index.get(clientID)
	if c == nil {
		return fmt.Errorf("leave room %q: client %q: %w", room, clientID, ErrClientNotFound)
	}
	s.leave(c, []string{room})
	return nil
}
