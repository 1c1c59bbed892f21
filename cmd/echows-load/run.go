package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// setup is one target's part of a run: its servers started (B under test,
// A beside it in the cross-instance scenarios, the Redis they need), its
// clients connected and authenticated, the idle memory measured.
type setup struct {
	o       options
	v       variant
	r       *runResult
	scen    string
	rep     int
	redisC  *child
	a, b    *child // b is the server under test; a, in redis and steady-redis, the one the messages enter through
	base    string // b's control endpoint
	p       *pool  // b's clients
	live    int64  // of them connected
	cleanup []func()
}

// close closes the clients and stops the servers.
func (s *setup) close() {
	if s.p != nil {
		s.p.closeAll()
	}
	s.a.stop()
	s.b.stop()
	s.redisC.stop()
	for _, f := range s.cleanup {
		f()
	}
	s.r.LoadAfter = loadAvg()
}

// rounds is the measured part of a run, one round at a time: the bursts
// of local and redis, the periods of steady and steady-redis (the first
// o.warmup rounds unmeasured).
type rounds interface {
	round(i int)
	close()
}

// startRounds returns the rounds of s's scenario.
func (s *setup) startRounds() (rounds, error) {
	if strings.HasPrefix(s.scen, "steady") {
		return s.startSteady()
	}
	return s.startBursts(), nil
}

// runOne runs scenario scen with n clients on target (with routing): one
// repetition, its servers started and stopped here.
func runOne(o options, target, routing, scen string, n, rep int) (*runResult, error) {
	if scen == "fleet" {
		r := newRunResult(target, routing, scen, n, rep)
		defer func() { r.LoadAfter = loadAvg() }()
		return r, runFleet(o, o.variants[target], routing, r)
	}
	s, err := setUp(o, target, routing, scen, n, rep)
	defer s.close()
	if err != nil {
		return s.r, err
	}
	if scen == "attack" {
		runAttack(o, s.r, s.b, s.p, s.v.echows)
		s.finish()
		return s.r, nil
	}
	rs, err := s.startRounds()
	if err != nil {
		return s.r, err
	}
	defer rs.close()
	for i := range o.warmup + o.bursts {
		rs.round(i)
	}
	s.r.Median = medianBurst(s.r.Bursts)
	if b, ok := rs.(*bursts); ok {
		b.profile()
	}
	s.finish()
	return s.r, nil
}

// canInterleave reports whether the tool may hold every target's clients
// of scen with n clients at once: scen has rounds, and the clients fit in
// its open-file limit (which Go raises to the hard limit at start; on this
// machine kind 20,000, so 2 × 10,000 clients do not fit).
func canInterleave(o options, scen string, n, targets int) bool {
	switch scen {
	case "local", "redis", "steady", "steady-redis":
	default:
		return false
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
		return false
	}
	return uint64(targets*(n+o.publishers)+1000) <= lim.Cur
}

// runInterleaved runs scenario scen (one repetition) on every target at
// once: each one's servers start and its clients connect, one target after
// the other, and then the targets take turns round by round (burst by
// burst, period by period), in the order A B B A A B ... (so neither
// always goes first). An idle server costs its core next to nothing; what
// the machine does meanwhile (on this machine kind, hypervisor steal and
// changes of speed that last tens of seconds) falls on every target alike,
// where runOne's repetitions, a minute apart, can each draw a different
// share of it. targets are (target, routing) pairs.
func runInterleaved(o options, targets [][2]string, scen string, n, rep int) ([]*runResult, error) {
	var runs []*setup
	var turns []rounds
	defer func() {
		for _, t := range turns {
			t.close()
		}
		for _, s := range runs {
			s.close()
		}
	}()
	// failed marks every target's run of this repetition failed, those not
	// started too, so that the summary's run counts show it.
	failed := func(err error) ([]*runResult, error) {
		var results []*runResult
		for _, s := range runs {
			results = append(results, s.r)
		}
		for _, t := range targets[len(runs):] {
			results = append(results, blankResult(t[0], t[1], scen, n, rep))
		}
		for _, r := range results {
			r.Error = err.Error()
		}
		return results, err
	}
	for _, t := range targets {
		s, err := setUp(o, t[0], t[1], scen, n, rep)
		runs = append(runs, s)
		if err != nil {
			return failed(fmt.Errorf("%s: %w", label(t[0], t[1]), err))
		}
		rs, err := s.startRounds()
		if err != nil {
			return failed(fmt.Errorf("%s: %w", label(t[0], t[1]), err))
		}
		turns = append(turns, rs)
	}
	for i := range o.warmup + o.bursts {
		for k := range turns {
			if i%2 == 1 {
				k = len(turns) - 1 - k
			}
			turns[k].round(i)
		}
	}
	var results []*runResult
	for k, s := range runs {
		s.r.Interleaved = true
		s.r.Median = medianBurst(s.r.Bursts)
		if b, ok := turns[k].(*bursts); ok {
			b.profile() // the other targets idle meanwhile
		}
		s.finish()
		results = append(results, s.r)
	}
	return results, nil
}

