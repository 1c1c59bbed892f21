package main

import (
	"context"
	"testing"
	"time"

	"github.com/echows/echows/examples/internal/browsertest"
)

// The page's status panel (static/status.js) shows the server's live
// status: the connections, messages per second while people talk, and the
// broker's state; the screenshot shows it in the header.
func TestStatusPanelInBrowser(t *testing.T) {
	browsertest.Chromium(t) // skips before anything starts
	chat := startChat(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	alice := browsertest.Start(t, ctx)
	logIn(t, alice, chat.pageURL(), "alice")
	do(t, alice, "the panel shows one connection and a live broker", until(`() => {
		const p = document.querySelector('#server-status');
		return p && p.querySelector('[data-field="connections"]').textContent === '1' &&
			p.querySelector('[data-field="broker"]').dataset.state === 'live';
	}`))
	for range 5 {
		say(t, alice, "alice", "hello")
	}
	hears(t, alice, "alice", "lobby", "alice", "hello")
	do(t, alice, "the panel shows messages per second", until(`() =>
		Number(document.querySelector('#server-status [data-field="messagesPerSecond"]').textContent) > 0`))
	browsertest.Screenshot(t, alice, "chat-status-panel")
}
