package interop

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/emitter"
	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/websocket"
)

// goEmitter publishes with echows' emitter package.
type goEmitter struct{}

func (goEmitter) publish(t *testing.T, redisAddr string, ops []op) {
	t.Helper()
	rc := redis.NewClient(&redis.Options{Addr: redisAddr})
	defer rc.Close()
	e := emitter.New(rc)
	defer e.Close()
	ctx, cancel := context.WithTimeout(context.Background(), emitTimeout)
	defer cancel()
	for _, o := range ops {
		var err error
		switch o.Op {
		case "toClient":
			err = e.ToClient(ctx, o.ClientID, o.Event, o.Data)
		case "toUser":
			err = e.ToUser(ctx, o.UserID, o.Event, o.Data)
		case "toRoom":
			err = e.ToRoom(ctx, o.Room, o.Event, o.Data, o.Exclude...)
		case "broadcast":
			err = e.Broadcast(ctx, o.Event, o.Data)
		default:
			t.Fatalf("unknown op %q", o.Op)
		}
		if err != nil {
			t.Fatalf("emitter %s: %v", o.Op, err)
		}
	}
}

// TestGoEmitterToUpstreamServer (b): echows' emitter reaches the clients of
// upstream's server, all four types, byte for byte.
func TestGoEmitterToUpstreamServer(t *testing.T) {
	start(t)
	rs := redistest.Start(t)
	s := startUpstreamServer(t, rs.Addr(), upstreamOptions{})
	deliveryScenario(t, rs.Addr(), s.target(), goEmitter{})
}

// TestGoEmitterToGoServer is the Go-only control of the same scenario.
func TestGoEmitterToGoServer(t *testing.T) {
	start(t)
	forMixedRoutings(t, func(t *testing.T, routing websocket.RedisRouting) {
		rs := redistest.Start(t)
		g := startGoServerRouting(t, rs.Addr(), routing)
		deliveryScenario(t, rs.Addr(), g, goEmitter{})
	})
}
