package prommetrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/echows/echows/websocket"
)

// Namespace prefixes every metric name.
const Namespace = "echows"

// metric is one metric family the collector exports.
type metric struct {
	desc *prometheus.Desc
	typ  prometheus.ValueType // for the counters and gauges
}

func newMetric(name string, typ prometheus.ValueType, help string, labels ...string) metric {
	return metric{desc: prometheus.NewDesc(Namespace+"_"+name, help, labels, nil), typ: typ}
}

func counter(name, help string, labels ...string) metric {
	return newMetric(name, prometheus.CounterValue, help, labels...)
}

func gauge(name, help string, labels ...string) metric {
	return newMetric(name, prometheus.GaugeValue, help, labels...)
}

func histogram(name, help string, labels ...string) metric {
	return newMetric(name, prometheus.UntypedValue, help, labels...)
}

// The metric families. Every label has a fixed set of values, listed in
// the package documentation.
var (
	connections = gauge("connections", "Connected clients, by state (unauthorized: no authenticate yet; authenticating: the Authenticate hook runs; authenticated).", "state")
	connects    = counter("connects_total", "WebSocket upgrades accepted.")
	disconnects = counter("disconnects_total", "Connections ended, by the close code they ended with: the server's, else the peer's, else 1006 (lost without a close frame); codes outside the tracked set are \"other\".", "code")
	auths       = counter("authentications_total", "Authentication outcomes (ok, rejected, error, timeout, refused by MaxConnectionsPerUser, handshake_failed).", "result")
	users       = gauge("users", "Distinct user ids with a connection on this instance.")
	rooms       = gauge("rooms", "Non-empty rooms on this instance, the room of each client's own id included.")

	received = counter("messages_received_total", "Messages clients sent, by kind (system: protocol events; custom: the app's events; invalid: not a valid message).", "kind")
	sent     = counter("messages_sent_total", "Messages sent to clients, once per message whatever its number of recipients (error events and connected not included).")
	delivers = counter("deliveries_total", "Messages queued for a client: a room message to 100 members counts 100 (drops not included).")
	writes   = counter("socket_writes_total", "Socket write calls of the clients' writers (one call carries many frames).")
	written  = counter("socket_written_bytes_total", "Bytes the clients' sockets took.")
	latency  = histogram("delivery_latency_seconds", "Time from a send call to its frame's write to a client's socket, for every recipient of 1 message in 64 (fan-out latency as the server sees it).")

	drops    = counter("backpressure_drops_total", "Messages dropped because their client was over BackpressureLimit.")
	episodes = counter("backpressure_episodes_total", "Times a client became backpressured (its queue went over BackpressureLimit).")
	bpCloses = counter("backpressure_closes_total", "Clients closed (1013) for backpressure, with CloseOnBackpressureLimit.")
	limits   = counter("limit_refusals_total", "Refusals and slow-downs by limit (connections: MaxConnections, HTTP 503; connections_per_user: MaxConnectionsPerUser, 1008; rooms: rooms refused past MaxRoomsPerClient; payload: messages over MaxPayloadLength, 1009; rate: reader pauses for MessageRate or ReadRate; peer_gone: peers that left while over their rate, the rest of what they sent dropped).", "limit")
	repaired = counter("invalid_utf8_repaired_total", "Messages whose invalid UTF-8 was replaced by U+FFFD before they were sent.")

	publishes     = counter("broker_publishes_total", "Envelopes published to the broker.")
	publishErrors = counter("broker_publish_errors_total", "Publishes to the broker that failed.")
	brokerIn      = counter("broker_received_total", "Envelopes received from other instances and emitters, and delivered here.")
	malformed     = counter("broker_malformed_total", "Broker payloads skipped as malformed.")
	ownSkipped    = counter("broker_own_skipped_total", "This instance's own envelopes heard back from the broker and skipped.")
	unwanted      = counter("broker_unwanted_total", "Envelopes from other instances that had no recipient here (with interest routing, about none; with patterns routing, most of the fleet's traffic).")
	listenErrors  = counter("broker_listen_errors_total", "Clients connected and rooms joined before the broker confirmed it hears their channels (Redis away or slow); it hears them as soon as it can.")
	inbox         = gauge("broker_inbox_depth", "Broker payloads waiting to be delivered (at most 4096).")
	live          = gauge("broker_subscriptions_live", "1 while the broker's subscriptions are confirmed, 0 while they are being restored.")
	reconnects    = counter("broker_reconnects_total", "Times the broker's subscriptions were restored after a lost connection.")
	outboxHeld    = gauge("broker_outbox_messages", "Publishes the broker's outbox holds while Redis is away.")
	outboxBytes   = gauge("broker_outbox_bytes", "Bytes the broker's outbox holds while Redis is away.")
	outboxQueued  = counter("broker_outbox_queued_total", "Publishes the outbox took while Redis was away.")
	outboxSent    = counter("broker_outbox_replayed_total", "Publishes the outbox replayed once Redis was back.")
	outboxDropped = counter("broker_outbox_dropped_total", "Publishes the outbox lost (expired: older than OutboxMaxAge; refused: by Redis on replay; full: refused at once, the publish failed).", "reason")
	probesSent    = counter("probe_sent_total", "Delivery probes this instance published to itself through the broker.")
	probesBack    = counter("probe_returned_total", "Delivery probes that came back through the broker.")
	probeOverdue  = gauge("probe_overdue", "1 while the last delivery probe is overdue (not back, and nothing else heard from the broker).")
	probeRTT      = histogram("probe_round_trip_seconds", "Round trip of the delivery probes through the broker.")
	ready         = gauge("ready", "1 while the server is ready for traffic (what its readiness handler answers 200 for).")

	hookDuration = histogram("hook_duration_seconds", "Duration of hook calls, by hook (EventHandler: every event handler).", "hook")
	hookErrors   = counter("hook_errors_total", "Hook calls that failed or panicked, by hook (credentials rejected by Authenticate are not errors).", "hook")
	hookPanics   = counter("hook_panics_total", "Hook calls that panicked (recovered), by hook.", "hook")
)

