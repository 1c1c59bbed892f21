package websocket

import (
	"errors"
	"fmt"
)

// Configuration errors, returned by New (and by Configure for the broker).
// Each wraps ErrInvalidConfig, so errors.Is(err, ErrInvalidConfig) holds for
// all of them.
var (
	// ErrInvalidConfig is wrapped by every error about a Config.
	ErrInvalidConfig = errors.New("websocket: invalid config")
	// ErrNoAuthenticate means Config.Authenticate is nil. Every server needs one.
	ErrNoAuthenticate = fmt.Errorf("%w: no Authenticate hook (provide a websocket.AuthenticateFunc)", ErrInvalidConfig)
	// ErrNoHandshake means RequireEncryption is set without a Handshake hook.
	// Upstream starts anyway and closes every client with 4004; echows fails
	// fast instead.
	ErrNoHandshake = fmt.Errorf("%w: RequireEncryption without a Handshake hook", ErrInvalidConfig)
	// ErrDuplicateHandler means two event handlers name the same event; the
	// error names where each came from.
	ErrDuplicateHandler = fmt.Errorf("%w: two handlers for one event", ErrInvalidConfig)
	// ErrReservedEvent means an event handler names a system event
	// (authenticate, join, ...), which the protocol handles itself.
	ErrReservedEvent = fmt.Errorf("%w: handler for a system event", ErrInvalidConfig)
)

// Runtime errors.
var (
	// ErrClientNotFound means no client with that id is connected to this server.
	ErrClientNotFound = errors.New("websocket: client not found")
	// ErrServerClosed is returned by calls made after Shutdown began.
	ErrServerClosed = errors.New("websocket: server closed")
	// ErrAlreadyConfigured is returned by a second call to Configure.
	ErrAlreadyConfigured = errors.New("websocket: already configured")
	// ErrBrokerNotReady means the broker did not confirm its subscriptions
	// within Config.ReadyTimeout.
	ErrBrokerNotReady = errors.New("websocket: broker not ready")
	// ErrPublish wraps a broker publish failure returned by Send, ToClient,
	// ToUser, ToRoom and Broadcast.
	// Local delivery has happened when it is returned.
	ErrPublish = errors.New("websocket: publish")
	// ErrEncode means data could not be encoded as JSON.
	ErrEncode = errors.New("websocket: encode")
	// ErrRejected is returned (wrapped) by an AuthenticateFunc to reject
	// credentials: the client gets "Authentication failed". Any other error
	// means the hook itself failed: the client gets "Authentication error".
	ErrRejected = errors.New("websocket: credentials rejected")
)

// errHookPanic is logged (wrapped) when a hook panics; the panic is
// recovered and treated as the hook's error.
var errHookPanic = errors.New("websocket: hook panicked")

// errSocketClosing ends a flush goroutine's write when the socket was
// closed meanwhile (see queue.letClose).
var errSocketClosing = errors.New("websocket: socket closed during a write")

// errNotAuthenticated refuses a room to a client that is connected but not
// authenticated. It wraps ErrClientNotFound, as Client.Send and ToClient
// treat such a client: it gets nothing but error events until it is
// authenticated.
var errNotAuthenticated = fmt.Errorf("not authenticated: %w", ErrClientNotFound)

// ErrInvalidRoom means a room name is empty, too long or reserved ("ws:").
var ErrInvalidRoom = errors.New("websocket: invalid room name")

// ErrInvalidTarget means a client id, user id or room is empty.
var ErrInvalidTarget = errors.New("websocket: invalid target")

// ErrInvalidEvent means an event name is empty: no message is sent without
// one.
var ErrInvalidEvent = errors.New("websocket: invalid event")

// ErrInvalidClose means a close code may not be sent (RFC 6455 §7.4: 1005,
// 1006, 1015, unassigned codes and codes outside 1000–4999), or a close
// reason is longer than 123 bytes or not valid UTF-8.
var ErrInvalidClose = errors.New("websocket: invalid close code or reason")

// ErrTooManyRooms means a client is already in Settings.MaxRoomsPerClient
// rooms.
var ErrTooManyRooms = errors.New("websocket: too many rooms")
