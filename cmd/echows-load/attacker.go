package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// The attackers of a phase run in a process of their own (this tool, run
// with -attack-child), pinned like the tool: thousands of flooding or idle
// sockets in the process that measures the ordinary clients' round trips
// would add that process's own delays (its scheduler, its garbage
// collector, its poller) to the figures, as they would not if the attackers
// were other machines. The child runs at the lowest priority, so that its
// share of the tool's core is what the tool does not use.

// attackReadyTimeout bounds the start of a phase's attackers (10,000
// connections take seconds).
const attackReadyTimeout = 5 * time.Minute

// startAttackProcess starts the attackers of phase against addr in a child
// process and returns what startAttack returns; sent and closed follow the
// child's counts (reported every 250 ms), and stop ends the child.
func startAttackProcess(o options, phase, addr string) (stop func(), sent, closed *atomic.Int64, n int, err error) {
	sent, closed = new(atomic.Int64), new(atomic.Int64)
	noop := func() {}
	if phase == "quiet" {
		return noop, sent, closed, 0, nil
	}
	exe, err := os.Executable()
	if err != nil {
		return noop, sent, closed, 0, err
	}
	// At nice 19 the attackers take what CPU the measuring process leaves:
	// sharing its core at an equal share, they held it for the kernel's
	// time slices (milliseconds) while a probe's answer waited.
	cmd := exec.Command("nice", "-n", "19", exe, "-attack-child", phase+"="+addr,
		"-attack-pingers", strconv.Itoa(o.attackPingers),
		"-attack-flooders", strconv.Itoa(o.attackFlooders),
		"-attack-idle", strconv.Itoa(o.attackIdle),
		"-dial-concurrency", strconv.Itoa(o.dialConc),
		"-dial-timeout", o.dialTimeout.String())
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return noop, sent, closed, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return noop, sent, closed, 0, err
	}
	if err := cmd.Start(); err != nil {
		return noop, sent, closed, 0, fmt.Errorf("start the attackers: %w", err)
	}
	type ready struct {
		n   int
		err error
	}
	readyc := make(chan ready, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.SplitN(sc.Text(), " ", 3)
			switch {
			case f[0] == "READY" && len(f) == 3:
				k, _ := strconv.Atoi(f[1])
				var err error
				if f[2] != "" {
					err = errors.New(f[2])
				}
				readyc <- ready{k, err}
			case f[0] == "SENT" && len(f) == 3:
				s, _ := strconv.ParseInt(f[1], 10, 64)
				c, _ := strconv.ParseInt(f[2], 10, 64)
				sent.Store(s)
				closed.Store(c)
			}
		}
		readyc <- ready{0, errors.New("the attacker process ended before it was ready")}
	}()
	stop = func() {
		stdin.Close()
		<-done
		cmd.Wait()
	}
	select {
	case r := <-readyc:
		return stop, sent, closed, r.n, r.err
	case <-time.After(attackReadyTimeout):
		cmd.Process.Kill()
		stop()
		return noop, sent, closed, 0, fmt.Errorf("the attacker process was not ready after %v", attackReadyTimeout)
	}
}

// attackChild is the attacker process: it starts the attackers of the
// phase in spec ("phase=addr"), prints "READY <n> <error>", then
// "SENT <bytes> <closed>" every 250 ms, and stops them when its standard
// input closes.
func attackChild(o options, spec string) {
	phase, addr, _ := strings.Cut(spec, "=")
	stop, sent, closed, n, err := startAttack(o, phase, addr)
	msg := ""
	if err != nil {
		msg = strings.ReplaceAll(err.Error(), "\n", " ")
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "READY %d %s\n", n, msg)
	out.Flush()
	eof := make(chan struct{})
	go func() {
		_, _ = bufio.NewReader(os.Stdin).ReadString(0) // until EOF
		close(eof)
	}()
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-eof:
			stop()
			return
		case <-t.C:
			fmt.Fprintf(out, "SENT %d %d\n", sent.Load(), closed.Load())
			out.Flush()
		}
	}
}
