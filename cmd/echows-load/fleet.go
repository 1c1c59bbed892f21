package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/echows/echows/cmd/echows-load/internal/benchsrv"
)

// The fleet scenario (issue #13): what a fleet of instances on one Redis
// costs, and how much of it is for nothing. -instances echows servers (all
// on -server-cpus, each reporting its own CPU) share one redis-server (on
// -client-cpus, with the tool). The -clients clients are spread over
// -fleet-rooms rooms so that each room has members on one instance or two
// (see fleetPlace); each joins its room with a join request. -publishers
// clients, spread over the instances and in no fleet room, send -rate
// messages per second to random rooms ("to:<room>", which the server sends
// with ToRoom: delivered on that instance and published). Every client must
// get every message of its room, in order: per-room expectations, measured
// as the other scenarios measure (latency, losses, reorders).
//
// Each period reports, per instance, its CPU and the envelopes Redis sent
// it: Received (other instances'), Unwanted (of those, with no member here:
// work for nothing) and OwnSkipped (its own, heard back). Redis's output
// messages per publish are counted exactly on the receiving side: every
// message Redis pushes reaches one instance, which counts it in Received,
// OwnSkipped or Malformed; publishes are Redis's PUBLISH and SPUBLISH calls
// (commandstats). total_net_output_bytes gives Redis's output bytes (the
// pushes, and the few replies to PUBLISH and SUBSCRIBE; the tool's own INFO
// replies are taken out).
//
// The last period adds churn: -churn-rate connections a second open, join a
// random room on its home instance, stay -churn-life and leave, while the
// publishers publish. It reports the instances' and Redis's CPU beside
// Redis's SUBSCRIBE and UNSUBSCRIBE calls (every flavour: S-, P-, plain;
// one call may carry many channels) and the channels subscribed at its end
// (pubsub_channels + pubsubshard_channels). With interest routing an
// UNSUBSCRIBE comes ListenGrace (5 s) after a channel's last member left,
// so a churn period should be well over 5 s.

// fleetResult is a fleet run.
type fleetResult struct {
	Instances  int           `json:"instances"`
	Rooms      int           `json:"rooms"`
	Clients    []int         `json:"clients_per_instance"`
	Publishers int           `json:"publishers"`
	Periods    []fleetPeriod `json:"periods"` // the measured ones, warmups left out
	Churn      *fleetPeriod  `json:"churn,omitempty"`
}

// fleetPeriod is one period of publishing; Burst has its deliveries,
// latencies and losses, and in ServerCPU all instances' CPU together.
type fleetPeriod struct {
	Burst       burstResult     `json:"burst"`
	Seconds     float64         `json:"seconds"`   // from the snapshot before to the one after: what CPU and counters cover
	Publishes   int64           `json:"publishes"` // messages the publishers sent
	Instances   []instanceDelta `json:"instances"`
	Redis       redisDelta      `json:"redis"`
	Churned     int64           `json:"churned,omitempty"`      // connections opened (and closed) in the churn period
	ChurnFailed int64           `json:"churn_failed,omitempty"` // churning connections that failed to connect or join
}

// instanceDelta is what one instance did during a period.
type instanceDelta struct {
	CPU        float64 `json:"cpu_s"`
	Published  uint64  `json:"published"`   // envelopes it published
	Received   uint64  `json:"received"`    // envelopes of other instances Redis sent it
	Unwanted   uint64  `json:"unwanted"`    // of those, with no recipient here
	OwnSkipped uint64  `json:"own_skipped"` // its own envelopes, heard back
	Malformed  uint64  `json:"malformed"`
}

// redisDelta is what Redis did during a period.
type redisDelta struct {
	CPU          float64 `json:"cpu_s"`
	Publishes    int64   `json:"publishes"`     // PUBLISH and SPUBLISH calls
	Probes       int64   `json:"probes"`        // of them, the instances' delivery probes
	Pushes       int64   `json:"pushes"`        // messages it sent the instances (counted by them)
	OutBytes     int64   `json:"out_bytes"`     // total_net_output_bytes, its INFO replies to the tool taken out
	Subscribes   int64   `json:"subscribes"`    // SUBSCRIBE, SSUBSCRIBE and PSUBSCRIBE calls
	Unsubscribes int64   `json:"unsubscribes"`  // UNSUBSCRIBE, SUNSUBSCRIBE and PUNSUBSCRIBE calls
	Channels     int64   `json:"channels"`      // pubsub_channels + pubsubshard_channels at the end
	Patterns     int64   `json:"patterns"`      // pubsub_patterns at the end
	Subscribed   int64   `json:"subscriptions"` // channels and patterns each connection holds, all connections, at the end (CLIENT LIST sub+ssub+psub)
	MaxChannels  int64   `json:"max_channels"`  // the most seen: at the end, or in a sample every 500 ms (churn)
	ChannelsWas  int64   `json:"channels_was"`  // at the start
}

