package redistest

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy forwards TCP connections to a Redis server, and can stall: a
// stalled proxy keeps every connection open, accepts new ones, and swallows
// the bytes in both directions, as a dead network path or a hung middlebox
// does (no reset, no EOF: only a peer that checks notices). Point a client
// at Addr instead of the server's.
type Proxy struct {
	l      net.Listener
	target string
	wg     sync.WaitGroup

	mu      sync.Mutex
	stalled bool // new connections swallow everything too
	pairs   map[*proxyPair]struct{}
}

type proxyPair struct {
	client, server net.Conn
	dead           atomic.Bool // swallows everything, for good
}

// StartProxy starts a proxy to target ("127.0.0.1:port") on a free
// loopback port. It is closed, with every connection, when the test ends.
func StartProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("redistest: proxy listen: %v", err)
	}
	p := &Proxy{l: l, target: target, pairs: make(map[*proxyPair]struct{})}
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(p.close)
	return p
}

// Addr returns the proxy's address, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.l.Addr().String() }

// Stall makes every connection open now swallow everything for good, and
// every connection accepted until Resume swallow everything too.
func (p *Proxy) Stall() {
	p.mu.Lock()
	p.stalled = true // before StallOpen: a pair accepted between is born dead
	p.mu.Unlock()
	p.StallOpen()
}

// StallOpen makes every connection open now swallow everything for good,
// while connections accepted later forward: a dead path that a client
// routes around only by noticing it and dialling again.
func (p *Proxy) StallOpen() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for pair := range p.pairs {
		pair.dead.Store(true)
	}
}

// Resume makes the connections accepted from now on forward again. Those
// stalled stay so, open, until their client gives up on them: as after a
// real outage, a client recovers only by dialling again.
func (p *Proxy) Resume() {
	p.mu.Lock()
	p.stalled = false
	p.mu.Unlock()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		pair := &proxyPair{client: c, server: s}
		p.mu.Lock()
		pair.dead.Store(p.stalled)
		p.pairs[pair] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(pair, c, s)
		go p.pipe(pair, s, c)
	}
}

// pipe copies from src to dst until either side fails, dropping the bytes
// while the pair is dead.
func (p *Proxy) pipe(pair *proxyPair, src, dst net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !pair.dead.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			pair.client.Close()
			pair.server.Close()
			p.mu.Lock()
			delete(p.pairs, pair)
			p.mu.Unlock()
			return
		}
	}
}

func (p *Proxy) close() {
	p.l.Close()
	p.mu.Lock()
	for pair := range p.pairs {
		pair.client.Close()
		pair.server.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}
