package main

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/echows/echows/examples/internal/browsertest"
)

// A raw close code on screen ("Connection lost (1006)"): the page must say
// it in words.
var closeCode = regexp.MustCompile(`\b(1\d{3}|4\d{3})\b`)

// text returns the text of the element of selector.
func text(t *testing.T, tab context.Context, selector string) string {
	t.Helper()
	return browsertest.Eval[string](t, tab, "text of "+selector, fmt.Sprintf("document.querySelector(%q).textContent", selector))
}

// noCode fails the test when what the page shows has a close code in it.
func noCode(t *testing.T, where, shown string) {
	t.Helper()
	if closeCode.MatchString(shown) {
		t.Fatalf("%s shows a close code: %q", where, shown)
	}
}

// retryNow clicks "Retry now" if it is shown; when it is not, the page is
// retrying already.
func retryNow(t *testing.T, tab context.Context, box string) {
	t.Helper()
	browsertest.Eval[any](t, tab, "retry now",
		`document.querySelector('`+box+` .retry:not([hidden])')?.click() ?? null`)
}

// What a person sees of the page, item by item of issue 14's list, each
// checked in the DOM and in a screenshot: the login card fits its content;
// Connect while the server is down says why in the card (and Cancel
// stops it); while the
// connection is lost the room says so in words, the member list greys out
// and a message sent is shown pending, then sent on reconnect; a room that
// gets messages while another is open shows an unread count; an empty room
// says so; the leave × is there without hover and works by touch; a close
// the page does not retry sends the person back to the login card, in
// words.
func TestChatPageFeelsFinished(t *testing.T) {
	browsertest.Chromium(t)
	chat := startChat(t, "")
	proxy := browsertest.StartProxy(t, chat.echo.ListenerAddr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	alice := browsertest.Start(t, ctx) // through the proxy, which the test takes down
	bob := browsertest.NewTab(t, alice, "bob")

	// The login card is as tall as its content.
	do(t, alice, "open the page", chromedp.Navigate(proxy.URL()), visible("#name"))
	card := browsertest.Eval[float64](t, alice, "card height", `document.querySelector('#login').getBoundingClientRect().height`)
	window := browsertest.Eval[float64](t, alice, "window height", `window.innerHeight`)
	if card > window/2 {
		t.Errorf("the login card is %.0f px tall in a %.0f px window", card, window)
	}
	browsertest.Screenshot(t, alice, "1-login")

	// Connect while the server is down: the card says why, and when it
	// tries again; Cancel stops trying.
	proxy.SetDown(true)
	do(t, alice, "alice connects while the server is down",
		chromedp.SendKeys(chromedp.ID("name"), "alice"),
		chromedp.Click(chromedp.ID("connect")),
		visible("#login-status"),
		until(`() => /^Cannot reach the server\. Trying again (in \d+ s\.|now…)$/.test(document.querySelector('#login-status .text').textContent)`),
	)
	noCode(t, "the login card", text(t, alice, "#login"))
	browsertest.Screenshot(t, alice, "2-login-server-down")
	do(t, alice, "alice cancels",
		chromedp.Click(chromedp.CSS("#login-status .cancel")),
		until(`() => document.querySelector('#login-status').hidden && document.querySelector('#login-error').hidden &&
			!document.querySelector('#connect').disabled && window.chat.client === null`),
	)
	proxy.SetDown(false)
	do(t, alice, "alice connects again, and gets in",
		chromedp.Click(chromedp.ID("connect")),
		visible(`#rooms li[data-room="lobby"][data-joined="true"]`))
	logIn(t, bob, chat.pageURL(), "bob") // not through the proxy
	sees(t, alice, "alice", "bob")

	// An empty room says so.
	joinRoom(t, alice, "alice", "quiet")
	empty := browsertest.Eval[string](t, alice, "the empty room's text",
		`getComputedStyle(document.querySelector('ol[data-room="quiet"]'), '::before').content`)
	if want := `"No messages in #" attr(data-room) " yet. Say hello!"`; empty != want && empty != `"No messages in #quiet yet. Say hello!"` {
		t.Errorf("the empty room shows %s", empty)
	}
	browsertest.Screenshot(t, alice, "3-empty-room")
	do(t, alice, "alice goes back to the lobby", chromedp.Click(chromedp.CSS(`#rooms li[data-room="lobby"] .open`)))

	// The connection is lost: the room says so in words, the members grey
	// out, and what alice sends waits, on screen.
	proxy.SetDown(true)
	do(t, alice, "alice's page sees the connection lost",
		visible("#banner"),
		until(`() => /^(The connection was lost|Cannot reach the server)\. Trying again/.test(document.querySelector('#banner .text').textContent)`),
		visible("#members.stale"),
	)
	say(t, alice, "alice", "sent while offline")
	do(t, alice, "alice's message shows as pending", until(`() =>
		[...document.querySelectorAll('ol[data-room="lobby"] li.pending[data-status="waiting"]')].some((li) =>
			li.querySelector('.text').textContent === 'sent while offline')`))
	noCode(t, "the banner", text(t, alice, "#banner"))
	browsertest.Screenshot(t, alice, "4-offline-pending")

	// Back: the pending message goes out, and becomes a message.
	proxy.SetDown(false)
	retryNow(t, alice, "#banner")
	hears(t, bob, "bob", "lobby", "alice", "sent while offline")
	hears(t, alice, "alice", "lobby", "alice", "sent while offline")
	do(t, alice, "alice's page is back to normal",
		until(`() => document.querySelectorAll('li.pending').length === 0`),
		visible(`#members:not(.stale)`),
		until(`() => document.querySelector('#banner').hidden`),
	)

	// Unread messages on a room that is not open.
	do(t, alice, "alice opens #quiet", chromedp.Click(chromedp.CSS(`#rooms li[data-room="quiet"] .open`)))
	say(t, bob, "bob", "welcome back, alice")
	do(t, alice, "alice sees an unread message in the lobby",
		visible(`#rooms li[data-room="lobby"].has-unread`),
		until(`() => document.querySelector('#rooms li[data-room="lobby"] .unread').textContent === '1'`),
	)
	browsertest.Screenshot(t, alice, "5-unread")
	do(t, alice, "opening the lobby clears it",
		chromedp.Click(chromedp.CSS(`#rooms li[data-room="lobby"] .open`)),
		until(`() => !document.querySelector('#rooms li[data-room="lobby"]').classList.contains('has-unread')`),
	)

	// On a touch screen: the leave × shows without hover, and a tap on it
	// leaves the room.
	do(t, alice, "alice's page on a phone",
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1190, 10), // no hover on the rooms
		chromedp.EmulateViewport(390, 760, chromedp.EmulateTouch, chromedp.EmulateMobile))
	shown := browsertest.Eval[bool](t, alice, "the × is shown", `(() => {
		const b = document.querySelector('#rooms li[data-room="quiet"] .leave');
		const s = getComputedStyle(b), r = b.getBoundingClientRect();
		return s.visibility === 'visible' && Number(s.opacity) >= 0.5 && r.width >= 24 && r.height >= 24;
	})()`)
	if !shown {
		t.Fatal("the leave × of #quiet is hidden, faint or too small to tap without hover")
	}
	browsertest.Screenshot(t, alice, "6-touch")
	do(t, alice, "alice taps × on #quiet",
		chromedp.Tap(chromedp.CSS(`#rooms li[data-room="quiet"] .leave`)),
		until(`() => !document.querySelector('#rooms li[data-room="quiet"]')`),
	)
	do(t, alice, "back to a wide window", chromedp.EmulateViewport(1200, 760))

	// A close the page does not retry: back to the login card, in words.
	id := browsertest.Eval[string](t, alice, "alice's client id", `window.chat.client.id`)
	if err := chat.server.Disconnect(id, 1008, "Too many connections"); err != nil {
		t.Fatal(err)
	}
	do(t, alice, "alice is back at the login card", visible("#login-error"))
	if got, want := text(t, alice, "#login-error"), "Too many connections for this user: close another tab or window, then connect again."; got != want {
		t.Fatalf("login error %q, want %q", got, want)
	}
	browsertest.Screenshot(t, alice, "7-login-after-stop")
}
