// Package job is the core of the worker example: a pretend job that
// reports its progress to a user and announces itself to a room, through an
// emitter only. It knows nothing of WebSocket servers: whichever instance the
// user's browser is connected to delivers the events.
package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/echows/echows/emitter"
)

// Events the job sends.
const (
	// EventProgress goes to the user, with a Progress, once per step: 0%,
	// then every step up to 100%.
	EventProgress = "job:progress"
	// EventAnnouncement goes to the room, with an Announcement, when the job
	// starts and when it ends.
	EventAnnouncement = "announcement"
)

// Defaults of Options.
const (
	DefaultSteps    = 10
	DefaultInterval = 500 * time.Millisecond
)

// ErrNoAudience means Options names neither a user nor a room.
var ErrNoAudience = errors.New("job: no user and no room to report to")

// Options describe one job.
type Options struct {
	// ID names the job in its events. Optional. Default "job".
	ID string
	// User receives the progress events (every connection of that user, on
	// every instance). Optional, but User or Room is required.
	User string
	// Room receives the announcements. Optional.
	Room string
	// Steps is how many steps the job takes from 0% to 100%. Optional.
	// Default 10.
	Steps int
	// Interval is how long one step of pretend work takes. Optional.
	// Default 500 ms; negative means no pause.
	Interval time.Duration
	// Logger, when set, logs each event sent. Optional.
	Logger *slog.Logger
}

// Progress is the data of a job:progress event.
type Progress struct {
	Job     string `json:"job"`
	Percent int    `json:"percent"`
	Status  string `json:"status"` // "running", then "done" at 100%
	Time    string `json:"time"`
}

// Announcement is the data of an announcement event.
type Announcement struct {
	Room string `json:"room"`
	From string `json:"from"`
	Text string `json:"text"`
	Time string `json:"time"`
}

// Run runs the job: it announces the start to the room, sends a progress
// event to the user for every step, 0% to 100% in order, and announces the
// end. It returns the first publish error, or ctx's error when ctx ends
// first.
func Run(ctx context.Context, em *emitter.Emitter, o Options) error {
	if o.User == "" && o.Room == "" {
		return ErrNoAudience
	}
	if o.ID == "" {
		o.ID = "job"
	}
	if o.Steps <= 0 {
		o.Steps = DefaultSteps
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	r := runner{em: em, o: o}
	if err := r.announce(ctx, fmt.Sprintf("job %s started for %s", o.ID, orNobody(o.User))); err != nil {
		return err
	}
	for step := 0; step <= o.Steps; step++ {
		if step > 0 {
			if err := pause(ctx, o.Interval); err != nil {
				return fmt.Errorf("job %s at step %d: %w", o.ID, step, err)
			}
		}
		if err := r.progress(ctx, step*100/o.Steps); err != nil {
			return err
		}
	}
	return r.announce(ctx, fmt.Sprintf("job %s finished", o.ID))
}

type runner struct {
	em *emitter.Emitter
	o  Options
}

func (r runner) progress(ctx context.Context, percent int) error {
	if r.o.User == "" {
		return nil
	}
	status := "running"
	if percent == 100 {
		status = "done"
	}
	p := Progress{Job: r.o.ID, Percent: percent, Status: status, Time: now()}
	if err := r.em.ToUser(ctx, r.o.User, EventProgress, p); err != nil {
		return fmt.Errorf("job %s: %w", r.o.ID, err)
	}
	r.log("progress", "user", r.o.User, "percent", percent)
	return nil
}

func (r runner) announce(ctx context.Context, text string) error {
	if r.o.Room == "" {
		return nil
	}
	a := Announcement{Room: r.o.Room, From: "worker", Text: text, Time: now()}
	if err := r.em.ToRoom(ctx, r.o.Room, EventAnnouncement, a); err != nil {
		return fmt.Errorf("job %s: %w", r.o.ID, err)
	}
	r.log("announcement", "room", r.o.Room, "text", text)
	return nil
}

func (r runner) log(msg string, args ...any) {
	if r.o.Logger != nil {
		r.o.Logger.Info("job: "+msg, append([]any{"job", r.o.ID}, args...)...)
	}
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	if d < 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func now() string { return time.Now().UTC().Format(time.RFC3339Nano) }

func orNobody(user string) string {
	if user == "" {
		return "nobody in particular"
	}
	return user
}
