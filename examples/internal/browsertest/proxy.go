package browsertest

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy is a TCP proxy in front of a server, for tests of what a page does
// when the network fails: SetDown(true) drops every connection through it
// and refuses new ones (accepted, then closed at once, as a server that is
// gone); SetDown(false) lets them through again. A browser sees 1006 on its
// WebSockets.
type Proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]struct{}
}

// StartProxy starts a proxy to target (host:port) on a free loopback port.
// It stops when the test ends.
func StartProxy(t *testing.T, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		ln.Close()
		p.SetDown(true)
		p.wg.Wait()
	})
	return p
}

// URL is the proxy's address as an http URL, ending in /.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() + "/" }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(in) {
			in.Close()
			continue
		}
		p.wg.Add(1)
		go p.pipe(in)
	}
}

// track adds c to the open connections, unless the proxy is down.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) pipe(in net.Conn) {
	defer p.wg.Done()
	defer p.untrack(in)
	out, err := net.Dial("tcp", p.target)
	if err != nil || !p.track(out) {
		if out != nil {
			out.Close()
		}
		return
	}
	defer p.untrack(out)
	done := make(chan struct{})
	go func() {
		io.Copy(out, in)
		out.Close() // ends the copy below
		close(done)
	}()
	io.Copy(in, out)
	in.Close()
	<-done
}

// SetDown drops every connection and refuses new ones (true), or lets them
// through again (false).
func (p *Proxy) SetDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for c := range p.conns {
			c.Close()
		}
	}
}
