package interop

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/internal/testenv"
)

// Bounds. Every wait below ends as soon as its condition holds; these are
// only the limits after which a test fails instead of hanging.
const (
	installTimeout = 5 * time.Minute  // npm ci from a cold cache (Bun is ~40 MB)
	readyTimeout   = 20 * time.Second // bun start + upstream configure()
	emitTimeout    = 20 * time.Second // one run of emit.ts
	stopTimeout    = 5 * time.Second  // SIGTERM to exit, before SIGKILL
	frameTimeout   = 5 * time.Second  // one expected WebSocket frame
	dialTimeout    = 5 * time.Second
)

var (
	jsDirOnce sync.Once
	jsDir     string // absolute path of internal/interop/js

	installOnce sync.Once
	installErr  error
	installOut  string
	installTook time.Duration
)

// start begins every interop test: it skips or installs (requireHarness),
// then runs the test in parallel with the others; each has its own
// redis-server and processes.
func start(t *testing.T) {
	t.Helper()
	requireHarness(t)
	t.Parallel()
}

// requireHarness skips the test when the harness cannot run here (no node or
// npm, which fails it under CI=true; -short; ECHOWS_INTEROP=0), installs the npm packages once per test
// binary, and returns the path of the bun binary.
func requireHarness(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("interop: skipped in -short mode (runs the upstream package under Bun)")
	}
	if v := os.Getenv("ECHOWS_INTEROP"); v == "0" || v == "false" {
		t.Skip("interop: skipped by ECHOWS_INTEROP=" + v)
	}
	for _, bin := range []string{"node", "npm"} {
		testenv.LookPath(t, "interop: install Node >= 18 with npm to run the interop tests against the upstream package", bin)
	}
	jsDirOnce.Do(func() {
		d, err := filepath.Abs("js")
		if err != nil {
			panic(err)
		}
		jsDir = d
	})
	installOnce.Do(func() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(jsDir, "install.sh"))
		cmd.Dir = jsDir
		out, err := cmd.CombinedOutput()
		installOut, installErr, installTook = string(out), err, time.Since(start)
		if err == nil && ctx.Err() != nil {
			installErr = ctx.Err()
		}
	})
	if installErr != nil {
		t.Fatalf("interop: js/install.sh failed after %v: %v\n%s", installTook.Round(time.Millisecond), installErr, installOut)
	}
	if installTook > time.Second {
		t.Logf("interop: js/install.sh took %v", installTook.Round(time.Millisecond))
	}
	return filepath.Join(jsDir, "node_modules", ".bin", "bun")
}

// ---------------------------------------------------------------------------
// Bun processes

// protoPrefixes are the line prefixes of the scripts' stdout protocol.
// Upstream's own (winston) logs also go to stdout; they are kept only for
// failure messages.
var protoPrefixes = []string{"READY", "OPEN ", "CLOSE ", "CONNECTED ", "DISCONNECTED ", "MESSAGE ", "OK ", "ERR "}

// bunProc is one bun process started by a test; t.Cleanup stops it.
type bunProc struct {
	t     *testing.T
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu       sync.Mutex
	proto    []string // protocol lines, in order
	consumed []bool
	all      []string      // every output line, stdout and stderr, for failure messages
	changed  chan struct{} // closed and replaced when a line arrives
	exited   chan struct{} // closed once the process exited and output is drained
	waitErr  error
}

// startBun runs `bun <script> args...` in js/ with env added to the test's
// environment. Upstream's log files go to a temporary directory.
func startBun(t *testing.T, bun, script string, env []string, args ...string) *bunProc {
	t.Helper()
	p := &bunProc{t: t, name: script, changed: make(chan struct{}), exited: make(chan struct{})}
	p.cmd = exec.Command(bun, append([]string{script}, args...)...)
	p.cmd.Dir = jsDir
	p.cmd.Env = append(os.Environ(), "APP_ENV_LOGGER_FOLDER_PATH="+t.TempDir(), "NO_COLOR=1")
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.SysProcAttr = sysProcAttr()
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatalf("interop: %s: %v", script, err)
	}
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatalf("interop: %s: %v", script, err)
	}
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		t.Fatalf("interop: %s: %v", script, err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("interop: start %s: %v", script, err)
	}
	var readers sync.WaitGroup
	readers.Add(2)
	go p.read(stdout, "", &readers)
	go p.read(stderr, "stderr: ", &readers)
	go func() {
		readers.Wait() // Wait closes the pipes: drain them first
		err := p.cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.exited)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("interop: output of %s:\n%s", p.name, p.output())
		}
	})
	return p
}

