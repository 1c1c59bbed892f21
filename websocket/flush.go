package websocket

import (
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// flushChunk is how many clients a flush goroutine takes from the list at a
// time, and how many a fan-out adds at a time.
const flushChunk = 256

// corkLimit is how many bytes a client held by a cork may accumulate before
// it is written anyway: it bounds the batch, and so the latency, corking can
// cause.
const corkLimit = 256 << 10

// inlineFlush is how many bytes a client waiting for a flush goroutine may
// accumulate, outside a cork, before the code that queues for it writes it
// itself (one non-blocking write), as uWebSockets writes a socket whose
// buffer filled during a publish: a producer that queues faster than the
// flush goroutines get to run (one core, a send loop) then writes in
// batches of this size instead of waiting for the scheduler.
const inlineFlush = 8 << 10

// flusher writes the queues of clients that have something to send, from a
// few goroutines shared by all clients (at most GOMAXPROCS), with
// non-blocking writes: a client whose socket is full is handed to a writer
// goroutine of its own, so it never holds up the others.
//
// A client whose queue goes from empty to non-empty is added to the ready
// list; the list is the batch boundary. While a producer queues a message
// for a room, or a burst of messages, the flush goroutines take clients as
// they come and write everything each has queued by then in one call, so a
// burst is written in few calls per client with no timer and no yield
// loop. While a Cork is open, new clients wait in the held list instead,
// and go to the ready list when a cork ends (any cork: what each cork held
// is released when that cork ends).
type flusher struct {
	mu      sync.Mutex
	ready   []*Client // a FIFO: ready[head:] wait
	head    int
	held    []*Client
	running int // flush goroutines alive
	max     int // at most this many
	corks   atomic.Int32
	start   func()      // starts one flush goroutine
	poll    func() bool // starts the readers of parked sockets that have data (parker.poll)
	batch   *coalescer
	stopped bool // see stop

	// For sparse: when the last fan-out ended (monoNow), whether it
	// came after a gap, and whether a fan-out is writing its members
	// itself.
	lastDone atomic.Int64
	gapped   atomic.Bool
	inlining atomic.Bool
}

func newFlusher(start func(), batch *coalescer) *flusher {
	return &flusher{max: max(1, runtime.GOMAXPROCS(0)), start: start, batch: batch}
}

// sparseGap is how long after the previous fan-out ended a message must
// come to count as sparse (see sparse). A message sent in a loop comes
// microseconds after the previous one; steady traffic that leaves the
// server less than 1 ms between messages keeps it busy enough that
// batching is worth more.
const sparseGap = time.Millisecond

// sparse reports whether a fan-out starting now should write its members
// itself rather than leave them to the flush goroutines. It should when
// this message and the one before it both came at least sparseGap after
// the fan-out before them (steady traffic: a burst that follows another
// burst after a pause is batched from its first message; after steady
// traffic only a burst's first message is written inline), no cork is
// open, no flush goroutine runs, and no other fan-out writes its members.
// When it returns true, the caller owns the inline slot until fanOutDone.
func (f *flusher) sparse() bool {
	gapped := monoNow()-time.Duration(f.lastDone.Load()) >= sparseGap
	before := f.gapped.Load()
	if before != gapped {
		f.gapped.Store(gapped)
	}
	if !gapped || !before || f.corks.Load() > 0 {
		return false
	}
	f.mu.Lock()
	busy := f.running > 0
	f.mu.Unlock()
	return !busy && f.inlining.CompareAndSwap(false, true)
}

// maxInline is how many members a sparse fan-out writes itself on one
// processor, where the flush goroutines could not write the others in
// parallel anyway: 8,192 writes are 25–40 ms of CPU on the benchmark
// machine, which bounds the time a steady message to a huge room holds
// the sender's call (an HTTP handler, a client's reader, the broker's
// dispatcher).
const maxInline = 8192

// inlineMembers is how many members a sparse fan-out writes itself: up to
// maxInline on one processor; with more, the last flushChunk, while the
// flush goroutines write the others in parallel. (max is GOMAXPROCS when
// the server was created.)
func (f *flusher) inlineMembers() int {
	if f.max == 1 {
		return maxInline
	}
	return flushChunk
}

// fanOutDone records the end of a fan-out, and gives the inline slot back
// when sparse had granted it.
func (f *flusher) fanOutDone(inline bool) {
	f.lastDone.Store(int64(monoNow()))
	if inline {
		f.inlining.Store(false)
	}
}

// add schedules clients whose write token was just taken (startFlush).
func (f *flusher) add(cs ...*Client) {
	if len(cs) == 0 {
		return
	}
	f.mu.Lock()
	if f.corks.Load() > 0 {
		f.held = append(f.held, cs...)
	} else {
		f.ready = append(f.ready, cs...)
		f.startLocked()
	}
	f.mu.Unlock()
}

// promote schedules c now, cork or not: it is past corkLimit.
func (f *flusher) promote(c *Client) {
	f.mu.Lock()
	f.ready = append(f.ready, c)
	f.startLocked()
	f.mu.Unlock()
}

// ensure starts a flush goroutine when none runs: one that will queue the
// batch of fan-outs that just began waiting (see next). It reports false,
// starting none, once the server is shutting down (see stop): the caller
// then queues the batch itself.
func (f *flusher) ensure() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return false
	}
	if f.running == 0 {
		f.running++
		f.start()
	}
	return true
}

