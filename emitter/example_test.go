package emitter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/emitter"
	"github.com/echows/echows/websocket"
)

// printer is a Publisher that prints what it is given.
type printer struct{}

func (printer) Publish(_ context.Context, channel string, payload []byte) error {
	fmt.Println(channel, string(payload))
	return nil
}

// Each method publishes one envelope on the channel of its target.
func Example() {
	e := emitter.NewWithPublisher(printer{})
	defer e.Close()
	ctx := context.Background()

	_ = e.ToClient(ctx, "3f1c", "invoice.ready", map[string]int{"id": 42})
	_ = e.ToUser(ctx, "alice", "notify", "You have mail")
	_ = e.ToRoom(ctx, "lobby", "chat", json.RawMessage(`{"text":"hi"}`), "3f1c")
	_ = e.Broadcast(ctx, "maintenance", nil)
	// Output:
	// ws:client:3f1c {"serverId":"emitter","type":"client","target":"3f1c","event":"invoice.ready","data":{"id":42}}
	// ws:user:alice {"serverId":"emitter","type":"user","target":"alice","event":"notify","data":"You have mail"}
	// ws:room:lobby {"serverId":"emitter","type":"room","target":"lobby","event":"chat","data":{"text":"hi"},"exclude":["3f1c"]}
	// ws:broadcast {"serverId":"emitter","type":"broadcast","event":"maintenance","data":null}
}

// A worker builds its emitter from its Redis client; the servers subscribed
// to the same Redis deliver the messages.
func ExampleNew() {
	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
	defer rdb.Close() // the emitter borrows the client; its owner closes it

	e := emitter.New(rdb)
	defer e.Close()
	if err := e.ToUser(context.Background(), "alice", "report.done", map[string]string{"url": "/r/1"}); err != nil {
		fmt.Println(err)
	}
}

// In one process, an emitter and a server can share a websocket.MemoryBroker:
// no Redis is needed.
func ExampleNewWithPublisher() {
	broker := websocket.NewMemoryBroker()
	ctx := context.Background()
	sub, _ := broker.Subscribe(ctx, func(channel string, payload []byte) {
		fmt.Println(channel, string(payload))
	})
	defer sub.Close()

	e := emitter.NewWithPublisher(broker)
	_ = e.ToRoom(ctx, "ops", "deploy", "v1.2.3")
	// Output:
	// ws:room:ops {"serverId":"emitter","type":"room","target":"ops","event":"deploy","data":"v1.2.3"}
}

// Errors say what failed and can be tested with errors.Is.
func ExampleEmitter_Close() {
	e := emitter.NewWithPublisher(printer{})
	_ = e.Close()
	err := e.ToRoom(context.Background(), "lobby", "chat", "hi")
	fmt.Println(err)
	fmt.Println(errors.Is(err, emitter.ErrClosed))
	// Output:
	// emit "chat" to room "lobby": emitter: closed
	// true
}