// fleetPlace says where fleet client i goes, with rooms rooms on instances
// instances: its room i mod rooms, on the room's home instance, room mod
// instances; in every other group of instances rooms ((room/instances) odd)
// every other client of the room is on the next instance instead. So about
// half the rooms have members on one instance and half on two, and every
// instance holds as many clients as the next (when clients is a multiple
// of 2 × rooms, and rooms of instances).
func fleetPlace(i, rooms, instances int) (room, inst int) {
	room = i % rooms
	inst = room % instances
	if (room/instances)%2 == 1 && (i/rooms)%2 == 1 {
		inst = (inst + 1) % instances
	}
	return room, inst
}

// fleetRoom is the name of fleet room k.
func fleetRoom(k int) string { return "fleet-" + strconv.Itoa(k) }

// fleetSchedule draws the rooms of a period's n messages among rooms, and
// numbers each message in its room; perRoom counts them by room.
func fleetSchedule(rng *rand.Rand, n, rooms int) (room, seq []int, perRoom []int64) {
	room, seq, perRoom = make([]int, n), make([]int, n), make([]int64, rooms)
	for i := range n {
		k := rng.IntN(rooms)
		room[i], seq[i] = k, int(perRoom[k])
		perRoom[k]++
	}
	return room, seq, perRoom
}

// fleet is a running fleet: its processes and clients.
type fleet struct {
	o       options
	redis   *child
	inst    []*child
	clients []*pool // the measured clients, by instance
	others  []*pool // the publishers' pools
	pubs    []*wsConn
	members []int64 // measured clients that joined, by room
}

func (f *fleet) stop() {
	for _, p := range slices.Concat(f.clients, f.others) {
		p.closeAll()
	}
	for _, c := range f.inst {
		c.stop()
	}
	f.redis.stop()
}

func (f *fleet) pids() []int {
	pids := make([]int, len(f.inst))
	for i, c := range f.inst {
		pids[i] = c.pid
	}
	return pids
}

func (f *fleet) newPool(inst int) *pool {
	return &pool{addr: "127.0.0.1:" + strconv.Itoa(f.inst[inst].port), path: "/ws", bufSize: f.o.bufSize}
}

