package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// clkTck is USER_HZ, the unit of utime and stime in /proc/PID/stat (100 on
// every Linux this runs on).
const clkTck = 100

// child is a process the tool started (a server under test or redis-server).
type child struct {
	name string
	cmd  *exec.Cmd
	pid  int // the pid of the process itself (taskset execs it)
	port int
	out  *lineLog
}

// lineLog keeps the last lines of a child's output for error messages.
type lineLog struct {
	lines []string
}

func (l *lineLog) add(s string) {
	l.lines = append(l.lines, s)
	if len(l.lines) > 30 {
		l.lines = l.lines[len(l.lines)-30:]
	}
}

func (l *lineLog) String() string { return strings.Join(l.lines, "\n") }

// startPinned starts argv pinned to cpus with taskset, and waits until it
// prints a line starting with "READY <port> <pid>" (servers) or, when ready
// is nil, returns at once.
func startPinned(name, cpus string, env []string, dir string, argv []string, waitReady bool) (*child, error) {
	args := append([]string{"-c", cpus}, argv...)
	cmd := exec.Command("taskset", args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = cmd.Stdout // one stream, read below
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, pid: cmd.Process.Pid, out: &lineLog{}}
	ownPids.add(c.pid)
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			if !sent && strings.HasPrefix(line, "READY ") {
				f := strings.Fields(line)
				if len(f) >= 2 {
					c.port, _ = strconv.Atoi(f[1])
				}
				sent = true
				ready <- nil
				continue
			}
			if !sent || os.Getenv("ECHOWS_LOAD_CHILD_LOG") != "" {
				c.out.add(line)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		if !sent {
			ready <- errors.New("exited before READY")
		}
	}()
	if !waitReady {
		return c, nil
	}
	select {
	case err := <-ready:
		if err != nil {
			_ = cmd.Wait()
			return nil, fmt.Errorf("%s: %w\n%s", name, err, c.out)
		}
	case <-time.After(60 * time.Second):
		c.stop()
		return nil, fmt.Errorf("%s: no READY within 60 s\n%s", name, c.out)
	}
	return c, nil
}

// stop asks the child to end (SIGTERM), and kills it after 10 s.
func (c *child) stop() {
	if c == nil || c.cmd.Process == nil {
		return
	}
	defer ownPids.remove(c.pid)
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = c.cmd.Process.Kill()
		<-done
	}
}

// startRedis starts a redis-server on a free port, pinned to cpus; with
// cluster, a one-node Redis Cluster that holds every slot (its nodes.conf in
// dir).
func startRedis(bin, cpus string, cluster bool, dir string) (*child, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	argv := []string{bin, "--port", strconv.Itoa(port),
		"--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"}
	if cluster {
		argv = append(argv, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"), "--dir", dir)
	}
	c, err := startPinned("redis-server", cpus, nil, "", argv, false)
	if err != nil {
		return nil, err
	}
	c.port = port
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		nc, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			_, _ = nc.Write([]byte("PING\r\n"))
			buf := make([]byte, 16)
			n, _ := nc.Read(buf)
			nc.Close()
			if bytes.HasPrefix(buf[:n], []byte("+PONG")) {
				if cluster {
					if err := clusterAllSlots(port); err != nil {
						c.stop()
						return nil, err
					}
				}
				return c, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.stop()
	return nil, fmt.Errorf("redis-server on port %d did not answer PING\n%s", port, c.out)
}

// redisArgs are an echows bench server's arguments for the Redis on port
// with routing ("": the broker's default; sharded: through a cluster
// client).
func redisArgs(port int, routing string) []string {
	args := []string{"-redis", "127.0.0.1:" + strconv.Itoa(port)}
	if routing != "" {
		args = append(args, "-routing", routing)
	}
	if routing == "sharded" {
		args = append(args, "-cluster")
	}
	return args
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// ownPids are the processes of the measurement: this one and its children.
var ownPids = &pidSet{m: map[int]bool{}}

type pidSet struct {
	mu sync.Mutex
	m  map[int]bool
}

func (s *pidSet) add(pid int)    { s.mu.Lock(); s.m[pid] = true; s.mu.Unlock() }
func (s *pidSet) remove(pid int) { s.mu.Lock(); delete(s.m, pid); s.mu.Unlock() }

// machineSnapshot is the machine's busy CPU time and that of our processes.
type machineSnapshot struct {
	busy, ours time.Duration
}

func snapshotMachine() machineSnapshot {
	st := procStatCPU()
	ms := machineSnapshot{busy: time.Duration(st[0]-st[1]) * time.Second / clkTck}
	ownPids.mu.Lock()
	pids := append([]int{os.Getpid()}, mapKeys(ownPids.m)...)
	ownPids.mu.Unlock()
	for _, pid := range pids {
		d, _ := cpuTime(pid)
		ms.ours += d
	}
	return ms
}

// othersCores returns how many cores other processes used between a and b.
func othersCores(a, b machineSnapshot, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return max(0, float64((b.busy-a.busy)-(b.ours-a.ours))/float64(wall))
}

func mapKeys(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// cpuTime returns the user+system CPU time of process pid (all its threads,
// dead ones included).
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("bad /proc stat")
	}
	f := strings.Fields(string(b[i+2:]))
	// fields after ")": state is f[0]; utime is field 14 of the line, f[11].
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clkTck, nil
}

// cpuTimes returns cpuTime of each pid (0 for one that is gone).
func cpuTimes(pids []int) []time.Duration {
	out := make([]time.Duration, len(pids))
	for i, pid := range pids {
		out[i], _ = cpuTime(pid)
	}
	return out
}

// rss returns VmRSS of pid in bytes.
func rss(pid int) (int64, error) {
	return statusField(pid, "VmRSS:")
}

func statusField(pid int, key string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, key) {
			f := strings.Fields(line[len(key):])
			if len(f) > 0 {
				kb, _ := strconv.ParseInt(f[0], 10, 64)
				return kb << 10, nil
			}
		}
	}
	return 0, fmt.Errorf("%s not in /proc/%d/status", key, pid)
}

