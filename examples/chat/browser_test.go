package main

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/echows/echows/examples/internal/browsertest"
	"github.com/echows/echows/examples/worker/job"
)

// The end-to-end tests drive the chat page in a real headless Chromium
// (see examples/internal/browsertest): skipped when none is installed,
// except under CI=true; CI installs the Debian package chromium.
// Screenshots go to $ECHOWS_SCREENSHOT_DIR when it is set (and to the
// test's temporary directory, removed afterwards, when it is not).

var (
	do      = browsertest.Do
	until   = browsertest.Until
	visible = browsertest.Visible
)

// logIn opens the page, picks name and waits until the person is in the
// lobby, which the page joins by itself.
func logIn(t *testing.T, tab context.Context, url, name string) {
	t.Helper()
	do(t, tab, name+" logs in",
		chromedp.Navigate(url),
		visible("#name"),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.Click(chromedp.CSS("#login-form button")),
		visible(`#state[data-state="open"]`),
		visible(`#rooms li[data-room="lobby"][data-joined="true"]`),
	)
}

// joinRoom joins room through the form and waits for the server's answer.
func joinRoom(t *testing.T, tab context.Context, who, room string) {
	t.Helper()
	do(t, tab, who+" joins "+room,
		chromedp.SendKeys(chromedp.ID("room"), room),
		chromedp.Click(chromedp.CSS("#join-form button")),
		visible(`#rooms li[data-room="`+room+`"][data-joined="true"]`),
	)
}

func say(t *testing.T, tab context.Context, who, text string) {
	t.Helper()
	do(t, tab, who+" says "+text,
		chromedp.SendKeys(chromedp.ID("text"), text),
		chromedp.Click(chromedp.CSS("#send-form button")),
	)
}

// hears waits until a message with text from sender shows in room.
func hears(t *testing.T, tab context.Context, who, room, from, text string) {
	t.Helper()
	do(t, tab, who+" hears "+from+": "+text, until(`(room, from, text) =>
		[...document.querySelectorAll('#messages ol[data-room="' + room + '"] li.msg:not(.pending)')].some((li) =>
			li.querySelector('.from').textContent === from && li.querySelector('.text').textContent === text)`,
		room, from, text))
}

// sees waits until user is in the member list on screen.
func sees(t *testing.T, tab context.Context, who, user string) {
	t.Helper()
	do(t, tab, who+" sees "+user+" in the room", until(`(user) =>
		[...document.querySelectorAll('#members li')].some((li) => li.textContent === user)`, user))
}

// Two people chat in a room; one's connection is dropped by the server,
// and the page reconnects, authenticates again, joins its rooms again and
// hears the next message.
func TestChatInBrowser(t *testing.T) {
	browsertest.Chromium(t) // skips before anything starts
	chat := startChat(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)

	alice := browsertest.Start(t, ctx)
	bob := browsertest.NewTab(t, alice, "bob")
	logIn(t, alice, chat.pageURL(), "alice")
	logIn(t, bob, chat.pageURL(), "bob")
	joinRoom(t, alice, "alice", "test-room")
	joinRoom(t, bob, "bob", "test-room")
	sees(t, alice, "alice", "bob")
	sees(t, bob, "bob", "alice")

	say(t, bob, "bob", "hello from bob")
	hears(t, alice, "alice", "test-room", "bob", "hello from bob")
	hears(t, bob, "bob", "test-room", "bob", "hello from bob")

	// The server drops alice's connection.
	clients := chat.server.UserClients("alice")
	if len(clients) != 1 {
		t.Fatalf("alice has %d connections, want 1", len(clients))
	}
	dropped := clients[0].ID()
	shown, err := chromedp.Run(alice, chromedp.Evaluate[string](`window.chat.client.id`))
	if err != nil || shown != dropped {
		t.Fatalf("the page says its client id is %q (%v), the server %q", shown, err, dropped)
	}
	do(t, alice, "record alice's states", chromedp.Evaluate[chromedp.Void](
		`window.states = []; window.chat.client.on('state', (s) => window.states.push(s))`))
	if err := chat.server.Disconnect(dropped, 4000, "test drop"); err != nil {
		t.Fatal(err)
	}
	do(t, alice, "alice reconnects", until(`(dropped) => {
		const c = window.chat.client;
		return c.state === 'open' && c.id && c.id !== dropped &&
			document.querySelector('#rooms li[data-room="test-room"]').dataset.joined === 'true';
	}`, dropped))
	states, err := chromedp.Run(alice, chromedp.Evaluate[[]string](`window.states`))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"reconnecting", "authenticating", "open"}; !slices.Equal(states, want) {
		t.Fatalf("alice went through states %q, want %q", states, want)
	}
	now := chat.server.UserClients("alice")
	if len(now) != 1 || now[0].ID() == dropped {
		t.Fatalf("after the reconnect the server has alice on %v", now)
	}
	// bob's page heard that alice's old connection left the room and her
	// new one joined it.
	do(t, bob, "bob sees alice's new connection", until(`(dropped, back) => {
		const members = window.chat.rooms.get('test-room').members;
		return !members.has(dropped) && members.get(back) === 'alice';
	}`, dropped, now[0].ID()))

	say(t, bob, "bob", "welcome back")
	hears(t, alice, "alice", "test-room", "bob", "welcome back")
	say(t, alice, "alice", "thanks, still here")
	hears(t, bob, "bob", "test-room", "alice", "thanks, still here")

	// A job of the worker example, on the app's own emitter: alice's page
	// shows its progress, the room its announcements.
	if err := job.Run(ctx, chat.emitter, job.Options{ID: "e2e-job", User: "alice", Room: "test-room", Steps: 4, Interval: -1}); err != nil {
		t.Fatal(err)
	}
	do(t, alice, "alice sees the job done",
		visible(`#jobs [data-job="e2e-job"][data-status="done"]`),
		until(`() => [...document.querySelectorAll('#messages ol[data-room="test-room"] li.announcement')]
			.some((li) => li.textContent.includes('job e2e-job finished'))`),
	)

	browsertest.Screenshot(t, alice, "chat-alice")
	browsertest.Screenshot(t, bob, "chat-bob")
}