// runFleet runs the fleet scenario with the echows server v, its brokers
// routed by routing, and r.Clients clients.
func runFleet(o options, v variant, routing string, r *runResult) error {
	n, nInst, nRooms := r.Clients, o.instances, o.fleetRooms
	f := &fleet{o: o, members: make([]int64, nRooms)}
	defer f.stop()
	dir, err := os.MkdirTemp("", "echows-load-redis-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if f.redis, err = startRedis(o.redisBin, o.clientCPUs, routing == "sharded", dir); err != nil {
		return err
	}
	for i := range nInst {
		argv := append([]string{v.bin, "-room", o.room, "-pprof"}, o.serverArgs...)
		if v.metrics {
			argv = append(argv, "-metrics")
		}
		argv = append(argv, redisArgs(f.redis.port, routing)...)
		c, err := startPinned(fmt.Sprintf("echows instance %d", i), o.serverCPUs, o.serverEnv, "", argv, true)
		if err != nil {
			return err
		}
		f.inst = append(f.inst, c)
	}
	for i := range f.inst {
		if err := f.waitReady(i, 10*time.Second); err != nil {
			return err
		}
	}

	// the measured clients, each in its room
	byInst := make([][]int, nInst) // the room of each client of an instance
	for i := range n {
		k, inst := fleetPlace(i, nRooms, nInst)
		byInst[inst] = append(byInst[inst], k)
	}
	joined := make([]atomic.Int64, nRooms)
	r.Fleet = &fleetResult{Instances: nInst, Rooms: nRooms, Publishers: o.publishers}
	t0 := time.Now()
	cpu0 := cpuTimes(f.pids())
	for inst, rooms := range byInst {
		p := f.newPool(inst)
		p.onConnect = func(i int, c *wsConn) error {
			k := rooms[i]
			if err := c.join(fleetRoom(k), k, o.dialTimeout); err != nil {
				c.nc.Close()
				return err
			}
			joined[k].Add(1)
			return nil
		}
		f.clients = append(f.clients, p)
		_, failed, err := p.connectAll(len(rooms), o.dialConc, fmt.Sprintf("i%d-", inst), o.dialTimeout)
		r.ConnectFailures += failed
		r.Fleet.Clients = append(r.Fleet.Clients, len(rooms)-failed)
		if err != nil {
			logf("   instance %d: %v", inst, err)
		}
	}
	el := time.Since(t0)
	cpu1 := cpuTimes(f.pids())
	for k := range joined {
		f.members[k] = joined[k].Load()
	}
	r.ConnectSeconds = el.Seconds()
	r.ConnectRate = float64(n-r.ConnectFailures) / el.Seconds()
	for i := range cpu0 {
		r.ConnectCPU += (cpu1[i] - cpu0[i]).Seconds()
	}
	logf("   connect+auth+join: %d clients on %d instances %v in %.2fs = %.0f/s (instances' CPU %.2fs)",
		n-r.ConnectFailures, nInst, r.Fleet.Clients, el.Seconds(), r.ConnectRate, r.ConnectCPU)
	if r.ConnectFailures == n {
		return fmt.Errorf("no client connected")
	}

	// the publishers: publisher j on instance j mod nInst
	pubsOn := make([][]*wsConn, nInst)
	for inst := range nInst {
		cnt := (o.publishers + nInst - 1 - inst) / nInst // publishers j with j mod nInst == inst
		p := f.newPool(inst)
		f.others = append(f.others, p)
		if _, failed, err := p.connectAll(cnt, o.dialConc, fmt.Sprintf("pub%d-", inst), o.dialTimeout); failed > 0 {
			return fmt.Errorf("publishers on instance %d: %w", inst, err)
		}
		pubsOn[inst] = p.publishers(cnt)
	}
	for j := range o.publishers {
		f.pubs = append(f.pubs, pubsOn[j%nInst][j/nInst])
	}

	id := int64(0)
	for i := range o.warmup + o.bursts {
		id++
		fp := f.period(id, false)
		kind := "period"
		if i < o.warmup {
			kind = "warmup"
		} else {
			r.Fleet.Periods = append(r.Fleet.Periods, fp)
			r.Bursts = append(r.Bursts, fp.Burst)
		}
		logFleetPeriod(kind, id, fp)
	}
	r.Median = medianBurst(r.Bursts)
	if o.churnRate > 0 {
		id++
		fp := f.period(id, true)
		r.Fleet.Churn = &fp
		logFleetPeriod("churn", id, fp)
	}
	for _, p := range f.clients {
		r.ClientsClosed += p.closed.Load()
		r.ClientErrors += p.errs.Load()
		if r.FirstError == "" {
			r.FirstError = p.firstErr()
		}
	}
	return nil
}

// instanceStats is what the fleet reads of an instance's /stats.
type instanceStats struct {
	Stats struct {
		Ready                                                bool
		Published, Received, Unwanted, OwnSkipped, Malformed uint64
		Probe                                                struct{ Sent uint64 }
	} `json:"stats"`
}

func (f *fleet) instanceStats(i int) (instanceStats, error) {
	var st instanceStats
	body, err := httpDo("GET", fmt.Sprintf("http://127.0.0.1:%d/stats", f.inst[i].port))
	if err == nil {
		err = json.Unmarshal(body, &st)
	}
	return st, err
}

