package websocket

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"time"
)

// bucket is a token bucket for one client's reader goroutine, which alone
// uses it: no lock, 16 bytes. (golang.org/x/time/rate does the same with a
// mutex and a reservation API the reader does not need.)
type bucket struct {
	tokens float64
	last   int64 // unix nanoseconds of the last take; 0 means never (full)
}

// throttleQuantum is how much refill a throttled reader waits for: a peer
// over its rate is read in runs of rate × throttleQuantum frames (or bytes),
// one wake-up per run, instead of waking once per frame. The average rate is
// the same; a flood of small frames costs a tenth of the timers, wake-ups and
// read calls (under 1,000 flooding peers, timers and wake-ups were a third of
// the server's CPU). A peer slightly over its rate waits up to two quanta
// instead of one frame's time.
const throttleQuantum = 100 * time.Millisecond

// take takes n tokens at now, going into debt when there are not enough,
// and returns how long the taker must wait: none while the bucket covers n,
// else until the debt is repaid and the bucket holds a refill of rate ×
// throttleQuantum × (1 + jitter()) tokens (at most burst), at rate tokens
// per second. jitter, called only then, returns a number in [0, 1) that
// spreads the wake-ups of peers that started together; it lengthens the run
// that follows the wait, not only the wait, so the average rate stays rate.
// The bucket holds at most burst tokens.
func (b *bucket) take(now int64, n, rate, burst float64, jitter func() float64) time.Duration {
	if b.last == 0 {
		b.tokens = burst
	} else if now > b.last {
		b.tokens = min(burst, b.tokens+float64(now-b.last)*rate/1e9)
	}
	b.last = now
	b.tokens -= n
	if b.tokens >= 0 {
		return 0
	}
	refill := min(burst, rate*throttleQuantum.Seconds()*(1+jitter()))
	return time.Duration((refill - b.tokens) / rate * 1e9)
}

// errPeerGone ends the reading of a peer that closed its side of the
// connection while it was over its MessageRate or ReadRate, once it has
// been read a burst's worth past that (see wait).
var errPeerGone = errors.New("websocket: peer closed the connection while over its rate limit; the rest of what it sent is dropped")

// throttleFrame charges one inbound frame to the client's MessageRate and
// waits while it is over (the peer is not read meanwhile, so TCP pushes
// back on it). It returns errPeerGone when the peer has left (see wait).
func (c *Client) throttleFrame() error {
	cfg := &c.server.cfg
	return c.charge(&c.frames, 1, cfg.MessageRate, float64(cfg.MessageBurst), 1, 0)
}

// throttleBytes charges n bytes read to the client's ReadRate and waits
// while it is over, as throttleFrame does.
func (c *Client) throttleBytes(n int) error {
	cfg := &c.server.cfg
	return c.charge(&c.bytesIn, float64(n), float64(cfg.ReadRate), float64(2*cfg.MaxPayloadLength), 0, n)
}

// charge takes n tokens from b (rate per second, at most burst) and waits
// while the client is over; once its peer has left (see wait) it charges
// frames and bytes to what the peer may still send instead.
func (c *Client) charge(b *bucket, n, rate, burst float64, frames, bytes int) error {
	if c.left.gone {
		return c.left.spend(c, frames, bytes)
	}
	c.wait(b.take(time.Now().UnixNano(), n, rate, burst, rand.Float64))
	return nil
}

// peerLeft is what the reader knows of a peer that closed its side of the
// connection while over its rate: the zero value means it has not (or the
// reader has not seen it). Reader only.
type peerLeft struct {
	gone          bool
	frames, bytes int // what may still be read at full speed
	dropped       bool
}

// spend charges frames and bytes read after the peer left to what it may
// still send, and returns errPeerGone, then and ever after, once that is
// spent.
func (l *peerLeft) spend(c *Client, frames, bytes int) error {
	if l.dropped {
		return errPeerGone
	}
	l.frames -= frames
	l.bytes -= bytes
	if l.frames >= 0 && l.bytes >= 0 {
		return nil
	}
	l.dropped = true
	c.server.m.limits[limitPeerGone].Add(1)
	return errPeerGone
}

// wait pauses the reader for d, or until the client starts closing (its
// close handshake is then read at full speed, within closeGrace).
//
// A peer that is over its rate and has already closed its side of the
// connection is not waited for: nobody is left to slow down. What it sent
// is read on at full speed for one more burst (MessageBurst frames, 2 ×
// MaxPayloadLength bytes), so that a client that sent a burst and a close
// frame and left is served in full; past that the rest is dropped (a
// flooder fills megabytes of socket buffers before it leaves, which would
// otherwise be read at its rate for minutes, for nobody), and the reader
// ends with errPeerGone.
func (c *Client) wait(d time.Duration) {
	if d <= 0 {
		return
	}
	if c.ctx.Err() == nil && peerClosed(c.rc) {
		cfg := &c.server.cfg
		c.left = peerLeft{gone: true, frames: cfg.MessageBurst, bytes: 2 * int(cfg.MaxPayloadLength)}
		return
	}
	c.server.throttled.Add(1)
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-c.ctx.Done():
		t.Stop()
	}
}

// yieldIfBusy lets other goroutines run between two messages of a client
// that spent more than half its MessageBurst: a heavy sender's run of
// frames (a quantum's refill) goes to the back of the scheduler's queue
// after each message, so that the message of a client that sends little,
// woken meanwhile, waits for one message of each heavy sender ahead of it
// rather than for whole runs of them.
func (c *Client) yieldIfBusy() {
	if c.frames.tokens < float64(c.server.cfg.MessageBurst)/2 {
		runtime.Gosched()
	}
}
