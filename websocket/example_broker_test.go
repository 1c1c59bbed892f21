package websocket_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/websocket"
	"github.com/echows/echows/websocket/wire"
)

// A Redis broker that routes by interest: the subscription hears a room only
// between Listen and Unlisten. This is what the server does for its rooms,
// clients and users; an application only configures the broker.
func ExampleNewRedisBroker() {
	app := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer app.Close()
	broker, err := websocket.NewRedisBroker(app, websocket.RedisBrokerOptions{
		Routing:      websocket.RoutingInterest, // or RoutingSharded on a Redis Cluster
		ListenGrace:  5 * time.Second,           // a room that empties and refills costs nothing
		OutboxMaxAge: 10 * time.Second,          // publishes wait this long for Redis to come back
	})
	if err != nil {
		log.Fatal(err)
	}
	defer broker.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sub, err := broker.Subscribe(ctx, func(channel string, payload []byte) {
		log.Printf("%s: %s", channel, payload)
	})
	if err != nil {
		log.Fatal(err) // wraps websocket.ErrBrokerNotReady
	}
	defer sub.Close()

	// A room gets its first local member: hear it before saying so.
	room := wire.RoomChannel("lobby")
	switch err := sub.Listen(ctx, room); {
	case errors.Is(err, websocket.ErrBrokerNotReady):
		// Redis is away: the room is heard once it is back, before
		// sub.Ready() is closed again.
	case err != nil:
		log.Print(err)
	}
	defer sub.Unlisten(room) // the last member left

	// Readiness, for a probe.
	select {
	case <-sub.Ready():
		log.Print("every interest is subscribed")
	default:
		log.Print("subscriptions are being restored")
	}
}
