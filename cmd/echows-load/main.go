// Command echows-load measures an echows server against the upstream Ignis
// WebSocket helper under Bun, side by side, on one server core: connect and
// authenticate rate, idle memory per authenticated connection, room fan-out
// bursts (deliveries per second, server CPU per delivery, latency, loss and
// reordering) and cross-instance fan-out through Redis; and, for echows
// alone, a fleet of instances on one Redis (fleet.go).
//
// It starts the servers under test itself, pinned with taskset (the server
// on -server-cpus, itself, Redis and instance A on -client-cpus), opens the
// clients, drives the bursts through the servers' control endpoint and
// prints a table of medians. See README.md.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/echows/echows/cmd/echows-load/internal/benchsrv"
)

type options struct {
	targets      []string
	scenarios    []string
	clients      []int
	count, size  int
	bursts       int
	warmup       int
	reps         int
	dialConc     int
	dialTimeout  time.Duration
	burstTimeout time.Duration
	settle       time.Duration
	bufSize      int
	serverCPUs   string
	clientCPUs   string
	echowsBin    string
	bunBin       string
	upstreamDir  string
	redisBin     string
	quietUp      bool
	out          string
	profile      string
	profileSecs  int
	maxBusy      float64
	maxWait      time.Duration
	room         string
	rate         float64
	publishers   int
	duration     time.Duration
	interleave   bool

	attackProbes   int
	attackRate     float64
	attackPingers  int
	attackFlooders int
	attackIdle     int
	attackChild    string
	perf           bool
	heapProfile    string
	serverEnv      []string
	serverArgs     []string
	variants       map[string]variant

	routings   []string // echows servers' -routing, one run each ("": the default)
	instances  int
	fleetRooms int
	churnRate  float64
	churnLife  time.Duration
}

// variant is a server under test: upstream, or an echows bench server
// binary (the default build, or a prototype given as name=binary).
type variant struct {
	name    string
	echows  bool
	bin     string
	cork    bool // send bursts with cork=1
	metrics bool // run the server with -metrics (Prometheus collector, scraped every second)
}

// parseTarget parses "upstream", "echows" or "name=/path/to/echows-bench-server",
// each echows one optionally followed by "+cork" and "+metrics" (in any
// order).
func parseTarget(t string) (variant, error) {
	v := variant{}
	var suffixes string
	for {
		if rest, ok := strings.CutSuffix(t, "+cork"); ok {
			t, v.cork, suffixes = rest, true, "+cork"+suffixes
		} else if rest, ok := strings.CutSuffix(t, "+metrics"); ok {
			t, v.metrics, suffixes = rest, true, "+metrics"+suffixes
		} else {
			break
		}
	}
	name, bin, hasBin := strings.Cut(t, "=")
	v.name = name + suffixes
	switch {
	case hasBin:
		v.echows, v.bin = true, bin
	case name == "echows":
		v.echows = true
	case name == "upstream" && suffixes == "":
	default:
		return v, fmt.Errorf("unknown target %q (upstream, echows, or name=/path/to/echows-bench-server, optionally +cork and +metrics for echows)", t)
	}
	return v, nil
}

