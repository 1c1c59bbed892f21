//go:build unix

package websocket

import (
	"net"
	"syscall"
)

// rawConnOf returns the raw connection of nc when it is a socket the server
// may use by its number (plain TCP or a Unix socket), else nil: the flush
// goroutines' writes, parking and the peer-gone check all depend on it.
// Only the standard library's own types qualify: a wrapper (a listener's,
// say) may close the socket behind closeSocket's back, which a write or an
// epoll registration by number must never outlive (see queue.letClose);
// its clients get writer goroutines, which write through the runtime, and
// idle readers that keep their goroutine.
func rawConnOf(nc net.Conn) syscall.RawConn {
	var sc syscall.Conn
	switch c := nc.(type) {
	case *net.TCPConn:
		sc = c
	case *net.UnixConn:
		sc = c
	default:
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// rawFD returns the socket number of rc, or -1.
func rawFD(rc syscall.RawConn) int {
	fd := -1
	if rc != nil {
		_ = rc.Control(func(s uintptr) { fd = int(s) })
	}
	return fd
}
