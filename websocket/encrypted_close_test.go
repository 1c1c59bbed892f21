package websocket

import (
	"context"
	"testing"

	"github.com/echows/echows/websocket/wire"
)

// Close sends its close frame "after what is already queued for the
// client" (Client.Close). For an encrypted client what is queued is
// transformed by its writer, and queueing the close cancels the client's
// context: the transforms of the messages queued before the close must
// still run, not be dropped because the close came after them.
func TestEncryptedClientGetsWhatWasQueuedBeforeClose(t *testing.T) {
	ts := startServer(t, Config{Hooks: Hooks{TransformOutbound: sealing}})
	m := ts.members(t, "a")
	if err := ts.EnableClientEncryption(m[0].id); err != nil {
		t.Fatal(err)
	}
	cl, _ := ts.Client(m[0].id)
	if err := cl.Send("bye", "see you"); err != nil {
		t.Fatal(err)
	}
	if err := cl.Close(4000, "done"); err != nil {
		t.Fatal(err)
	}
	m[0].c.expect(wire.EventEncrypted) // the sealed "bye"
	m[0].c.expectClose(4000, "done")
}

// The same on Shutdown: every client gets what was sent to it before the
// 1001, encrypted or not. The transform of the broadcast is still running
// when Shutdown queues the close.
func TestEncryptedClientGetsWhatWasQueuedBeforeShutdown(t *testing.T) {
	closeQueued := make(chan struct{})
	transform := func(ctx context.Context, c *Client, msg Message) (*Message, error) {
		if msg.Event == "news" {
			<-closeQueued
		}
		return sealing(ctx, c, msg)
	}
	ts := startServer(t, Config{Hooks: Hooks{TransformOutbound: transform}})
	m := ts.members(t, "plain", "secret")
	if err := ts.EnableClientEncryption(m[1].id); err != nil {
		t.Fatal(err)
	}
	cl, _ := ts.Client(m[1].id)
	ts.Local().Broadcast("news", 1)
	done := make(chan error, 1)
	go func() { done <- ts.Shutdown(t.Context()) }()
	waitFor(t, "Shutdown to queue the close", func() bool {
		cl.out.mu.Lock()
		defer cl.out.mu.Unlock()
		return cl.out.closed
	})
	close(closeQueued)
	m[0].c.expect("news")
	m[1].c.expect(wire.EventEncrypted)
	m[0].c.expectClose(1001, wire.ReasonShuttingDown)
	m[1].c.expectClose(1001, wire.ReasonShuttingDown)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
