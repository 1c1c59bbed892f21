package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/echows/echows/cmd/echows-load/internal/benchsrv"
	"github.com/echows/echows/internal/wsframe"
)

// The client side is deliberately light: one goroutine per connection that
// reads raw bytes into its own buffer and parses the frame headers itself
// (no gorilla, no per-message allocation), so that one core can hold 10,000
// connections and absorb well over a million messages per second. The only
// work per message is the header, a fixed prefix check, three integers out of
// the payload, a few counters and a histogram increment.

// benchPrefix starts the text of every burst message: the servers under test
// write {"event":<event>,"data":<data>} and the burst data starts with "b".
var benchPrefix = []byte(`{"event":"bench","data":{"b":`)

var (
	connectedPrefix = []byte(`{"event":"connected"`)
	errorPrefix     = []byte(`{"event":"error"`)
	// ackPrefix starts the echo that confirms a join (see wsConn.join).
	ackPrefix = []byte(`{"event":"bench","data":{"ack":`)
)

// burstState is what every connection's reader reports a burst to. A new one
// is installed (atomically) before each burst.
type burstState struct {
	id     int64 // burst id carried in "b"
	count  int64 // messages each connection must get
	target int64 // connections that must complete
	// pubs is the number of publishers of a steady run (0: a burst, one
	// sender): publisher k sends sequence numbers k, k+pubs, k+2·pubs, ...,
	// and order is checked per publisher.
	pubs int64
	// perRoom, when set, replaces count (the fleet scenario, where each
	// message goes to one room): a connection in fleet room k must get
	// perRoom[k] messages, numbered from 0 in that room; one in no room,
	// none.
	perRoom []int64
	total   int64 // messages all connections must get together

	received  atomic.Int64 // messages of this burst, all connections
	stale     atomic.Int64 // messages of another burst (late ones)
	reordered atomic.Int64 // a sequence number below the expected one
	gaps      atomic.Int64 // a sequence number above the expected one
	done      atomic.Int64 // connections that got count messages
	lastDone  atomic.Int64 // unix ns of the last completion
	allDone   chan struct{}
	hist      histogram
}

func newBurstState(id, count, target int64) *burstState {
	return &burstState{id: id, count: count, target: target, total: count * target, allDone: make(chan struct{})}
}

// newRoomBurstState expects perRoom[k] messages in each fleet room k, to
// each of its members[k] connections.
func newRoomBurstState(id int64, perRoom, members []int64) *burstState {
	bs := &burstState{id: id, perRoom: perRoom, allDone: make(chan struct{})}
	for k, n := range perRoom {
		if n > 0 {
			bs.target += members[k]
			bs.total += n * members[k]
		}
	}
	if bs.target == 0 {
		close(bs.allDone)
	}
	return bs
}

// want returns how many messages c must get.
func (bs *burstState) want(c *wsConn) int64 {
	if bs.perRoom == nil {
		return bs.count
	}
	if c.room < 0 || c.room >= len(bs.perRoom) {
		return 0
	}
	return bs.perRoom[c.room]
}

// pool is a set of client connections to one server.
type pool struct {
	addr    string // host:port
	path    string
	bufSize int
	// onConnect, when set, runs after connectAll's connection i is
	// connected (the fleet scenario joins its room); its error counts as a
	// failed connection.
	onConnect func(i int, c *wsConn) error

	cur     atomic.Pointer[burstState]
	closed  atomic.Int64 // connections whose reader ended
	errs    atomic.Int64 // error events received
	errOnce sync.Once
	errText atomic.Value // first error text

	mu    sync.Mutex
	conns []*wsConn
	wg    sync.WaitGroup
}

// wsConn is one client connection; its fields are owned by its reader.
type wsConn struct {
	p         *pool
	nc        net.Conn
	buf       []byte
	have      int
	connected chan struct{} // closed on the connected event
	gotConn   bool
	acked     chan struct{} // one value per join confirmed (see join)
	room      int           // the fleet room it joined (its index), -1: none

	burst  *burstState // the burst next/got refer to
	next   int64       // expected sequence number
	nextBy []int64     // per publisher, in a steady run
	got    int64       // messages of burst received
	want   int64       // messages of burst it must get
}

var upgradeReq = "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// dial opens one connection, upgrades it, authenticates as token and waits
// for connected. The reader goroutine keeps running after it returns.
func (p *pool) dial(token string, timeout time.Duration) (*wsConn, error) {
	nc, err := net.DialTimeout("tcp", p.addr, timeout)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(timeout)
	nc.SetDeadline(deadline)
	c := &wsConn{p: p, nc: nc, buf: make([]byte, p.bufSize), connected: make(chan struct{}),
		acked: make(chan struct{}, 1), room: -1}
	if c.have, err = upgrade(nc, p.path, p.addr, c.buf); err != nil {
		nc.Close()
		return nil, err
	}
	auth := []byte(`{"event":"authenticate","data":{"token":` + strconv.Quote(token) + `}}`)
	if _, err := nc.Write(clientFrame(wsframe.OpText, auth)); err != nil {
		nc.Close()
		return nil, err
	}
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	p.wg.Add(1)
	go c.run()
	select {
	case <-c.connected:
		nc.SetDeadline(time.Time{})
		return c, nil
	case <-time.After(time.Until(deadline)):
		nc.Close()
		return nil, errors.New("no connected event in time")
	}
}

