//go:build !linux

package websocket

import "sync"

// parker does nothing here: without epoll, an idle reader keeps its
// goroutine (see park_linux.go).
type parker struct{ mu sync.Mutex }

func (s *Server) park(*Client) bool { return false }

func (c *Client) unpark() {}

// closeSocket closes c's socket, once.
func (c *Client) closeSocket() {
	if !c.out.letClose() {
		// A flush goroutine is writing to it (by number, on Linux): it
		// closes the socket when its write returns, microseconds from now.
		return
	}
	p := &c.server.parker
	p.mu.Lock()
	first := !c.closedSocket
	c.closedSocket = true
	p.mu.Unlock()
	if first {
		c.raw.Close()
	}
}

func (p *parker) stop() {}
