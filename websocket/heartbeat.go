package websocket

import (
	"context"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// sweep runs until ctx ends: every HeartbeatInterval it closes authenticated
// clients idle for longer than HeartbeatTimeout (4002). With pings on, a
// second goroutine (pingLoop) pings every client each IdleTimeout/2.
func (s *Server) sweep(ctx context.Context) {
	defer s.wg.Done()
	if !s.cfg.DisablePings {
		s.wg.Add(1)
		go s.pingLoop(ctx)
	}
	heartbeat := time.NewTicker(s.cfg.HeartbeatInterval)
	defer heartbeat.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-heartbeat.C:
			s.closeIdle(now)
		}
	}
}

// pingLoop runs until ctx ends: every IdleTimeout/2 it drops the clients
// whose socket has been silent for IdleTimeout (parked sockets have no read
// deadline) and pings the others, spread over a quarter of IdleTimeout (see
// pingAll). A client is pinged at most 3/4 IdleTimeout after its last ping.
func (s *Server) pingLoop(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.IdleTimeout / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.dropSilent(now)
			s.pingAll(ctx, s.cfg.IdleTimeout/4)
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

// pingChunk is how many clients pingAll pings at a time.
const pingChunk = 64

// pingAll queues a ping for every client (at most one pending each) and
// hands them to the flush goroutines, pingChunk clients at a time, the
// chunks spread evenly over spread (or until ctx ends). A round of pings at
// once would be a write per client in one go: 10,000 idle sockets took the
// server's core for about 100 ms every 30 s, and every other client's
// messages waited behind it.
func (s *Server) pingAll(ctx context.Context, spread time.Duration) {
	clients := s.index.all()
	pause := spread * pingChunk / time.Duration(max(1, len(clients)))
	for i := 0; i < len(clients); i += pingChunk {
		if i > 0 && (ctx.Err() != nil || !sleepCtx(ctx, pause)) {
			return
		}
		s.ping(clients[i:min(i+pingChunk, len(clients))])
	}
}

// ping queues a ping for each of clients and hands those whose writer must
// start to the flush goroutines.
func (s *Server) ping(clients []*Client) {
	starts := make([]*Client, 0, len(clients))
	for _, c := range clients {
		switch st := c.out.setPing(c); st {
		case startFlush:
			starts = append(starts, c)
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
