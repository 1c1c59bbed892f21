//go:build unix

package websocket

import (
	"net"
	"syscall"
)

// rawConnOf returns the raw connection of nc when it is a socket the flush
// goroutines may write to without blocking (plain TCP), else nil.
func rawConnOf(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
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
