package redistest

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// failoverTimeout bounds each wait of a Failover set: for replicas to sync,
// for Sentinel to see them, and for a failover to finish. Every wait ends as
// soon as its condition holds.
const failoverTimeout = 30 * time.Second

// Failover is a master, its replicas and a Redis Sentinel watching them
// under Name, owned by one test: kill the master (KillMaster) and Sentinel
// promotes a replica. Its methods must be called from the test's goroutine.
type Failover struct {
	tb       testing.TB
	Name     string
	Sentinel *Server
	servers  []*Server // the master as started, then the replicas
	sentinel *redis.SentinelClient
}

// StartFailover starts a master, replicas replicas of it and a Sentinel that
// monitors them under name (quorum one, master down after 500 ms), and waits
// until every replica is in sync and Sentinel knows it. Everything stops when
// the test ends.
func StartFailover(tb testing.TB, name string, replicas int) *Failover {
	tb.Helper()
	master := Start(tb)
	f := &Failover{tb: tb, Name: name, servers: []*Server{master}}
	for range replicas {
		f.servers = append(f.servers, start(tb, func(string, int) ([]string, error) {
			return []string{"--replicaof", "127.0.0.1", strconv.Itoa(master.port)}, nil
		}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), failoverTimeout)
	defer cancel()
	f.waitFor(ctx, "replicas in sync", func() error {
		for _, r := range f.servers[1:] {
			info, err := r.adminClient().Info(ctx, "replication").Result()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "master_link_status:up") {
				return fmt.Errorf("replica %s not in sync", r.Addr())
			}
		}
		return nil
	})
	f.Sentinel = StartSentinel(tb, master, name)
	f.sentinel = redis.NewSentinelClient(&redis.Options{Addr: f.Sentinel.Addr()})
	tb.Cleanup(func() { _ = f.sentinel.Close() })
	f.waitFor(ctx, "Sentinel knows every replica", func() error {
		known, err := f.sentinel.Replicas(ctx, name).Result()
		if err != nil {
			return err
		}
		up := 0
		for _, r := range known {
			if flags := r["flags"]; flags == "slave" {
				up++
			}
		}
		if up != replicas {
			return fmt.Errorf("sentinel sees %d healthy replicas of %d: %v", up, replicas, known)
		}
		return nil
	})
	return f
}

// Client returns a new Sentinel-backed client of the set's master, closed
// when tb ends.
func (f *Failover) Client(tb testing.TB) *redis.Client {
	tb.Helper()
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: f.Name, SentinelAddrs: []string{f.Sentinel.Addr()}})
	tb.Cleanup(func() { _ = c.Close() })
	return c
}

// Master returns the server Sentinel names as the master now.
func (f *Failover) Master() *Server {
	f.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	m, err := f.master(ctx)
	if err != nil {
		f.tb.Fatalf("redistest: %v", err)
	}
	return m
}

func (f *Failover) master(ctx context.Context) (*Server, error) {
	addr, err := f.sentinel.GetMasterAddrByName(ctx, f.Name).Result()
	if err != nil {
		return nil, fmt.Errorf("sentinel get-master-addr-by-name %s: %w", f.Name, err)
	}
	port, _ := strconv.Atoi(addr[1])
	i := slices.IndexFunc(f.servers, func(s *Server) bool { return s.port == port })
	if i < 0 {
		return nil, fmt.Errorf("sentinel names %s, none of ours", net.JoinHostPort(addr[0], addr[1]))
	}
	return f.servers[i], nil
}

// KillMaster kills the current master with SIGKILL and returns it. Sentinel
// notices within about 500 ms and promotes a replica; WaitFailover waits for
// that.
func (f *Failover) KillMaster() *Server {
	f.tb.Helper()
	m := f.Master()
	m.Kill()
	return m
}

// WaitFailover waits until Sentinel names another master than old and that
// server says it is a master, and returns it.
func (f *Failover) WaitFailover(old *Server) *Server {
	f.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), failoverTimeout)
	defer cancel()
	var m *Server
	f.waitFor(ctx, "failover", func() error {
		var err error
		if m, err = f.master(ctx); err != nil {
			return err
		}
		if m == old {
			return fmt.Errorf("sentinel still names %s", old.Addr())
		}
		role, err := m.adminClient().Do(ctx, "role").Slice()
		if err != nil {
			return err
		}
		if len(role) == 0 || role[0] != "master" {
			return fmt.Errorf("%s is not a master yet: %v", m.Addr(), role)
		}
		return nil
	})
	return m
}

// waitFor polls cond until it returns nil, failing the test with its last
// error when ctx ends first.
func (f *Failover) waitFor(ctx context.Context, what string, cond func() error) {
	f.tb.Helper()
	pollUntil(f.tb, ctx, failoverTimeout, what, cond)
}
