package websocket

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// peerClosed reports whether the peer of rc's TCP socket has closed its side
// (the socket left ESTABLISHED: a FIN or a reset came in). It reports false
// when it cannot tell (no raw connection: TLS; the socket already closed).
func peerClosed(rc syscall.RawConn) bool {
	if rc == nil {
		return false
	}
	closed := false
	_ = rc.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		closed = err == nil && info.State != unix.BPF_TCP_ESTABLISHED
	})
	return closed
}