// join joins fleet room k, named room, and waits until the server has
// handled the join: it sends an "echo" right after it, which the server
// answers once it has handled the frames before (a client's frames are
// handled in order). The reader records k as c's room when the answer
// comes.
func (c *wsConn) join(room string, k int, timeout time.Duration) error {
	msg := clientFrame(wsframe.OpText, []byte(`{"event":"join","data":{"rooms":[`+strconv.Quote(room)+`]}}`))
	msg = append(msg, clientFrame(wsframe.OpText, []byte(`{"event":"echo","data":{"ack":`+strconv.Itoa(k)+`}}`))...)
	if _, err := c.nc.Write(msg); err != nil {
		return err
	}
	select {
	case <-c.acked:
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("join %s: no answer in %v", room, timeout)
	}
}

// upgrade sends the WebSocket upgrade request on nc and reads the response
// head into buf; it returns how many bytes after the head buf holds (frames
// that came with it).
func upgrade(nc net.Conn, path, addr string, buf []byte) (int, error) {
	if _, err := fmt.Fprintf(nc, upgradeReq, path, addr); err != nil {
		return 0, err
	}
	have := 0
	for {
		n, err := nc.Read(buf[have:])
		have += n
		if i := bytes.Index(buf[:have], []byte("\r\n\r\n")); i >= 0 {
			if !bytes.HasPrefix(buf, []byte("HTTP/1.1 101")) {
				line, _, _ := bytes.Cut(buf[:i], []byte("\r\n"))
				return 0, fmt.Errorf("upgrade refused: %s", line)
			}
			return copy(buf, buf[i+4:have]), nil
		}
		if err != nil {
			return 0, fmt.Errorf("upgrade: %w", err)
		}
		if have == len(buf) {
			return 0, errors.New("upgrade: response head too large")
		}
	}
}

// clientFrame builds a final, masked client frame (RFC 6455 §5.3).
func clientFrame(op byte, payload []byte) []byte {
	h := wsframe.Header{Fin: true, Opcode: op, Masked: true, Mask: [4]byte{0x12, 0x34, 0x56, 0x78}}
	return wsframe.AppendFrame(make([]byte, 0, wsframe.MaxHeaderLen+len(payload)), h, payload)
}

// run is the reader: it parses every complete frame in the buffer after
// each read.
func (c *wsConn) run() {
	defer c.p.wg.Done()
	defer c.p.closed.Add(1)
	defer c.nc.Close()
	for {
		if c.have > 0 {
			if !c.parse(time.Now().UnixMicro()) {
				return
			}
		}
		n, err := c.nc.Read(c.buf[c.have:])
		if n > 0 {
			c.have += n
			if !c.parse(time.Now().UnixMicro()) {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				c.p.noteErr("read: " + err.Error())
			}
			return
		}
	}
}

// parse consumes the complete frames in buf[:have]; now is the receive time
// in unix µs. It reports false when the connection must end.
func (c *wsConn) parse(now int64) bool {
	b := c.buf[:c.have]
	pos := 0
	var recv, stale, reord, gaps int64
	bs := c.p.cur.Load()
	var h wsframe.Header
	for {
		hdr := h.Parse(b[pos:])
		if hdr == 0 {
			break // an incomplete header
		}
		if h.Masked {
			c.p.noteErr("masked server frame")
			return false
		}
		n := int(h.Length)
		if len(b)-pos < hdr+n {
			if hdr+n > len(c.buf) { // a frame larger than the buffer: grow it
				nb := make([]byte, hdr+n)
				copy(nb, b[pos:])
				c.buf, c.have = nb, len(b)-pos
				c.flush(bs, recv, stale, reord, gaps)
				return true
			}
			break
		}
		payload := b[pos+hdr : pos+hdr+n]
		pos += hdr + n
		switch h.Opcode {
		case wsframe.OpText:
			if bytes.HasPrefix(payload, benchPrefix) {
				bid, rest := atoi(payload[len(benchPrefix):])
				seq, rest := atoi(skipKey(rest)) // ,"s":
				t, _ := atoi(skipKey(rest))      // ,"t":
				if bs == nil || bid != bs.id {
					stale++
					continue
				}
				if c.burst != bs {
					c.burst, c.next, c.got, c.want = bs, 0, 0, bs.want(c)
					c.nextBy = c.nextBy[:0]
					for k := range bs.pubs {
						c.nextBy = append(c.nextBy, k)
					}
				}
				exp, step := &c.next, int64(1)
				if bs.pubs > 0 {
					exp, step = &c.nextBy[seq%bs.pubs], bs.pubs
				}
				switch {
				case seq < *exp:
					reord++
				case seq > *exp:
					gaps++
				}
				*exp = seq + step
				c.got++
				recv++
				bs.hist.record(now - t)
				if c.got == c.want {
					for t := time.Now().UnixNano(); ; {
						old := bs.lastDone.Load()
						if old >= t || bs.lastDone.CompareAndSwap(old, t) {
							break
						}
					}
					if bs.done.Add(1) == bs.target {
						close(bs.allDone)
					}
				}
				continue
			}
			switch {
			case bytes.HasPrefix(payload, ackPrefix):
				k, _ := atoi(payload[len(ackPrefix):])
				c.room = int(k)
				select {
				case c.acked <- struct{}{}:
				default:
				}
			case !c.gotConn && bytes.HasPrefix(payload, connectedPrefix):
				c.gotConn = true
				close(c.connected)
			case bytes.HasPrefix(payload, errorPrefix):
				c.p.errs.Add(1)
				c.p.noteErr(string(payload))
			}
		case wsframe.OpPing: // answer with a pong carrying the same data
			if _, err := c.nc.Write(clientFrame(wsframe.OpPong, payload)); err != nil {
				return false
			}
		case wsframe.OpClose:
			code, reason, _ := wsframe.ParseClose(payload)
			c.p.noteErr(fmt.Sprintf("server closed a connection: %d %q", code, reason))
			return false
		}
	}
	c.have = copy(c.buf, b[pos:])
	c.flush(bs, recv, stale, reord, gaps)
	return true
}