// waitReady waits until instance i reports ready (its broker's
// subscriptions confirmed).
func (f *fleet) waitReady(i int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		st, err := f.instanceStats(i)
		if err == nil && st.Stats.Ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("instance %d not ready after %v (%v)", i, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fleetSnapshot is the counters a period's figures are differences of.
type fleetSnapshot struct {
	at        time.Time
	inst      []instanceStats
	cpu       []time.Duration
	redisCPU  time.Duration
	info      redisInfo
	infoBytes int64 // the size of the INFO and CLIENT LIST replies on the wire
	subs      int64 // subscriptions, from CLIENT LIST
}

func (f *fleet) snapshot() fleetSnapshot {
	s := fleetSnapshot{at: time.Now(), cpu: cpuTimes(f.pids())}
	for i := range f.inst {
		st, err := f.instanceStats(i)
		if err != nil {
			logf("   instance %d stats: %v", i, err)
		}
		s.inst = append(s.inst, st)
	}
	s.redisCPU, _ = cpuTime(f.redis.pid)
	text, err := redisDo(f.redis.port, "INFO", "stats", "commandstats")
	if err != nil {
		logf("   redis INFO: %v", err)
	}
	s.info = parseInfo(text)
	list, err := redisDo(f.redis.port, "CLIENT", "LIST")
	if err != nil {
		logf("   redis CLIENT LIST: %v", err)
	}
	s.subs = subscriptions(list)
	for _, t := range []string{text, list} {
		s.infoBytes += int64(len(t) + len(strconv.Itoa(len(t))) + 5) // $<len>\r\n<text>\r\n
	}
	return s
}

var (
	subscribeCmds   = []string{"subscribe", "ssubscribe", "psubscribe"}
	unsubscribeCmds = []string{"unsubscribe", "sunsubscribe", "punsubscribe"}
)

// channels returns the channels subscribed: classic and sharded.
func (info redisInfo) channels() int64 {
	return info.int("pubsub_channels") + info.int("pubsubshard_channels")
}

// period runs one period of -duration at -rate (with churn, the churn
// period) and waits for its deliveries.
func (f *fleet) period(id int64, churn bool) fleetPeriod {
	o := f.o
	msgs := max(1, int(o.rate*o.duration.Seconds()))
	rooms, seqs, perRoom := fleetSchedule(rand.New(rand.NewPCG(uint64(id), 13)), msgs, o.fleetRooms)
	bs := newRoomBurstState(id, perRoom, f.members)
	before := f.snapshot()
	var ch *churner
	if churn {
		ch = f.startChurn(id)
	}
	br := measureOn(o, f.clients, f.pids(), bs, func() float64 { return f.publish(id, rooms, seqs) })
	fp := fleetPeriod{Burst: br, Publishes: int64(msgs)}
	if ch != nil {
		ch.end(&fp)
	}
	after := f.snapshot()
	fp.Seconds = after.at.Sub(before.at).Seconds()
	for i := range f.inst {
		a, b := before.inst[i].Stats, after.inst[i].Stats
		d := instanceDelta{CPU: (after.cpu[i] - before.cpu[i]).Seconds(), Published: b.Published - a.Published,
			Received: b.Received - a.Received, Unwanted: b.Unwanted - a.Unwanted,
			OwnSkipped: b.OwnSkipped - a.OwnSkipped, Malformed: b.Malformed - a.Malformed}
		fp.Instances = append(fp.Instances, d)
		fp.Redis.Pushes += int64(d.Received + d.OwnSkipped + d.Malformed)
		fp.Redis.Probes += int64(b.Probe.Sent - a.Probe.Sent)
	}
	a, b := before.info, after.info
	fp.Redis.CPU = (after.redisCPU - before.redisCPU).Seconds()
	fp.Redis.Publishes = b.calls("publish", "spublish") - a.calls("publish", "spublish")
	fp.Redis.OutBytes += b.int("total_net_output_bytes") - a.int("total_net_output_bytes") - before.infoBytes
	fp.Redis.Subscribes = b.calls(subscribeCmds...) - a.calls(subscribeCmds...)
	fp.Redis.Unsubscribes = b.calls(unsubscribeCmds...) - a.calls(unsubscribeCmds...)
	fp.Redis.ChannelsWas, fp.Redis.Channels = a.channels(), b.channels()
	fp.Redis.Patterns = b.int("pubsub_patterns")
	fp.Redis.Subscribed = after.subs
	fp.Redis.MaxChannels = max(fp.Redis.MaxChannels, fp.Redis.Channels)
	return fp
}

// publish sends the period's messages: message i to fleet room room[i],
// numbered seq[i] there, at i/-rate seconds, by publisher room[i] mod
// -publishers (so a room's messages come in order from one connection).
func (f *fleet) publish(id int64, room, seq []int) float64 {
	o := f.o
	interval := time.Duration(float64(time.Second) / o.rate)
	mine := make([][]int, len(f.pubs))
	for i, k := range room {
		mine[k%len(f.pubs)] = append(mine[k%len(f.pubs)], i)
	}
	return paced(f.pubs, "publisher",
		func(j int) int { return len(mine[j]) },
		func(j, n int) time.Duration { return time.Duration(mine[j][n]) * interval },
		func(buf []byte, j, n int) []byte {
			i := mine[j][n]
			buf = append(buf, `{"event":"to:`+fleetRoom(room[i])+`","data":`...)
			buf = benchsrv.Payload(buf, int(id), seq[i], o.size)
			return append(buf, '}')
		})
}

// churner opens connections at -churn-rate, each joining a random room on
// its home instance, staying -churn-life and leaving.
type churner struct {
	stop           chan struct{}
	wg             sync.WaitGroup
	opened, failed atomic.Int64
	maxChannels    atomic.Int64
	infoBytes      atomic.Int64 // the size of its INFO replies
	pools          []*pool
}

func (f *fleet) startChurn(id int64) *churner {
	ch := &churner{stop: make(chan struct{})}
	for i := range f.inst {
		ch.pools = append(ch.pools, &pool{addr: "127.0.0.1:" + strconv.Itoa(f.inst[i].port), path: "/ws", bufSize: 4 << 10})
	}
	rng := rand.New(rand.NewPCG(uint64(id), 31))
	ch.wg.Add(2)
	go func() { // Redis's channel count, sampled
		defer ch.wg.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ch.stop:
				return
			case <-t.C:
			}
			if text, err := redisDo(f.redis.port, "INFO", "stats"); err == nil {
				ch.infoBytes.Add(int64(len(text) + len(strconv.Itoa(len(text))) + 5))
				n := parseInfo(text).channels()
				for old := ch.maxChannels.Load(); n > old && !ch.maxChannels.CompareAndSwap(old, n); old = ch.maxChannels.Load() {
				}
			}
		}
	}()
	go func() {
		defer ch.wg.Done()
		t := time.NewTicker(time.Duration(float64(time.Second) / f.o.churnRate))
		defer t.Stop()
		for j := 0; ; j++ {
			select {
			case <-ch.stop:
				return
			case <-t.C:
			}
			k := rng.IntN(f.o.fleetRooms)
			p := ch.pools[k%len(ch.pools)]
			ch.wg.Add(1)
			go func() {
				defer ch.wg.Done()
				c, err := p.dial(fmt.Sprintf("churn%d-%d", id, j), f.o.dialTimeout)
				if err == nil {
					if err = c.join(fleetRoom(k), k, f.o.dialTimeout); err != nil {
						c.nc.Close()
					}
				}
				if err != nil {
					ch.failed.Add(1)
					return
				}
				ch.opened.Add(1)
				select {
				case <-time.After(f.o.churnLife):
				case <-ch.stop:
				}
				c.nc.Close()
			}()
		}
	}()
	return ch
}

