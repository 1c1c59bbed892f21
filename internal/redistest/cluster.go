package redistest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterTimeout bounds each wait of a multi-node cluster for its nodes to
// agree (meeting, slot moves, failovers). Every wait ends as soon as the
// nodes agree.
const clusterTimeout = 30 * time.Second

// ClusterOptions shapes a cluster started by StartClusterOf. The zero value
// of each field means its documented default.
type ClusterOptions struct {
	// Masters is the number of masters; the 16384 slots are split evenly
	// between them, in order. Optional. Default 3.
	Masters int
	// Replicas is the number of replicas of each master. Optional. Default 0.
	Replicas int
	// NodeTimeout is cluster-node-timeout: how long a master may be
	// unreachable before the cluster fails it over to a replica. Optional.
	// Default 1 s (Redis's default is 15 s).
	NodeTimeout time.Duration
}

// Cluster is a Redis Cluster of several redis-server processes owned by one
// test: masters that own slots, and replicas. Its methods must be called from
// the test's goroutine, as they may call tb.Fatal.
type Cluster struct {
	tb testing.TB
	// Masters are the masters as started, in slot order: Masters[0] owns the
	// first slots. A failover does not reorder them.
	Masters []*Server
	// Replicas are the replicas as started: Replicas[i] replicates
	// Masters[i/opts.Replicas].
	Replicas []*Server
	ids      map[*Server]string
}

// StartClusterOf starts a Redis Cluster of opts.Masters masters (each with
// opts.Replicas replicas), splits the slots between the masters, introduces
// the nodes to each other, and waits until every node reports the cluster ok,
// agrees on who owns each slot, and every replica is in sync with its master.
// Every node stops when the test ends.
func StartClusterOf(tb testing.TB, opts ClusterOptions) *Cluster {
	tb.Helper()
	if opts.Masters == 0 {
		opts.Masters = 3
	}
	if opts.NodeTimeout == 0 {
		opts.NodeTimeout = time.Second
	}
	args := func(dir string, _ int) ([]string, error) {
		return []string{
			"--cluster-enabled", "yes",
			"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", strconv.FormatInt(opts.NodeTimeout.Milliseconds(), 10),
			// a cluster with a failed master keeps serving the other slots
			"--cluster-require-full-coverage", "no",
		}, nil
	}
	c := &Cluster{tb: tb, ids: make(map[*Server]string)}
	for range opts.Masters {
		c.Masters = append(c.Masters, start(tb, args))
	}
	for range opts.Masters * opts.Replicas {
		c.Replicas = append(c.Replicas, start(tb, args))
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	all := c.nodes()
	for _, s := range all {
		id, err := c.client(s).Do(ctx, "cluster", "myid").Text()
		if err != nil {
			tb.Fatalf("redistest: cluster myid on %s: %v", s.Addr(), err)
		}
		c.ids[s] = id
	}
	per := 16384 / opts.Masters
	for i, s := range c.Masters {
		lo, hi := i*per, (i+1)*per-1
		if i == opts.Masters-1 {
			hi = 16383
		}
		cl := c.client(s)
		if err := cl.Do(ctx, "cluster", "addslotsrange", lo, hi).Err(); err != nil {
			tb.Fatalf("redistest: cluster addslotsrange on %s: %v", s.Addr(), err)
		}
		// distinct epochs, as redis-cli --cluster create sets them, so that
		// no two masters claim their slots with the same epoch
		if err := cl.Do(ctx, "cluster", "set-config-epoch", i+1).Err(); err != nil {
			tb.Fatalf("redistest: cluster set-config-epoch on %s: %v", s.Addr(), err)
		}
	}
	for _, s := range all[1:] {
		if err := c.client(s).Do(ctx, "cluster", "meet", "127.0.0.1", all[0].port).Err(); err != nil {
			tb.Fatalf("redistest: cluster meet from %s: %v", s.Addr(), err)
		}
	}
	c.waitFor(ctx, "every node knows every other", func() error {
		for _, s := range all {
			nodes, err := c.client(s).ClusterNodes(ctx).Result()
			if err != nil {
				return err
			}
			if n := strings.Count(strings.TrimSpace(nodes), "\n") + 1; n != len(all) || strings.Contains(nodes, "handshake") {
				return fmt.Errorf("%s knows %d of %d nodes:\n%s", s.Addr(), n, len(all), nodes)
			}
		}
		return nil
	})
	for i, r := range c.Replicas {
		m := c.Masters[i/opts.Replicas]
		if err := c.client(r).Do(ctx, "cluster", "replicate", c.ids[m]).Err(); err != nil {
			tb.Fatalf("redistest: cluster replicate %s of %s: %v", r.Addr(), m.Addr(), err)
		}
	}
	c.waitFor(ctx, "replicas in sync", func() error {
		for _, r := range c.Replicas {
			info, err := c.client(r).Info(ctx, "replication").Result()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "master_link_status:up") {
				return fmt.Errorf("replica %s not in sync:\n%s", r.Addr(), info)
			}
		}
		return nil
	})
	c.WaitAgree()
	return c
}

// nodes returns every node, masters first.
func (c *Cluster) nodes() []*Server { return append(slices.Clone(c.Masters), c.Replicas...) }