// stop makes ensure start no more flush goroutines: Shutdown calls it once
// every client has been closed, before it waits for the server's
// goroutines. (add starts flush goroutines only for clients whose queue
// took a frame: open clients, whose readers' counts keep that wait from
// ending first.)
func (f *flusher) stop() {
	f.mu.Lock()
	f.stopped = true
	f.mu.Unlock()
}

// startLocked starts a flush goroutine when none runs, or when the list is
// long enough to share with another one.
func (f *flusher) startLocked() {
	if n := len(f.ready) - f.head; n > 0 && f.running < f.max && (f.running == 0 || n > flushChunk) {
		f.running++
		f.start()
	}
}

// next takes up to flushChunk clients off the ready list into buf. With
// none to take, it counts the calling flush goroutine out and returns
// done, unless a batch of fan-outs waits: a batch's sender counts on a
// running flush goroutine to queue it (see ensure), and this check is
// under the same lock as ensure's.
func (f *flusher) next(buf []*Client) (_ []*Client, done bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	buf = f.takeLocked(buf)
	if len(buf) == 0 && !f.batch.pending.Load() {
		f.running--
		return buf, true
	}
	return buf, false
}

// takeLocked takes up to flushChunk clients off the ready list into buf.
func (f *flusher) takeLocked(buf []*Client) []*Client {
	n := min(len(f.ready)-f.head, cap(buf))
	if n == 0 {
		return buf[:0]
	}
	buf = append(buf[:0], f.ready[f.head:f.head+n]...)
	clear(f.ready[f.head : f.head+n])
	f.head += n
	switch {
	case f.head == len(f.ready): // empty: reuse the array, unless a huge burst grew it
		f.ready, f.head = f.ready[:0], 0
		if cap(f.ready) > 1<<16 {
			f.ready = nil
		}
	case f.head >= flushChunk && 2*f.head >= len(f.ready):
		// under steady load the list may never empty: move what waits to
		// the front, so the array holds the waiting clients, not every
		// scheduling since it last emptied
		k := copy(f.ready, f.ready[f.head:])
		clear(f.ready[k:])
		f.ready, f.head = f.ready[:k], 0
	}
	return buf
}