func main() {
	var o options
	var targets, scenarios, clients string
	flag.StringVar(&targets, "targets", "echows,upstream", "servers under test, in order: upstream, echows (built from this tree), or name=/path/to/echows-bench-server (a prototype); an echows target with +cork sends its bursts inside srv.Cork, one with +metrics runs the server with -metrics (its Prometheus collector registered and gathered every second)")
	flag.StringVar(&scenarios, "scenarios", "local,redis", "local (connect, idle memory, fan-out bursts on one server), redis (bursts sent on A, fanned out on B through Redis), steady (publishers at a fixed rate into the room, one server), steady-redis (publishers on A, the room on B), attack (floods beside ordinary clients), fleet (echows only: -instances servers on one Redis, the clients in -fleet-rooms rooms on one or two instances each, publishers at -rate to random rooms, then a churn period)")
	flag.StringVar(&clients, "clients", "5000", "client counts, comma-separated")
	flag.IntVar(&o.count, "count", 200, "messages per burst")
	flag.IntVar(&o.size, "size", 64, "bytes of data per message")
	flag.IntVar(&o.bursts, "bursts", 5, "measured bursts per run (the run's figure is their median)")
	flag.IntVar(&o.warmup, "warmup", 1, "unmeasured bursts before them")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of every (scenario, clients, target); targets alternate")
	flag.IntVar(&o.dialConc, "dial-concurrency", 64, "connection handshakes in flight")
	flag.DurationVar(&o.dialTimeout, "dial-timeout", 30*time.Second, "timeout of one connect+authenticate")
	flag.DurationVar(&o.burstTimeout, "burst-timeout", 60*time.Second, "give up waiting for a burst after this")
	flag.DurationVar(&o.settle, "settle", 3*time.Second, "wait after connecting before reading idle memory")
	flag.IntVar(&o.bufSize, "buf", 16<<10, "client read buffer per connection, bytes")
	flag.StringVar(&o.serverCPUs, "server-cpus", "0", "taskset list for the server under test (instance B)")
	flag.StringVar(&o.clientCPUs, "client-cpus", "1", "taskset list for this tool, redis-server and instance A (empty: do not pin)")
	flag.StringVar(&o.echowsBin, "echows-bin", "", "echows bench server binary (empty: go build ./cmd/echows-load/server)")
	flag.StringVar(&o.bunBin, "bun", "", "bun binary (default: <upstream-dir>/node_modules/.bin/bun)")
	flag.StringVar(&o.upstreamDir, "upstream-dir", "cmd/echows-load/upstream", "folder of server.ts and its node_modules")
	flag.StringVar(&o.redisBin, "redis-server", "redis-server", "redis-server binary")
	flag.BoolVar(&o.quietUp, "quiet-upstream", true, "run upstream with its logger at warn (as shipped it logs two info lines per connection); false measures it with them")
	flag.StringVar(&o.out, "out", "", "append every run's result as a JSON line to this file")
	flag.StringVar(&o.profile, "profile", "", "echows only: write a CPU profile of back-to-back bursts to this file prefix (<prefix>-<clients>.pprof)")
	flag.StringVar(&o.heapProfile, "heap-profile", "", "echows only: write a heap profile of the idle connections to this file prefix")
	flag.IntVar(&o.profileSecs, "profile-seconds", 10, "length of the profile")
	flag.Float64Var(&o.maxBusy, "max-busy", 0.5, "before each run wait until the machine's other load is below this many cores (measured over 2 s)")
	flag.DurationVar(&o.maxWait, "max-wait", 3*time.Minute, "but wait at most this long")
	flag.StringVar(&o.room, "room", "ws-default", "the bench room (every client is in the default rooms)")
	flag.Float64Var(&o.rate, "rate", 100, "steady, fleet: messages per second, all publishers together")
	flag.IntVar(&o.publishers, "publishers", 10, "steady, fleet: publishing clients")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "steady, fleet: length of one measured period; attack: of each phase's probe window")
	flag.BoolVar(&o.interleave, "interleave", false, "local, redis, steady, steady-redis: start every target's servers at once (each on -server-cpus) and let the targets take turns burst by burst or period by period, instead of running each target's repetition alone (where every target's clients fit in the open-file limit)")
	flag.IntVar(&o.attackProbes, "attack-probes", 10, "attack: ordinary clients measuring their round trip")
	flag.Float64Var(&o.attackRate, "attack-rate", 20, "attack: round trips per second per ordinary client")
	flag.IntVar(&o.attackPingers, "attack-pingers", 100, "attack: unauthenticated peers flooding pings without reading")
	flag.IntVar(&o.attackFlooders, "attack-flooders", 1000, "attack: authenticated peers flooding custom events")
	flag.IntVar(&o.attackIdle, "attack-idle", 10000, "attack: peers that upgrade and never authenticate")
	var routings string
	flag.StringVar(&routings, "routing", "", "echows servers on Redis (redis, steady-redis, fleet): the broker's routing, patterns, interest or sharded (sharded: the tool's Redis is a one-node cluster); comma-separated, one run each, alternating per repetition; empty: the broker's default")
	flag.IntVar(&o.instances, "instances", 4, "fleet: echows instances on the one Redis (all on -server-cpus)")
	flag.IntVar(&o.fleetRooms, "fleet-rooms", 100, "fleet: rooms; room k's clients are on instance k mod -instances, and in every other group of -instances rooms half of them on the next instance")
	flag.Float64Var(&o.churnRate, "churn-rate", 20, "fleet: connections opened (and, -churn-life later, closed) per second in the churn period; 0: no churn period")
	flag.DurationVar(&o.churnLife, "churn-life", 2*time.Second, "fleet: how long a churning connection stays")
	var serverEnv string
	var serverArgs string
	flag.StringVar(&serverArgs, "server-args", "", "extra arguments of the echows servers, comma-separated (e.g. -idle-timeout=6s)")
	flag.StringVar(&serverEnv, "server-env", "", "extra environment of the echows servers, comma-separated (e.g. GOGC=50,GODEBUG=adaptivestackstart=0)")
	flag.BoolVar(&o.perf, "perf", true, "count the server's socket write calls with perf stat during bursts (syscw from /proc otherwise)")
	flag.StringVar(&o.attackChild, "attack-child", "", "internal: run as the attacker process of an attack phase (phase=addr)")
	flag.Parse()
	if o.attackChild != "" {
		attackChild(o, o.attackChild)
		return
	}
	o.targets = split(targets)
	o.scenarios = split(scenarios)
	o.serverEnv = split(serverEnv)
	o.serverArgs = split(serverArgs)
	o.routings = split(routings)
	for _, rt := range o.routings {
		if rt != "patterns" && rt != "interest" && rt != "sharded" {
			fatalf("bad -routing %q: patterns, interest or sharded", rt)
		}
	}
	if len(o.routings) == 0 {
		o.routings = []string{""}
	}
	if o.instances < 1 || o.fleetRooms < 1 || (slices.Contains(o.scenarios, "fleet") && o.publishers < 1) {
		fatalf("-instances, -fleet-rooms and (for fleet) -publishers must be at least 1")
	}
	for _, s := range split(clients) {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			fatalf("bad -clients %q", clients)
		}
		o.clients = append(o.clients, n)
	}
	o.variants = map[string]variant{}
	for i, t := range o.targets {
		v, err := parseTarget(t)
		if err != nil {
			fatalf("%v", err)
		}
		o.targets[i] = v.name
		o.variants[v.name] = v
	}
	for _, s := range o.scenarios {
		switch s {
		case "local", "redis", "steady", "steady-redis", "attack", "fleet":
		default:
			fatalf("unknown scenario %q", s)
		}
	}
	pinSelf(o.clientCPUs)

	for name, v := range o.variants {
		if !v.echows || v.bin != "" {
			continue
		}
		if o.echowsBin == "" {
			dir, err := os.MkdirTemp("", "echows-load-")
			if err != nil {
				fatalf("%v", err)
			}
			defer os.RemoveAll(dir)
			if o.echowsBin, err = buildEchowsServer(dir); err != nil {
				fatalf("%v", err)
			}
		}
		v.bin = o.echowsBin
		o.variants[name] = v
	}
	if o.bunBin == "" {
		o.bunBin = filepath.Join(o.upstreamDir, "node_modules", ".bin", "bun")
	}
	if abs, err := filepath.Abs(o.upstreamDir); err == nil {
		o.upstreamDir = abs
	}
	if abs, err := filepath.Abs(o.bunBin); err == nil {
		o.bunBin = abs
	}

	var outFile io.Writer
	if o.out != "" {
		f, err := os.OpenFile(o.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fatalf("%v", err)
		}
		defer f.Close()
		outFile = f
	}

	logf("echows-load: %s, %d CPUs (%s), GOMAXPROCS %d (pinned to %q), load %.2f",
		runtime.Version(), nproc(), cpuModel(), runtime.GOMAXPROCS(0), o.clientCPUs, loadAvg())

	var results []*runResult
	record := func(r *runResult) {
		results = append(results, r)
		if outFile != nil {
			b, _ := json.Marshal(r)
			fmt.Fprintf(outFile, "%s\n", b)
		}
	}
	for rep := range o.reps {
		for _, scen := range o.scenarios {
			for _, n := range o.clients {
				order := slices.Clone(o.targets)
				if rep%2 == 1 {
					slices.Reverse(order)
				}
				var pairs [][2]string
				for _, t := range order {
					for _, rt := range runRoutings(o, t, scen, rep) {
						pairs = append(pairs, [2]string{t, rt})
					}
				}
				if o.interleave && canInterleave(o, scen, n, len(pairs)) {
					waitQuiet(o)
					rs, err := runInterleaved(o, pairs, scen, n, rep)
					if err != nil {
						logf("run %s %d rep %d, interleaved: %v", scen, n, rep, err)
					}
					for _, r := range rs {
						record(r)
					}
					continue
				}
				if o.interleave {
					logf("%s, %d clients: not interleaved (%d targets' clients do not fit in the open-file limit, or the scenario has no rounds): one target after the other", scen, n, len(pairs))
				}
				for _, t := range order {
					if scen == "fleet" && !o.variants[t].echows {
						logf("fleet: %s skipped (the fleet scenario runs echows instances only)", t)
						continue
					}
					for _, rt := range runRoutings(o, t, scen, rep) {
						waitQuiet(o)
						r, err := runOne(o, t, rt, scen, n, rep)
						if err != nil {
							logf("run %s %s %d rep %d: %v", label(t, rt), scen, n, rep, err)
							if r == nil {
								continue
							}
							r.Error = err.Error()
						}
						record(r)
					}
				}
			}
		}
	}
	fmt.Print(summary(o, results))
}

