package websocket

import (
	"fmt"
	"unicode/utf8"

	"github.com/echows/echows/websocket/wire"
)

// MaxRoomLength is the longest room name a client may join, in characters.
const MaxRoomLength = 256

// validRoom reports whether a client may ask for room: non-empty, at most
// MaxRoomLength characters, not starting with the reserved "ws:" prefix.
func validRoom(room string) bool {
	return room != "" && utf8.RuneCountInString(room) <= MaxRoomLength && !wire.IsReserved(room)
}

// sanitizeRooms keeps the valid rooms of a client request, without
// duplicates, in order.
func sanitizeRooms(rooms []string) []string {
	out := rooms[:0]
	for _, r := range rooms {
		if validRoom(r) && !contains(out, r) {
			out = append(out, r)
		}
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

// clientJoin joins c to the rooms the ValidateRooms hook allows.
func (s *Server) clientJoin(c *Client, rooms []string) {
	if len(rooms) == 0 {
		return
	}
	if s.cfg.ValidateRooms == nil {
		s.log.Debug("websocket: join refused (no ValidateRooms hook)", "client", c.id, "rooms", rooms)
		return
	}
	var allowed []string
	err := s.runHook("ValidateRooms", c, func() (err error) {
		allowed, err = s.cfg.ValidateRooms(c.ctx, c, append([]string(nil), rooms...))
		return err
	})
	if err != nil {
		return
	}
	for _, r := range allowed {
		if contains(rooms, r) {
			s.index.join(c, r)
		}
	}
}

// clientLeave removes c from those of rooms it is in.
func (s *Server) clientLeave(c *Client, rooms []string) {
	for _, r := range rooms {
		s.index.leave(c, r)
	}
}

// JoinRoom puts a client of this instance in room. Unlike a client's join
// request it needs no ValidateRooms approval; room must still be valid
// (non-empty, at most MaxRoomLength characters, no "ws:" prefix).
func (s *Server) JoinRoom(clientID, room string) error {
	if !validRoom(room) {
		return fmt.Errorf("join room %q: %w", room, ErrInvalidRoom)
	}
	c := s.index.get(clientID)
	if c == nil || !s.index.join(c, room) {
		return fmt.Errorf("join room %q: client %q: %w", room, clientID, ErrClientNotFound)
	}
	return nil
}

// LeaveRoom takes a client of this instance out of room. Leaving a room the
// client is not in is not an error.
func (s *Server) LeaveRoom(clientID, room string) error {
	c := s.index.get(clientID)
	if c == nil {
		return fmt.Errorf("leave room %q: client %q: %w", room, clientID, ErrClientNotFound)
	}
	s.index.leave(c, room)
	return nil
}