// run is a flush goroutine: it queues waiting batches of fan-outs and
// writes clients from the ready list until there is neither.
//
// It lets the producers that can run go first, as an event loop reads
// every ready socket before it writes. With one processor, `go` puts a new
// goroutine next in line: the flush goroutine a reader's message started
// would write that message alone, ahead of the readers the same wake-up
// started, and each of theirs would get a pass of its own. So it yields
// once when it starts, and those messages join the batch it writes. And
// the runtime looks for network events only when it has nothing else to
// run: between chunks it polls the parked readers (parker.poll), and
// yields when that started some, so that the messages that came during
// its writes are queued now and go out in the members' next writes, not
// after this pass, one pass each. Order holds: what this goroutine writes
// is in the members' queues already, and what the readers queue goes
// after it.
func (f *flusher) run() {
	runtime.Gosched()
	buf := make([]*Client, 0, flushChunk)
	for {
		f.batch.flush()
		var done bool
		if buf, done = f.next(buf); done {
			return
		}
		f.write(buf)
		clear(buf)
		if f.poll() {
			runtime.Gosched()
		}
	}
}

// help writes clients from the ready list on the caller's goroutine, beside
// the flush goroutines: a sender that queued a full batch of fan-outs
// writes it (see coalescer.add). It writes at most as many clients as the
// list held when it began, so a sender's call is bounded by what was
// waiting then, however fast others add to the list.
func (f *flusher) help() {
	bufp := getClients()
	defer putClients(bufp)
	buf := slices.Grow(*bufp, flushChunk)
	f.mu.Lock()
	left := len(f.ready) - f.head
	f.mu.Unlock()
	for left > 0 {
		f.mu.Lock()
		buf = f.takeLocked(buf[:0:min(left, flushChunk)])
		f.mu.Unlock()
		if len(buf) == 0 {
			break
		}
		left -= len(buf)
		f.write(buf)
		clear(buf)
	}
	*bufp = buf[:0]
}

// write writes each of cs once; those that got more meanwhile go back on
// the ready list.
func (f *flusher) write(cs []*Client) {
	var arr [16]*Client // does not escape: append copies into f.ready
	again := arr[:0]
	for _, c := range cs {
		if c.flushOnce() {
			again = append(again, c)
		}
	}
	if len(again) > 0 {
		f.mu.Lock()
		f.ready = append(f.ready, again...)
		f.mu.Unlock()
	}
}

func (f *flusher) corkBegin() {
	f.mu.Lock()
	f.corks.Add(1)
	f.mu.Unlock()
}

// corkEnd releases every client held so far, whatever other corks are
// still open.
func (f *flusher) corkEnd() {
	f.batch.flush() // what fn batched is released with the rest
	f.mu.Lock()
	f.corks.Add(-1)
	if len(f.held) > 0 {
		f.ready = append(f.ready, f.held...)
		clear(f.held)
		f.held = f.held[:0]
		f.startLocked()
	}
	f.mu.Unlock()
}

// Cork runs fn with writes held: frames queued for any client while fn
// runs (by fn or by other goroutines) are written when fn returns, one
// write call per client where they fit, instead of as they come. Use it
// around a burst of sends the code knows about (a loop of sends, a batch of
// jobs); it is never needed for correctness, and the server corks the
// batches it receives from the broker itself.
//
// Corks may overlap and nest: what was held while a cork was open is
// released when that cork returns. A client that accumulates more than
// 256 KiB meanwhile is written early. Keep fn short: nothing it queues
// reaches the network before it returns. Holding what other goroutines
// send is best effort: a send that began before the cork opened may still
// write.
func (s *Server) Cork(fn func()) {
	s.flush.corkBegin()
	defer s.flush.corkEnd()
	fn()
}

// clientBufs pools the client lists a fan-out collects.
var clientBufs = sync.Pool{New: func() any { b := make([]*Client, 0, 64); return &b }}

func getClients() *[]*Client { return clientBufs.Get().(*[]*Client) }

func putClients(p *[]*Client) {
	if cap(*p) > 1<<16 {
		return // an outsized list from a huge room: let the GC have it
	}
	clear(*p)
	*p = (*p)[:0]
	clientBufs.Put(p)
}
