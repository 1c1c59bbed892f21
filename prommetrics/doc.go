// Package prommetrics exposes an echows server's metrics to Prometheus.
//
// The server itself (package websocket) knows nothing of Prometheus: it
// keeps plain atomic counters where things happen (at most one per message,
// per write call or per connection event, never one per recipient under a
// lock) and hands them out as one snapshot, websocket.Server.Stats. A
// Collector reads that snapshot at each scrape and turns it into constant
// metrics, so a scrape costs the server one brief read lock and nothing is
// registered anywhere unless the app asks.
//
// # Registering
//
// With fx, provide a prometheus.Registerer and component.Module registers
// the server's collector on it (and unregisters it on stop); without one,
// nothing is registered, on the global registry neither:
//
//	reg := prometheus.NewRegistry()
//	fx.New(
//		...,
//		component.Module,
//		fx.Provide(fx.Annotate(func() *prometheus.Registry { return reg },
//			fx.As(new(prometheus.Registerer)), fx.As(new(prometheus.Gatherer)))),
//	)
//
// (An app that already provides a prometheus.Registerer needs nothing
// more; to use the global registry, provide prometheus.DefaultRegisterer.)
// Built by hand, pass it in component.Deps.Registerer, or register a
// collector yourself:
//
//	reg.MustRegister(prommetrics.NewCollector(srv))
//
// # Serving /metrics
//
// Serve the app's registry with promhttp, on Echo v4 or v5 alike:
//
//	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
//
// (or promhttp.Handler() for the global registry). Echo's own
// echoprometheus middleware registers its HTTP metrics on the same
// registry if given it.
//
// # Kubernetes
//
// Point the readinessProbe at the server's readiness handler
// (component.Config.ReadinessPath, or lifecycle.Readiness / echov5.Readiness
// mounted by hand): it answers 503 while the server is starting or
// shutting down, while its broker's subscriptions are being restored, and
// while the delivery probe through the broker is overdue, so a pod that
// cannot hear the other instances stops getting new connections, and
// gets them again by itself. Point the livenessProbe at the liveness
// handler (LivenessPath, lifecycle.Liveness): it checks nothing but that
// the process answers, because restarting a pod for a Redis outage drops
// every connection it holds and brings none back sooner. A startupProbe,
// if any, can use the readiness path.
//
//	readinessProbe: {httpGet: {path: /readyz, port: 8080}, periodSeconds: 5, failureThreshold: 2}
//	livenessProbe:  {httpGet: {path: /livez, port: 8080}, periodSeconds: 10, failureThreshold: 3}
//
// # Metrics
//
// Every name starts with echows_; durations are in seconds, sizes in
// bytes. Labels take a fixed, small set of values: never a client id, a user
// id or a room.
//
//	echows_connections                    gauge      state: unauthorized, authenticating, authenticated
//	echows_connects_total                 counter    upgrades accepted
//	echows_disconnects_total              counter    code: the close code a connection ended with (1000–1013, 4001–4004, "other"): the server's, else the peer's, else 1006
//	echows_authentications_total          counter    result: ok, rejected, error, timeout, refused (MaxConnectionsPerUser), handshake_failed
//	echows_users                          gauge      distinct user ids connected here
//	echows_rooms                          gauge      non-empty rooms here (each client's own-id room included)
//	echows_messages_received_total        counter    kind: system, custom, invalid
//	echows_messages_sent_total            counter    messages sent to clients, once per message
//	echows_deliveries_total               counter    messages queued for a client (a room message to 100 members: 100)
//	echows_socket_writes_total            counter    socket write calls (each carries many frames)
//	echows_socket_written_bytes_total     counter    bytes written to client sockets
//	echows_delivery_latency_seconds       histogram  send call to socket write, every recipient of 1 message in 64
//	echows_backpressure_drops_total       counter    messages dropped for backpressure
//	echows_backpressure_episodes_total    counter    times a client became backpressured
//	echows_backpressure_closes_total      counter    clients closed for backpressure (1013)
//	echows_limit_refusals_total           counter    limit: connections, connections_per_user, rooms, payload, rate
//	echows_invalid_utf8_repaired_total    counter    messages whose invalid UTF-8 was replaced
//	echows_broker_publishes_total         counter    envelopes published
//	echows_broker_publish_errors_total    counter    publishes that failed
//	echows_broker_received_total          counter    envelopes from other instances delivered here
//	echows_broker_malformed_total         counter    payloads skipped as malformed
//	echows_broker_own_skipped_total       counter    own envelopes heard back and skipped
//	echows_broker_unwanted_total          counter    envelopes from other instances with no recipient here
//	echows_broker_listen_errors_total     counter    memberships started before the broker confirmed it hears them
//	echows_broker_inbox_depth             gauge      payloads waiting for the dispatcher (at most 4096)
//	echows_broker_subscriptions_live      gauge      1 while the broker's subscriptions are confirmed
//	echows_broker_reconnects_total        counter    subscriptions restored after a lost connection
//	echows_broker_outbox_messages         gauge      publishes held while Redis is away
//	echows_broker_outbox_bytes            gauge      bytes held while Redis is away
//	echows_broker_outbox_queued_total     counter    publishes the outbox took
//	echows_broker_outbox_replayed_total   counter    publishes it replayed once Redis was back
//	echows_broker_outbox_dropped_total    counter    reason: expired, refused, full
//	echows_probe_sent_total               counter    delivery probes sent through the broker
//	echows_probe_returned_total           counter    delivery probes back
//	echows_probe_overdue                  gauge      1 while the last probe is overdue
//	echows_probe_round_trip_seconds       histogram  the probes' round trips
//	echows_ready                          gauge      1 while the readiness handler answers 200
//	echows_hook_duration_seconds          histogram  hook: Authenticate, Handshake, ValidateRooms, OnConnected, OnDisconnected, OnMessage, TransformOutbound, TransformInbound, EventHandler
//	echows_hook_errors_total              counter    hook: as above; calls that failed or panicked
//	echows_hook_panics_total              counter    hook: as above; calls that panicked
//
// The histograms share fixed buckets from 100 µs to 10 s. Useful queries:
// deliveries per second, rate(echows_deliveries_total[1m]); the fan-out
// latency's 99th percentile, histogram_quantile(0.99,
// sum by (le) (rate(echows_delivery_latency_seconds_bucket[5m]))); an
// instance that cannot hear the others, echows_broker_subscriptions_live == 0
// or echows_probe_overdue == 1. examples/grafana holds a dashboard built on
// them.
package prommetrics
