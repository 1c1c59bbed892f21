// Package emitter reaches WebSocket clients from processes that run no
// WebSocket server: background workers, cron jobs, other services.
//
// An Emitter publishes the same envelopes as the servers do, on the same
// Redis channels, with serverId "emitter", so every server instance
// subscribed to that Redis processes them and delivers to the clients it
// holds:
//
//	ToClient   ws:client:<clientId>   {"serverId":"emitter","type":"client","target":...,"event":...,"data":...}
//	ToUser     ws:user:<userId>       every session of the user, on every instance
//	ToRoom     ws:room:<room>         every member of the room, minus exclude
//	Broadcast  ws:broadcast           every authenticated client, minus exclude
//
// The format is that of the Ignis framework's WebSocketEmitter, so an echows
// emitter reaches Ignis servers sharing the Redis, and the other way round.
//
// Build one from the application's Redis client with New (the emitter only
// publishes, so it uses the client's pool and never closes it), or from any
// Publisher with NewWithPublisher: a websocket.MemoryBroker gives an
// in-process emitter that needs no Redis, for tests and single-instance apps.
// In an fx app with component.Module (or echov5.Module), take the
// *emitter.Emitter from the graph instead: it publishes on the module's
// broker, Redis or in-process, and hooks, event handlers and the services
// they use may all depend on it.
//
// The methods are named as the server's that reach every instance
// (websocket.Server.ToClient, ToUser, ToRoom, Broadcast) and as upstream's
// emitter's (toClient, toUser, toRoom, broadcast).
//
// This package imports only the wire format (package
// github.com/echows/echows/websocket/wire, with echows' internal JSON
// encoder) and go-redis: a worker that emits does not link the WebSocket
// server or gorilla/websocket.
//
// Delivery is at most once, as Redis pub/sub is: a message published while
// no server is subscribed, or while a server's subscriber connection is
// down, is lost. An Emitter is safe for concurrent use.
package emitter
