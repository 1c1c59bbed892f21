// Package redistest starts a private redis-server for one test.
//
// Redis pub/sub channels are global to a server and go test runs packages in
// parallel, so a test that publishes or subscribes must never share a server
// with another test (and never use a Redis on 127.0.0.1:6379). Start runs a
// fresh redis-server on a free loopback port with persistence off, and stops
// it when the test ends. Stop and Restart (same port) simulate an outage.
//
// StartCluster runs a one-node Redis Cluster that owns every slot, and
// StartSentinel a Sentinel watching a server, for tests of those clients.
// StartClusterOf runs a real multi-node cluster (masters with their slots,
// optional replicas) whose slots can be moved and whose masters can be killed
// (see Cluster), and StartFailover a master, replicas and a Sentinel that
// promotes a replica when the master is killed (see Failover).
//
// When redis-server is not installed the test is skipped with a message that
// says so, and fails under CI=true (package testenv): CI installs it. Sentinel
// runs as redis-server --sentinel (Debian's redis-sentinel is the same
// program), so redis-server is all it needs.
package redistest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/internal/testenv"
)

// Bounds of the polling loops. They are generous because CI machines can be
// slow; every loop ends as soon as its condition holds.
const (
	readyTimeout = 10 * time.Second       // from exec to the first PONG
	stopTimeout  = 10 * time.Second       // from SIGTERM to exit, before SIGKILL
	portTimeout  = 10 * time.Second       // for the port to be bindable again
	pollInterval = 5 * time.Millisecond   // between two checks of a condition
	probeTimeout = 200 * time.Millisecond // of one PING probe
	startTries   = 5                      // fresh ports tried when one is taken
)

// Server is a redis-server process owned by one test. Its methods are safe
// for concurrent use; Restart must be called from the test's goroutine, as it
// may call tb.Fatal.
type Server struct {
	tb   testing.TB
	bin  string
	dir  string
	port int
	// args returns the mode-specific arguments of a server with its files in
	// dir, listening on port.
	args func(dir string, port int) ([]string, error)

	mu    sync.Mutex    // serialises Stop, Restart and start
	proc  *process      // nil when stopped
	admin *redis.Client // for the package's own polls; see adminClient
}

// process is one run of redis-server.
type process struct {
	cmd    *exec.Cmd
	out    *syncBuffer   // its stdout and stderr, for failure messages
	exited chan struct{} // closed once cmd.Wait returned
	err    error         // cmd.Wait's result, readable after exited is closed
}

// Start starts a redis-server on a free 127.0.0.1 port, waits until it
// answers PING, and registers Stop with tb.Cleanup. It skips the test when
// redis-server is not installed (fails it under CI=true), and fails it when
// the server does not start.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return start(tb, func(string, int) ([]string, error) { return nil, nil })
}

// StartCluster starts a redis-server in cluster mode, assigns it every slot,
// and waits until the cluster reports itself ok: a one-node Redis Cluster,
// for redis.ClusterClient. Its cluster state survives Restart.
func StartCluster(tb testing.TB) *Server {
	tb.Helper()
	s := start(tb, func(dir string, _ int) ([]string, error) {
		return []string{"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf")}, nil
	})
	c := s.Client(tb)
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	if err := c.Do(ctx, "cluster", "addslotsrange", 0, 16383).Err(); err != nil {
		tb.Fatalf("redistest: cluster addslotsrange: %v", err)
	}
	for {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") {
			return s
		}
		if ctx.Err() != nil {
			tb.Fatalf("redistest: cluster not ok within %v: %v\n%s", readyTimeout, err, info)
		}
		time.Sleep(pollInterval) // the interval of a bounded poll, not a synchronisation
	}
}

// StartSentinel starts a Redis Sentinel that monitors master under name,
// with a quorum of one, for redis.NewFailoverClient. It considers a master
// down after 500 ms without an answer (the default is 30 s), so that a
// failover test does not wait for long.
func StartSentinel(tb testing.TB, master *Server, name string) *Server {
	tb.Helper()
	return start(tb, func(dir string, _ int) ([]string, error) {
		// Sentinel insists on a config file it can rewrite.
		conf := filepath.Join(dir, "sentinel.conf")
		text := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d 1\n"+
			"sentinel down-after-milliseconds %[1]s 500\n"+
			"sentinel failover-timeout %[1]s 10000\n", name, master.port)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return nil, err
		}
		return []string{conf, "--sentinel"}, nil
	})
}

