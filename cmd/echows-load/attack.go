package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/echows/echows/cmd/echows-load/internal/benchsrv"
	"github.com/echows/echows/internal/wsframe"
)

// The attack scenario (hardening, issue #9): one server, a few ordinary
// clients measuring their round trip (an "echo" event the server answers)
// at a fixed rate, first alone, then beside each attack in turn:
//
//   - pingflood: -attack-pingers peers upgrade, never authenticate, never
//     read, and send 125-byte pings as fast as TCP lets them;
//   - msgflood: -attack-flooders authenticated peers send custom events as
//     fast as they can (and read what they get);
//   - unauth: -attack-idle peers upgrade and sit there without
//     authenticating (the server's AuthTimeout is raised to a minute for the
//     run, so that they stay for the measurement).
//
// Each phase reports the server's CPU (cores), its RSS, and the ordinary
// clients' round trip p50/p99 (p99 within 2× of the quiet phase's is the
// target).

// attackPhases are the phases of the attack scenario, in order.
var attackPhases = []string{"quiet", "pingflood", "msgflood", "unauth"}

// attackResult is one phase of an attack run.
type attackResult struct {
	Phase     string  `json:"phase"`
	Attackers int     `json:"attackers"`
	ServerCPU float64 `json:"server_cores"` // CPU used over the probe window, in cores
	RSS       int64   `json:"rss"`
	P50us     int64   `json:"rtt_p50_us"`
	P99us     int64   `json:"rtt_p99_us"`
	// SchedP99us is the p99 of how long the server's goroutines waited,
	// runnable, for its core over the probe window (echows only: the Go
	// runtime's /sched/latencies): the server's own share of the round trip's
	// tail, apart from the network and this tool.
	SchedP99us int64 `json:"sched_p99_us,omitempty"`
	Probes     int64 `json:"probes"` // round trips expected
	Answered   int64 `json:"answered"`
	Sent       int64 `json:"attack_bytes_sent"`
	ClosedByUs int64 `json:"attackers_closed"` // attacker connections the server closed
}

// runAttack runs the phases against the server b, whose clients p already
// holds (the ordinary clients, -attack-probes of them).
func runAttack(o options, r *runResult, b *child, probes *pool, echows bool) {
	addr := fmt.Sprintf("127.0.0.1:%d", b.port)
	conns := probes.publishers(o.attackProbes)
	id := int64(1000)
	for _, phase := range attackPhases {
		stop, sent, closed, n, err := startAttackProcess(o, phase, addr)
		if err != nil {
			logf("   %s: %v", phase, err)
		}
		settle(sent)
		id++
		var profiled chan error
		if o.profile != "" && echows {
			profiled = make(chan error, 1)
			go func() {
				file := fmt.Sprintf("%s-attack-%s.pprof", o.profile, phase)
				body, err := httpDo("GET", fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, max(1, int(o.duration.Seconds()))))
				if err == nil {
					err = os.WriteFile(file, body, 0o644)
				}
				profiled <- err
			}()
		}
		var sched0 benchsrv.SchedLatency
		if echows {
			sched0, _ = schedLatency(addr)
		}
		cpu0, _ := cpuTime(b.pid)
		t0 := time.Now()
		br := doProbes(o, probes, b.pid, conns, id)
		if profiled != nil {
			if err := <-profiled; err != nil {
				logf("   profile: %v", err)
			}
		}
		cpu1, _ := cpuTime(b.pid)
		rs, _ := rss(b.pid)
		ar := attackResult{Phase: phase, Attackers: n, ServerCPU: (cpu1 - cpu0).Seconds() / time.Since(t0).Seconds(),
			RSS: rs, P50us: br.P50us, P99us: br.P99us, Probes: br.Deliveries, Answered: br.Received,
			Sent: sent.Load(), ClosedByUs: closed.Load()}
		if echows {
			if sched1, err := schedLatency(addr); err == nil {
				ar.SchedP99us = int64(sched1.Quantile(sched0, 0.99) * 1e6)
			}
		}
		stop()
		r.Attack = append(r.Attack, ar)
		logf("   %-9s %5d attackers: server %.2f cores, RSS %.1f MiB; ordinary round trip p50 %.2f ms p99 %.2f ms (%d/%d answered), server scheduling p99 %.3f ms; attack sent %.1f MiB, %d attacker connections closed by the server",
			phase, n, ar.ServerCPU, mib(rs), float64(ar.P50us)/1e3, float64(ar.P99us)/1e3, ar.Answered, ar.Probes, float64(ar.SchedP99us)/1e3, mib(ar.Sent), ar.ClosedByUs)
		time.Sleep(2 * time.Second) // let the server shed the attackers
	}
}

// schedLatency reads the echows bench server's scheduling latency
// histogram.
func schedLatency(addr string) (benchsrv.SchedLatency, error) {
	var st struct {
		Sched benchsrv.SchedLatency `json:"sched_latency"`
	}
	body, err := httpDo("GET", "http://"+addr+"/stats")
	if err == nil {
		err = json.Unmarshal(body, &st)
	}
	return st.Sched, err
}

// settle waits until the attack is under way: at least a second, and until
// the attackers' sockets are full (in half a second they sent less than 2 %
// more than they had), at most 15 s. Filling a thousand flooders' kernel
// buffers (2 GiB) takes this tool's core for seconds: probes sent meanwhile
// would measure the tool, not the server. A server that reads its attackers
// as fast as they send never settles; it is probed after 15 s.
func settle(sent *atomic.Int64) {
	time.Sleep(time.Second)
	for deadline := time.Now().Add(14 * time.Second); time.Now().Before(deadline); {
		before := sent.Load()
		time.Sleep(500 * time.Millisecond)
		if after := sent.Load(); after-before <= after/50 {
			return
		}
	}
}