// end stops the churn, closes its connections, and records in fp how many
// it opened, how many failed, and the most channels Redis had subscribed.
func (ch *churner) end(fp *fleetPeriod) {
	close(ch.stop)
	ch.wg.Wait()
	for _, p := range ch.pools {
		p.closeAll()
	}
	fp.Churned, fp.ChurnFailed, fp.Redis.MaxChannels = ch.opened.Load(), ch.failed.Load(), ch.maxChannels.Load()
	fp.Redis.OutBytes -= ch.infoBytes.Load()
}

func logFleetPeriod(kind string, id int64, fp fleetPeriod) {
	br, rd := fp.Burst, fp.Redis
	var cpus, recv []string
	var unwanted uint64
	for _, d := range fp.Instances {
		cpus = append(cpus, fmt.Sprintf("%.2f", d.CPU))
		recv = append(recv, fmt.Sprintf("%d/%d", d.Unwanted, d.Received))
		unwanted += d.Unwanted
	}
	logf("   %s %d: %d/%d deliveries of %d messages in %.1fs, p50 %.2f ms p99 %.2f ms, lost %d reordered %d gaps %d; instances' CPU %s s; unwanted/received %s; redis: %d publishes (%d probes), %.2f pushes and %.0f bytes out per publish, %.2f unwanted, CPU %.2f s, %d subscribe and %d unsubscribe calls, channels %d -> %d (max %d), patterns %d, subscriptions %d, others %.2f cores",
		kind, id, br.Received, br.Deliveries, fp.Publishes, br.WallSeconds, float64(br.P50us)/1e3, float64(br.P99us)/1e3,
		br.Lost, br.Reordered, br.Gaps, strings.Join(cpus, " "), strings.Join(recv, " "),
		rd.Publishes, rd.Probes, perPublish(fp, float64(rd.Pushes)), perPublish(fp, float64(rd.OutBytes)), perPublish(fp, float64(unwanted)), rd.CPU,
		rd.Subscribes, rd.Unsubscribes, rd.ChannelsWas, rd.Channels, rd.MaxChannels, rd.Patterns, rd.Subscribed, br.OthersCores)
	if fp.Churned > 0 || fp.ChurnFailed > 0 {
		logf("   churn: %d connections opened and closed (%.1f/s), %d failed", fp.Churned, fp.perSecond(float64(fp.Churned)), fp.ChurnFailed)
	}
}

