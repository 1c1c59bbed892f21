package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// The tool's few words with the Redis it started: a command on a fresh
// connection, and INFO read into a map.

// redisDo sends one command to the Redis on 127.0.0.1:port and returns its
// reply: a simple or bulk string, or an integer as text; an error reply is
// an error. Arrays are not read (the tool sends no command that returns
// one).
func redisDo(port int, args ...string) (string, error) {
	nc, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 5*time.Second)
	if err != nil {
		return "", err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	cmd := fmt.Appendf(nil, "*%d\r\n", len(args))
	for _, a := range args {
		cmd = fmt.Appendf(cmd, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := nc.Write(cmd); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(nc))
}

// readReply reads one RESP2 reply that is not an array.
func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return "", errors.New("redis: empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New("redis: " + line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return "", fmt.Errorf("redis: bulk reply %q", line)
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		return string(b[:n]), nil
	}
	return "", fmt.Errorf("redis: unexpected reply %q", line)
}

// clusterAllSlots makes the Redis on port, started with cluster-enabled, a
// one-node cluster holding every slot, and waits until it says it is ok.
func clusterAllSlots(port int) error {
	if _, err := redisDo(port, "CLUSTER", "ADDSLOTSRANGE", "0", "16383"); err != nil {
		return err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := redisDo(port, "CLUSTER", "INFO")
		if err == nil && parseInfo(info)["cluster_state"] == "ok" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis on port %d: cluster not ok after 10 s (%v)", port, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// redisInfo is the text of an INFO reply as key → value ("cmdstat_publish"
// → "calls=3,usec=9,...").
type redisInfo map[string]string

// parseInfo reads an INFO (or CLUSTER INFO) reply: "key:value" lines, with
// "# Section" headers and blank lines between sections.
func parseInfo(s string) redisInfo {
	info := redisInfo{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if k, v, ok := strings.Cut(line, ":"); ok {
			info[k] = v
		}
	}
	return info
}

// int returns a numeric field (0 when absent).
func (info redisInfo) int(key string) int64 {
	n, _ := strconv.ParseInt(info[key], 10, 64)
	return n
}

// calls returns how many times the commands ran, from their commandstats
// lines (cmdstat_<name>:calls=N,...), together.
func (info redisInfo) calls(cmds ...string) int64 {
	var total int64
	for _, c := range cmds {
		for _, f := range strings.Split(info["cmdstat_"+c], ",") {
			if v, ok := strings.CutPrefix(f, "calls="); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				total += n
			}
		}
	}
	return total
}

// subscriptions adds up the channels and patterns every connection of a
// CLIENT LIST reply is subscribed to (its sub=, ssub= and psub= fields).
func subscriptions(clientList string) int64 {
	var total int64
	for _, line := range strings.Split(clientList, "\n") {
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			if k == "sub" || k == "ssub" || k == "psub" {
				n, _ := strconv.ParseInt(v, 10, 64)
				total += n
			}
		}
	}
	return total
}
