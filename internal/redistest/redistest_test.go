package redistest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/echows/echows/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartStopRestart(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	addr := srv.Addr()

	srv.Stop()
	srv.Stop() // idempotent
	short, cancelShort := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancelShort()
	if err := c.Ping(short).Err(); err == nil {
		t.Fatal("ping succeeded on a stopped server")
	}

	srv.Restart()
	if got := srv.Addr(); got != addr {
		t.Fatalf("address after restart = %s, want %s", got, addr)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("ping after restart: %v", err)
	}
	if n, err := c.Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("exists after restart = %d, %v; want an empty server", n, err)
	}
}

func TestServersAreSeparate(t *testing.T) {
	a, b := redistest.Start(t), redistest.Start(t)
	if a.Addr() == b.Addr() {
		t.Fatalf("two servers share %s", a.Addr())
	}
	ctx := context.Background()
	if err := a.Client(t).Set(ctx, "k", "a", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Client(t).Exists(ctx, "k").Result(); err != nil || n != 0 {
		t.Fatalf("key set on a is visible on b: %d, %v", n, err)
	}
}

func TestStartCluster(t *testing.T) {
	srv := redistest.StartCluster(t)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{srv.Addr()}})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("cluster set: %v", err)
	}
}

func TestStartSentinel(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master, "m")
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: "m", SentinelAddrs: []string{sentinel.Addr()}})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set through sentinel: %v", err)
	}
	if v, err := master.Client(t).Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("get on master = %q, %v", v, err)
	}
}

func TestStartClusterOf(t *testing.T) {
	c := redistest.StartClusterOf(t, redistest.ClusterOptions{Masters: 3, Replicas: 1})
	if len(c.Masters) != 3 || len(c.Replicas) != 3 {
		t.Fatalf("%d masters and %d replicas, want 3 and 3", len(c.Masters), len(c.Replicas))
	}
	cl := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Keys land on every master.
	owners := map[*redistest.Server]bool{}
	for i := range 30 {
		key := fmt.Sprint("k", i)
		if err := cl.Set(ctx, key, "v", 0).Err(); err != nil {
			t.Fatalf("set %s: %v", key, err)
		}
		owners[c.Owner(c.Slot(key))] = true
	}
	if len(owners) != 3 {
		t.Fatalf("30 keys landed on %d masters, want 3", len(owners))
	}

	// A slot moves.
	slot := c.Slot("moving")
	from := c.Owner(slot)
	to := c.Masters[(slices.Index(c.Masters, from)+1)%3]
	c.MoveSlot(slot, to)
	if got := c.Owner(slot); got != to {
		t.Fatalf("slot %d owned by %s after MoveSlot, want %s", slot, got.Addr(), to.Addr())
	}
	if err := cl.Set(ctx, "moving", "v", 0).Err(); err != nil {
		t.Fatalf("set after move: %v", err)
	}

	// A master dies; its replica takes over its slots.
	victim := c.Masters[0]
	slot0 := 0
	if c.Owner(slot0) != victim {
		t.Fatalf("slot 0 not on the first master")
	}
	victim.Kill()
	c.WaitAgree()
	if got := c.Owner(slot0); got != c.Replicas[0] {
		t.Fatalf("slot 0 owned by %s after the failover, want the replica %s", got.Addr(), c.Replicas[0].Addr())
	}
}

func TestStartFailover(t *testing.T) {
	f := redistest.StartFailover(t, "m", 1)
	c := f.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("set: %v", err)
	}
	old := f.KillMaster()
	m := f.WaitFailover(old)
	if m == old {
		t.Fatal("the killed master is still the master")
	}
	// The client follows Sentinel to the new master, which has the data.
	deadline := time.Now().Add(30 * time.Second)
	for {
		v, err := c.Get(ctx, "k").Result()
		if err == nil && v == "v" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("get through sentinel after failover: %q, %v", v, err)
		}
		time.Sleep(20 * time.Millisecond) // the interval of a bounded poll
	}
}