func (c *wsConn) flush(bs *burstState, recv, stale, reord, gaps int64) {
	if bs == nil {
		return
	}
	if recv != 0 {
		bs.received.Add(recv)
	}
	if stale != 0 {
		bs.stale.Add(stale)
	}
	if reord != 0 {
		bs.reordered.Add(reord)
	}
	if gaps != 0 {
		bs.gaps.Add(gaps)
	}
}

func (p *pool) noteErr(text string) {
	p.errOnce.Do(func() { p.errText.Store(text) })
}

func (p *pool) firstErr() string {
	s, _ := p.errText.Load().(string)
	return s
}

// closeAll closes every connection and waits for the readers.
func (p *pool) closeAll() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.nc.Close()
	}
	p.wg.Wait()
}

// atoi parses the decimal integer at the start of b and returns the rest.
func atoi(b []byte) (int64, []byte) {
	var v int64
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		v = v*10 + int64(b[i]-'0')
	}
	return v, b[i:]
}

// skipKey skips `,"k":` (a one-letter key).
func skipKey(b []byte) []byte {
	if len(b) >= 5 {
		return b[5:]
	}
	return nil
}

// connectAll opens n connections with at most conc handshakes in flight and
// returns how long it took and how many failed.
func (p *pool) connectAll(n, conc int, tokenPrefix string, timeout time.Duration) (time.Duration, int, error) {
	next := atomic.Int64{}
	var failed atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				c, err := p.dial(tokenPrefix+strconv.FormatInt(i, 10), timeout)
				if err == nil && p.onConnect != nil {
					err = p.onConnect(int(i), c)
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	if f := failed.Load(); f > 0 {
		return el, int(f), fmt.Errorf("%d of %d connections failed, first: %v", f, n, firstErr.Load())
	}
	return el, 0, nil
}

// paced has every connection of conns send its share of a run at set times,
// all in parallel, and returns the seconds it took: connection k sends
// count(k) text frames, its i-th at(k, i) after the start, with the text
// msg appends to buf. A connection stops at its first failed write, which
// is logged (once per run) when who names the senders.
func paced(conns []*wsConn, who string, count func(k int) int, at func(k, i int) time.Duration, msg func(buf []byte, k, i int) []byte) float64 {
	t0 := time.Now()
	var wg sync.WaitGroup
	var sendErr sync.Once
	for k, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for i := range count(k) {
				time.Sleep(time.Until(t0.Add(at(k, i))))
				buf = msg(buf[:0], k, i)
				if _, err := c.nc.Write(clientFrame(wsframe.OpText, buf)); err != nil {
					if who != "" {
						sendErr.Do(func() { logf("   %s %d: %v", who, k, err) })
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(t0).Seconds()
}

// pacedEvenly is paced on the common schedule: every connection sends count
// messages {"event":event,"data":<payload seq(k, i) of burst id>}, one each
// interval, the connections' starts spread evenly over the first interval.
func pacedEvenly(conns []*wsConn, who string, count int, interval time.Duration, event string, id int64, size int, seq func(k, i int) int) float64 {
	return paced(conns, who,
		func(int) int { return count },
		func(k, i int) time.Duration {
			return time.Duration(k)*interval/time.Duration(len(conns)) + time.Duration(i)*interval
		},
		func(buf []byte, k, i int) []byte {
			buf = append(buf, `{"event":"`+event+`","data":`...)
			buf = benchsrv.Payload(buf, int(id), seq(k, i), size)
			return append(buf, '}')
		})
}
