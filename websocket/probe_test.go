package websocket

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// deafBroker is a real MemoryBroker whose subscriptions can go deaf: they
// stay registered and the broker still reports them live, but nothing
// reaches the handler, as behind a proxy that swallows messages.
type deafBroker struct {
	*MemoryBroker
	deaf atomic.Bool
}

func (b *deafBroker) Subscribe(ctx context.Context, handler func(string, []byte)) (Subscription, error) {
	return b.MemoryBroker.Subscribe(ctx, func(channel string, payload []byte) {
		if !b.deaf.Load() {
			handler(channel, payload)
		}
	})
}

// A subscription that looks alive but delivers nothing: the probe does not
// come back, Ready fails with the probe's reason, and recovers by itself
// once the broker delivers again.
func TestProbeNoticesASubscriptionThatDeliversNothing(t *testing.T) {
	b := &deafBroker{MemoryBroker: NewMemoryBroker()}
	ts := startServer(t, Config{Settings: Settings{ProbeInterval: 50 * time.Millisecond}, Broker: b})
	waitFor(t, "a probe back", func() bool { return ts.Stats().Probe.Returned > 0 })
	if err := ts.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}

	b.deaf.Store(true)
	waitFor(t, "the probe overdue", func() bool { return errors.Is(ts.Ready(), errProbeOverdue) })
	if st := ts.Stats(); !st.Probe.Overdue || st.Ready || !st.BrokerLive {
		t.Fatalf("stats while deaf: probe %+v ready %v broker live %v", st.Probe, st.Ready, st.BrokerLive)
	}
	if !errors.Is(ts.Ready(), ErrNotReady) {
		t.Fatalf("Ready error %v does not wrap ErrNotReady", ts.Ready())
	}

	b.deaf.Store(false)
	waitFor(t, "ready again", func() bool { return ts.Ready() == nil })
	if ts.Stats().Probe.Overdue {
		t.Fatal("still overdue once ready")
	}
}

// Probes flow through the broker all the time a server is quiet, and no
// client ever sees one.
func TestProbeNeverReachesAClient(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{ProbeInterval: 10 * time.Millisecond}})
	c := ts.dial(t)
	id := c.authenticate("alice").ID
	waitFor(t, "probes back", func() bool { return ts.Stats().Probe.Returned >= 5 })
	if err := ts.Local().ToClient(id, "marker", 1); err != nil {
		t.Fatal(err)
	}
	c.expect("marker") // the first frame since connected: no probe came before
	st := ts.Stats()
	if st.Received != 0 || st.Deliveries != 1 || st.MessagesSent != 1 {
		t.Fatalf("received %d deliveries %d sent %d: a probe was taken for a message", st.Received, st.Deliveries, st.MessagesSent)
	}
	if st.Probe.RoundTrip.Count != st.Probe.Returned {
		t.Fatalf("round trips %d for %d probes back", st.Probe.RoundTrip.Count, st.Probe.Returned)
	}
}

// A server hears the probes of the other servers on its broker: it skips
// them, as probes, without counting them as envelopes or delivering them.
func TestProbesOfAnotherServerAreSkipped(t *testing.T) {
	b := NewMemoryBroker()
	prober := startServer(t, Config{Settings: Settings{ProbeInterval: 10 * time.Millisecond}, Broker: b})
	other := startServer(t, Config{Settings: Settings{DisableProbe: true}, Broker: b})
	c := other.dial(t)
	id := c.authenticate("bob").ID
	waitFor(t, "probes back", func() bool { return prober.Stats().Probe.Returned >= 3 })
	if err := other.Local().ToClient(id, "marker", 1); err != nil {
		t.Fatal(err)
	}
	c.expect("marker")
	for _, s := range []*testServer{prober, other} {
		if st := s.Stats(); st.Received != 0 || st.OwnSkipped != 0 || st.Malformed != 0 {
			t.Fatalf("a probe was counted as an envelope: received %d own-skipped %d malformed %d", st.Received, st.OwnSkipped, st.Malformed)
		}
	}
	if st := other.Stats(); st.Probe.Sent != 0 || st.Probe.Returned != 0 {
		t.Fatalf("the other server's probe stats %+v", st.Probe)
	}
}

// A probe envelope with this server's target but data it did not send
// (another process replaying one, a probe from before a restart) proves
// nothing: it is ignored.
func TestProbeWithUnknownSequenceIsIgnored(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{DisableProbe: true}})
	env := wire.Envelope{ServerID: ts.ID(), Type: wire.TypeClient, Target: wire.ProbeTarget(ts.ID()), Event: wire.ProbeEvent, Data: []byte(`{"seq":7}`)}
	payload, err := env.Encode()
	if err != nil {
		t.Fatal(err)
	}
	ts.receive(wire.ProbeChannel(ts.ID()), payload)
	if st := ts.Stats(); st.Probe.Returned != 0 || st.Probe.Sent != 0 || st.OwnSkipped != 0 {
		t.Fatalf("probe stats %+v, own-skipped %d", st.Probe, st.OwnSkipped)
	}
}

func TestReadyFollowsTheServersLife(t *testing.T) {
	s, err := New(Config{Hooks: Hooks{Authenticate: testAuth}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(); !errors.Is(err, errNotConfigured) {
		t.Fatalf("Ready before Configure: %v", err)
	}
	if err := s.Configure(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(); err != nil {
		t.Fatalf("Ready once configured: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(); !errors.Is(err, errShuttingDown) {
		t.Fatalf("Ready after Shutdown: %v", err)
	}
}