// usesRedis reports whether scenario scen runs echows servers on Redis.
func usesRedis(scen string) bool {
	return scen == "redis" || scen == "steady-redis" || scen == "fleet"
}

// runRoutings returns the routings target runs with in scenario scen, in
// repetition rep's order: -routing's for an echows target on Redis, "" (no
// -routing flag) otherwise.
func runRoutings(o options, target, scen string, rep int) []string {
	if !o.variants[target].echows || !usesRedis(scen) {
		return []string{""}
	}
	rts := slices.Clone(o.routings)
	if rep%2 == 1 {
		slices.Reverse(rts)
	}
	return rts
}

// label names a target run with routing rt: "echows/interest", or the
// target alone with no routing given.
func label(target, rt string) string {
	if rt == "" {
		return target
	}
	return target + "/" + rt
}

// pinSelf re-executes the tool under taskset so that every thread of it,
// and GOMAXPROCS, follow cpus.
func pinSelf(cpus string) {
	if cpus == "" || os.Getenv("ECHOWS_LOAD_PINNED") == cpus {
		return
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		fatalf("taskset not found (install util-linux, or pass -client-cpus '')")
	}
	exe, err := os.Executable()
	if err != nil {
		fatalf("%v", err)
	}
	env := append(os.Environ(), "ECHOWS_LOAD_PINNED="+cpus)
	err = syscall.Exec(taskset, append([]string{"taskset", "-c", cpus, exe}, os.Args[1:]...), env)
	fatalf("exec taskset: %v", err)
}

