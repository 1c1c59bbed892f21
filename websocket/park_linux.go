package websocket

import (
	"errors"
	"os"
	"sync"
	"syscall"
	"unsafe"
)

// parker keeps idle readers off goroutines: a connection with nothing to
// read waits in one epoll set of the server's instead of in a goroutine
// blocked in Read, whose stack (2 KiB at least) would be most of what an
// idle connection costs. When the socket becomes readable (data, EOF, an
// error) the parker starts the client's read loop again.
//
// The runtime's own poller watches the same socket; a socket may be in
// several epoll sets, and the reader uses it through net.Conn as before.
// Each park arms the socket once (EPOLLONESHOT); a level-triggered arm
// reports data that came before it at once.
//
// The epoll set is itself watched by the runtime's poller (an epoll set is
// readable while it has events), so run waits like any network read: it
// never blocks a thread in epoll_wait, which would keep the scheduler's P
// until sysmon retakes it (up to 10 ms on an idle machine, with GOMAXPROCS
// 1 every other goroutine waiting meanwhile).
type parker struct {
	epfd int
	file *os.File        // epfd, registered with the runtime's poller
	rc   syscall.RawConn // file's
	wake [2]int          // a pipe: a byte on it stops run

	start sync.Once
	err   error // set when the epoll set could not be made: no parking

	mu      sync.Mutex // guards the fields below and each client's fd fields
	byFD    map[int32]parked
	seq     int32
	done    chan struct{} // closed when run returned; nil until run starts
	stopped bool          // the epoll set is closed: park no more
}

// parked is a client waiting in the epoll set, and the sequence number of
// its arming (a socket number may be reused by a later connection).
type parked struct {
	c   *Client
	seq int32
}

const parkEvents = syscall.EPOLLIN | syscall.EPOLLRDHUP | syscall.EPOLLONESHOT

// park arms c's socket and reports true when c now waits in the epoll set:
// the caller's goroutine must then return. It reports false when c cannot
// park (no socket number, or no epoll set), and the caller reads on.
func (s *Server) park(c *Client) bool {
	p := &s.parker
	if c.fd < 0 || !p.ready(s) {
		return false
	}
	p.mu.Lock()
	if c.closedSocket || p.stopped {
		p.mu.Unlock()
		return false // the read fails at once: finish on this goroutine
	}
	p.seq = (p.seq + 1) & 0x7FFFFFFF // never -1, the wake pipe's
	ev := syscall.EpollEvent{Events: parkEvents, Fd: int32(c.fd), Pad: p.seq}
	op := syscall.EPOLL_CTL_MOD
	if !c.armed {
		op = syscall.EPOLL_CTL_ADD
	}
	if err := epollCtl(p.epfd, op, c.fd, &ev); err != nil {
		p.mu.Unlock()
		return false // the epoll watch limit, say: read on this goroutine
	}
	// Parked only now, still under the lock: the poller cannot look the
	// socket up before, and no unpark can start a reader for a park that
	// failed.
	c.parked.Store(true)
	c.armed = true
	p.byFD[int32(c.fd)] = parked{c, p.seq}
	p.mu.Unlock()
	// A close queued meanwhile may have found nothing to unpark: a reader
	// waiting for the peer's answer to a close must read under the close's
	// deadline, so take the reader back unless someone else already did.
	if c.ctx.Err() != nil && c.parked.CompareAndSwap(true, false) {
		return false
	}
	return true
}

// unpark starts c's reader again if it waits in the epoll set, so that it
// reads what came, a close the server queued, or a socket closed under it.
func (c *Client) unpark() {
	if c.parked.CompareAndSwap(true, false) {
		go c.read(true) // the wait group count carries over
	}
}

