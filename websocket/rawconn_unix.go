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
// idle readers that keep their goroutine. So do sockets not in
// non-blocking mode (see nonBlocking).
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
	if err != nil || !nonBlocking(rc) {
		return nil
	}
	return rc
}

// nonBlocking reports whether rc's socket is in non-blocking mode, as the
// runtime opens every socket. Calling Fd on the os.File a connection's
// File method returned puts the shared socket in blocking mode. A raw
// system call on such a socket waits for the peer without telling the
// scheduler, holding its processor, so a garbage collection would wait
// for the peer too. Reads and writes through the runtime stay safe.
func nonBlocking(rc syscall.RawConn) bool {
	ok := false
	err := rc.Control(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		ok = err == nil && fl&unix.O_NONBLOCK != 0
	})
	return err == nil && ok
}

// rawFD returns the socket number of rc, or -1.
func rawFD(rc syscall.RawConn) int {
	fd := -1
	if rc != nil {
		_ = rc.Control(func(s uintptr) { fd = int(s) })
	}
	return fd
}