// waitQuiet waits until the rest of the machine is quiet enough.
func waitQuiet(o options) {
	start := time.Now()
	for {
		busy := machineBusy(2 * time.Second)
		if busy <= o.maxBusy {
			return
		}
		if time.Since(start) > o.maxWait {
			logf("machine still busy (%.2f cores used by others, load %.2f) after %v: measuring anyway", busy, loadAvg(), o.maxWait)
			return
		}
		logf("machine busy (%.2f cores used by others, load %.2f): waiting", busy, loadAvg())
		time.Sleep(5 * time.Second)
	}
}

// runResult is one run: one server process (or two), one client count.
type runResult struct {
	Target   string `json:"target"`
	Routing  string `json:"routing,omitempty"` // echows servers' -routing
	Scenario string `json:"scenario"`
	Clients  int    `json:"clients"`
	Rep      int    `json:"rep"`
	Started  string `json:"started"`
	// Interleaved says the run's bursts or periods took turns with the
	// other targets' (-interleave): its Bursts[i] and theirs are
	// neighbours in time.
	Interleaved bool   `json:"interleaved,omitempty"`
	Error       string `json:"error,omitempty"`

	LoadBefore float64 `json:"load_before"`
	BusyBefore float64 `json:"busy_before"` // cores used by others before the run
	LoadAfter  float64 `json:"load_after"`

	ConnectSeconds  float64 `json:"connect_s"`
	ConnectRate     float64 `json:"connect_per_s"`
	ConnectFailures int     `json:"connect_failures"`
	ConnectCPU      float64 `json:"connect_server_cpu_s"`
	ConnectOthers   float64 `json:"connect_others_cores"`

	RSSBefore      int64   `json:"rss_before"`
	RSSAfter       int64   `json:"rss_after"`
	IdleKiBPerConn float64 `json:"idle_kib_per_conn"`
	ThreadsAfter   int64   `json:"threads_after"`
	GoBefore       goStats `json:"go_before,omitzero"`
	GoAfter        goStats `json:"go_after,omitzero"`

	Bursts []burstResult  `json:"bursts"`
	Median burstResult    `json:"median"`
	Attack []attackResult `json:"attack,omitempty"`
	Fleet  *fleetResult   `json:"fleet,omitempty"`

	ClientsClosed int64  `json:"clients_closed"`
	ClientErrors  int64  `json:"client_error_events"`
	FirstError    string `json:"first_error,omitempty"`
	Profile       string `json:"profile,omitempty"`
}