// start runs a server with the given mode-specific arguments; see Start.
func start(tb testing.TB, args func(dir string, port int) ([]string, error)) *Server {
	tb.Helper()
	bin := testenv.LookPath(tb, "redistest: install it (apt-get install redis-server) to run this test", "redis-server")
	s := &Server{tb: tb, bin: bin, dir: tb.TempDir(), args: args}
	tb.Cleanup(s.Stop)

	s.mu.Lock()
	defer s.mu.Unlock()
	// A free port can be taken by another process between our probe and the
	// server's bind; the server then exits at once and we try another port.
	var lastErr error
	for range startTries {
		var err error
		if s.port, err = freePort(); err != nil {
			tb.Fatalf("redistest: %v", err)
		}
		if lastErr = s.startLocked(); lastErr == nil {
			return s
		}
	}
	tb.Fatalf("redistest: %v", lastErr)
	return nil
}

// Addr returns the server's address, "127.0.0.1:<port>". It is the same
// after Restart.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// Client returns a new client of the server, closed when tb ends.
func (s *Server) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr()})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// adminClient returns the package's own client of the server, for polling
// loops: one client for the server's life, not one per poll.
func (s *Server) adminClient() *redis.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin == nil {
		s.admin = redis.NewClient(&redis.Options{Addr: s.Addr()})
		s.tb.Cleanup(func() { _ = s.admin.Close() })
	}
	return s.admin
}

// Stop stops the server (SIGTERM, then SIGKILL if it has not exited within
// 10 s) and waits for the process to exit, which closes every client
// connection. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
}

// Kill kills the server with SIGKILL, as a crash or a lost machine would, and
// waits for the process to exit: it gets no chance to close its connections
// cleanly or to tell anyone. Killing a stopped server does nothing.
func (s *Server) Kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.proc
	if p == nil {
		return
	}
	s.proc = nil
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// running reports whether the server's process runs.
func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}

// Restart stops the server if it runs, waits until its port can be bound
// again, starts a new, empty server on the same port and waits until it
// answers PING. It fails the test when any of that does not happen in time.
func (s *Server) Restart() {
	s.tb.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked()
	if err := waitPortFree(s.port); err != nil {
		s.tb.Fatalf("redistest: restart: %v", err)
	}
	if err := s.startLocked(); err != nil {
		s.tb.Fatalf("redistest: restart: %v", err)
	}
}

// startLocked runs redis-server on s.port and polls it until it answers
// PING, exits, or readyTimeout passes.
func (s *Server) startLocked() error {
	p := &process{out: &syncBuffer{}, exited: make(chan struct{})}
	args, err := s.args(s.dir, s.port)
	if err != nil {
		return err
	}
	p.cmd = exec.Command(s.bin, append(args,
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--daemonize", "no",
		"--loglevel", "warning",
	)...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = sysProcAttr()
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	s.proc = p

	deadline := time.Now().Add(readyTimeout)
	for {
		err := ping(s.Addr())
		if err == nil {
			return nil
		}
		select {
		case <-p.exited:
			s.proc = nil
			return fmt.Errorf("redis-server on port %d exited (%v) before answering PING; its output:\n%s", s.port, p.err, p.out)
		default:
		}
		if time.Now().After(deadline) {
			s.stopLocked()
			return fmt.Errorf("redis-server on port %d did not answer PING within %v (%v); its output:\n%s", s.port, readyTimeout, err, p.out)
		}
		t := time.NewTimer(pollInterval)
		select {
		case <-p.exited:
		case <-t.C:
		}
		t.Stop()
	}
}

func (s *Server) stopLocked() {
	p := s.proc
	if p == nil {
		return
	}
	s.proc = nil
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(stopTimeout)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// ping sends one inline PING to addr and expects +PONG.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, probeTimeout)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(probeTimeout)); err != nil {
		return err
	}
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitPortFree polls until port can be bound on 127.0.0.1 again.
func waitPortFree(port int) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(portTimeout)
	for {
		l, err := net.Listen("tcp", addr)
		if err == nil {
			return l.Close()
		}
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			return fmt.Errorf("port %d not free: %w", port, err)
		}
		time.Sleep(pollInterval) // the interval of a bounded poll, not a synchronisation
	}
}

// syncBuffer is a bytes.Buffer safe for exec's copying goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