// threads returns the number of threads of pid.
func threads(pid int) int64 {
	n, _ := statusField(pid, "Threads:")
	return n >> 10
}

// writeCalls returns syscw of pids together: their write, writev and
// sendmsg... calls (every system call that goes through the VFS write path).
func writeCalls(pids ...int) int64 {
	var total int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid))
		if err != nil {
			return -1
		}
		n := int64(-1)
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "syscw: "); ok {
				n, _ = strconv.ParseInt(v, 10, 64)
			}
		}
		if n < 0 {
			return -1
		}
		total += n
	}
	return total
}

// loadAvg returns the 1-minute load average.
func loadAvg() float64 {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

// machineBusy returns the share of CPU time (0..1 per core, summed) spent
// outside idle on the whole machine during d.
func machineBusy(d time.Duration) float64 {
	a := procStatCPU()
	time.Sleep(d)
	b := procStatCPU()
	total := float64(b[0] - a[0])
	if total <= 0 {
		return -1
	}
	return (total - float64(b[1]-a[1])) / total * float64(nproc())
}

// procStatCPU returns total and idle jiffies from /proc/stat.
func procStatCPU() [2]int64 {
	b, _ := os.ReadFile("/proc/stat")
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var total, idle int64
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		total += n
		if i == 3 || i == 4 { // idle, iowait
			idle += n
		}
	}
	return [2]int64{total, idle}
}

func nproc() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return max(1, strings.Count(string(b), "\nprocessor")+boolInt(bytes.HasPrefix(b, []byte("processor"))))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown"
}

// httpDo sends a request to a server under test and returns the body.
func httpDo(method, url string) ([]byte, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("%s %s: %s: %s", method, url, resp.Status, bytes.TrimSpace(body))
	}
	return body, err
}

var httpClient = &http.Client{Timeout: 120 * time.Second}

// buildEchowsServer builds the bench server binary into dir.
func buildEchowsServer(dir string) (string, error) {
	out := filepath.Join(dir, "echows-bench-server")
	cmd := exec.Command("go", "build", "-o", out, "github.com/echows/echows/cmd/echows-load/server")
	cmd.Stderr = os.Stderr
	cmd.Stdout = os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build the echows bench server: %w", err)
	}
	return out, nil
}

// syscallEvents are the system calls that write to a socket.
var syscallEvents = []string{"write", "writev", "sendto", "sendmsg"}

// countWrites starts counting the socket write system calls of pids with
// perf (tracepoints syscalls:sys_enter_*); stop returns the count, all pids
// together, or -1 when perf is not usable here.
func countWrites(pids ...int) (stop func() int64) {
	perf, err := exec.LookPath("perf")
	if err != nil {
		return func() int64 { return -1 }
	}
	list := make([]string, len(pids))
	for i, pid := range pids {
		list[i] = strconv.Itoa(pid)
	}
	args := []string{"stat", "-x", ",", "-p", strings.Join(list, ",")}
	for _, e := range syscallEvents {
		args = append(args, "-e", "syscalls:sys_enter_"+e)
	}
	cmd := exec.Command(perf, args...)
	var out bytes.Buffer
	cmd.Stderr = &out
	if err := cmd.Start(); err != nil {
		return func() int64 { return -1 }
	}
	time.Sleep(200 * time.Millisecond) // perf attaches
	return func() int64 {
		_ = cmd.Process.Signal(syscall.SIGINT)
		_ = cmd.Wait()
		var total int64
		found := false
		for _, line := range strings.Split(out.String(), "\n") {
			f := strings.Split(line, ",")
			if len(f) < 3 || !strings.HasPrefix(f[2], "syscalls:sys_enter_") {
				continue
			}
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				continue
			}
			total += n
			found = true
		}
		if !found {
			return -1
		}
		return total
	}
}
