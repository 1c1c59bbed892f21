package main

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"

	"github.com/echows/echows/websocket"
)

// statusPath is where the chat serves its live status, for the page's
// status panel (static/status.js).
const statusPath = "/status"

// statusEvery is how often the status is sampled: the rates are per second
// over the last period.
const statusEvery = time.Second

// Status is the instance's live status, as GET /status returns it (JSON):
// the page's status panel shows it, and it is what an operator's dashboard
// shows in the large (see examples/grafana).
type Status struct {
	// Instance is this instance's server id, shortened.
	Instance string `json:"instance"`
	// Connections counts the open WebSocket connections, Authenticated
	// those that authenticated; Users and Rooms what they make.
	Connections   int `json:"connections"`
	Authenticated int `json:"authenticated"`
	Users         int `json:"users"`
	Rooms         int `json:"rooms"`
	// MessagesPerSecond is the messages this instance sent to its clients
	// (once per message, whatever the number of recipients),
	// DeliveriesPerSecond what they made (one per recipient), and
	// ReceivedPerSecond the messages its clients sent: each over the last
	// second.
	MessagesPerSecond   float64 `json:"messagesPerSecond"`
	DeliveriesPerSecond float64 `json:"deliveriesPerSecond"`
	ReceivedPerSecond   float64 `json:"receivedPerSecond"`
	// Broker is "redis" or "in-process"; BrokerState "live" while its
	// subscriptions are confirmed and the delivery probe comes back,
	// "reconnecting" while they are being restored, "not delivering" while
	// the probe is overdue.
	Broker      string `json:"broker"`
	BrokerState string `json:"brokerState"`
	// Ready is the instance's readiness (websocket.Server.Ready).
	Ready bool `json:"ready"`
}

// statusSampler samples the server's Stats every statusEvery, so that
// GET /status answers rates without keeping any state per request.
type statusSampler struct {
	srv    *websocket.Server
	broker string

	mu   sync.Mutex
	last Status
	prev websocket.Stats
	at   time.Time
}

// statusModule serves GET /status and keeps it current while the app runs.
func statusModule(settings Settings) fx.Option {
	return fx.Module("status",
		fx.Provide(func(lc fx.Lifecycle, srv *websocket.Server) *statusSampler {
			return newStatusSampler(lc, srv, settings.RedisURL != "")
		}),
		fx.Invoke(func(e *echo.Echo, s *statusSampler) {
			e.GET(statusPath, func(c echo.Context) error { return c.JSON(http.StatusOK, s.status()) })
		}),
	)
}

func newStatusSampler(lc fx.Lifecycle, srv *websocket.Server, redis bool) *statusSampler {
	s := &statusSampler{srv: srv, broker: "in-process"}
	if redis {
		s.broker = "redis"
	}
	s.sample(time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			go func() {
				defer close(done)
				t := time.NewTicker(statusEvery)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case now := <-t.C:
						s.sample(now)
					}
				}
			}()
			return nil
		},
		OnStop: func(context.Context) error {
			cancel()
			<-done
			return nil
		},
	})
	return s
}

// sample reads the server's Stats and computes the rates since the last
// sample.
func (s *statusSampler) sample(now time.Time) {
	st := s.srv.Stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := Status{
		Instance:      shortID(s.srv.ID()),
		Connections:   st.Clients,
		Authenticated: st.Authenticated,
		Users:         st.Users,
		Rooms:         st.Rooms,
		Broker:        s.broker,
		BrokerState:   brokerState(st),
		Ready:         st.Ready,
	}
	if !s.at.IsZero() {
		if secs := now.Sub(s.at).Seconds(); secs > 0 {
			cur.MessagesPerSecond = float64(st.MessagesSent-s.prev.MessagesSent) / secs
			cur.DeliveriesPerSecond = float64(st.Deliveries-s.prev.Deliveries) / secs
			received := func(st websocket.Stats) uint64 {
				return st.Inbound.System + st.Inbound.Custom + st.Inbound.Invalid
			}
			cur.ReceivedPerSecond = float64(received(st)-received(s.prev)) / secs
		}
	}
	s.last, s.prev, s.at = cur, st, now
}

// status returns the last sample, with the gauges read now.
func (s *statusSampler) status() Status {
	st := s.srv.Stats()
	s.mu.Lock()
	out := s.last
	s.mu.Unlock()
	out.Connections, out.Authenticated, out.Users, out.Rooms = st.Clients, st.Authenticated, st.Users, st.Rooms
	out.BrokerState, out.Ready = brokerState(st), st.Ready
	return out
}

func brokerState(st websocket.Stats) string {
	switch {
	case !st.BrokerLive:
		return "reconnecting"
	case st.Probe.Overdue:
		return "not delivering"
	}
	return "live"
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
