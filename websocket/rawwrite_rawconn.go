//go:build unix && !(linux && (amd64 || arm64) && !echows_portable)

package websocket

import "syscall"

// writeNow writes as much of p as the socket takes now, without waiting:
// the runtime's sockets are non-blocking, and returning true from the
// callback tells the runtime not to wait for the socket to become writable.
// The write itself (rawWrite) is a raw system call where the system has
// call numbers: it cannot block, so the scheduler need not be told
// (syscall.Write would hand the processor off around each call; on a
// loaded core that cost 25–40 % of the CPU per delivery). Solaris,
// illumos and AIX have none and tell it (rawwrite_libc.go).
func writeNow(_ int, rc syscall.RawConn, p []byte) (int, error) {
	var n int
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			r, errno := rawWrite(fd, p[n:])
			switch errno {
			case 0:
				if r == 0 {
					return true // took nothing: the writer goroutine waits for it
				}
				n += int(r)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return true
			default:
				werr = errno
				return true
			}
		}
		return true
	})
	if werr == nil {
		werr = err
	}
	return n, werr
}
