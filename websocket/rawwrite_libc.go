//go:build solaris || illumos || aix

package websocket

import (
	"errors"
	"syscall"
)

// rawWrite is write(2) through the syscall package: these systems make
// system calls through the C library and have no call numbers for a raw
// call, so the scheduler is told about this one. On a socket in
// non-blocking mode (see setNonBlocking) it cannot block either; it only
// costs more on a loaded core.
func rawWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	n, err := syscall.Write(int(fd), p)
	var errno syscall.Errno
	if err != nil && !errors.As(err, &errno) {
		errno = syscall.EIO
	}
	return max(n, 0), errno
}