func (p *bunProc) read(r io.Reader, tag string, wg *sync.WaitGroup) {
	defer wg.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Text()
		p.mu.Lock()
		p.all = append(p.all, tag+line)
		if tag == "" && hasProtoPrefix(line) {
			p.proto = append(p.proto, line)
			p.consumed = append(p.consumed, false)
		}
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, r)
}

func hasProtoPrefix(line string) bool {
	for _, pre := range protoPrefixes {
		if strings.HasPrefix(line, pre) || line == strings.TrimSpace(pre) {
			return true
		}
	}
	return false
}

// waitLine returns the first protocol line not returned before that matches,
// waiting at most timeout. It fails the test when none comes or the process
// exits first.
func (p *bunProc) waitLine(timeout time.Duration, what string, match func(string) bool) string {
	p.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		p.mu.Lock()
		for i, l := range p.proto {
			if !p.consumed[i] && match(l) {
				p.consumed[i] = true
				p.mu.Unlock()
				return l
			}
		}
		changed := p.changed
		p.mu.Unlock()
		select {
		case <-changed:
		case <-p.exited:
			p.mu.Lock()
			err := p.waitErr
			p.mu.Unlock()
			// Lines written just before exit were read before exited closed.
			if l, ok := p.findNow(match); ok {
				return l
			}
			p.t.Fatalf("interop: %s exited (%v) while waiting for %s; output:\n%s", p.name, err, what, p.output())
		case <-timer.C:
			p.t.Fatalf("interop: %s: no %s within %v; output:\n%s", p.name, what, timeout, p.output())
		}
	}
}

func (p *bunProc) findNow(match func(string) bool) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, l := range p.proto {
		if !p.consumed[i] && match(l) {
			p.consumed[i] = true
			return l, true
		}
	}
	return "", false
}

func prefixed(pre string) func(string) bool {
	return func(l string) bool { return strings.HasPrefix(l, pre) }
}

// send writes one control command (a JSON line) to the process's stdin.
func (p *bunProc) send(cmd any) {
	p.t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		p.t.Fatalf("interop: marshal command: %v", err)
	}
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("interop: write to %s: %v", p.name, err)
	}
}

// wait waits for the process to exit by itself and returns its error.
func (p *bunProc) wait(timeout time.Duration) error {
	p.t.Helper()
	select {
	case <-p.exited:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.waitErr
	case <-time.After(timeout):
		p.t.Fatalf("interop: %s did not exit within %v; output:\n%s", p.name, timeout, p.output())
		return nil
	}
}