// fleetRow is one row of the fleet summary: a figure of a run, or ok false
// when the run has none.
type fleetRow struct {
	name   string
	format string
	get    func(r *runResult) (float64, bool)
}

// steadyFigure is the median over a run's measured periods of f.
func steadyFigure(f func(fp fleetPeriod) float64) func(*runResult) (float64, bool) {
	return func(r *runResult) (float64, bool) {
		if r.Fleet == nil || len(r.Fleet.Periods) == 0 {
			return 0, false
		}
		v := make([]float64, len(r.Fleet.Periods))
		for i, fp := range r.Fleet.Periods {
			v[i] = f(fp)
		}
		return median(v), true
	}
}

// churnFigure is f of a run's churn period.
func churnFigure(f func(fp fleetPeriod) float64) func(*runResult) (float64, bool) {
	return func(r *runResult) (float64, bool) {
		if r.Fleet == nil || r.Fleet.Churn == nil {
			return 0, false
		}
		return f(*r.Fleet.Churn), true
	}
}

// perPublish returns v per publish of the period's messages (the
// instances' probes left out).
func perPublish(fp fleetPeriod, v float64) float64 {
	return v / float64(max(1, fp.Redis.Publishes-fp.Redis.Probes))
}

func (fp fleetPeriod) unwanted() (n uint64) {
	for _, d := range fp.Instances {
		n += d.Unwanted
	}
	return n
}

func (fp fleetPeriod) received() (n uint64) {
	for _, d := range fp.Instances {
		n += d.Received
	}
	return n
}

// busiest returns the most CPU one instance used, in cores.
func (fp fleetPeriod) busiest() float64 {
	var m float64
	for _, d := range fp.Instances {
		m = max(m, d.CPU)
	}
	return m / fp.Seconds
}

// cpu returns the CPU seconds all instances used.
func (fp fleetPeriod) cpu() (s float64) {
	for _, d := range fp.Instances {
		s += d.CPU
	}
	return s
}

// perSecond returns v per second of the period.
func (fp fleetPeriod) perSecond(v float64) float64 { return v / fp.Seconds }

