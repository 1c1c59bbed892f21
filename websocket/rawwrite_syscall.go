//go:build unix && !(linux && (amd64 || arm64) && !echows_portable) && !solaris && !illumos && !aix

package websocket

import (
	"syscall"
	"unsafe"
)

// rawWrite is write(2) as a raw system call, which the scheduler is not
// told about (see writeNow). p is not empty.
func rawWrite(fd uintptr, p []byte) (int, syscall.Errno) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(r), errno
}
