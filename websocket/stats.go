package websocket

import (
	"encoding/binary"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of a server's counters and gauges, for monitoring
// (package prommetrics exposes it to Prometheus). Counters only grow for the
// life of the server. Every map and slice has a fixed, small size: nothing
// in it is keyed by a client, user or room.
type Stats struct {
	// Connections, now.
	Clients        int // connected clients, in any state
	Unauthorized   int // connected clients that have not sent authenticate
	Authenticating int // clients whose authentication runs (or that are closing after it failed)
	Authenticated  int // authenticated clients
	Users          int // distinct user ids
	Rooms          int // non-empty rooms, the room of each client's own id included

	// Connects counts the upgrades accepted.
	Connects uint64
	// Disconnects counts the connections that ended, by the close code the
	// connection ended with: the one the server sent, else the one the peer
	// sent, else 1006 (the connection was lost without a close frame). Every
	// code of TrackedCloseCodes is a key; key 0 counts any other code.
	Disconnects map[int]uint64
	// Auth counts authentication outcomes.
	Auth AuthStats
	// Inbound counts the messages clients sent, by kind.
	Inbound InboundStats

	// MessagesSent counts the messages sent to clients (by ToRoom, Local,
	// Client.Send, a broker envelope, ...): once per message, however many
	// recipients it has. Error events and connected are not counted.
	MessagesSent uint64
	// Deliveries counts messages queued for a client: a room message to 100
	// members counts 100. Messages dropped for backpressure are not counted.
	Deliveries uint64
	// WriteCalls and BytesWritten count the socket writes of every client's
	// writer and the bytes they took; many frames go out in one write.
	WriteCalls, BytesWritten uint64
	// Dropped counts messages dropped for backpressure.
	Dropped uint64
	// BackpressureEpisodes counts the times a client became backpressured
	// (its queue went over BackpressureLimit); BackpressureCloses those of
	// them that closed the client (CloseOnBackpressureLimit).
	BackpressureEpisodes, BackpressureCloses uint64
	// DeliveryLatency is the time from a send call to its frame's write to
	// a client's socket, for every recipient of 1 message in 64 (see
	// DeliverySampleEvery). Messages to encrypted clients through
	// TransformOutbound are not sampled.
	DeliveryLatency Histogram

	// Limits counts refusals and slow-downs by limit.
	Limits LimitStats
	// Refused counts connections refused by MaxConnections or
	// MaxConnectionsPerUser (Limits.Connections + Limits.ConnectionsPerUser).
	Refused uint64
	// Throttled counts the times a client's reads paused for MessageRate or
	// ReadRate (Limits.Rate).
	Throttled uint64
	// RepairedUTF8 counts messages whose invalid UTF-8 was replaced by U+FFFD.
	RepairedUTF8 uint64

	// Published and PublishErrors count envelopes published to the broker
	// and the publishes that failed.
	Published, PublishErrors uint64
	// Received counts envelopes from other instances (and emitters),
	// Malformed the payloads skipped as malformed, OwnSkipped this server's
	// own envelopes heard back and skipped. Probes are not counted.
	Received, Malformed, OwnSkipped uint64
	// Unwanted counts those of Received that had no recipient here: a room
	// or user with no member on this instance, a client that is not here,
	// a broadcast while no client is authenticated. It is the broker's work
	// done for nothing: with RoutingPatterns every instance hears every
	// envelope of the fleet, so most are unwanted on a large fleet; an
	// instance that listens only to its interests hears one only when its
	// last member left while the envelope travelled.
	Unwanted uint64
	// ListenErrors counts the times the broker could not confirm in time
	// that it hears the channels of a client about to be connected or of a
	// room about to be joined (Redis away or slow): the client goes on, and
	// the broker hears them as soon as it can (see Subscription.Listen).
	ListenErrors uint64
	// InboxDepth is how many broker payloads wait to be delivered (at most
	// 4096; the broker's reader waits past it).
	InboxDepth int
	// BrokerLive reports whether the broker's subscriptions are confirmed:
	// the broker says so (see BrokerHealthReporter), or, for a broker that
	// does not tell, the server is subscribed.
	BrokerLive bool
	// BrokerReconnects counts the times the broker's subscriptions were
	// restored after a lost connection (0 for a broker that does not tell).
	BrokerReconnects uint64
	// BrokerOutbox is what the broker's outbox holds and did (RedisBroker:
	// publishes held while Redis is away).
	BrokerOutbox OutboxStats
	// Probe is the delivery probe's activity (see Settings.ProbeInterval).
	Probe ProbeStats
	// Ready is what Ready reports: nil there is true here.
	Ready bool

	// Hooks holds, for each hook name of HookNames, its calls' durations,
	// errors and panics.
	Hooks map[string]HookStats
}

// AuthStats counts authentication outcomes.
type AuthStats struct {
	OK              uint64 // authenticated, connected sent
	Rejected        uint64 // Authenticate returned nil or ErrRejected: "Authentication failed"
	Error           uint64 // Authenticate failed or panicked: "Authentication error"
	Timeout         uint64 // closed with 4001: no authenticate within AuthTimeout, or not done within 3 × AuthTimeout
	Refused         uint64 // the user is at MaxConnectionsPerUser
	HandshakeFailed uint64 // the Handshake hook failed (RequireEncryption): 4004
}

// InboundStats counts the messages clients sent, by kind.
type InboundStats struct {
	System  uint64 // authenticate, heartbeat, join, leave, encrypted, and the reserved ones (dropped)
	Custom  uint64 // any other event: for the event handlers or OnMessage
	Invalid uint64 // not JSON, fields of the wrong type, no event, binary frames, invalid UTF-8
}

// LimitStats counts what each limit refused or slowed down.
type LimitStats struct {
	Connections        uint64 // upgrades refused by MaxConnections (HTTP 503)
	ConnectionsPerUser uint64 // authentications refused by MaxConnectionsPerUser (1008)
	Rooms              uint64 // rooms a client asked to join past MaxRoomsPerClient
	Payload            uint64 // messages over MaxPayloadLength or MaxAuthPayloadLength (1009)
	Rate               uint64 // reader pauses for MessageRate or ReadRate
	// PeerGone counts peers that closed their side while over MessageRate
	// or ReadRate: what they sent past their budget was dropped unread.
	PeerGone uint64
}

// HookStats is one hook's activity.
type HookStats struct {
	// Duration is the distribution of the hook's call times; its Count is
	// the number of calls.
	Duration Histogram
	// Errors counts the calls that failed (panics included; for
	// Authenticate, rejections are not errors).
	Errors uint64
	// Panics counts the calls that panicked (recovered).
	Panics uint64
}

// ProbeStats is the delivery probe's activity.
type ProbeStats struct {
	// Sent counts probes published; Returned those that came back through
	// the broker.
	Sent, Returned uint64
	// Overdue reports whether the last probe is late: it did not come back
	// within ProbeInterval and nothing else was heard from the broker since.
	Overdue bool
	// RoundTrip is the distribution of the probes' round trips.
	RoundTrip Histogram
}

// DeliverySampleEvery is the sampling of Stats.DeliveryLatency: the
// deliveries of one message in DeliverySampleEvery are timed, so a fan-out
// to 10,000 clients is not 10,000 clock reads.
const DeliverySampleEvery = 64

// trackedCloseCodes are the close codes Stats.Disconnects counts one by one.
var trackedCloseCodes = [...]int{
	1000, 1001, 1002, 1003, 1005, 1006, 1007, 1008, 1009, 1011, 1013,
	4001, 4002, 4003, 4004,
}

// closeAbnormal is the code of a connection lost without a close frame.
const closeAbnormal = 1006

// TrackedCloseCodes returns the close codes Stats.Disconnects counts one by
// one: RFC 6455's (1000–1013) and the protocol's own (4001–4004). Any other
// code is counted under 0.
func TrackedCloseCodes() []int { return append([]int(nil), trackedCloseCodes[:]...) }

// hookNames are the hooks whose calls are timed, in the order of
// meters.hooks. Every event handler counts as "EventHandler" (event names
// are the app's, and any number of them).
var hookNames = [...]string{
	"Authenticate", "Handshake", "ValidateRooms", "OnConnected", "OnDisconnected",
	"OnMessage", "TransformOutbound", "TransformInbound", "EventHandler",
}

const hookEventHandler = len(hookNames) - 1

// HookNames returns the keys of Stats.Hooks: the fields of Hooks, and
// "EventHandler" for every event handler together.
func HookNames() []string { return append([]string(nil), hookNames[:]...) }

// hookIndex returns the index in hookNames of the hook runHook calls name.
func hookIndex(name string) int {
	for i, n := range hookNames[:hookEventHandler] {
		if n == name {
			return i
		}
	}
	return hookEventHandler // "handler <event>"
}

// Indexes of meters.auth, meters.inbound and meters.limits.
const (
	authAccepted = iota
	authRejected
	authError
	authTimeout
	authRefused
	authHandshakeFailed
	numAuthResults
)

const (
	inboundSystem = iota
	inboundCustom
	inboundInvalid
	numInboundKinds
)

const (
	limitConnections = iota
	limitPerUser
	limitRooms
	limitPayload
	limitPeerGone
	numLimits // MessageRate and ReadRate: Server.throttled
)

// cacheLinePad keeps the counters bumped on every send and every write off
// the cache lines of the others.
type cacheLinePad [64]byte

// meters are the server's counters beyond the few declared in Server. Each
// is an atomic bumped where the thing happens, at most once per message,
// per write call or per connection event: never once per recipient under a
// lock, never a lock or a map.
type meters struct {
	unauthorized, authenticating atomic.Int64
	connects                     atomic.Uint64
	disconnects                  [len(trackedCloseCodes) + 1]atomic.Uint64 // the last: any other code
	auth                         [numAuthResults]atomic.Uint64
	inbound                      [numInboundKinds]atomic.Uint64
	limits                       [numLimits]atomic.Uint64
	episodes, bpCloses           atomic.Uint64
	ownSkipped, unwanted         atomic.Uint64
	heard                        atomic.Uint64 // every broker payload, probes included
	listenErrors                 atomic.Uint64

	_                cacheLinePad
	sent, deliveries atomic.Uint64
	_                cacheLinePad
	writes, bytes    atomic.Uint64
	_                cacheLinePad

	latency histogram
	hooks   [len(hookNames)]hookMeters
}

type hookMeters struct {
	duration       histogram
	errors, panics atomic.Uint64
}

// connected counts an accepted upgrade: a new unauthorized client.
func (m *meters) connected() {
	m.connects.Add(1)
	m.unauthorized.Add(1)
}

// startedAuth counts a client that sent authenticate.
func (m *meters) startedAuth() {
	m.unauthorized.Add(-1)
	m.authenticating.Add(1)
}

// authenticated counts a client that became authenticated.
func (m *meters) authenticated() {
	m.authenticating.Add(-1)
	m.auth[authAccepted].Add(1)
}

// disconnected counts a finished connection: it left state prev, and ended
// with close code code (0: none was sent or received).
func (m *meters) disconnected(prev State, code int32) {
	switch prev {
	case StateUnauthorized:
		m.unauthorized.Add(-1)
	case StateAuthenticating:
		m.authenticating.Add(-1)
	}
	if code == 0 {
		code = closeAbnormal
	}
	i := len(trackedCloseCodes)
	for j, c := range trackedCloseCodes {
		if int(code) == c {
			i = j
			break
		}
	}
	m.disconnects[i].Add(1)
}

// received counts one message a client sent, given what decoding it gave.
func (m *meters) received(event string, err error) {
	switch {
	case err != nil:
		m.inbound[inboundInvalid].Add(1)
	case systemEvent(event):
		m.inbound[inboundSystem].Add(1)
	default:
		m.inbound[inboundCustom].Add(1)
	}
}

// numbered counts a new message and numbers it; one message in
// DeliverySampleEvery is stamped with the time of the send, so that its
// writes are timed.
func (m *meters) numbered(o *outbound) {
	o.seq = m.sent.Add(1)
	if o.seq%DeliverySampleEvery == 0 {
		o.sentAt = max(1, int64(monoNow())) // 0 means not stamped
	}
}

// written counts a sampled message's frame going out to one client.
func (m *meters) written(o *outbound) {
	m.latency.observe(monoNow() - time.Duration(o.sentAt))
}

// wrote counts one socket write call that took n bytes.
func (m *meters) wrote(n int) {
	m.writes.Add(1)
	m.bytes.Add(uint64(max(n, 0)))
}

// closeCodeOf returns the status code of a close frame the server built
// (unmasked, payload under 126 bytes): 1005 when it carries none.
func closeCodeOf(frame []byte) int32 {
	if len(frame) < 4 || frame[1]&0x7F < 2 {
		return 1005
	}
	return int32(binary.BigEndian.Uint16(frame[2:4]))
}

// Stats returns a snapshot of the server's counters and gauges. It takes
// the index's read lock once, briefly, after queueing a waiting batch of
// fan-outs for its members (so a batched send counts as sent); call it as
// often as a scraper does.
func (s *Server) Stats() Stats {
	s.batch.flush() // count batched messages as queued, as they would be unbatched
	m := &s.m
	st := Stats{
		Unauthorized:   int(max(0, m.unauthorized.Load())),
		Authenticating: int(max(0, m.authenticating.Load())),
		Connects:       m.connects.Load(),
		Disconnects:    make(map[int]uint64, len(m.disconnects)),
		Auth: AuthStats{
			OK:              m.auth[authAccepted].Load(),
			Rejected:        m.auth[authRejected].Load(),
			Error:           m.auth[authError].Load(),
			Timeout:         m.auth[authTimeout].Load(),
			Refused:         m.auth[authRefused].Load(),
			HandshakeFailed: m.auth[authHandshakeFailed].Load(),
		},
		Inbound: InboundStats{
			System:  m.inbound[inboundSystem].Load(),
			Custom:  m.inbound[inboundCustom].Load(),
			Invalid: m.inbound[inboundInvalid].Load(),
		},
		MessagesSent:         m.sent.Load(),
		Deliveries:           m.deliveries.Load(),
		WriteCalls:           m.writes.Load(),
		BytesWritten:         m.bytes.Load(),
		Dropped:              s.dropped.Load(),
		BackpressureEpisodes: m.episodes.Load(),
		BackpressureCloses:   m.bpCloses.Load(),
		DeliveryLatency:      m.latency.snapshot(),
		Limits: LimitStats{
			Connections:        m.limits[limitConnections].Load(),
			ConnectionsPerUser: m.limits[limitPerUser].Load(),
			Rooms:              m.limits[limitRooms].Load(),
			Payload:            m.limits[limitPayload].Load(),
			Rate:               s.throttled.Load(),
			PeerGone:           m.limits[limitPeerGone].Load(),
		},
		RepairedUTF8:  s.repaired.Load(),
		Published:     s.published.Load(),
		PublishErrors: s.publishErrors.Load(),
		Received:      s.received.Load(),
		Malformed:     s.malformed.Load(),
		OwnSkipped:    m.ownSkipped.Load(),
		Unwanted:      m.unwanted.Load(),
		ListenErrors:  m.listenErrors.Load(),
		InboxDepth:    s.inboxDepth(),
		Probe:         s.probe.stats(),
		Ready:         s.Ready() == nil,
		Hooks:         make(map[string]HookStats, len(hookNames)),
	}
	st.Refused = st.Limits.Connections + st.Limits.ConnectionsPerUser
	st.Throttled = st.Limits.Rate
	for i, code := range trackedCloseCodes {
		st.Disconnects[code] = m.disconnects[i].Load()
	}
	st.Disconnects[0] = m.disconnects[len(trackedCloseCodes)].Load()
	bh := s.brokerHealth()
	st.BrokerLive, st.BrokerReconnects, st.BrokerOutbox = bh.Live, bh.Reconnects, bh.Outbox
	for i, name := range hookNames {
		h := &m.hooks[i]
		st.Hooks[name] = HookStats{Duration: h.duration.snapshot(), Errors: h.errors.Load(), Panics: h.panics.Load()}
	}
	st.Clients, st.Authenticated, st.Users, st.Rooms = s.index.counts()
	return st
}

// inboxDepth returns how many broker payloads wait in the inbox (0 before
// Configure).
func (s *Server) inboxDepth() int {
	s.mu.Lock()
	configured := s.configured // set after the inbox was made
	s.mu.Unlock()
	if !configured {
		return 0
	}
	return len(s.inbox)
}
