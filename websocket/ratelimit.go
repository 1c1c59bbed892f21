package websocket

import "time"

// bucket is a token bucket for one client's reader goroutine, which alone
// uses it: no lock, 16 bytes. (golang.org/x/time/rate does the same with a
// mutex and a reservation API the reader does not need.)
type bucket struct {
	tokens float64
	last   int64 // unix nanoseconds of the last take; 0 means never (full)
}

// take takes n tokens at now, going into debt when there are not enough,
// and returns how long the taker must wait for the debt to be repaid at
// rate tokens per second. The bucket holds at most burst tokens.
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
	return time.Duration(-b.tokens / rate * 1e9)
}

// throttleFrame charges one inbound frame to the client's MessageRate and
// waits while it is over (the peer is not read meanwhile, so TCP pushes
// back on it).
func (c *Client) throttleFrame() {
	cfg := &c.server.cfg
	c.wait(c.frames.take(time.Now().UnixNano(), 1, cfg.MessageRate, float64(cfg.MessageBurst)))
}

// throttleBytes charges n bytes read to the client's ReadRate and waits
// while it is over.
func (c *Client) throttleBytes(n int) {
	cfg := &c.server.cfg
	c.wait(c.bytesIn.take(time.Now().UnixNano(), float64(n), float64(cfg.ReadRate), float64(2*cfg.MaxPayloadLength)))
}

// wait pauses the reader for d, or until the client starts closing (its
// close handshake is then read at full speed, within closeGrace).
func (c *Client) wait(d time.Duration) {
	if d <= 0 {
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