// doProbes has each ordinary client send "echo" events at -attack-rate per
// second for -duration, each answered to it alone, and measures the round
// trips.
func doProbes(o options, p *pool, pid int, conns []*wsConn, id int64) burstResult {
	perConn := max(1, int64(o.attackRate*o.duration.Seconds()))
	interval := time.Duration(float64(time.Second) / o.attackRate)
	return measure(o, p, pid, newBurstState(id, perConn, int64(len(conns))), func() float64 {
		return pacedEvenly(conns, "", int(perConn), interval, "echo", id, o.size, func(_, i int) int { return i })
	})
}

// startAttack starts the attackers of phase and returns a function that
// stops them, the bytes they sent, how many the server closed, and how
// many there are.
func startAttack(o options, phase, addr string) (stop func(), sent, closed *atomic.Int64, n int, err error) {
	sent, closed = new(atomic.Int64), new(atomic.Int64)
	done := make(chan struct{})
	var wg sync.WaitGroup
	var conns []net.Conn
	var mu sync.Mutex
	stop = func() {
		close(done)
		mu.Lock()
		for _, c := range conns {
			abort(c)
		}
		mu.Unlock()
		wg.Wait()
	}
	keep := func(c net.Conn) {
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
	}
	// flood writes frame (repeated to fill a 16 KiB write) on c until done or
	// the server closes c.
	flood := func(c net.Conn, frame []byte) {
		defer wg.Done()
		batch := make([]byte, 0, 16<<10)
		for len(batch)+len(frame) <= cap(batch) {
			batch = append(batch, frame...)
		}
		for {
			select {
			case <-done:
				return
			default:
			}
			c.SetWriteDeadline(time.Now().Add(time.Second))
			m, err := c.Write(batch)
			sent.Add(int64(m))
			var ne net.Error
			if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
				closed.Add(1)
				return
			}
		}
	}
	switch phase {
	case "quiet":
	case "pingflood":
		n = o.attackPingers
		ping := clientFrame(wsframe.OpPing, make([]byte, 125))
		for range n {
			c, err := dialRaw(addr, o.dialTimeout)
			if err != nil {
				return stop, sent, closed, n, fmt.Errorf("pinger: %w", err)
			}
			keep(c)
			wg.Add(1)
			go flood(c, ping)
		}
	case "msgflood":
		n = o.attackFlooders
		fp := &pool{addr: addr, path: "/ws", bufSize: 4 << 10}
		if _, failed, err := fp.connectAll(n, o.dialConc, "flood", o.dialTimeout); failed > 0 {
			fp.closeAll()
			return stop, sent, closed, n, fmt.Errorf("flooders: %w", err)
		}
		msg := clientFrame(wsframe.OpText, []byte(`{"event":"flood","data":{"x":1}}`))
		for _, c := range fp.publishers(n) {
			wg.Add(1)
			go flood(c.nc, msg)
		}
		inner := stop
		stop = func() {
			for _, c := range fp.publishers(n) {
				abort(c.nc)
			}
			inner()
			fp.closeAll()
		}
	case "unauth":
		n = o.attackIdle
		var dialErr atomic.Value
		var next atomic.Int64
		var dwg sync.WaitGroup
		for range o.dialConc {
			dwg.Add(1)
			go func() {
				defer dwg.Done()
				for next.Add(1) <= int64(n) {
					c, err := dialRaw(addr, o.dialTimeout)
					if err != nil {
						dialErr.CompareAndSwap(nil, err.Error())
						continue
					}
					keep(c)
				}
			}()
		}
		dwg.Wait()
		if e := dialErr.Load(); e != nil {
			err = fmt.Errorf("idle peers: %v", e)
		}
	}
	return stop, sent, closed, n, err
}

// abort closes c with a reset (SO_LINGER 0), dropping what it has not sent
// yet. A flooder closed gracefully leaves megabytes in its kernel's send
// buffer, which the kernel goes on sending as the server reads them, at
// each peer's rate, long after the phase ended: the next phase would
// measure them too.
func abort(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// dialRaw opens a connection and upgrades it, without authenticating.
func dialRaw(addr string, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := upgrade(c, "/ws", addr, make([]byte, 1024)); err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// attackSummary renders the attack phases of every run, by target; each
// phase's p99 is compared with the quiet phase of the same run.
func attackSummary(o options, results []*runResult) string {
	out := "\n### Attacks: an ordinary client's round trip beside hostile peers\n\n" +
		"| target | rep | phase | attackers | server cores | RSS MiB | RTT p50 ms | RTT p99 ms | p99 / quiet p99 | server sched p99 ms | answered | attack MiB sent | attackers closed |\n" +
		"|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
	for _, t := range o.targets {
		for _, r := range results {
			if r.Target != t || r.Scenario != "attack" {
				continue
			}
			var quiet int64
			for _, a := range r.Attack {
				if a.Phase == "quiet" {
					quiet = a.P99us
				}
				ratio := "–"
				if quiet > 0 {
					ratio = strconv.FormatFloat(float64(a.P99us)/float64(quiet), 'f', 2, 64)
				}
				sched := "–"
				if a.SchedP99us > 0 {
					sched = strconv.FormatFloat(float64(a.SchedP99us)/1e3, 'f', 2, 64)
				}
				out += fmt.Sprintf("| %s | %d | %s | %d | %.2f | %.1f | %.2f | %.2f | %s | %s | %d/%d | %.1f | %d |\n",
					t, r.Rep, a.Phase, a.Attackers, a.ServerCPU, mib(a.RSS), float64(a.P50us)/1e3, float64(a.P99us)/1e3, ratio,
					sched, a.Answered, a.Probes, mib(a.Sent), a.ClosedByUs)
			}
		}
	}
	return out
}
