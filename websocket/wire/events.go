package wire

// System events. Any other event name is a custom event: from an
// authenticated client it goes to the server's handler of that event, or
// to its message hook.
const (
	// EventAuthenticate is sent by a client with its credentials.
	EventAuthenticate = "authenticate"
	// EventConnected is sent by the server when authentication succeeded.
	EventConnected = "connected"
	// EventDisconnect is reserved; a client-sent one is dropped.
	EventDisconnect = "disconnect"
	// EventJoin is sent by a client to join rooms: data {rooms: string[]}.
	EventJoin = "join"
	// EventLeave is sent by a client to leave rooms: data {rooms: string[]}.
	EventLeave = "leave"
	// EventError is sent by the server: data {message: string}.
	EventError = "error"
	// EventHeartbeat is sent by a client to refresh its last activity.
	EventHeartbeat = "heartbeat"
	// EventEncrypted wraps an encrypted payload, in either direction.
	EventEncrypted = "encrypted"
)

// Error texts the server sends in the data.message of an error event.
const (
	ErrTextInvalidFormat    = "Invalid message format"
	ErrTextNotAuthenticated = "Not authenticated"
	ErrTextAlreadyAuthed    = "Already authenticated"
	ErrTextAuthFailed       = "Authentication failed"
	ErrTextAuthError        = "Authentication error"
	ErrTextHandshakeFailed  = "Encryption handshake failed"
	// ErrTextTooManyConnections is echows' own: the user already has
	// Settings.MaxConnectionsPerUser connections on the instance.
	ErrTextTooManyConnections = "Too many connections"
)

// Close codes and the reasons sent with them.
const (
	CloseGoingAway      = 1001 // server shutting down
	CloseProtocolError  = 1002 // a frame RFC 6455 forbids
	CloseInvalidPayload = 1007 // a text frame that is not valid UTF-8
	ClosePolicy         = 1008 // a limit of the server (too many connections)
	CloseMessageTooBig  = 1009 // a frame larger than MaxPayloadLength
	CloseTryAgainLater  = 1013 // backpressured, with CloseOnBackpressureLimit
	CloseAuthTimeout    = 4001
	CloseHeartbeat      = 4002
	CloseAuthFailed     = 4003
	CloseEncryptionReq  = 4004
)

// Close reasons. Those of 1001 and 4001-4004 are upstream's exactly; for
// 1007 and 1009 Bun sends "Received invalid UTF-8" and "Received too big
// message", echows these shorter ones (clients act on the code). The
// README's table of close codes is tested against these constants.
const (
	ReasonShuttingDown  = "Server shutting down"
	ReasonAuthTimeout   = "Authentication timeout"
	ReasonHeartbeat     = "Heartbeat timeout"
	ReasonAuthFailed    = "Authentication failed"
	ReasonEncryptionReq = "Encryption required"
	ReasonInvalidUTF8   = "Invalid UTF-8"
	ReasonMessageTooBig = "Message too big"
	ReasonBackpressure  = "Backpressure limit exceeded"
	ReasonProtocolError = "Protocol error"
	ReasonTooManyConns  = "Too many connections"
)

// Default room names every authenticated client joins unless configured
// otherwise.
const (
	RoomDefault      = "ws-default"
	RoomNotification = "ws-notification"
)