// blankResult is a run's result before anything is measured.
func blankResult(target, routing, scen string, n, rep int) *runResult {
	return &runResult{Target: target, Routing: routing, Scenario: scen, Clients: n, Rep: rep, Started: time.Now().UTC().Format(time.RFC3339)}
}

// newRunResult starts a run's result: the machine's load before it, logged.
func newRunResult(target, routing, scen string, n, rep int) *runResult {
	r := blankResult(target, routing, scen, n, rep)
	r.LoadBefore, r.BusyBefore = loadAvg(), machineBusy(time.Second)
	logf("== %s %s, %d clients, rep %d (load %.2f, others use %.2f cores)", label(target, routing), scen, n, rep+1, r.LoadBefore, r.BusyBefore)
	return r
}

// setUp starts target's servers for scenario scen, connects n clients (in
// attack, o.attackProbes) to the server under test and measures their idle
// memory. The setup it returns is never nil; close it also on an error.
func setUp(o options, target, routing, scen string, n, rep int) (*setup, error) {
	s := &setup{o: o, v: o.variants[target], r: newRunResult(target, routing, scen, n, rep), scen: scen, rep: rep}
	v, r := s.v, s.r
	cross := scen == "redis" || scen == "steady-redis"
	if !v.echows || cross {
		dir, err := os.MkdirTemp("", "echows-load-redis-")
		if err != nil {
			return s, err
		}
		s.cleanup = append(s.cleanup, func() { _ = os.RemoveAll(dir) })
		if s.redisC, err = startRedis(o.redisBin, o.clientCPUs, routing == "sharded", dir); err != nil {
			return s, err
		}
	}
	start := func(cpus string, useRedis bool) (*child, error) {
		if v.echows {
			argv := append([]string{v.bin, "-room", o.room, "-pprof"}, o.serverArgs...)
			if scen == "attack" {
				argv = append(argv, "-auth-timeout=1m")
			}
			if v.metrics {
				argv = append(argv, "-metrics")
			}
			if useRedis {
				argv = append(argv, redisArgs(s.redisC.port, routing)...)
			}
			return startPinned("echows server", cpus, o.serverEnv, "", argv, true)
		}
		// Upstream's logger writes two info lines per connection to stdout
		// (drained by the tool) and to rotating files in
		// APP_ENV_LOGGER_FOLDER_PATH (default: the working directory).
		logDir, err := os.MkdirTemp("", "echows-load-upstream-logs-")
		if err != nil {
			return nil, err
		}
		s.cleanup = append(s.cleanup, func() { _ = os.RemoveAll(logDir) })
		env := []string{"REDIS_PORT=" + strconv.Itoa(s.redisC.port), "BENCH_ROOM=" + o.room,
			"APP_ENV_LOGGER_FOLDER_PATH=" + logDir + string(filepath.Separator)}
		if o.quietUp {
			env = append(env, "QUIET=1")
		}
		if scen == "attack" {
			env = append(env, "AUTH_TIMEOUT=60000")
		}
		return startPinned("upstream server", cpus, env, o.upstreamDir, []string{o.bunBin, "server.ts"}, true)
	}
	var err error
	if s.b, err = start(o.serverCPUs, cross); err != nil {
		return s, err
	}
	if cross {
		if s.a, err = start(o.clientCPUs, true); err != nil {
			return s, err
		}
	}
	time.Sleep(time.Second)
	s.base = fmt.Sprintf("http://127.0.0.1:%d", s.b.port)
	r.RSSBefore, _ = rss(s.b.pid)
	if v.echows {
		r.GoBefore = fetchGoStats(s.base)
	}

	s.p = &pool{addr: fmt.Sprintf("127.0.0.1:%d", s.b.port), path: "/ws", bufSize: o.bufSize}
	if scen == "attack" {
		n = o.attackProbes // the ordinary clients; the attackers come per phase
	}
	cpu0, _ := cpuTime(s.b.pid)
	m0 := snapshotMachine()
	el, failed, cerr := s.p.connectAll(n, o.dialConc, "u", o.dialTimeout)
	cpu1, _ := cpuTime(s.b.pid)
	r.ConnectOthers = othersCores(m0, snapshotMachine(), el)
	r.ConnectSeconds, r.ConnectFailures = el.Seconds(), failed
	r.ConnectRate = float64(n-failed) / el.Seconds()
	r.ConnectCPU = (cpu1 - cpu0).Seconds()
	logf("   connect+auth: %d clients in %.2fs = %.0f/s (server CPU %.2fs, others %.2f cores)", n-failed, el.Seconds(), r.ConnectRate, r.ConnectCPU, r.ConnectOthers)
	if cerr != nil {
		logf("   %v", cerr)
		if failed == n {
			return s, cerr
		}
	}
	s.live = int64(n - failed)
	time.Sleep(o.settle)
	r.RSSAfter, _ = rss(s.b.pid)
	r.ThreadsAfter = threads(s.b.pid)
	r.IdleKiBPerConn = float64(r.RSSAfter-r.RSSBefore) / float64(s.live) / 1024
	if v.echows {
		r.GoAfter = fetchGoStats(s.base)
	}
	logf("   idle: RSS %.1f -> %.1f MiB = %.2f KiB per connection", mib(r.RSSBefore), mib(r.RSSAfter), r.IdleKiBPerConn)
	if v.echows && o.heapProfile != "" && rep == 0 {
		file := fmt.Sprintf("%s-%s-%s-%d.pprof", o.heapProfile, target, scen, n)
		if body, err := httpDo("GET", s.base+"/debug/pprof/heap?gc=1"); err != nil {
			logf("   heap profile: %v", err)
		} else if err := os.WriteFile(file, body, 0o644); err == nil {
			logf("   heap profile of the idle connections: %s", file)
		}
	}
	if v.echows {
		d := float64(s.live)
		logf("   go: %.2f goroutines, %.0f B heap live, %.0f B stacks per connection",
			float64(r.GoAfter.Goroutines-r.GoBefore.Goroutines)/d, float64(r.GoAfter.HeapLive-r.GoBefore.HeapLive)/d,
			float64(r.GoAfter.Stacks-r.GoBefore.Stacks)/d)
	}
	return s, nil
}

