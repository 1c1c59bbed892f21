//go:build !linux

package websocket

import "sync"

// parker does nothing here: without epoll, an idle reader keeps its
// goroutine (see park_linux.go).
type parker struct{ mu sync.Mutex }

func (s *Server) park(*Client) bool { return false }

func (c *Client) unpark() {}

// dropSocket closes c's socket, once. Only closeSocket calls it.
func (c *Client) dropSocket() {
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

func (p *parker) poll() bool { return false }
