package websocket

import (
	"encoding/json"
	"errors"
	"time"

	"github.com/echows/echows/internal/jsonwire"
	"github.com/echows/echows/websocket/wire"
)

// startAuthentication handles an authenticate event: only from an
// unauthorized client; the hook runs on its own goroutine within a window
// of 3 × AuthTimeout.
func (c *Client) startAuthentication(data json.RawMessage) {
	if !c.state.CompareAndSwap(int32(StateUnauthorized), int32(StateAuthenticating)) {
		c.sendError(wire.ErrTextAlreadyAuthed)
		return
	}
	c.server.m.startedAuth()
	window := 3 * c.server.cfg.AuthTimeout
	c.resetAuthTimer(window)
	c.mu.Lock()
	header := c.header
	c.mu.Unlock()
	c.hooksPending.Add(1)
	c.server.wg.Add(1) // the read loop holds a count, so this never races Wait
	go c.server.authenticate(c, AuthRequest{ClientID: c.id, RemoteAddr: c.remoteAddr, Header: header, Data: data})
}

// authenticate runs the Authenticate (and Handshake) hooks and, on success,
// indexes the client, sends connected and runs OnConnected.
//
// The connected hook runs only for a client that was indexed as
// authenticated, and the disconnected hook never starts before it ended
// (see hooksDone).
func (s *Server) authenticate(c *Client, req AuthRequest) {
	defer s.wg.Done()
	defer c.hooksDone()
	// The client's own context: the auth timer closes the client when the
	// window ends, which cancels it. A context derived from it would leave
	// a children map and a done channel in it for the client's life.
	ctx := c.ctx

	var id *Identity
	err := s.runHook("Authenticate", c, func() (err error) {
		id, err = s.cfg.Authenticate(ctx, req)
		return err
	})
	if ctx.Err() != nil {
		return // the client left, or the window closed it with 4001
	}
	switch {
	case err != nil && !errors.Is(err, ErrRejected):
		s.m.auth[authError].Add(1)
		c.failAuth(wire.ErrTextAuthError, wire.CloseAuthFailed, wire.ReasonAuthFailed)
		return
	case err != nil || id == nil:
		s.m.auth[authRejected].Add(1)
		c.failAuth(wire.ErrTextAuthFailed, wire.CloseAuthFailed, wire.ReasonAuthFailed)
		return
	}

	ident := &identity{userID: id.UserID, metadata: id.Metadata}
	if s.cfg.RequireEncryption {
		var hs *HandshakeResult
		err := s.runHook("Handshake", c, func() (err error) {
			hs, err = s.cfg.Handshake(ctx, HandshakeRequest{ClientID: c.id, UserID: id.UserID, Data: req.Data})
			return err
		})
		if ctx.Err() != nil {
			return
		}
		if err != nil || hs == nil {
			s.m.auth[authHandshakeFailed].Add(1)
			c.failAuth(wire.ErrTextHandshakeFailed, wire.CloseEncryptionReq, wire.ReasonEncryptionReq)
			return
		}
		ident.serverPublicKey, ident.salt = hs.ServerPublicKey, hs.Salt
	}

	c.ident.Store(ident)
	if s.cfg.RequireEncryption {
		c.encrypted.Store(true)
	}
	// The broker hears the client's channels before it gets connected: a
	// message published anywhere once it has it reaches it.
	s.listenClient(ctx, c.id, id.UserID, s.cfg.DefaultRooms)
	res, st, added := s.index.authenticate(c, id.UserID, s.cfg.DefaultRooms, connectedFrame(c, ident), s.cfg.MaxConnectionsPerUser)
	c.kick(c.direct(st)) // connected goes out at once
	switch {
	case res != authOK:
		s.interest.unlistenClient(c.id, id.UserID, s.cfg.DefaultRooms)
	case len(added) < len(s.cfg.DefaultRooms): // not expected: a client joins no room before it authenticates
		s.interest.unlistenRooms(without(s.cfg.DefaultRooms, added))
	}
	switch res {
	case authGone:
		return
	case authTooMany:
		s.m.limits[limitPerUser].Add(1)
		s.m.auth[authRefused].Add(1)
		s.log.Debug("websocket: authentication refused: MaxConnectionsPerUser reached", "client", c.id,
			"user", id.UserID, "limit", s.cfg.MaxConnectionsPerUser)
		c.failAuth(wire.ErrTextTooManyConnections, wire.ClosePolicy, wire.ReasonTooManyConns)
		return
	}
	c.stopAuthTimer()

	if h := s.cfg.OnConnected; h != nil {
		s.runHook("OnConnected", c, func() error { return h(c.ctx, c) })
	}
}

// failAuth tells the client why and closes it.
func (c *Client) failAuth(text string, code int, reason string) {
	c.sendError(text)
	c.closeWith(code, reason)
}

// connectedData is the data of the connected event. UserID is omitted when
// empty, as upstream omits an undefined userId.
type connectedData struct {
	ID              string `json:"id"`
	UserID          string `json:"userId,omitempty"`
	Time            string `json:"time"`
	ServerPublicKey string `json:"serverPublicKey,omitempty"`
	Salt            string `json:"salt,omitempty"`
}

// isoMillis is JavaScript's Date.toISOString layout.
const isoMillis = "2006-01-02T15:04:05.000Z"

func connectedFrame(c *Client, id *identity) []byte {
	data, _ := jsonwire.Marshal(connectedData{ // strings always marshal
		ID:              c.id,
		UserID:          id.userID,
		Time:            time.Now().UTC().Format(isoMillis),
		ServerPublicKey: id.serverPublicKey,
		Salt:            id.salt,
	})
	frame, _ := messageFrame(wire.EventConnected, data) // valid: from Marshal
	return frame
}