// stop sends SIGTERM, waits stopTimeout, then kills; it returns once the
// process exited. Safe to call more than once.
func (p *bunProc) stop() {
	_ = p.stdin.Close()
	select {
	case <-p.exited:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

func (p *bunProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	lines := p.all
	if len(lines) > 200 {
		lines = lines[len(lines)-200:]
	}
	return "\t" + strings.Join(lines, "\n\t")
}

// ---------------------------------------------------------------------------
// The upstream server (js/server.ts)

type upstreamOptions struct {
	AuthTimeout       time.Duration
	HeartbeatInterval time.Duration
	HeartbeatTimeout  time.Duration
}

type upstreamServer struct {
	*bunProc
	URL string // ws://127.0.0.1:<port>/ws
}

// startUpstreamServer runs upstream's WebSocketServerHelper under Bun on a
// free port, sharing the Redis at redisAddr, and waits for READY.
func startUpstreamServer(t *testing.T, redisAddr string, o upstreamOptions) *upstreamServer {
	t.Helper()
	bun := requireHarness(t)
	host, port, err := net.SplitHostPort(redisAddr)
	if err != nil {
		t.Fatalf("interop: redis address %q: %v", redisAddr, err)
	}
	env := []string{"REDIS_HOST=" + host, "REDIS_PORT=" + port, "WS_PORT=0"}
	ms := func(name string, d time.Duration) {
		if d > 0 {
			env = append(env, name+"="+strconv.FormatInt(d.Milliseconds(), 10))
		}
	}
	ms("WS_AUTH_TIMEOUT", o.AuthTimeout)
	ms("WS_HEARTBEAT_INTERVAL", o.HeartbeatInterval)
	ms("WS_HEARTBEAT_TIMEOUT", o.HeartbeatTimeout)
	p := startBun(t, bun, "server.ts", env)
	line := p.waitLine(readyTimeout, "READY line", prefixed("READY "))
	wsPort := strings.TrimPrefix(line, "READY ")
	if _, err := strconv.Atoi(wsPort); err != nil {
		t.Fatalf("interop: bad READY line %q", line)
	}
	return &upstreamServer{bunProc: p, URL: "ws://127.0.0.1:" + wsPort + "/ws"}
}

// dial opens a WebSocket to the upstream server and returns it with the
// client id upstream assigned (from the OPEN line).
func (s *upstreamServer) dial(t *testing.T) *wsClient {
	t.Helper()
	c := dialWS(t, s.URL)
	line := s.waitLine(frameTimeout, "OPEN line", prefixed("OPEN "))
	c.id = strings.TrimPrefix(line, "OPEN ")
	return c
}

// ---------------------------------------------------------------------------
// Publishers: who puts envelopes on Redis

// op is one publish: the four emitter calls.
type op struct {
	Op       string          `json:"op"` // toClient, toUser, toRoom, broadcast
	ClientID string          `json:"clientId,omitempty"`
	UserID   string          `json:"userId,omitempty"`
	Room     string          `json:"room,omitempty"`
	Event    string          `json:"event"`
	Data     json.RawMessage `json:"data,omitempty"`
	Exclude  []string        `json:"exclude,omitzero"` // nil: left out; empty: sent as []
}

func toClient(id, event, data string) op {
	return op{Op: "toClient", ClientID: id, Event: event, Data: json.RawMessage(data)}
}
func toUser(id, event, data string) op {
	return op{Op: "toUser", UserID: id, Event: event, Data: json.RawMessage(data)}
}
func toRoom(room, event, data string, exclude ...string) op {
	return op{Op: "toRoom", Room: room, Event: event, Data: json.RawMessage(data), Exclude: exclude}
}
func broadcast(event, data string) op {
	return op{Op: "broadcast", Event: event, Data: json.RawMessage(data)}
}

// publisher puts the ops on Redis, in order, and returns once all are
// published.
type publisher interface {
	publish(t *testing.T, redisAddr string, ops []op)
}

// upstreamEmitter is upstream's WebSocketEmitter (js/emit.ts).
type upstreamEmitter struct{}

func (upstreamEmitter) publish(t *testing.T, redisAddr string, ops []op) {
	t.Helper()
	runUpstreamEmitter(t, redisAddr, ops)
}

// runUpstreamEmitter runs emit.ts once with ops as its argument and checks
// that every op was published and the process exited 0.
func runUpstreamEmitter(t *testing.T, redisAddr string, ops []op) {
	t.Helper()
	bun := requireHarness(t)
	host, port, err := net.SplitHostPort(redisAddr)
	if err != nil {
		t.Fatalf("interop: redis address %q: %v", redisAddr, err)
	}
	arg, err := json.Marshal(ops)
	if err != nil {
		t.Fatalf("interop: marshal ops: %v", err)
	}
	p := startBun(t, bun, "emit.ts", []string{"REDIS_HOST=" + host, "REDIS_PORT=" + port}, string(arg))
	for i, o := range ops {
		want := fmt.Sprintf("OK %d %s", i+1, o.Op)
		p.waitLine(emitTimeout, strconv.Quote(want), func(l string) bool { return l == want || strings.HasPrefix(l, "ERR ") })
	}
	if err := p.wait(emitTimeout); err != nil {
		t.Fatalf("interop: emit.ts exited with %v; output:\n%s", err, p.output())
	}
	if l, ok := p.findNow(prefixed("ERR ")); ok {
		t.Fatalf("interop: emit.ts: %s", l)
	}
}

// ---------------------------------------------------------------------------
// WebSocket client

type wsClient struct {
	t    *testing.T
	conn *gws.Conn
	id   string // client id, once known
}

func dialWS(t *testing.T, url string) *wsClient {
	t.Helper()
	d := gws.Dialer{HandshakeTimeout: dialTimeout}
	conn, resp, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("interop: dial %s: %v", url, err)
	}
	_ = resp.Body.Close()
	c := &wsClient{t: t, conn: conn}
	t.Cleanup(func() { _ = conn.Close() })
	return c
}

func (c *wsClient) sendRaw(typ int, b []byte) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(frameTimeout))
	if err := c.conn.WriteMessage(typ, b); err != nil {
		c.t.Fatalf("interop: client %s: write: %v", c.id, err)
	}
}

func (c *wsClient) sendText(s string) { c.t.Helper(); c.sendRaw(gws.TextMessage, []byte(s)) }