var all = []metric{
	connections, connects, disconnects, auths, users, rooms,
	received, sent, delivers, writes, written, latency,
	drops, episodes, bpCloses, limits, repaired,
	publishes, publishErrors, brokerIn, malformed, ownSkipped, unwanted, listenErrors, inbox, live, reconnects,
	outboxHeld, outboxBytes, outboxQueued, outboxSent, outboxDropped,
	probesSent, probesBack, probeOverdue, probeRTT, ready,
	hookDuration, hookErrors, hookPanics,
}

// Collector is a prometheus.Collector of one websocket.Server's metrics.
// At each scrape it reads the server's Stats once and turns them into
// constant metrics: the server keeps plain atomic counters and knows
// nothing of Prometheus, and a scrape costs the server one brief read lock.
type Collector struct {
	srv *websocket.Server
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a collector of srv's metrics. Register it on the
// app's registry, once per server:
//
//	reg.MustRegister(prommetrics.NewCollector(srv))
//
// Two servers in one process (and one registry) need a label to tell them
// apart: register each on prometheus.WrapRegistererWith(prometheus.Labels{"server": "a"}, reg).
func NewCollector(srv *websocket.Server) *Collector { return &Collector{srv: srv} }

// Describe sends the descriptors of every metric family.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range all {
		ch <- m.desc
	}
}

