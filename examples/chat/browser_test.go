package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/echows/echows/examples/worker/job"
)

// The end-to-end test drives the chat page in a real headless Chromium. It
// is skipped when no Chromium is installed; CI installs the Debian package
// chromium. Screenshots go to $ECHOWS_SCREENSHOT_DIR when it is set (and to
// the test's temporary directory, removed afterwards, when it is not).

// waitTimeout bounds every wait for the page. It guards against a hung
// test; it is no assertion about speed.
const waitTimeout = 15 * time.Second

// browsers are the names Chromium goes by; $ECHOWS_CHROMIUM overrides them.
var browsers = []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"}

func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("ECHOWS_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range browsers {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("chromium not found: install the Debian package chromium (or set ECHOWS_CHROMIUM to a Chrome binary)")
	return ""
}

// startBrowser starts a headless Chromium with a fresh profile and returns
// the context of its first tab. The browser is gone when the test ends.
func startBrowser(t *testing.T, ctx context.Context) context.Context {
	t.Helper()
	chromium := findChromium(t)
	t.Logf("browser: %s", chromium)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // CI runs as root, where the sandbox cannot start
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 760),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc) // kills the browser and waits for it
	tab, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelTab)
	if err := chromedp.Do(tab); err != nil { // starts the browser
		t.Fatalf("start chromium: %v", err)
	}
	logConsole(t, tab, "tab 1")
	return tab
}

// newTab opens a tab in a browser context of its own (its own storage, as a
// second person on another computer would have).
func newTab(t *testing.T, browser context.Context, name string) context.Context {
	t.Helper()
	tab, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open tab %s: %v", name, err)
	}
	logConsole(t, tab, name)
	return tab
}

// logConsole copies what the page writes to its console into the test log.
func logConsole(t *testing.T, tab context.Context, name string) {
	var wg sync.WaitGroup
	wg.Add(1)
	messages := chromedp.Console(tab)
	go func() {
		defer wg.Done()
		for m, err := range messages {
			if err != nil {
				return // the tab is closed
			}
			t.Logf("%s console: %s", name, m)
		}
	}()
	// Cleanups run last-in first-out: this one runs before those that
	// closed the tab and the browser.
	t.Cleanup(func() {
		chromedp.Cancel(tab)
		wg.Wait()
	})
}

// do runs actions in a tab, failing the test with what was being done.
func do(t *testing.T, tab context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tab, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// until waits for a JavaScript function of args to return a truthy value.
func until(fn string, args ...any) chromedp.Action[chromedp.Void] {
	return chromedp.PollFunction[chromedp.Void](fn,
		chromedp.WithPollingArgs(args...),
		chromedp.WithPollingInterval(20*time.Millisecond),
		chromedp.WithPollingTimeout(waitTimeout),
	)
}

func visible(selector string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(chromedp.CSS(selector))
}

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
		[...document.querySelectorAll('#messages ol[data-room="' + room + '"] li.msg')].some((li) =>
			li.querySelector('.from').textContent === from && li.querySelector('.text').textContent === text)`,
		room, from, text))
}

// sees waits until user is in the member list on screen.
func sees(t *testing.T, tab context.Context, who, user string) {
	t.Helper()
	do(t, tab, who+" sees "+user+" in the room", until(`(user) =>
		[...document.querySelectorAll('#members li')].some((li) => li.textContent === user)`, user))
}

func screenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := os.Getenv("ECHOWS_SCREENSHOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// Two people chat in a room; one's connection is dropped by the server,
// and the page reconnects, authenticates again, joins its rooms again and
// hears the next message.
func TestChatInBrowser(t *testing.T) {
	findChromium(t) // skips before anything starts
	chat := startChat(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)

	alice := startBrowser(t, ctx)
	bob := newTab(t, alice, "bob")
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

	screenshot(t, alice, "chat-alice")
	screenshot(t, bob, "chat-bob")
}

// The client library on its own, in the browser: a refused authentication
// ends it without a reconnect loop, and what is sent before the connection
// is open is queued and sent after the rooms were joined.
func TestClientLibraryInBrowser(t *testing.T) {
	findChromium(t)
	chat := startChat(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	tab := startBrowser(t, ctx)
	logIn(t, tab, chat.pageURL(), "alice")
	joinRoom(t, tab, "alice", "test-room")

	type refused struct {
		Message string   `json:"message"`
		Code    int      `json:"code"`
		State   string   `json:"state"`
		States  []string `json:"states"`
		Errors  []string `json:"errors"`
	}
	got, err := chromedp.Run(tab, chromedp.Evaluate[refused](`(async () => {
		const { EchowsClient } = await import('/echows.js');
		const c = new EchowsClient({ credentials: { name: '' }, reconnect: { minDelay: 1, maxDelay: 1 } });
		const states = [], errors = [];
		c.on('state', (s) => states.push(s));
		c.on('error', (e) => errors.push(e.message));
		try {
			await c.connect();
			return { message: 'connected' };
		} catch (e) {
			return { message: e.message, code: e.code, state: c.state, states, errors };
		}
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	want := refused{Message: "Authentication failed: the server refused the credentials", Code: 4003, State: "closed",
		States: []string{"connecting", "authenticating", "closed"}, Errors: []string{"Authentication failed"}}
	if got.Message != want.Message || got.Code != want.Code || got.State != want.State ||
		!slices.Equal(got.States, want.States) || !slices.Equal(got.Errors, want.Errors) {
		t.Fatalf("empty name: got %+v, want %+v", got, want)
	}

	type queued struct {
		Sent    bool     `json:"sent"`
		UserID  string   `json:"userId"`
		Rooms   []string `json:"rooms"`
		Refused string   `json:"refused"`
	}
	q, err := chromedp.Run(tab, chromedp.Evaluate[queued](`(async () => {
		const { EchowsClient } = await import('/echows.js');
		const c = new EchowsClient({ credentials: async () => ({ name: 'carol' }) });
		c.join('test-room');
		const sent = c.send('chat', { room: 'test-room', text: 'queued before connecting' });
		const answered = new Promise((resolve) => c.once('who', resolve));
		const info = await c.connect();
		c.send('who', { room: 'test-room' });
		await answered; // so the queued chat was handled too
		c.close();
		let refused = '';
		try { c.send('chat', {}); } catch (e) { refused = e.name; }
		return { sent, userId: info.userId, rooms: c.rooms, refused };
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if q.Sent || q.UserID != "carol" || !slices.Equal(q.Rooms, []string{"test-room"}) || q.Refused != "EchowsError" {
		t.Fatalf("queued send: got %+v", q)
	}
	hears(t, tab, "alice", "test-room", "carol", "queued before connecting")
}