// finish records what the clients saw of the server besides the messages.
func (s *setup) finish() {
	r := s.r
	r.ClientsClosed, r.ClientErrors, r.FirstError = s.p.closed.Load(), s.p.errs.Load(), s.p.firstErr()
	if r.ClientsClosed > 0 {
		logf("   %s: %d client connections were closed by the server; first error: %s", r.label(), r.ClientsClosed, r.FirstError)
	}
}

// keep records round i's figures unless the round is a warmup, and
// returns what the log calls it: name or warmup.
func (s *setup) keep(i int, br burstResult, name string) string {
	if i < s.o.warmup {
		return "warmup"
	}
	s.r.Bursts = append(s.r.Bursts, br)
	return name
}

// bursts are a setup's fan-out bursts (local: the room on B; redis: sent
// on A for the room on B).
type bursts struct {
	s        *setup
	sendBase string // the control endpoint of the server that sends
	mode     string // room (ToRoom here) or send (Send through Redis)
	id       int64
}

func (s *setup) startBursts() *bursts {
	if s.a != nil { // redis: A sends
		return &bursts{s: s, sendBase: fmt.Sprintf("http://127.0.0.1:%d", s.a.port), mode: "send"}
	}
	return &bursts{s: s, sendBase: s.base, mode: "room"}
}

func (b *bursts) close() {}

// round runs burst i and records it in the setup's result.
func (b *bursts) round(i int) {
	s, o, r := b.s, b.s.o, b.s.r
	b.id++
	br := doBurst(o, s.v.cork, s.p, s.b.pid, b.sendBase, b.mode, b.id, s.live)
	kind := s.keep(i, br, "burst")
	logf("   %s %s %d: %d/%d in %.3fs = %.3f M/s, server CPU %.3fs = %.0f ns/delivery, %.1f msgs/write, client CPU %.0f%%, p50 %.1f ms p99 %.1f ms, lost %d reordered %d, others %.2f cores, steal %.0f ms",
		r.label(), kind, b.id, br.Received, br.Deliveries, br.WallSeconds, br.PerSecond/1e6, br.ServerCPU, br.NsPerDelivery, br.MsgsPerWrite,
		br.ClientCPUShare*100, float64(br.P50us)/1e3, float64(br.P99us)/1e3, br.Lost, br.Reordered, br.OthersCores, br.StealMs)
	time.Sleep(500 * time.Millisecond)
}

// profile, for echows in local's first repetition with -profile, writes a
// CPU profile of back-to-back bursts.
func (b *bursts) profile() {
	s, o, r := b.s, b.s.o, b.s.r
	if o.profile == "" || !s.v.echows || s.scen != "local" || s.rep != 0 {
		return
	}
	file := fmt.Sprintf("%s-%s-%d.pprof", o.profile, r.Target, r.Clients)
	done := make(chan error, 1)
	go func() {
		body, err := httpDo("GET", fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", s.base, o.profileSecs))
		if err == nil {
			err = os.WriteFile(file, body, 0o644)
		}
		done <- err
	}()
	deadline := time.Now().Add(time.Duration(o.profileSecs) * time.Second)
	n := 0
	for time.Now().Before(deadline) {
		b.id++
		doBurst(o, s.v.cork, s.p, s.b.pid, b.sendBase, b.mode, b.id, s.live)
		n++
	}
	if err := <-done; err != nil {
		logf("   profile: %v", err)
	} else {
		r.Profile = file
		logf("   profile of %d bursts: %s", n, file)
	}
}
