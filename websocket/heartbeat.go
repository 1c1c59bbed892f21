package websocket

import (
	"context"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// sweep runs until ctx ends: every HeartbeatInterval it closes authenticated
// clients idle for longer than HeartbeatTimeout (4002); with pings on, every
// IdleTimeout/2 it pings every client and drops those whose socket has
// been silent for IdleTimeout (parked sockets have no read deadline).
func (s *Server) sweep(ctx context.Context) {
	defer s.wg.Done()
	heartbeat := time.NewTicker(s.cfg.HeartbeatInterval)
	defer heartbeat.Stop()
	var pings <-chan time.Time
	if !s.cfg.DisablePings {
		t := time.NewTicker(s.cfg.IdleTimeout / 2)
		defer t.Stop()
		pings = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-heartbeat.C:
			s.closeIdle(now)
		case now := <-pings:
			s.dropSilent(now)
			s.pingAll()
		}
	}
}

// dropSilent closes the sockets of clients that sent nothing for
// IdleTimeout, not even a pong: the transport is gone (a proxy dropped an
// idle connection, a peer vanished without a reset).
func (s *Server) dropSilent(now time.Time) {
	deadline := now.Add(-s.cfg.IdleTimeout).UnixNano()
	for _, c := range s.index.all() {
		if c.lastRead.Load() < deadline {
			s.log.Debug("websocket: peer silent for IdleTimeout, dropped", "client", c.id)
			c.closeSocket()
		}
	}
}

// pingAll queues a ping for every client (at most one pending each) and
// hands the clients to the flush goroutines in batches.
func (s *Server) pingAll() {
	starts := make([]*Client, 0, flushChunk)
	for _, c := range s.index.all() {
		switch st := c.out.setPing(c); st {
		case startFlush:
			if starts = append(starts, c); len(starts) == flushChunk {
				s.flush.add(starts...)
				starts = starts[:0]
			}
		default:
			c.kick(st)
		}
	}
	s.flush.add(starts...)
}

// closeIdle closes the authenticated clients idle since before now minus
// HeartbeatTimeout.
func (s *Server) closeIdle(now time.Time) {
	deadline := now.Add(-s.cfg.HeartbeatTimeout).UnixNano()
	var idle []*Client
	s.index.eachAuthed(func(c *Client) {
		if c.lastActivity.Load() < deadline {
			idle = append(idle, c)
		}
	})
	for _, c := range idle {
		c.closeWith(wire.CloseHeartbeat, wire.ReasonHeartbeat)
	}
}
