package websocket

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// peerClosed reports whether the peer of rc's TCP socket has closed its side
// (the socket left ESTABLISHED: a FIN or a reset came in) and, if so, how
// many bytes it sent are still unread in the kernel's buffer. It reports
// false when it cannot tell (no raw connection: TLS; the socket already
// closed).
func peerClosed(rc syscall.RawConn) (closed bool, unread int) {
	if rc == nil {
		return false, 0
	}
	_ = rc.Control(func(fd uintptr) {
		info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if err != nil || info.State == unix.BPF_TCP_ESTABLISHED {
			return
		}
		closed = true
		unread, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ)
	})
	return closed, unread
}
