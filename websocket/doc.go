// Package websocket is the echows server: real-time messaging over
// WebSocket with post-connection authentication, rooms, a passive heartbeat,
// per-client backpressure and cross-instance fan-out through a Broker. It
// speaks the wire protocol of the Ignis WebSocket component (see package
// wire), so Go and Ignis instances can share one Redis.
//
// A Server is a plain http.Handler: mount it on any router (package
// lifecycle mounts it on Echo). It imports neither Echo nor fx.
//
//	srv, err := websocket.New(websocket.Config{Authenticate: auth})
//	...
//	srv.Configure(ctx)                  // broker subscription, heartbeat sweep
//	http.Handle(srv.Path(), srv)        // "/ws"
//	srv.Emit(ctx, websocket.ToRoom("lobby"), "chat", msg)
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
// SendToClient, SendToUser, SendToRoom and Broadcast deliver to this
// instance's clients. Emit (with ToClient, ToUser, ToRoom, ToAll) and Send
// (upstream's routing by destination) deliver locally and publish an
// envelope to the Broker, which every other instance delivers to its own
// clients. The default MemoryBroker keeps everything in the process;
// NewRedisBroker scales out. Processes without a server publish with package
// emitter.
//
// A message is encoded once into a WebSocket frame that every recipient
// shares; nothing is encoded per recipient. Each client has its own queue
// and writer, so a slow client never delays another: past BackpressureLimit
// bytes queued, messages to it are dropped and counted (or it is closed,
// with CloseOnBackpressureLimit) until its queue drains. A writer waits
// while its queue is still growing (a burst being queued) so that it writes
// the burst in one call; Cork holds every writer until a batch of sends is
// queued, as uWebSockets' cork does, and envelopes from the broker are
// delivered in corked batches.
//
// # Concurrency
//
// Every exported method of Server and Client is safe for concurrent use,
// from any goroutine, hooks included. Sends never block on a client: they
// only queue. Each connection has one reader goroutine and at most one
// writer goroutine (started when frames are queued, gone when the queue is
// empty); only the writer writes to the socket, gorilla's own control frames
// included. Hooks run as follows:
//
//   - Authenticate, Handshake, OnConnected: on the client's authentication
//     goroutine; a slow hook delays no one else.
//   - ValidateRooms, OnMessage, TransformInbound: on the client's read
//     goroutine, in the order the client sent its frames; a hook that hangs
//     holds up that client only.
//   - TransformOutbound: on the client's writer goroutine, at most
//     EncryptedBatchLimit at once for one fan-out message.
//   - OnDisconnected: on the client's read goroutine, after cleanup.
//
// A hook's context is cancelled when its client starts closing (and the
// authentication context when the auth window ends). A hook that panics is
// recovered and logged, and counts as failed. No lock is held while a hook
// runs or while the socket is written.
//
// # Security
//
// Upgrades are accepted from the same origin only, unless AllowedOrigins
// opens them up. Nothing but authenticate and heartbeat is accepted before
// authentication. Clients cannot join rooms without the ValidateRooms hook
// and cannot name internal "ws:" channels. Frame size is bounded by
// MaxPayloadLength and every client's outbound memory by BackpressureLimit.
package websocket