var fleetRows = []fleetRow{
	{"latency p50 ms", "%.2f", steadyFigure(func(fp fleetPeriod) float64 { return float64(fp.Burst.P50us) / 1e3 })},
	{"latency p99 ms", "%.2f", steadyFigure(func(fp fleetPeriod) float64 { return float64(fp.Burst.P99us) / 1e3 })},
	{"instances' CPU, cores (all)", "%.3f", steadyFigure(func(fp fleetPeriod) float64 { return fp.perSecond(fp.cpu()) })},
	{"busiest instance's CPU, cores", "%.3f", steadyFigure(fleetPeriod.busiest)},
	{"instances' CPU µs per publish (all)", "%.1f", steadyFigure(func(fp fleetPeriod) float64 { return perPublish(fp, fp.cpu()*1e6) })},
	{"Redis output messages per publish (envelopes the instances got)", "%.2f", steadyFigure(func(fp fleetPeriod) float64 { return perPublish(fp, float64(fp.Redis.Pushes)) })},
	{"unwanted envelopes per publish (no member on the instance)", "%.2f", steadyFigure(func(fp fleetPeriod) float64 { return perPublish(fp, float64(fp.unwanted())) })},
	{"unwanted share of envelopes from other instances", "%.0f%%", steadyFigure(func(fp fleetPeriod) float64 {
		return 100 * float64(fp.unwanted()) / float64(max(1, fp.received()))
	})},
	{"Redis output bytes per publish", "%.0f", steadyFigure(func(fp fleetPeriod) float64 { return perPublish(fp, float64(fp.Redis.OutBytes)) })},
	{"Redis CPU µs per publish", "%.1f", steadyFigure(func(fp fleetPeriod) float64 { return perPublish(fp, fp.Redis.CPU*1e6) })},
	{"Redis channels + patterns subscribed", "%.0f", steadyFigure(func(fp fleetPeriod) float64 { return float64(fp.Redis.Channels + fp.Redis.Patterns) })},
	{"Redis subscriptions (of all connections)", "%.0f", steadyFigure(func(fp fleetPeriod) float64 { return float64(fp.Redis.Subscribed) })},
	{"Redis CPU, cores", "%.3f", steadyFigure(func(fp fleetPeriod) float64 { return fp.perSecond(fp.Redis.CPU) })},
	{"churn: connections per s", "%.1f", churnFigure(func(fp fleetPeriod) float64 { return fp.perSecond(float64(fp.Churned)) })},
	{"churn: instances' CPU, cores (all)", "%.3f", churnFigure(func(fp fleetPeriod) float64 { return fp.perSecond(fp.cpu()) })},
	{"churn: Redis CPU, cores", "%.3f", churnFigure(func(fp fleetPeriod) float64 { return fp.perSecond(fp.Redis.CPU) })},
	{"churn: SUBSCRIBE calls per s", "%.1f", churnFigure(func(fp fleetPeriod) float64 { return fp.perSecond(float64(fp.Redis.Subscribes)) })},
	{"churn: UNSUBSCRIBE calls per s", "%.1f", churnFigure(func(fp fleetPeriod) float64 { return fp.perSecond(float64(fp.Redis.Unsubscribes)) })},
	{"churn: channels subscribed, start → most", "%.0f", churnFigure(func(fp fleetPeriod) float64 { return float64(fp.Redis.MaxChannels - fp.Redis.ChannelsWas) })},
	{"churn: latency p99 ms", "%.2f", churnFigure(func(fp fleetPeriod) float64 { return float64(fp.Burst.P99us) / 1e3 })},
}

// fleetSummary renders the fleet runs with n clients: medians over runs of
// each run's median over its periods.
func fleetSummary(o options, cols []string, results []*runResult, n int) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n### Fleet: %d instances on one Redis, %d clients in %d rooms, %d publishers at %g msg/s of %d B to random rooms, %v per period; churn %g connections/s living %v\n\n",
		o.instances, n, o.fleetRooms, o.publishers, o.rate, o.size, o.duration, o.churnRate, o.churnLife)
	sb.WriteString("| metric |")
	for _, c := range cols {
		fmt.Fprintf(&sb, " %s median (min–max) |", c)
	}
	sb.WriteString("\n|---|")
	for range cols {
		sb.WriteString("---|")
	}
	sb.WriteString("\n")
	for _, row := range fleetRows {
		fmt.Fprintf(&sb, "| %s |", row.name)
		for _, c := range cols {
			var v []float64
			for _, r := range results {
				if r.label() == c && r.Scenario == "fleet" && r.Clients == n && r.Error == "" {
					if x, ok := row.get(r); ok {
						v = append(v, x)
					}
				}
			}
			if len(v) == 0 {
				sb.WriteString(" – |")
				continue
			}
			fmt.Fprintf(&sb, " "+row.format+" ("+row.format+"–"+row.format+") |", median(v), slices.Min(v), slices.Max(v))
		}
		sb.WriteString("\n")
	}
	for _, c := range cols {
		var runs, lost, reord, gaps, timeouts, closed int64
		for _, r := range results {
			if r.label() != c || r.Scenario != "fleet" || r.Clients != n || r.Fleet == nil {
				continue
			}
			runs++
			closed += r.ClientsClosed
			periods := r.Fleet.Periods
			if r.Fleet.Churn != nil {
				periods = append(slices.Clone(periods), *r.Fleet.Churn)
			}
			for _, fp := range periods {
				lost += fp.Burst.Lost
				reord += fp.Burst.Reordered
				gaps += fp.Burst.Gaps
				if fp.Burst.TimedOut {
					timeouts++
				}
			}
		}
		fmt.Fprintf(&sb, "\n%s: %d runs; over all measured periods (churn included): lost %d, reordered %d, gaps %d, timed out %d; client connections closed by the servers %d.", c, runs, lost, reord, gaps, timeouts, closed)
	}
	sb.WriteString("\n")
	return sb.String()
}
