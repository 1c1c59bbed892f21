package main

import (
	"fmt"
	"strconv"
	"time"
)

// The steady scenario: the common case of a chat, messages spread over time
// into one room. P publishers (clients) each send a custom event at a fixed
// rate (together -rate per second, staggered evenly); the server's message
// hook sends its data to the room every client is in. Latency runs from
// the publisher's write (a timestamp in the data) to a receiver's read; CPU
// per delivery is the server's CPU over the run divided by the deliveries.
// In steady-redis the publishers are clients of instance A, whose hook
// publishes (send) for instance B, where the room is.

// publishers picks the connections that publish.
func (p *pool) publishers(n int) []*wsConn {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*wsConn(nil), p.conns[:min(n, len(p.conns))]...)
}

// doSteady runs one measured period of steady traffic and waits until every
// live client got every message (or the timeout).
func doSteady(o options, p *pool, pubs []*wsConn, pid int, event string, id, live int64) burstResult {
	perPub := max(1, int64(o.rate*o.duration.Seconds())/int64(len(pubs)))
	bs := newBurstState(id, perPub*int64(len(pubs)), live)
	bs.pubs = int64(len(pubs))
	interval := time.Duration(float64(len(pubs)) / o.rate * float64(time.Second))
	return measure(o, p, pid, bs, func() float64 {
		return pacedEvenly(pubs, "publisher", int(perPub), interval, event, id, o.size, func(k, i int) int { return i*len(pubs) + k })
	})
}

// steadyPublishers returns the publishers of a steady run: the first
// clients of p, or, in steady-redis, clients of instance A (connected here).
func steadyPublishers(o options, p *pool, scen string, a *child) ([]*wsConn, *pool, error) {
	if scen != "steady-redis" {
		return p.publishers(o.publishers), nil, nil
	}
	ap := &pool{addr: "127.0.0.1:" + strconv.Itoa(a.port), path: "/ws", bufSize: o.bufSize}
	if _, failed, err := ap.connectAll(o.publishers, o.dialConc, "pub", o.dialTimeout); failed > 0 {
		ap.closeAll()
		return nil, nil, fmt.Errorf("publishers on A: %w", err)
	}
	return ap.publishers(o.publishers), ap, nil
}
