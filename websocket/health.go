package websocket

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// ErrNotReady is wrapped by the error Ready returns when the server should
// not receive traffic; the error says why.
var ErrNotReady = errors.New("websocket: not ready")

// The reasons Ready gives.
var (
	errNotConfigured = fmt.Errorf("%w: not configured yet (Configure has not confirmed the broker's subscriptions)", ErrNotReady)
	errShuttingDown  = fmt.Errorf("%w: shutting down", ErrNotReady)
	errBrokerDown    = fmt.Errorf("%w: the broker's subscriptions are not live (reconnecting)", ErrNotReady)
	errProbeOverdue  = fmt.Errorf("%w: the delivery probe did not come back through the broker", ErrNotReady)
)

// Ready reports whether the server should receive traffic: nil once
// Configure has succeeded, while the broker's subscriptions are live (see
// BrokerHealthReporter) and the delivery probe is not overdue (see
// Settings.ProbeInterval), until Shutdown begins. Otherwise it returns an
// error wrapping ErrNotReady that says why. It recovers by itself when the
// broker does. It is cheap: a readiness probe may call it as often as it
// likes.
//
// A server that is not ready still serves its clients and delivers
// locally: readiness is for load balancers (send new connections
// elsewhere), never a reason to restart the process (see LivenessHandler).
func (s *Server) Ready() error {
	s.mu.Lock()
	configured, closing := s.configured, s.closing
	s.mu.Unlock()
	switch {
	case closing:
		return errShuttingDown
	case !configured:
		return errNotConfigured
	}
	if !s.brokerHealth().Live {
		return errBrokerDown
	}
	if s.probe.overdue.Load() {
		return errProbeOverdue
	}
	return nil
}

// brokerHealth returns what the broker reports, or, for a broker that does
// not report, whether the server holds a subscription.
func (s *Server) brokerHealth() BrokerHealth {
	if h, ok := s.broker.(BrokerHealthReporter); ok {
		return h.Health()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return BrokerHealth{Live: s.sub != nil && !s.closing}
}

// ReadinessHandler returns the handler of a readiness probe (Kubernetes'
// readinessProbe, a load balancer's health check): 200 "ready" while Ready
// reports nil, 503 Service Unavailable with the reason otherwise. Mount it
// on any router (package lifecycle and echov5 mount it on Echo).
func (s *Server) ReadinessHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if err := s.Ready(); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, err.Error()+"\n")
			return
		}
		_, _ = io.WriteString(w, "ready\n")
	})
}

// LivenessHandler returns the handler of a liveness probe (Kubernetes'
// livenessProbe): 200 "alive" whenever the process answers HTTP. It checks
// nothing else, on purpose: a lost Redis or a slow client is no reason to
// restart the process (which would drop every connection of the instance
// and bring none back sooner); readiness covers those.
func LivenessHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = io.WriteString(w, "alive\n")
	})
}
