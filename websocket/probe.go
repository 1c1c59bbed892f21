package websocket

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// prober is the state of the delivery probe. A server's broker can look
// healthy (its subscriptions confirmed, its pings answered) and still
// deliver nothing: a proxy that swallows messages, a failover that lost the
// subscriptions, a dispatcher that stopped. The only proof that it delivers
// is a message that comes back. So, once the broker has been quiet for
// ProbeInterval, the server publishes a probe envelope to itself (see
// wire.ProbeChannel) and waits for it: one not back within ProbeInterval,
// with nothing else heard from the broker meanwhile, is overdue, and Ready
// fails until the broker delivers again.
//
// Anything the broker delivers counts as proof, so a busy server sends no
// probe at all.
type prober struct {
	mu       sync.Mutex
	seq      uint64    // the last probe sent
	sentAt   time.Time // when it was sent
	heardAt  uint64    // meters.heard when it was sent
	returned uint64    // the last probe back, or proven by other traffic

	overdue        atomic.Bool
	sent, received atomic.Uint64
	roundTrip      histogram
}

// probeData is a probe envelope's data.
type probeData struct {
	Seq uint64 `json:"seq"`
}

// probeLoop runs from Configure until ctx ends (Shutdown): it watches the
// broker's traffic and sends a probe when the broker has been quiet.
func (s *Server) probeLoop(ctx context.Context) {
	defer s.wg.Done()
	every := s.cfg.ProbeInterval
	tick := time.NewTicker(max(every/4, time.Millisecond))
	defer tick.Stop()
	heard, quietSince := s.m.heard.Load(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			if h := s.m.heard.Load(); h != heard {
				heard, quietSince = h, now
			}
			if s.probe.due(now, every, heard, quietSince) {
				s.sendProbe(ctx, now, heard)
			}
		}
	}
}

// due reports whether a probe must be sent now, and marks the last one
// overdue when it is: it has been out for every and nothing was heard since
// it was sent (heard is the count of payloads the broker delivered, and
// quietSince when it last changed).
func (p *prober) due(now time.Time, every time.Duration, heard uint64, quietSince time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.seq != p.returned { // a probe is out
		switch {
		case heard != p.heardAt: // the broker delivered since: it works
			p.returned = p.seq
			p.overdue.Store(false)
		case now.Sub(p.sentAt) >= every:
			p.overdue.Store(true)
			return true // and try again
		default:
			return false
		}
	}
	return now.Sub(quietSince) >= every && now.Sub(p.sentAt) >= every
}

// sendProbe publishes the next probe through the broker, to this server
// itself. A failed publish is only logged: the probe does not come back,
// and is overdue in time.
func (s *Server) sendProbe(ctx context.Context, now time.Time, heard uint64) {
	p := &s.probe
	p.mu.Lock()
	p.seq++
	seq := p.seq
	p.sentAt, p.heardAt = now, heard
	p.mu.Unlock()

	data := json.RawMessage(`{"seq":` + strconv.FormatUint(seq, 10) + `}`)
	env := wire.Envelope{ServerID: s.id, Type: wire.TypeClient, Target: wire.ProbeTarget(s.id), Event: wire.ProbeEvent, Data: data}
	payload, err := env.Encode()
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, s.cfg.ProbeInterval)
		// Through the broker itself, not Server.publish: the in-process
		// broker skips the publishing server there, and the probe must come
		// back.
		err = s.broker.Publish(pctx, wire.ProbeChannel(s.id), payload)
		cancel()
	}
	p.sent.Add(1)
	if err != nil && ctx.Err() == nil {
		s.log.Debug("websocket: delivery probe not published", "err", err)
	}
}

// probeReceived handles a probe envelope from the broker: this server's own
// comes back (its round trip is recorded); another server's is ignored. No
// probe ever reaches a client. Either proves that the broker delivers: it
// counts as heard, once the round trip is recorded (so that the probe loop
// does not take it for other traffic first).
func (s *Server) probeReceived(env wire.Envelope) {
	defer s.m.heard.Add(1)
	if env.Target != wire.ProbeTarget(s.id) {
		return
	}
	var d probeData
	if json.Unmarshal(env.Data, &d) != nil {
		return
	}
	now := time.Now()
	p := &s.probe
	p.mu.Lock()
	latest := d.Seq == p.seq && d.Seq > p.returned
	if latest {
		p.returned = d.Seq
		p.overdue.Store(false)
	}
	sentAt := p.sentAt
	p.mu.Unlock()
	if latest {
		p.received.Add(1)
		p.roundTrip.observe(now.Sub(sentAt))
	}
}

func (p *prober) stats() ProbeStats {
	return ProbeStats{
		Sent:      p.sent.Load(),
		Returned:  p.received.Load(),
		Overdue:   p.overdue.Load(),
		RoundTrip: p.roundTrip.snapshot(),
	}
}