// Collect reads the server's Stats and sends every metric.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Stats()
	emit := func(m metric, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(m.desc, m.typ, v, labels...)
	}
	u := func(v uint64) float64 { return float64(v) }

	emit(connections, float64(st.Unauthorized), "unauthorized")
	emit(connections, float64(st.Authenticating), "authenticating")
	emit(connections, float64(st.Authenticated), "authenticated")
	emit(connects, u(st.Connects))
	for _, code := range websocket.TrackedCloseCodes() {
		emit(disconnects, u(st.Disconnects[code]), strconv.Itoa(code))
	}
	emit(disconnects, u(st.Disconnects[0]), "other")
	emit(auths, u(st.Auth.OK), "ok")
	emit(auths, u(st.Auth.Rejected), "rejected")
	emit(auths, u(st.Auth.Error), "error")
	emit(auths, u(st.Auth.Timeout), "timeout")
	emit(auths, u(st.Auth.Refused), "refused")
	emit(auths, u(st.Auth.HandshakeFailed), "handshake_failed")
	emit(users, float64(st.Users))
	emit(rooms, float64(st.Rooms))

	emit(received, u(st.Inbound.System), "system")
	emit(received, u(st.Inbound.Custom), "custom")
	emit(received, u(st.Inbound.Invalid), "invalid")
	emit(sent, u(st.MessagesSent))
	emit(delivers, u(st.Deliveries))
	emit(writes, u(st.WriteCalls))
	emit(written, u(st.BytesWritten))
	ch <- constHistogram(latency, st.DeliveryLatency)

	emit(drops, u(st.Dropped))
	emit(episodes, u(st.BackpressureEpisodes))
	emit(bpCloses, u(st.BackpressureCloses))
	emit(limits, u(st.Limits.Connections), "connections")
	emit(limits, u(st.Limits.ConnectionsPerUser), "connections_per_user")
	emit(limits, u(st.Limits.Rooms), "rooms")
	emit(limits, u(st.Limits.Payload), "payload")
	emit(limits, u(st.Limits.Rate), "rate")
	emit(limits, u(st.Limits.PeerGone), "peer_gone")
	emit(repaired, u(st.RepairedUTF8))

	emit(publishes, u(st.Published))
	emit(publishErrors, u(st.PublishErrors))
	emit(brokerIn, u(st.Received))
	emit(malformed, u(st.Malformed))
	emit(ownSkipped, u(st.OwnSkipped))
	emit(unwanted, u(st.Unwanted))
	emit(listenErrors, u(st.ListenErrors))
	emit(inbox, float64(st.InboxDepth))
	emit(live, boolValue(st.BrokerLive))
	emit(reconnects, u(st.BrokerReconnects))
	emit(outboxHeld, float64(st.BrokerOutbox.Messages))
	emit(outboxBytes, float64(st.BrokerOutbox.Bytes))
	emit(outboxQueued, u(st.BrokerOutbox.Queued))
	emit(outboxSent, u(st.BrokerOutbox.Replayed))
	emit(outboxDropped, u(st.BrokerOutbox.Expired), "expired")
	emit(outboxDropped, u(st.BrokerOutbox.Failed), "refused")
	emit(outboxDropped, u(st.BrokerOutbox.Rejected), "full")
	emit(probesSent, u(st.Probe.Sent))
	emit(probesBack, u(st.Probe.Returned))
	emit(probeOverdue, boolValue(st.Probe.Overdue))
	ch <- constHistogram(probeRTT, st.Probe.RoundTrip)
	emit(ready, boolValue(st.Ready))

	for _, name := range websocket.HookNames() {
		h := st.Hooks[name]
		ch <- constHistogram(hookDuration, h.Duration, name)
		emit(hookErrors, u(h.Errors), name)
		emit(hookPanics, u(h.Panics), name)
	}
}

// constHistogram turns a websocket.Histogram (per-bucket counts, durations)
// into a Prometheus one (cumulative counts, seconds).
func constHistogram(m metric, h websocket.Histogram, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var cum uint64
	for i, b := range h.Bounds {
		cum += h.Counts[i]
		buckets[b.Seconds()] = cum
	}
	return prometheus.MustNewConstHistogram(m.desc, h.Count, h.Sum.Seconds(), buckets, labels...)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
