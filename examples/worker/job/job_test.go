package job

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/echows/echows/emitter"
	"github.com/echows/echows/websocket/wire"
)

// recorder is an emitter.Publisher that keeps what is published; cancel,
// when set, is called after the publish numbered stopAfter.
type recorder struct {
	envelopes []wire.Envelope
	stopAfter int
	cancel    context.CancelFunc
}

func (r *recorder) Publish(_ context.Context, channel string, payload []byte) error {
	env, err := wire.DecodeEnvelope(payload)
	if err != nil {
		return err
	}
	if env.Channel() != channel {
		return errors.New("published " + env.Channel() + " on " + channel)
	}
	r.envelopes = append(r.envelopes, env)
	if r.cancel != nil && len(r.envelopes) == r.stopAfter {
		r.cancel()
	}
	return nil
}

func TestRunSendsProgressInOrderBetweenAnnouncements(t *testing.T) {
	rec := &recorder{}
	err := Run(context.Background(), emitter.NewWithPublisher(rec), Options{ID: "j", User: "u", Room: "r", Steps: 4, Interval: -1})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, env := range rec.envelopes {
		var d struct {
			Percent int    `json:"percent"`
			Text    string `json:"text"`
		}
		if err := json.Unmarshal(env.Data, &d); err != nil {
			t.Fatal(err)
		}
		switch env.Event {
		case EventProgress:
			got = append(got, fmt.Sprintf("%s %d%%", env.Channel(), d.Percent))
		case EventAnnouncement:
			got = append(got, env.Channel()+" "+d.Text)
		}
		if env.ServerID != wire.EmitterServerID {
			t.Fatalf("serverId %q", env.ServerID)
		}
	}
	want := []string{"ws:room:r job j started for u", "ws:user:u 0%", "ws:user:u 25%", "ws:user:u 50%",
		"ws:user:u 75%", "ws:user:u 100%", "ws:room:r job j finished"}
	if !slices.Equal(got, want) {
		t.Fatalf("published\n%q\nwant\n%q", got, want)
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{stopAfter: 2, cancel: cancel} // the start and 0%
	err := Run(ctx, emitter.NewWithPublisher(rec), Options{User: "u", Room: "r", Interval: 1 << 40})
	if !errors.Is(err, context.Canceled) || len(rec.envelopes) != 2 {
		t.Fatalf("Run = %v after %d envelopes, want context.Canceled after 2", err, len(rec.envelopes))
	}
}

func TestRunWantsSomeoneToTell(t *testing.T) {
	if err := Run(context.Background(), emitter.NewWithPublisher(&recorder{}), Options{}); !errors.Is(err, ErrNoAudience) {
		t.Fatalf("Run = %v, want ErrNoAudience", err)
	}
}