// read returns the next data frame, or the error (a *gws.CloseError for a
// close frame) when none comes within timeout.
func (c *wsClient) read(timeout time.Duration) (int, []byte, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(timeout))
	return c.conn.ReadMessage()
}

// next returns the next text frame, failing the test on anything else.
func (c *wsClient) next() string {
	c.t.Helper()
	typ, b, err := c.read(frameTimeout)
	if err != nil {
		c.t.Fatalf("interop: client %s: waiting for a frame: %v", c.id, err)
	}
	if typ != gws.TextMessage {
		c.t.Fatalf("interop: client %s: got a frame of type %d: %q", c.id, typ, b)
	}
	return string(b)
}

// expect reads the next frame and compares it byte for byte.
func (c *wsClient) expect(want string) {
	c.t.Helper()
	if got := c.next(); got != want {
		c.t.Fatalf("interop: client %s: frame\n got  %s\n want %s", c.id, got, want)
	}
}

// expectClose reads the next frame, which must be a close frame with code
// and reason. It returns how long that took.
func (c *wsClient) expectClose(code int, reason string, timeout time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	if got := c.expectCloseCode(code, timeout); got != reason {
		c.t.Fatalf("interop: client %s: closed with %d %q, want %d %q", c.id, code, got, code, reason)
	}
	return time.Since(start)
}

// expectCloseCode reads the next frame, which must be a close frame with
// code, and returns its reason.
func (c *wsClient) expectCloseCode(code int, timeout time.Duration) string {
	c.t.Helper()
	typ, b, err := c.read(timeout)
	if err == nil {
		c.t.Fatalf("interop: client %s: frame (type %d) %s while waiting for close %d", c.id, typ, b, code)
	}
	var ce *gws.CloseError
	if !errors.As(err, &ce) {
		c.t.Fatalf("interop: client %s: waiting for close %d: %v", c.id, code, err)
	}
	if ce.Code != code {
		c.t.Fatalf("interop: client %s: closed with %d %q, want %d", c.id, ce.Code, ce.Text, code)
	}
	return ce.Text
}

// connectedRE matches upstream's connected frame: keys id, userId (absent
// when the user id is undefined) and time, in that order; time is
// Date.prototype.toISOString(): UTC, milliseconds, "Z".
var connectedRE = regexp.MustCompile(`^\{"event":"connected","data":\{"id":"([0-9a-f-]{36})",(?:"userId":"([^"]*)",)?"time":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"\}\}$`)

// auth sends authenticate with data and expects the connected frame for
// userID ("" for none). It returns the client id from the frame.
func (c *wsClient) auth(data, userID string) string {
	c.t.Helper()
	c.sendText(`{"event":"authenticate","data":` + data + `}`)
	frame := c.next()
	m := connectedRE.FindStringSubmatch(frame)
	if m == nil {
		c.t.Fatalf("interop: client %s: expected connected, got %s", c.id, frame)
	}
	if m[2] != userID || (userID == "" && strings.Contains(frame, `"userId"`)) {
		c.t.Fatalf("interop: connected frame %s: userId %q, want %q", frame, m[2], userID)
	}
	if c.id != "" && m[1] != c.id {
		c.t.Fatalf("interop: connected id %s, want %s", m[1], c.id)
	}
	ts, err := time.Parse("2006-01-02T15:04:05.000Z07:00", m[3])
	if err != nil {
		c.t.Fatalf("interop: connected time %q: %v", m[3], err)
	}
	if d := time.Since(ts); d < -time.Minute || d > time.Minute {
		c.t.Fatalf("interop: connected time %s is %v away from now", m[3], d)
	}
	c.id = m[1]
	return c.id
}

// join asks to join rooms, then sends an echo event and waits for it: the
// upstream test server echoes "echo" events to the sender, and processes one
// socket's messages in order, so once the echo is back the join is done.
func (c *wsClient) join(rooms ...string) {
	c.t.Helper()
	b, _ := json.Marshal(map[string]any{"rooms": rooms})
	c.sendText(`{"event":"join","data":` + string(b) + `}`)
	c.sync()
}

var syncSeq struct {
	sync.Mutex
	n int
}

// sync round-trips an echo event through the server.
func (c *wsClient) sync() {
	c.t.Helper()
	syncSeq.Lock()
	syncSeq.n++
	n := syncSeq.n
	syncSeq.Unlock()
	frame := fmt.Sprintf(`{"event":"echo","data":{"sync":%d}}`, n)
	c.sendText(frame)
	c.expect(frame)
}
