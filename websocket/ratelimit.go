package websocket

import (
	"errors"
	"math/rand/v2"
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
// the server's CPU).
const throttleQuantum = 100 * time.Millisecond

// take takes n tokens at now, going into debt when there are not enough,
// and returns how long the taker must wait: none while the bucket covers n,
// else until the debt is repaid and the bucket holds a quantum's refill
// (rate × throttleQuantum tokens, at most burst) at rate tokens per second.
// The bucket holds at most burst tokens.
func (b *bucket) take(now int64, n, rate, burst float64) time.Duration {
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
	refill := min(burst, rate*throttleQuantum.Seconds())
	return time.Duration((refill - b.tokens) / rate * 1e9)
}

// errPeerGone ends the reading of a peer that closed its side of the
// connection while it was over its MessageRate or ReadRate.
var errPeerGone = errors.New("websocket: peer closed the connection while over its rate limit; the rest of what it sent is dropped")

// throttleFrame charges one inbound frame to the client's MessageRate and
// waits while it is over (the peer is not read meanwhile, so TCP pushes
// back on it). It returns errPeerGone when the peer has closed its side
// meanwhile.
func (c *Client) throttleFrame() error {
	cfg := &c.server.cfg
	return c.wait(c.frames.take(time.Now().UnixNano(), 1, cfg.MessageRate, float64(cfg.MessageBurst)))
}

// throttleBytes charges n bytes read to the client's ReadRate and waits
// while it is over, as throttleFrame does.
func (c *Client) throttleBytes(n int) error {
	cfg := &c.server.cfg
	return c.wait(c.bytesIn.take(time.Now().UnixNano(), float64(n), float64(cfg.ReadRate), float64(2*cfg.MaxPayloadLength)))
}

// wait pauses the reader for d, or until the client starts closing (its
// close handshake is then read at full speed, within closeGrace).
//
// A peer that is over its rate and has already closed its side of the
// connection is not waited for: what it sent past its budget (up to
// megabytes in the kernel's buffers, which a flooder fills before it
// leaves) would otherwise be read at its rate for minutes after it left,
// for nobody. wait returns errPeerGone then, and the reader ends.
func (c *Client) wait(d time.Duration) error {
	if d <= 0 {
		return nil
	}
	c.server.throttled.Add(1)
	if c.ctx.Err() == nil && peerClosed(c.rc) {
		c.server.m.limits[limitPeerGone].Add(1)
		return errPeerGone
	}
	// Peers that started together and send at the same rate would wake
	// together, a quantum's work for each at once: ordinary clients would
	// queue behind it, and the runtime does not look at their sockets while
	// its processors are busy. A random part of a quantum spreads them; the
	// refill waited for grows with it, so the average rate is the same.
	d += rand.N(throttleQuantum)
	t := time.NewTimer(d)
	select {
	case <-t.C:
	case <-c.ctx.Done():
		t.Stop()
	}
	return nil
}
