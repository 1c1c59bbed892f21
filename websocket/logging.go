package websocket

import (
	"sync/atomic"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// logEvery is how often, at most, a rate-limited line is logged.
const logEvery = 10 * time.Second

// handlerHookPrefix starts the name runHook is given for an event handler:
// "handler <event>".
const handlerHookPrefix = "handler "

// logLimiter lets one line through per logEvery and counts the others, for
// what a peer or a faulty publisher can trigger at will (a hook failing on
// every message, a flood of malformed envelopes, a mass of slow clients):
// an operator sees that it happens, and how often, at the cost of a line
// every 10 s. The counters in Stats count every occurrence.
type logLimiter struct {
	next    atomic.Int64 // unix nanoseconds from which the next line may go
	skipped atomic.Uint64
}

// allow reports whether a line may be logged now, and how many were held
// back since the last one.
func (l *logLimiter) allow() (ok bool, skipped uint64) {
	now := time.Now().UnixNano()
	next := l.next.Load()
	if now < next || !l.next.CompareAndSwap(next, now+int64(logEvery)) {
		l.skipped.Add(1)
		return false, 0
	}
	return true, l.skipped.Swap(0)
}

// logLimits are the server's rate-limited log lines.
type logLimits struct {
	hooks        [len(hookNames)]logLimiter
	backpressure logLimiter
	malformed    logLimiter
}

// backpressured counts a client that just became backpressured, logs it
// (at warn level at most once per logEvery, at debug level otherwise) and,
// with CloseOnBackpressureLimit, closes it. It runs outside every lock.
func (s *Server) backpressured(c *Client) {
	s.m.episodes.Add(1)
	args := []any{"client", c.id, "user", c.UserID(), "limit", s.cfg.BackpressureLimit}
	if ok, skipped := s.logs.backpressure.allow(); ok {
		s.log.Warn("websocket: client backpressured, dropping its messages", append(args, "suppressed", skipped)...)
	} else {
		s.log.Debug("websocket: client backpressured, dropping its messages", args...)
	}
	if s.cfg.CloseOnBackpressureLimit {
		s.m.bpCloses.Add(1)
		c.closeWith(wire.CloseTryAgainLater, wire.ReasonBackpressure)
	}
}

// malformedEnvelope counts and logs a broker payload that is not an
// envelope (at warn level at most once per logEvery).
func (s *Server) malformedEnvelope(channel string, err error) {
	s.malformed.Add(1)
	if ok, skipped := s.logs.malformed.allow(); ok {
		s.log.Warn("websocket: malformed envelope skipped", "channel", channel, "err", err, "suppressed", skipped)
	} else {
		s.log.Debug("websocket: malformed envelope skipped", "channel", channel, "err", err)
	}
}
