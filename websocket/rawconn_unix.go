//go:build unix

package websocket

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// rawConnOf returns the raw connection of nc when it is a socket the server
// may use by its number (plain TCP or a Unix socket), else nil: the flush
// goroutines' writes, parking and the peer-gone check all depend on it.
// Only the standard library's own types qualify: a wrapper (a listener's,
// say) may close the socket behind closeSocket's back, which a write or an
// epoll registration by number must never outlive (see queue.letClose);
// its clients get writer goroutines, which write through the runtime, and
// idle readers that keep their goroutine. A socket found in blocking mode
// is put back in non-blocking mode (see setNonBlocking).
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
	if err != nil || setNonBlocking(rc) != nil {
		return nil
	}
	return rc
}

// setNonBlocking puts rc's socket in non-blocking mode if it is not, as
// the runtime opens every socket and as its own reads, writes and deadlines
// assume. Calling Fd on the os.File a connection's File method returned
// (some listeners and Redis dialers do, to set socket options) puts the
// shared socket in blocking mode: then net.Conn's reads ignore deadlines
// and hold a thread each, its Close waits for a read that waits for the
// peer, and a raw write(2) (rawwrite_rawconn.go) would wait holding the
// processor, so that a garbage collection waited for the peer too. One
// fcntl per connection; it never fails on a socket the runtime opened.
func setNonBlocking(rc syscall.RawConn) error {
	var ferr error
	err := rc.Control(func(fd uintptr) {
		var fl int
		if fl, ferr = unix.FcntlInt(fd, unix.F_GETFL, 0); ferr == nil && fl&unix.O_NONBLOCK == 0 {
			_, ferr = unix.FcntlInt(fd, unix.F_SETFL, fl|unix.O_NONBLOCK)
		}
	})
	if err != nil {
		return err
	}
	return ferr
}

// rawFD returns the socket number of rc, or -1.
func rawFD(rc syscall.RawConn) int {
	fd := -1
	if rc != nil {
		_ = rc.Control(func(s uintptr) { fd = int(s) })
	}
	return fd
}