// dropSocket closes c's socket, once, taking it out of the epoll set
// first (a closed socket leaves epoll sets without a word), and starts its
// reader if it was parked, so that the reader finishes the client. Only
// closeSocket calls it.
func (c *Client) dropSocket() {
	p := &c.server.parker
	p.mu.Lock()
	if c.closedSocket {
		p.mu.Unlock()
		return
	}
	c.closedSocket = true
	if c.armed && !p.stopped {
		_ = epollCtl(p.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
		delete(p.byFD, int32(c.fd))
		c.armed = false
	}
	p.mu.Unlock()
	c.raw.Close()
	c.unpark()
}

// ready makes the epoll set and starts run, once; it reports whether
// parking works.
func (p *parker) ready(s *Server) bool {
	p.start.Do(func() {
		p.epfd, p.err = syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
		if p.err != nil {
			return
		}
		if p.err = syscall.SetNonblock(p.epfd, true); p.err != nil {
			syscall.Close(p.epfd)
			return
		}
		p.file = os.NewFile(uintptr(p.epfd), "echows-park-epoll")
		if p.rc, p.err = p.file.SyscallConn(); p.err != nil {
			p.file.Close()
			return
		}
		if p.err = syscall.Pipe2(p.wake[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); p.err != nil {
			p.file.Close()
			return
		}
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(p.wake[0]), Pad: -1}
		if p.err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, p.wake[0], &ev); p.err != nil {
			p.closeFDs()
			return
		}
		p.mu.Lock()
		p.byFD = make(map[int32]parked)
		p.done = make(chan struct{})
		p.mu.Unlock()
		go p.run()
	})
	if p.err != nil {
		s.parkErrOnce.Do(func() {
			s.log.Warn("websocket: idle readers cannot park (they keep their goroutines)", "err", p.err)
		})
	}
	return p.err == nil
}

// run waits for parked sockets to become readable and starts their read
// loops, until stop.
func (p *parker) run() {
	defer close(p.done)
	events := make([]syscall.EpollEvent, 128)
	for {
		var (
			n    int
			werr error
		)
		err := p.rc.Read(func(fd uintptr) bool {
			n, werr = epollWaitNow(int(fd), events)
			if errors.Is(werr, syscall.EINTR) {
				n, werr = 0, nil
			}
			return werr != nil || n > 0 // none: the poller waits until the set is readable
		})
		if err != nil || werr != nil {
			return
		}
		p.mu.Lock()
		wake, stop := p.readyLocked(events[:n], nil)
		p.mu.Unlock()
		if stop {
			return
		}
		for _, c := range wake {
			c.unpark()
		}
	}
}

// readyLocked appends to wake the clients whose sockets events report, and
// reports whether the wake pipe is among them (stop).
func (p *parker) readyLocked(events []syscall.EpollEvent, wake []*Client) (_ []*Client, stop bool) {
	for _, ev := range events {
		if ev.Pad == -1 && ev.Fd == int32(p.wake[0]) {
			stop = true
			continue
		}
		if w, ok := p.byFD[ev.Fd]; ok && w.seq == ev.Pad {
			wake = append(wake, w.c)
		}
	}
	return wake, stop
}

// poll starts, without waiting, the readers of parked sockets that became
// readable, and reports whether it started any. A flush goroutine calls it
// between chunks of writes. With one processor the runtime looks for
// network events only when it has nothing else to run (or every 10 ms or
// more, from sysmon), so messages that come during a long run of writes
// would wait for it to end, and then be fanned out one by one; started now,
// their readers queue them while the writes go on, and each member gets
// them in its next write (see flusher.run). It never sees the wake pipe:
// stop writes it only after setting stopped, which poll checks under the
// same lock.
func (p *parker) poll() bool {
	var events [32]syscall.EpollEvent
	var wake []*Client
	p.mu.Lock() // held across the (non-blocking) wait: stop closes the set only after taking it
	if p.byFD == nil || p.stopped {
		p.mu.Unlock()
		return false
	}
	for {
		n, err := epollWaitNow(p.epfd, events[:])
		if err != nil || n == 0 {
			break
		}
		wake, _ = p.readyLocked(events[:n], wake)
		if n < len(events) {
			break
		}
	}
	p.mu.Unlock()
	for _, c := range wake {
		c.unpark()
	}
	return len(wake) > 0
}

// stop ends run and closes the epoll set; call it once no client is left.
func (p *parker) stop() {
	p.start.Do(func() {}) // an upgrade still under way makes no epoll set after this
	p.mu.Lock()
	done, stopped := p.done, p.stopped
	p.stopped = true
	p.mu.Unlock()
	if done == nil || stopped {
		return
	}
	_, _ = syscall.Write(p.wake[1], []byte{1})
	<-done
	p.closeFDs()
}

func (p *parker) closeFDs() {
	p.file.Close() // epfd
	syscall.Close(p.wake[0])
	syscall.Close(p.wake[1])
}

// epollCtl is syscall.EpollCtl as a raw system call: it never blocks (see
// readSocket for why the scheduler is not told).
func epollCtl(epfd, op, fd int, ev *syscall.EpollEvent) error {
	_, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), uintptr(unsafe.Pointer(ev)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// epollWaitNow is syscall.EpollWait with a zero timeout, as a raw system
// call: it never blocks.
func epollWaitNow(epfd int, events []syscall.EpollEvent) (int, error) {
	r, _, errno := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}
