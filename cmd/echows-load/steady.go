package main

import (
	"fmt"
	"os"
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

// steady is a setup's steady traffic: its publishers and the period
// count so far.
type steady struct {
	s         *setup
	pubs      []*wsConn
	ap        *pool  // steady-redis: the publishers' pool, on A
	event     string // the publishers' event: pub (to the room here) or pubsend (Send through Redis)
	pubServer string // the control endpoint of the server the publishers are on
	id        int64
}

// startSteady picks (in steady-redis, connects) the publishers.
func (s *setup) startSteady() (*steady, error) {
	st := &steady{s: s, event: "pub", pubServer: s.base}
	var err error
	if st.pubs, st.ap, err = steadyPublishers(s.o, s.p, s.scen, s.a); err != nil {
		return nil, err
	}
	if s.scen == "steady-redis" {
		st.event, st.pubServer = "pubsend", fmt.Sprintf("http://127.0.0.1:%d", s.a.port)
	}
	fetchPubDelay(st.pubServer) // forget what came before the first period
	return st, nil
}

// close closes the publishers' pool, if they have their own.
func (st *steady) close() {
	if st.ap != nil {
		st.ap.closeAll()
	}
}

// round runs period i and records it in the setup's result; with
// -profile, echows' first measured period of the first repetition is
// profiled.
func (st *steady) round(i int) {
	s, o, r := st.s, st.s.o, st.s.r
	st.id++
	var profiled chan error
	if o.profile != "" && s.v.echows && s.rep == 0 && i == o.warmup {
		file := fmt.Sprintf("%s-%s-%s-%d.pprof", o.profile, r.Target, s.scen, r.Clients)
		profiled = make(chan error, 1)
		go func() {
			body, err := httpDo("GET", fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.base, max(1, int(o.duration.Seconds()))))
			if err == nil {
				err = os.WriteFile(file, body, 0o644)
				r.Profile = file
			}
			profiled <- err
		}()
	}
	br := doSteady(o, s.p, st.pubs, s.b.pid, st.event, st.id, s.live)
	br.PubDelay = fetchPubDelay(st.pubServer)
	if profiled != nil {
		if err := <-profiled; err != nil {
			logf("   profile: %v", err)
		}
	}
	kind := s.keep(i, br, "period")
	logf("   %s %s %d: %d/%d in %.1fs (%d publishers, %.0f msg/s), server CPU %.3fs = %.0f ns/delivery, %.1f msgs/write, p50 %.2f ms p99 %.2f ms max %.1f ms, lost %d reordered %d, others %.2f cores (on the server's: %.0f ms, steal %.0f ms)%s",
		r.label(), kind, st.id, br.Received, br.Deliveries, br.WallSeconds, len(st.pubs), o.rate, br.ServerCPU, br.NsPerDelivery, br.MsgsPerWrite,
		float64(br.P50us)/1e3, float64(br.P99us)/1e3, float64(br.MaxUs)/1e3, br.Lost, br.Reordered, br.OthersCores, br.OthersOnServerMs, br.StealMs, br.PubDelay.String())
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