type goStats struct {
	Goroutines  int64 `json:"goroutines"`
	HeapObjects int64 `json:"/memory/classes/heap/objects:bytes"`
	HeapLive    int64 `json:"/gc/heap/live:bytes"`
	Stacks      int64 `json:"/memory/classes/heap/stacks:bytes"`
	Total       int64 `json:"/memory/classes/total:bytes"`
}

type burstResult struct {
	Deliveries     int64   `json:"deliveries"`
	Received       int64   `json:"received"`
	Lost           int64   `json:"lost"`
	Reordered      int64   `json:"reordered"`
	Gaps           int64   `json:"gaps"`
	Stale          int64   `json:"stale"`
	WallSeconds    float64 `json:"wall_s"`
	PerSecond      float64 `json:"deliveries_per_s"`
	ServerCPU      float64 `json:"server_cpu_s"`
	NsPerDelivery  float64 `json:"server_cpu_ns_per_delivery"`
	ServerWrites   int64   `json:"server_write_calls"`
	MsgsPerWrite   float64 `json:"msgs_per_write"`
	ClientCPU      float64 `json:"client_cpu_s"`
	ClientCPUShare float64 `json:"client_cpu_share"` // of one core, over the wall time
	SendSeconds    float64 `json:"send_loop_s"`      // the server's own timing of its send loop
	P50us          int64   `json:"p50_us"`
	P99us          int64   `json:"p99_us"`
	MaxUs          int64   `json:"max_us"`
	TimedOut       bool    `json:"timed_out,omitempty"`
	OthersCores    float64 `json:"others_cores"` // CPU used by other processes on the machine meanwhile, in cores

	// OthersOnServerMs is the time the server's cores ran something other
	// than the server (other processes, their interrupts; on a kernel with
	// CONFIG_IRQ_TIME_ACCOUNTING also the server's own softirq work, which
	// this machine kind's kernel counts as the server's), over the period
	// and the trailing wait; StealMs is the time the hypervisor gave those
	// cores to other machines, over the period. Both delay the server as no
	// code of its can; a latency tail that comes with them is the machine's.
	// CoreMeasured says they were read: single-server scenarios, a
	// -server-cpus list the tool understands, a readable /proc/stat.
	OthersOnServerMs float64 `json:"others_on_server_core_ms"`
	StealMs          float64 `json:"steal_on_server_core_ms"`
	CoreMeasured     bool    `json:"core_measured,omitempty"`

	// PubDelay is what the publishers' server measured of a steady
	// period's messages (nil when it could not be read).
	PubDelay *benchsrv.PubDelay `json:"pub_delay,omitempty"`

	// ServerCPUs is each server's share of ServerCPU when there are
	// several (fleet).
	ServerCPUs []float64 `json:"server_cpu_s_each,omitempty"`
}

