package websocket

import (
	"context"
	"runtime"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// pingChunk is how many clients a ping round pings before it yields.
const pingChunk = 64

// sweep runs until ctx ends: every HeartbeatInterval it closes authenticated
// clients idle for longer than HeartbeatTimeout (4002); with pings on, every
// IdleTimeout/2 it pings every client (a peer that does not answer in
// IdleTimeout hits its read deadline).
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
		case <-pings:
			for i, c := range s.index.all() {
				c.out.pushControl(c, pingFrame)
				if i%pingChunk == pingChunk-1 {
					// Let the writers just started run and end: a ping round
					// then never has more than about pingChunk writer
					// goroutines (and their stacks) alive at once.
					runtime.Gosched()
				}
			}
		}
	}
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
