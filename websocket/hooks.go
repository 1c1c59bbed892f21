package websocket

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/echows/echows/websocket/wire"
)

// Message is one client frame: event, data and an optional id.
type Message = wire.Message

// AuthRequest is what an AuthenticateFunc gets: the client's credentials
// (the data of its authenticate event) and facts about its connection.
type AuthRequest struct {
	// ClientID is the id the server assigned to the connection.
	ClientID string
	// RemoteAddr is the peer's network address.
	RemoteAddr string
	// Header is the HTTP header of the upgrade request (cookies included).
	// Do not modify it.
	Header http.Header
	// Data is the raw JSON of the authenticate event's data.
	Data json.RawMessage
}

// Identity is what a successful authentication returns.
type Identity struct {
	// UserID indexes the client by user. Optional: a client without a user
	// id is reachable by its client id and rooms only.
	UserID string
	// Metadata is kept with the client; read it with Client.Metadata or
	// MetadataAs. Optional.
	Metadata any
}

// AuthenticateFunc checks credentials. It returns the client's Identity to
// accept it; nil (or an error wrapping ErrRejected) to reject it with
// "Authentication failed"; any other error for "Authentication error". Both
// close the client with 4003.
//
// It runs on its own goroutine, so a slow hook never blocks other clients.
// ctx is cancelled when the client goes away or its auth window
// (3 × AuthTimeout) ends.
type AuthenticateFunc func(ctx context.Context, req AuthRequest) (*Identity, error)

// AuthenticateAs adapts a hook that takes the authenticate data decoded into
// the app's own type T. Data that does not decode into T is rejected
// ("Authentication failed") without calling fn.
func AuthenticateAs[T any](fn func(ctx context.Context, req AuthRequest, creds T) (*Identity, error)) AuthenticateFunc {
	return func(ctx context.Context, req AuthRequest) (*Identity, error) {
		var creds T
		if err := json.Unmarshal(req.Data, &creds); err != nil {
			return nil, fmt.Errorf("%w: decode credentials: %v", ErrRejected, err)
		}
		return fn(ctx, req, creds)
	}
}

// HandshakeRequest is what a HandshakeFunc gets.
type HandshakeRequest struct {
	ClientID string
	UserID   string
	// Data is the raw JSON of the authenticate event's data (the client's
	// public key is usually in it).
	Data json.RawMessage
}

// HandshakeResult is the key material sent to the client in connected.
type HandshakeResult struct {
	ServerPublicKey string
	Salt            string
}

// HandshakeFunc runs the key exchange after authentication when
// RequireEncryption is set. Nil or an error fails the handshake: the client
// gets "Encryption handshake failed" and is closed with 4004. It runs on the
// authentication goroutine, within the same auth window.
type HandshakeFunc func(ctx context.Context, req HandshakeRequest) (*HandshakeResult, error)

// ValidateRoomsFunc returns the subset of rooms the client may join. Rooms
// it returns that the client did not ask for are ignored. An error refuses
// every room. It runs on the client's read goroutine: a slow hook delays
// only that client.
type ValidateRoomsFunc func(ctx context.Context, c *Client, rooms []string) ([]string, error)

// ConnectedFunc runs after a client authenticated and was sent connected, on
// the authentication goroutine. Its error is logged; the client stays.
type ConnectedFunc func(ctx context.Context, c *Client) error

// DisconnectedFunc runs once per client after it left every index, whether
// or not it ever authenticated. ctx is not the client's (which is done by
// then); it is cancelled only when Shutdown gives up waiting.
type DisconnectedFunc func(ctx context.Context, c *Client)

// MessageFunc receives a custom event from an authenticated client, on that
// client's read goroutine, in the order the client sent them. Its error is
// logged. ctx ends when the client starts closing: work that must outlive
// the sender (a ToRoom to its room, say) should run under
// context.WithoutCancel(ctx) with a bound of its own.
//
// As the OnMessage hook it receives the custom events no EventHandler
// claims (upstream's messageHandler); as an EventHandler's Func, the events
// of that handler.
type MessageFunc func(ctx context.Context, c *Client, msg Message) error

// OutboundTransformer rewrites a message for an encrypted client, typically
// into {event: "encrypted", data: ciphertext}. Returning nil drops the
// message for that client; an error drops it and is logged. It runs on the
// client's writer goroutine, so per-client order holds and a slow transform
// delays only that client; for one room or broadcast message at most
// EncryptedBatchLimit calls run at once. Unlike the other hooks' contexts,
// ctx is not cancelled when the client starts closing (what was queued
// before a close is still sent before it); it ends after WriteTimeout.
type OutboundTransformer func(ctx context.Context, c *Client, msg Message) (*Message, error)

// InboundTransformer decrypts the data of a client-sent encrypted event into
// the message it carries, which is then routed as if sent plainly. Nil drops
// it; an error drops it and is logged. It runs on the client's read goroutine.
type InboundTransformer func(ctx context.Context, c *Client, data json.RawMessage) (*Message, error)