// Addrs returns the masters' addresses, to seed a cluster client.
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.Masters))
	for i, s := range c.Masters {
		addrs[i] = s.Addr()
	}
	return addrs
}

// Client returns a new cluster client of the cluster, closed when tb ends.
func (c *Cluster) Client(tb testing.TB) *redis.ClusterClient {
	tb.Helper()
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	tb.Cleanup(func() { _ = cl.Close() })
	return cl
}

// client returns the package's own client of node s (not a cluster client).
func (c *Cluster) client(s *Server) *redis.Client { return s.adminClient() }

// ID returns a node's cluster node id.
func (c *Cluster) ID(s *Server) string { return c.ids[s] }

// Slot returns the hash slot of key, as the cluster computes it.
func (c *Cluster) Slot(key string) int {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	slot, err := c.client(c.live()[0]).ClusterKeySlot(ctx, key).Result()
	if err != nil {
		c.tb.Fatalf("redistest: cluster keyslot %q: %v", key, err)
	}
	return int(slot)
}

// Owner returns the master that owns slot, as the first running node sees it.
func (c *Cluster) Owner(slot int) *Server {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	owners, err := c.owners(ctx, c.live()[0])
	if err != nil {
		c.tb.Fatalf("redistest: %v", err)
	}
	return c.byID(owners[slot])
}

// MoveSlot moves an empty slot to master to, as a resharding does (importing
// on the target, migrating on the source, then the new owner set on every
// master), and waits until every running node agrees. Redis then tells the
// clients subscribed to the slot's shard channels on the old owner that they
// are unsubscribed.
func (c *Cluster) MoveSlot(slot int, to *Server) {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	from := c.Owner(slot)
	if from == to {
		return
	}
	do := func(s *Server, args ...any) {
		if err := c.client(s).Do(ctx, append([]any{"cluster", "setslot", slot}, args...)...).Err(); err != nil {
			c.tb.Fatalf("redistest: cluster setslot %d %v on %s: %v", slot, args, s.Addr(), err)
		}
	}
	do(to, "importing", c.ids[from])
	do(from, "migrating", c.ids[to])
	do(to, "node", c.ids[to]) // bumps the target's epoch: its claim wins
	do(from, "node", c.ids[to])
	for _, m := range c.Masters {
		if m != from && m != to && m.running() {
			do(m, "node", c.ids[to])
		}
	}
	c.WaitAgree()
}

// WaitAgree waits until every running node reports the cluster ok and sees
// the same master for every slot. Call it after killing or restarting a node
// to wait for the failover or the recovery to finish.
func (c *Cluster) WaitAgree() {
	c.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	c.waitFor(ctx, "every node agrees on the slots", func() error {
		var first []string
		for _, s := range c.live() {
			info, err := c.client(s).ClusterInfo(ctx).Result()
			if err != nil {
				return err
			}
			if !strings.Contains(info, "cluster_state:ok") {
				return fmt.Errorf("%s: cluster not ok:\n%s", s.Addr(), info)
			}
			owners, err := c.owners(ctx, s)
			if err != nil {
				return err
			}
			for slot, id := range owners {
				if id == "" {
					return fmt.Errorf("%s: slot %d has no owner", s.Addr(), slot)
				}
				if owner := c.byID(id); owner == nil || !owner.running() {
					return fmt.Errorf("%s: slot %d is owned by a node that is down", s.Addr(), slot)
				}
			}
			if first == nil {
				first = owners
			} else if !slices.Equal(first, owners) {
				return fmt.Errorf("%s sees other slot owners than %s", s.Addr(), c.live()[0].Addr())
			}
		}
		return nil
	})
}

// owners returns the master id of every slot as s sees it ("" when none).
func (c *Cluster) owners(ctx context.Context, s *Server) ([]string, error) {
	slots, err := c.client(s).ClusterSlots(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("cluster slots on %s: %w", s.Addr(), err)
	}
	owners := make([]string, 16384)
	for _, r := range slots {
		if len(r.Nodes) == 0 {
			continue
		}
		for slot := r.Start; slot <= r.End; slot++ {
			owners[slot] = r.Nodes[0].ID
		}
	}
	return owners, nil
}

func (c *Cluster) byID(id string) *Server {
	for s, sid := range c.ids {
		if sid == id {
			return s
		}
	}
	return nil
}

// live returns the running nodes, masters first.
func (c *Cluster) live() []*Server {
	var live []*Server
	for _, s := range c.nodes() {
		if s.running() {
			live = append(live, s)
		}
	}
	if len(live) == 0 {
		c.tb.Fatal("redistest: no cluster node is running")
	}
	return live
}

// waitFor polls cond until it returns nil, failing the test with its last
// error when ctx ends first.
func (c *Cluster) waitFor(ctx context.Context, what string, cond func() error) {
	c.tb.Helper()
	pollUntil(c.tb, ctx, clusterTimeout, "cluster: "+what, cond)
}

// pollUntil polls cond until it returns nil, failing tb with cond's last
// error when ctx (whose timeout is timeout) ends first.
func pollUntil(tb testing.TB, ctx context.Context, timeout time.Duration, what string, cond func() error) {
	tb.Helper()
	for {
		err := cond()
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			tb.Fatalf("redistest: %s: not within %v: %v", what, timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // the interval of a bounded poll, not a synchronisation
	}
}
