package websocket

import (
	"context"
	"errors"
	"strings"
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
	deaf       atomic.Bool            // to everything
	deafProbes atomic.Bool            // to probes only
	deafTo     atomic.Pointer[string] // to one channel
}

func (b *deafBroker) Subscribe(ctx context.Context, handler func(string, []byte)) (Subscription, error) {
	return b.MemoryBroker.Subscribe(ctx, func(channel string, payload []byte) {
		probe := strings.HasPrefix(channel, wire.PrefixClient+wire.ProbeTargetPrefix)
		if to := b.deafTo.Load(); to != nil && *to == channel {
			return
		}
		if !b.deaf.Load() && !(probe && b.deafProbes.Load()) {
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

// Anything the broker delivers proves that it delivers: an overdue probe
// is forgiven as soon as another envelope comes through.
func TestBrokerTrafficClearsAnOverdueProbe(t *testing.T) {
	b := &deafBroker{MemoryBroker: NewMemoryBroker()}
	b.deafProbes.Store(true)
	ts := startServer(t, Config{Settings: Settings{ProbeInterval: 200 * time.Millisecond}, Broker: b})
	waitFor(t, "the probe overdue", func() bool { return errors.Is(ts.Ready(), errProbeOverdue) })
	env := wire.Envelope{ServerID: wire.EmitterServerID, Type: wire.TypeUser, Target: "nobody", Event: "e"}
	payload, err := env.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Publish(context.Background(), env.Channel(), payload); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "ready after an envelope came through", func() bool { return ts.Ready() == nil })
	if st := ts.Stats(); st.Received != 1 || st.Probe.Returned != 0 {
		t.Fatalf("received %d, probes back %d", st.Received, st.Probe.Returned)
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

// A probe this server did not send proves nothing and is ignored: one for
// its target with a sequence number it never sent (a replay, a probe from
// before a restart), or another server's with the very number this one
// waits for.
func TestProbesThisServerDidNotSendAreIgnored(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{DisableProbe: true}})
	ts.probe.mu.Lock()
	ts.probe.seq, ts.probe.sentAt = 1, time.Now() // as if probe 1 were out
	ts.probe.mu.Unlock()
	for _, env := range []wire.Envelope{
		{ServerID: ts.ID(), Type: wire.TypeClient, Target: wire.ProbeTarget(ts.ID()), Event: wire.ProbeEvent, Data: []byte(`{"seq":7}`)},
		{ServerID: "other", Type: wire.TypeClient, Target: wire.ProbeTarget("other"), Event: wire.ProbeEvent, Data: []byte(`{"seq":1}`)},
	} {
		payload, err := env.Encode()
		if err != nil {
			t.Fatal(err)
		}
		ts.receive(env.Channel(), payload)
	}
	if st := ts.Stats(); st.Probe.Returned != 0 || st.OwnSkipped != 0 || st.Received != 0 {
		t.Fatalf("probe stats %+v, own-skipped %d, received %d", st.Probe, st.OwnSkipped, st.Received)
	}
}

// healthBroker is a real MemoryBroker that reports what the test says.
type healthBroker struct {
	*MemoryBroker
	live atomic.Bool
}

func (b *healthBroker) Health() BrokerHealth { return BrokerHealth{Live: b.live.Load(), Reconnects: 3} }

// plainBroker is a real MemoryBroker that does not report its health.
type plainBroker struct{ b *MemoryBroker }

func (p plainBroker) Publish(ctx context.Context, ch string, payload []byte) error {
	return p.b.Publish(ctx, ch, payload)
}

func (p plainBroker) Subscribe(ctx context.Context, h func(string, []byte)) (Subscription, error) {
	return p.b.Subscribe(ctx, h)
}

// Ready follows what the broker reports, probe or not; a broker that
// reports nothing is live while the server is subscribed.
func TestReadyFollowsTheBrokersHealth(t *testing.T) {
	hb := &healthBroker{MemoryBroker: NewMemoryBroker()}
	hb.live.Store(true)
	ts := startServer(t, Config{Settings: Settings{DisableProbe: true}, Broker: hb})
	if err := ts.Ready(); err != nil {
		t.Fatalf("Ready: %v", err)
	}
	hb.live.Store(false)
	if err := ts.Ready(); !errors.Is(err, errBrokerDown) {
		t.Fatalf("Ready with the broker down: %v", err)
	}
	if st := ts.Stats(); st.BrokerLive || st.BrokerReconnects != 3 || st.Ready {
		t.Fatalf("stats: live %v reconnects %d ready %v", st.BrokerLive, st.BrokerReconnects, st.Ready)
	}
	hb.live.Store(true)
	if err := ts.Ready(); err != nil {
		t.Fatalf("Ready once the broker is back: %v", err)
	}

	ps := startServer(t, Config{Settings: Settings{DisableProbe: true}, Broker: plainBroker{NewMemoryBroker()}})
	if st := ps.Stats(); !st.BrokerLive || !st.Ready {
		t.Fatalf("a broker that does not report: live %v ready %v", st.BrokerLive, st.Ready)
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

// Another server's probes prove that the broker delivers too: a server
// whose own probes are lost is ready again once another server's come
// through.
func TestAnotherServersProbesClearAnOverdueProbe(t *testing.T) {
	mb := NewMemoryBroker()
	b := &deafBroker{MemoryBroker: mb}
	own := wire.ProbeChannel("lonely")
	b.deafTo.Store(&own) // its own probes never come back
	ts := startServer(t, Config{Settings: Settings{ServerID: "lonely", ProbeInterval: 50 * time.Millisecond}, Broker: b})
	waitFor(t, "the probe overdue", func() bool { return errors.Is(ts.Ready(), errProbeOverdue) })
	other := startServer(t, Config{Settings: Settings{ProbeInterval: 10 * time.Millisecond}, Broker: mb})
	waitFor(t, "ready on the other server's probes", func() bool { return ts.Ready() == nil })
	if st := ts.Stats(); st.Probe.Returned != 0 || other.Stats().Probe.Returned == 0 {
		t.Fatalf("probes back: %d here, %d there", st.Probe.Returned, other.Stats().Probe.Returned)
	}
}
