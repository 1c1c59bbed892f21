package websocket

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/internal/redistest"
)

func TestMemoryBrokerHealth(t *testing.T) {
	b := NewMemoryBroker()
	if b.Health().Live {
		t.Fatal("live without a subscription")
	}
	sub, err := b.Subscribe(context.Background(), func(string, []byte) {})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Health().Live {
		t.Fatal("not live with a subscription")
	}
	sub.Close()
	if b.Health().Live {
		t.Fatal("live after the subscription closed")
	}
}

// A RedisBroker's subscriptions are live once confirmed, not while Redis is
// away, and live again, with the reconnect counted, once it is back.
func TestRedisBrokerHealth(t *testing.T) {
	rs := redistest.Start(t)
	rc := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer rc.Close()
	b, err := NewRedisBroker(rc, RedisBrokerOptions{Logger: quietLogger(), HealthInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if h := b.Health(); h.Live || h.Reconnects != 0 {
		t.Fatalf("health before Subscribe: %+v", h)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	sub, err := b.Subscribe(ctx, func(string, []byte) {})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if h := b.Health(); !h.Live {
		t.Fatalf("health once subscribed: %+v", h)
	}

	rs.Stop()
	waitFor(t, "the subscription down", func() bool { return !b.Health().Live })
	rs.Restart()
	waitFor(t, "the subscription back", func() bool { return b.Health().Live })
	if h := b.Health(); h.Reconnects != 1 {
		t.Fatalf("reconnects %d, want 1", h.Reconnects)
	}
	sub.Close()
	if b.Health().Live {
		t.Fatal("live with no subscription left")
	}
}
