//go:build linux && (amd64 || arm64) && !echows_portable

package websocket

import (
	"io"
	"net"
	"sync"
	"syscall"
	"unsafe"
)

// canReadRaw: clients' sockets are read with readSocket here.
const canReadRaw = true

// readSocket reads what the socket holds into p, waiting for it through
// the runtime's poller as net.Conn's Read does (read deadlines apply). The
// read itself is recv(2) with MSG_DONTWAIT as a raw system call: it never
// blocks, even on a socket someone put in blocking mode (File().Fd() does,
// and a read(2) there would block holding the processor, which no
// stop-the-world could take back), so the scheduler need not be told.
//
// Telling it (syscall.Read) is not free on a server that idles between
// messages. The first system call that enters the scheduler after an idle
// spell wakes the runtime's sysmon thread, which then polls every 20 µs for
// a millisecond and backs off from there (golang/go#18236): on one core
// its wakeups preempted the fan-out the message started, 2,300 times a
// second at 40 messages a second into a room of 1,000, and cost 6–10 % of
// the CPU per delivery, 15–23 % through Redis (docs/benchmarks.md). The
// writes are raw for the same reason (writeNow), and so are the parker's
// epoll calls. Elsewhere (other systems and processors, as for writeNow's
// send) reads go through net.Conn.
func readSocket(rc syscall.RawConn, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	r := recvCalls.Get().(*recvCall)
	r.p = p
	err := rc.Read(r.fn)
	n, rerr := r.n, r.err
	*r = recvCall{fn: r.fn}
	recvCalls.Put(r)
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

// recvCall is one readSocket's callback and results, pooled: a callback
// made per read would escape through RawConn.Read, three allocations per
// read where net.Conn's Read makes none.
type recvCall struct {
	p   []byte
	n   int
	err error
	fn  func(fd uintptr) bool // recv, bound once
}

var recvCalls = sync.Pool{New: func() any {
	r := &recvCall{}
	r.fn = r.recv
	return r
}}

// recv reads into r.p without waiting, and reports whether the read is
// done (false: nothing yet, the poller waits for the socket).
func (r *recvCall) recv(fd uintptr) bool {
	for {
		n, _, errno := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd,
			uintptr(unsafe.Pointer(&r.p[0])), uintptr(len(r.p)), syscall.MSG_DONTWAIT, 0, 0)
		switch errno {
		case 0:
			r.n = int(n)
			return true
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			r.err = errno
			return true
		}
	}
}

// rawReadConn is a socket whose Read is readSocket: the broker's own Redis
// connections (see rawReadHook), whose reads start most of an instance's
// work when its clients' messages come from other instances.
type rawReadConn struct {
	net.Conn
	rc syscall.RawConn
}

// withRawReads returns nc reading with readSocket, or nc itself when it
// is not a plain socket (TLS, say).
func withRawReads(nc net.Conn) net.Conn {
	rc := rawConnOf(nc)
	if rc == nil {
		return nc
	}
	return &rawReadConn{Conn: nc, rc: rc}
}

func (c *rawReadConn) Read(p []byte) (int, error) { return readRaw(c.Conn, c.rc, p) }

// SyscallConn lets go-redis check a pooled connection's health by peeking
// at its socket, as it does for a plain *net.TCPConn.
func (c *rawReadConn) SyscallConn() (syscall.RawConn, error) { return c.rc, nil }
