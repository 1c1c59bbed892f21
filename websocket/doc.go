// Package websocket is the echows server: real-time messaging over
// WebSocket with post-connection authentication, rooms, a passive heartbeat,
// per-client backpressure and cross-instance fan-out through a Broker. It
// speaks the wire protocol of the Ignis WebSocket component (see package
// wire), so Go and Ignis instances can share one Redis.
//
// A Server is a plain http.Handler: mount it on any router (package
// lifecycle mounts it on Echo). It imports neither Echo nor fx.
//
//	srv, err := websocket.New(websocket.Config{Hooks: websocket.Hooks{Authenticate: auth}})
//	...
//	srv.Configure(ctx)                  // broker subscription, heartbeat sweep
//	http.Handle(srv.Path(), srv)        // "/ws"
//	srv.ToRoom(ctx, "lobby", "chat", msg)
//	srv.Shutdown(ctx)                   // 1001 to every client
//
// # Client lifecycle
//
// A connection starts unauthorized with a client id (a UUID) and has
// AuthTimeout (5 s) to send {"event":"authenticate","data":credentials}. The
// Authenticate hook then runs on its own goroutine, within 3 × AuthTimeout;
// with RequireEncryption the Handshake hook runs after it. On success the
// client is indexed by its user id, joins the room named after its own id and
// the DefaultRooms, receives {"event":"connected","data":{id, userId?, time,
// serverPublicKey?, salt?}} and the OnConnected hook runs. Failures send an
// error event and close with 4001 (timeout), 4003 (authentication) or 4004
// (encryption). On disconnect the client leaves every index, then
// OnDisconnected runs.
//
// # Rooms
//
// Clients ask to join with {"event":"join","data":{"rooms":[...]}}: names
// must be non-empty, at most 256 characters and not start with "ws:"; the
// ValidateRooms hook returns the allowed subset (without the hook, every
// client join is refused). "leave" leaves rooms the client is in. The
// server's JoinRoom and LeaveRoom need no approval.
//
// A name shaped like a client id (a UUID) is reserved: every client is in
// the room of its own id, alone, for good, so that a message to that room
// (upstream's send to a client id on another instance) reaches that client
// only. Use a prefix for rooms named after other UUIDs ("doc:<uuid>").
//
// # Heartbeat and transport
//
// Any message refreshes a client's last activity; every HeartbeatInterval a
// sweep closes authenticated clients idle for longer than HeartbeatTimeout
// with 4002. Separately, protocol pings go out every IdleTimeout/2 and a peer
// silent for IdleTimeout is dropped (proxies drop idle sockets). Frames over
// MaxPayloadLength close with 1009, text that is not UTF-8 with 1007; binary
// frames get "Invalid message format".
//
// # Delivery and scaling out
//
// ToClient, ToUser, ToRoom and Broadcast reach every instance: they deliver
// to this instance's clients and publish an envelope to the Broker, which
// every other instance delivers to its own clients (a client of this
// instance is not published: nobody else has it). Local() does the same on
// this instance only; Send routes by destination as upstream's send does;
// Client.Send answers one client. The default MemoryBroker keeps everything
// in the process; NewRedisBroker scales out. Processes without a server
// publish with package emitter.
//
// A message is encoded once into a WebSocket frame that every recipient
// shares; nothing is encoded per recipient. Each client has its own queue,
// so a slow client never delays another: past BackpressureLimit bytes
// queued, messages to it are dropped and counted (or it is closed, with
// CloseOnBackpressureLimit) until its queue drains. Writes are batched
// where the producer's work ends: a client's queue goes on a flush list
// when it gets its first frame, and a flush goroutine writes everything the
// client has by the time its turn comes in one call. In a burst to one
// audience, up to 32 messages are held together and queued for each member
// at once; the send that fills the batch writes them, one call per member,
// as uWebSockets' topic tree drains every 32 messages. Anything
// else sent to any client queues the waiting batch first, so each client
// gets messages in the order they were sent. In steady traffic
// (two messages in a row, each at least a millisecond after the fan-out
// before it, no cork open) the send call writes the recipients itself
// instead, with one non-blocking write each, as uWebSockets' publish does
// (on more than one processor, the last 256 of them; the flush goroutines
// write the rest in parallel). Cork holds the flush list until a batch of
// sends is queued, as uWebSockets' cork does; envelopes from the broker
// are delivered in corked batches when more than one is waiting.
//
// # Concurrency
//
// Every exported method of Server and Client is safe for concurrent use,
// from any goroutine, hooks included. Sends never block on a client: they
// queue, and at most try one non-blocking write per recipient. A
// connection has a reader goroutine while frames arrive; an idle one has
// none (on Linux without TLS its socket waits in the server's epoll set
// and gets a fresh reader when it is readable). Whoever holds a client's
// write token is the only writer of its socket, control frames included:
// a sender's call writing inline, one of the server's flush goroutines (at
// most GOMAXPROCS, shared by all clients, each write a non-blocking
// attempt), or, when the
// socket is full, the connection is TLS or its messages go through
// TransformOutbound, a writer goroutine of the client's own that exists
// only while it has something to write. Hooks run as follows:
//
//   - Authenticate, Handshake, OnConnected: on the client's authentication
//     goroutine; a slow hook delays no one else.
//   - ValidateRooms, OnMessage, TransformInbound: on the client's read
//     goroutine, in the order the client sent its frames; a hook that hangs
//     holds up that client only.
//   - TransformOutbound: on the client's writer goroutine, before anything
//     of its batch is written, at most EncryptedBatchLimit at once for one
//     fan-out message, each call bounded by WriteTimeout.
//   - OnDisconnected: once, after cleanup, on the read goroutine or the
//     authentication goroutine, whichever ends last: it always starts after
//     OnConnected returned.
//
// A hook's context is cancelled when its client starts closing (and the
// authentication context when the auth window ends). A hook that panics is
// recovered and logged, and counts as failed. No lock is held while a hook
// runs, while the socket is written, or while a line is logged.
//
// # Monitoring
//
// Stats returns every counter and gauge of the server in one snapshot:
// connections by state, disconnects by close code, authentication
// outcomes, messages received by kind, messages sent and deliveries, write
// calls and bytes, backpressure, refusals by limit, the broker's traffic
// and health, hook durations, and a sampled histogram of the time from a
// send call to the frame's write. Each counter is one atomic add where the
// thing happens (per message, per write call, per connection event; never
// per recipient under a lock), so counting costs the fan-out nothing it
// would notice; package prommetrics exposes the snapshot to Prometheus.
//
// Ready says whether the instance should get traffic: it fails while the
// server is not configured or shutting down, while the broker's
// subscriptions are not confirmed (see BrokerHealthReporter), and while the
// delivery probe is overdue. The probe catches a subscription that looks
// alive but delivers nothing: once the broker has been quiet for
// ProbeInterval, the server publishes a probe envelope to itself (a client
// envelope for a target no client has, see wire.ProbeChannel, which every
// server, upstream's included, ignores) and notices when it does not come
// back. ReadinessHandler and LivenessHandler are the matching HTTP
// handlers; liveness checks nothing but the process, on purpose.
//
// Logs go to Config.Logger (log/slog) with the same keys everywhere:
// "client", "user", "room", "code", "event" (and "err", "hook", "limit").
// What a single client causes (its close, a bad frame, rejected
// credentials, a refused join, a limit) is logged at debug level and
// counted in Stats; a lost or restored broker connection at warn and info
// levels; what a peer or a publisher could repeat at will (a failing hook,
// a backpressured client, a malformed envelope) at warn level at most once
// per 10 s, with the number of lines held back. Nothing is logged at info
// level per message or per connection, and nothing under a lock.
//
// # Security and limits
//
// Upgrades are accepted from the same origin only, unless AllowedOrigins
// opens them up. Nothing but authenticate and heartbeat is accepted before
// authentication. Clients cannot join rooms without the ValidateRooms hook
// and cannot name internal "ws:" channels or client ids.
//
// Every connection has a budget, authenticated or not, and no peer can make
// the server hold more than it or delay anyone else:
//
//   - outbound bytes queued, control frames included (BackpressureLimit; at
//     most one pending pong, however many pings arrive): past it messages
//     are dropped (or the client closed with 1013) and the peer is not read
//     until its queue drains;
//   - inbound frames per second (MessageRate, MessageBurst) and bytes per
//     second (ReadRate): past them the peer is not read for a while, so TCP
//     pushes back on it;
//   - message size (MaxPayloadLength; MaxAuthPayloadLength before
//     authentication): 1009;
//   - time to authenticate (AuthTimeout): 4001;
//   - rooms (MaxRoomsPerClient, MaxRoomsPerJoin): the rest is refused;
//   - connections per instance (MaxConnections: HTTP 503 at upgrade) and per
//     user (MaxConnectionsPerUser: "Too many connections", 1008).
//
// No invalid UTF-8 text frame leaves the server (invalid data from the app
// is refused with ErrEncode, from another instance repaired to U+FFFD), and
// no close code RFC 6455 forbids (ErrInvalidClose).
package websocket