// label names r's column in the summary.
func (r *runResult) label() string { return label(r.Target, r.Routing) }

// fetchPubDelay reads (and so resets) what the server at base measured of
// the steady messages since the last read; nil when it cannot.
func fetchPubDelay(base string) *benchsrv.PubDelay {
	body, err := httpDo("GET", base+"/pubdelay")
	if err != nil {
		return nil
	}
	var d benchsrv.PubDelay
	if json.Unmarshal(body, &d) != nil {
		return nil
	}
	return &d
}

func fetchGoStats(base string) goStats {
	var st goStats
	body, err := httpDo("GET", base+"/stats?gc=1")
	if err == nil {
		_ = json.Unmarshal(body, &st)
	}
	return st
}

// doBurst makes the sender send o.count messages to the room and waits until
// every live client got them all (or the timeout).
func doBurst(o options, cork bool, p *pool, pid int, sendBase, mode string, id, live int64) burstResult {
	bs := newBurstState(id, int64(o.count), live)
	return measure(o, p, pid, bs, func() float64 {
		url := fmt.Sprintf("%s/burst?room=%s&count=%d&size=%d&burst=%d&mode=%s", sendBase, o.room, o.count, o.size, id, mode)
		if cork {
			url += "&cork=1"
		}
		body, err := httpDo("POST", url)
		if err != nil {
			logf("   burst %d: %v", id, err)
		}
		var sent struct {
			ElapsedNs int64 `json:"elapsed_ns"`
		}
		_ = json.Unmarshal(body, &sent)
		return float64(sent.ElapsedNs) / 1e9
	})
}

// measure runs send (which makes the server send what bs expects: a burst,
// a steady period) and waits until every live client got it all (or the
// timeout), measuring the server's CPU and write calls, the tool's CPU, the
// other processes' and the latencies. send returns the seconds it spent
// sending, as it measured them.
func measure(o options, p *pool, pid int, bs *burstState, send func() float64) burstResult {
	return measureOn(o, []*pool{p}, []int{pid}, bs, send)
}

