package websocket

import (
	"sync"
	"sync/atomic"
)

// corkLimit is how many bytes a held client (corked, or yielding in
// writeLoop) may accumulate before its writer writes anyway: it bounds the
// batch, and so the latency, corking can cause.
const corkLimit = 256 << 10

// corking holds writers: while a Cork is open, a client whose queue goes
// from empty to non-empty does not start its writer; the last Uncork starts
// them all, so each client writes what the corked code queued in one write
// call (uWebSockets' cork).
type corking struct {
	open   atomic.Int32 // read without the lock on the fast path; changed under holdMu
	holdMu sync.Mutex   // lock order: a client's queue lock, then holdMu
	held   []*Client
}

// Cork runs fn with the server's writers held: frames queued for any client
// while fn runs (by fn or by other goroutines) are written when the
// outermost Cork returns, one write call per client where they fit, instead
// of one write per message or per scheduling round. A client that
// accumulates more than 256 KiB meanwhile is released early. Keep fn short:
// nothing corked reaches the network before it returns.
func (s *Server) Cork(fn func()) {
	s.corkBegin()
	defer s.corkEnd()
	fn()
}

func (s *Server) corkBegin() {
	s.cork.holdMu.Lock()
	s.cork.open.Add(1)
	s.cork.holdMu.Unlock()
}

func (s *Server) corkEnd() {
	s.cork.holdMu.Lock()
	var held []*Client
	if s.cork.open.Add(-1) == 0 {
		held, s.cork.held = s.cork.held, nil
	}
	s.cork.holdMu.Unlock()
	for _, c := range held {
		c.out.mu.Lock()
		if c.out.held {
			c.out.held = false
			go c.writeLoop() // wg was counted when it was held
		}
		c.out.mu.Unlock()
	}
}

// hold records c as waiting for the end of the cork, if one is open; it is
// called with c.out.mu held.
func (s *Server) hold(c *Client) bool {
	if s.cork.open.Load() == 0 {
		return false
	}
	s.cork.holdMu.Lock()
	defer s.cork.holdMu.Unlock()
	if s.cork.open.Load() == 0 {
		return false
	}
	s.cork.held = append(s.cork.held, c)
	return true
}
