package main

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/emitter"
	"github.com/echows/echows/examples/worker/job"
	"github.com/echows/echows/internal/redistest"
	"github.com/echows/echows/internal/wstest"
)

// chatter is a WebSocket client of the chat, speaking its events.
type chatter struct {
	*wstest.Client
	id string
}

// connect dials the chat at url and authenticates as name.
func connect(t *testing.T, url, name string) chatter {
	t.Helper()
	c := wstest.Dial(t, url)
	c.Send("authenticate", Credentials{Name: name})
	var d wstest.Connected
	if err := json.Unmarshal(c.Expect("connected").Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.UserID != name {
		t.Fatalf("connected as %q, want %q", d.UserID, name)
	}
	return chatter{Client: c, id: d.ID}
}

// enter joins room and asks who is there; the answer comes once the join
// is done, since the server handles a client's messages in order.
func (c chatter) enter(t *testing.T, room string) whoAnswer {
	t.Helper()
	c.Send("join", map[string][]string{"rooms": {room}})
	c.Send("who", map[string]string{"room": room})
	a := expect[whoAnswer](t, c, "who")
	if !a.Joined {
		t.Fatalf("join %q refused", room)
	}
	return a
}

// expect reads until an event named event and decodes its data into v.
// Other events are skipped (presence, mostly).
func expect[T any](t *testing.T, c chatter, event string) T {
	t.Helper()
	for {
		m, err := c.Next()
		if err != nil {
			t.Fatalf("waiting for %q: %v", event, err)
		}
		if m.Event != event {
			continue
		}
		var v T
		if err := json.Unmarshal(m.Data, &v); err != nil {
			t.Fatalf("%s data %s: %v", event, m.Data, err)
		}
		return v
	}
}

// expectPresence reads until the presence event of user with status.
// Others are skipped: an announcement published just before a client
// joined may or may not reach it, depending on which instance is faster.
func expectPresence(t *testing.T, c chatter, user, status string) presence {
	t.Helper()
	for {
		p := expect[presence](t, c, "presence")
		if p.User == user && p.Status == status {
			return p
		}
	}
}

// Two chat instances on one Redis share a room: a message said on one is
// heard on the other, and presence crosses too.
func TestTwoInstancesShareRooms(t *testing.T) {
	rs := redistest.Start(t)
	a, b := startChat(t, rs.Addr()), startChat(t, rs.Addr())

	alice := connect(t, a.wsURL(), "alice")
	alice.enter(t, "ops")
	bob := connect(t, b.wsURL(), "bob")
	who := bob.enter(t, "ops")
	if len(who.Members) != 1 || who.Members[0].User != "bob" {
		t.Fatalf("bob's instance knows members %+v, want only bob (alice is on the other instance)", who.Members)
	}

	// bob's who announced him: alice, on the other instance, hears it and
	// answers "here" (what the page does), which reaches bob's client.
	joined := expectPresence(t, alice, "bob", "joined")
	if joined != (presence{Room: "ops", User: "bob", Client: bob.id, Status: "joined"}) {
		t.Fatalf("alice got %+v", joined)
	}
	alice.Send("here", map[string]string{"room": "ops", "to": bob.id})
	here := expectPresence(t, bob, "alice", "here")
	if here != (presence{Room: "ops", User: "alice", Client: alice.id, Status: "here"}) {
		t.Fatalf("bob got %+v", here)
	}

	bob.Send("chat", map[string]string{"room": "ops", "text": " hello from b "})
	for _, c := range []chatter{alice, bob} {
		got := expect[chatMessage](t, c, "chat")
		if got.Room != "ops" || got.From != "bob" || got.Text != "hello from b" {
			t.Fatalf("got %+v", got)
		}
	}

	// bob's connection ends: alice hears that he left.
	bob.Close()
	left := expectPresence(t, alice, "bob", "left")
	if left != (presence{Room: "ops", User: "bob", Client: bob.id, Status: "left"}) {
		t.Fatalf("alice got %+v", left)
	}
}

// The worker's job, given an emitter on the chat's Redis, reaches the
// user's connection with every progress event in order, and the room with
// its announcements.
func TestWorkerJobReachesChatUser(t *testing.T) {
	rs := redistest.Start(t)
	chat := startChat(t, rs.Addr())
	ursula := connect(t, chat.wsURL(), "ursula")
	ursula.enter(t, "ops")
	watcher := connect(t, chat.wsURL(), "walter") // in the room, not the user
	watcher.enter(t, "ops")

	client := redis.NewClient(&redis.Options{Addr: rs.Addr()})
	t.Cleanup(func() { client.Close() })
	em := emitter.New(client)
	defer em.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const steps = 8
	if err := job.Run(ctx, em, job.Options{ID: "export-7", User: "ursula", Room: "ops", Steps: steps, Interval: -1}); err != nil {
		t.Fatal(err)
	}

	// The user's channel and the room's are two Redis channels: the order
	// holds within each, not between them. Read until both are complete.
	var percents []int
	var news []string
	for len(percents) < steps+1 || len(news) < 2 {
		m, err := ursula.Next()
		if err != nil {
			t.Fatalf("after progress %v and announcements %q: %v", percents, news, err)
		}
		switch m.Event {
		case job.EventProgress:
			var p job.Progress
			if err := json.Unmarshal(m.Data, &p); err != nil {
				t.Fatal(err)
			}
			want := "running"
			if p.Percent == 100 {
				want = "done"
			}
			if p.Job != "export-7" || p.Status != want {
				t.Fatalf("progress %+v", p)
			}
			percents = append(percents, p.Percent)
		case job.EventAnnouncement:
			var a job.Announcement
			if err := json.Unmarshal(m.Data, &a); err != nil {
				t.Fatal(err)
			}
			news = append(news, a.Text)
		}
	}
	if want := []int{0, 12, 25, 37, 50, 62, 75, 87, 100}; !slices.Equal(percents, want) {
		t.Fatalf("progress %v, want %v", percents, want)
	}
	if want := []string{"job export-7 started for ursula", "job export-7 finished"}; !slices.Equal(news, want) {
		t.Fatalf("announcements %q, want %q", news, want)
	}

	// The room hears the announcements; progress is for the user alone.
	for _, want := range []string{"job export-7 started for ursula", "job export-7 finished"} {
		if a := expect[job.Announcement](t, watcher, job.EventAnnouncement); a.Text != want || a.Room != "ops" {
			t.Fatalf("walter got %+v, want %q", a, want)
		}
	}
}