// measureOn is measure for clients of several servers (the fleet
// scenario): the servers' CPU and write calls add up, and ServerCPUs has
// each one's CPU.
func measureOn(o options, pools []*pool, pids []int, bs *burstState, send func() float64) burstResult {
	for _, p := range pools {
		p.cur.Store(bs)
	}
	self := os.Getpid()
	stopCount := func() int64 { return -1 }
	if o.perf {
		stopCount = countWrites(pids...)
	}
	cpu0 := cpuTimes(pids)
	w0 := writeCalls(pids...)
	cl0, _ := cpuTime(self)
	m0 := snapshotMachine()
	cores := parseCPUList(o.serverCPUs)
	if len(pids) != 1 {
		cores = nil // several servers: not all of them on those cores
	}
	core0, coresRead := readCoreTimes(cores)
	t0 := time.Now()
	var br burstResult
	br.SendSeconds = send()
	select {
	case <-bs.allDone:
	case <-time.After(o.burstTimeout):
		br.TimedOut = true
	}
	stealEnd, _ := readCoreTimes(cores) // steal over the latencies' window, not the trailing wait's
	end := time.Unix(0, bs.lastDone.Load())
	if br.TimedOut || end.Before(t0) {
		end = time.Now()
	}
	cl1, _ := cpuTime(self)
	time.Sleep(250 * time.Millisecond) // the server's trailing work (writers ending, GC) belongs to the run
	cpu1 := cpuTimes(pids)
	br.OthersCores = othersCores(m0, snapshotMachine(), time.Since(t0))
	core1, _ := readCoreTimes(cores)
	w1 := writeCalls(pids...)
	writes := stopCount()

	br.Deliveries = bs.total
	br.Received = bs.received.Load()
	br.Lost = br.Deliveries - br.Received
	br.Reordered = bs.reordered.Load()
	br.Gaps = bs.gaps.Load()
	br.Stale = bs.stale.Load()
	br.WallSeconds = end.Sub(t0).Seconds()
	br.PerSecond = float64(br.Received) / br.WallSeconds
	for i := range pids {
		br.ServerCPU += (cpu1[i] - cpu0[i]).Seconds()
	}
	if len(pids) > 1 {
		for i := range pids {
			br.ServerCPUs = append(br.ServerCPUs, (cpu1[i] - cpu0[i]).Seconds())
		}
	}
	br.NsPerDelivery = br.ServerCPU * 1e9 / float64(max(1, br.Received))
	if coresRead {
		br.OthersOnServerMs = max(0, (core1.busy-core0.busy).Seconds()-br.ServerCPU) * 1e3
		br.StealMs = (stealEnd.steal - core0.steal).Seconds() * 1e3
		br.CoreMeasured = true
	}
	br.ServerWrites = writes // socket write system calls seen by perf
	if writes < 0 {
		br.ServerWrites = w1 - w0 // syscw: write and writev only, not send*
	}
	if br.ServerWrites > 0 {
		br.MsgsPerWrite = float64(br.Received) / float64(br.ServerWrites)
	}
	br.ClientCPU = (cl1 - cl0).Seconds()
	br.ClientCPUShare = br.ClientCPU / br.WallSeconds
	q := bs.hist.quantiles(0.5, 0.99, 1)
	br.P50us, br.P99us, br.MaxUs = q[0], q[1], q[2]
	return br
}

func medianBurst(bs []burstResult) burstResult {
	if len(bs) == 0 {
		return burstResult{}
	}
	var m burstResult
	m.Deliveries = bs[0].Deliveries
	pick := func(f func(burstResult) float64) float64 {
		v := make([]float64, len(bs))
		for i, b := range bs {
			v[i] = f(b)
		}
		return median(v)
	}
	m.PerSecond = pick(func(b burstResult) float64 { return b.PerSecond })
	m.WallSeconds = pick(func(b burstResult) float64 { return b.WallSeconds })
	m.ServerCPU = pick(func(b burstResult) float64 { return b.ServerCPU })
	m.NsPerDelivery = pick(func(b burstResult) float64 { return b.NsPerDelivery })
	m.MsgsPerWrite = pick(func(b burstResult) float64 { return b.MsgsPerWrite })
	m.ClientCPU = pick(func(b burstResult) float64 { return b.ClientCPU })
	m.ClientCPUShare = pick(func(b burstResult) float64 { return b.ClientCPUShare })
	m.SendSeconds = pick(func(b burstResult) float64 { return b.SendSeconds })
	m.OthersCores = pick(func(b burstResult) float64 { return b.OthersCores })
	m.OthersOnServerMs = pick(func(b burstResult) float64 { return b.OthersOnServerMs })
	m.StealMs = pick(func(b burstResult) float64 { return b.StealMs })
	m.P50us = int64(pick(func(b burstResult) float64 { return float64(b.P50us) }))
	m.P99us = int64(pick(func(b burstResult) float64 { return float64(b.P99us) }))
	m.MaxUs = int64(pick(func(b burstResult) float64 { return float64(b.MaxUs) }))
	for _, b := range bs { // losses add up; they are never a median
		m.Received += b.Received
		m.Lost += b.Lost
		m.Reordered += b.Reordered
		m.Gaps += b.Gaps
		m.Stale += b.Stale
		m.TimedOut = m.TimedOut || b.TimedOut
	}
	return m
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func split(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "echows-load: "+format+"\n", args...)
	os.Exit(1)
}
