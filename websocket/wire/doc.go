// Package wire holds the echows wire format: the client frame, the system
// events, the error texts, the close codes, the Redis channel names and the
// cross-instance envelope.
//
// It is byte-compatible with the WebSocket component of the Ignis framework
// (TypeScript, on Bun), so a Go fleet and an Ignis fleet can share one Redis
// and reach each other's clients. It is a leaf package: it imports only the
// standard library and echows' internal JSON encoder, so a process that only
// emits (see package emitter) never links the server or gorilla/websocket.
package wire
