//go:build unix

package websocket

import (
	"io"
	"syscall"
	"unsafe"
)

// readSocket reads what the socket holds into p, waiting for it through
// the runtime's poller as net.Conn's Read does (read deadlines apply). The
// read itself is a raw system call: on a non-blocking socket it cannot
// block, so the scheduler need not be told. Telling it (syscall.Read) is
// not free on a server that idles between messages: the first system call
// after an idle spell wakes the runtime's sysmon thread into polling every
// 20 µs, and on one core those wakeups preempted the fan-out that the
// message started, thousands of times a second (see docs/benchmarks.md).
func readSocket(rc syscall.RawConn, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var (
		n    int
		rerr error
	)
	err := rc.Read(func(fd uintptr) bool {
		for {
			r, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch errno {
			case 0:
				n = int(r)
				return true
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // nothing yet: the poller waits for the socket
			default:
				rerr = errno
				return true
			}
		}
	})
	switch {
	case err != nil:
		return 0, err
	case rerr != nil:
		return 0, rerr
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}
