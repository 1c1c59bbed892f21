package websocket

import (
	"errors"

	"github.com/echows/echows/websocket/wire"
)

// handle routes one decoded client frame. It runs on the read loop.
func (c *Client) handle(msg Message, err error) {
	c.server.m.received(msg.Event, err)
	switch {
	case errors.Is(err, wire.ErrNoEvent):
		c.server.log.Debug("websocket: message without event dropped", "client", c.id)
		return
	case err != nil:
		c.sendError(wire.ErrTextInvalidFormat)
		return
	}
	c.route(msg, true)
}

// route dispatches msg; plain is false for a message decrypted from an
// encrypted event, which may not carry another one.
func (c *Client) route(msg Message, plain bool) {
	switch msg.Event {
	case wire.EventHeartbeat:
		return // the read already refreshed the last activity
	case wire.EventAuthenticate:
		c.startAuthentication(msg.Data)
		return
	}
	if c.State() != StateAuthenticated {
		c.sendError(wire.ErrTextNotAuthenticated)
		return
	}
	s := c.server
	switch msg.Event {
	case wire.EventJoin, wire.EventLeave:
		rooms, err := wire.DecodeRooms(msg.Data)
		if err != nil {
			c.sendError(wire.ErrTextInvalidFormat)
			return
		}
		rooms = sanitizeRooms(rooms, s.cfg.MaxRoomsPerJoin)
		if msg.Event == wire.EventJoin {
			s.clientJoin(c, rooms)
		} else {
			s.leave(c, rooms)
		}
	case wire.EventConnected, wire.EventDisconnect, wire.EventError:
		s.log.Debug("websocket: client-sent system event dropped", "client", c.id, "event", msg.Event)
	case wire.EventEncrypted:
		if !plain || s.cfg.TransformInbound == nil {
			s.log.Debug("websocket: encrypted event dropped", "client", c.id)
			return
		}
		var inner *Message
		err := s.runHook("TransformInbound", c, func() (err error) {
			inner, err = s.cfg.TransformInbound(c.ctx, c, msg.Data)
			return err
		})
		if err != nil || inner == nil || inner.Event == "" {
			return
		}
		c.route(*inner, false)
	default:
		if h, ok := s.cfg.handlers[msg.Event]; ok {
			s.runHook(h.name, c, func() error { return h.fn(c.ctx, c, msg) })
			return
		}
		if s.cfg.OnMessage == nil {
			s.log.Debug("websocket: custom event dropped (no handler, no OnMessage hook)", "client", c.id, "event", msg.Event)
			return
		}
		s.runHook("OnMessage", c, func() error { return s.cfg.OnMessage(c.ctx, c, msg) })
	}
}
