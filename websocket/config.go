package websocket

import (
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultPath                = "/ws"
	DefaultMaxPayloadLength    = 128 << 10
	DefaultIdleTimeout         = 60 * time.Second
	DefaultBackpressureLimit   = 1 << 20
	DefaultAuthTimeout         = 5 * time.Second
	DefaultHeartbeatInterval   = 30 * time.Second
	DefaultHeartbeatTimeout    = 90 * time.Second
	DefaultEncryptedBatchLimit = 10
	DefaultWriteTimeout        = 10 * time.Second
	DefaultReadyTimeout        = 30 * time.Second
)

// DefaultRooms are the rooms every authenticated client joins when
// Config.DefaultRooms is nil.
func DefaultRooms() []string { return []string{wire.RoomDefault, wire.RoomNotification} }

// Config configures a Server. The zero value of every field means its
// documented default; only Authenticate is required.
type Config struct {
	// Path is where the handler is meant to be mounted. The server does not
	// route by it (the router does); it is reported by Server.Path.
	// Optional. Default "/ws".
	Path string
	// DefaultRooms are joined by every client when it authenticates, beside
	// its own client id. Optional. Default: nil means "ws-default" and
	// "ws-notification"; a non-nil empty slice means none.
	DefaultRooms []string
	// AllowedOrigins lists the Origin header values accepted on upgrade, as
	// full origins ("https://app.example.com") or "*" for any. Optional.
	// Default: same origin only (a request without Origin is accepted, as
	// non-browser clients send none).
	AllowedOrigins []string

	// MaxPayloadLength is the largest frame a client may send, in bytes; a
	// larger one closes the connection with 1009. Optional. Default 128 KiB.
	MaxPayloadLength int64
	// IdleTimeout is how long the transport may stay silent before the peer
	// is dropped, when pings are on. The server pings every IdleTimeout/2.
	// Optional. Default 60 s (proxies drop idle sockets around 60 s).
	IdleTimeout time.Duration
	// DisablePings turns off protocol pings and the IdleTimeout read
	// deadline. Optional. Default false (pings are sent).
	DisablePings bool
	// BackpressureLimit is how many bytes may wait in one client's outbound
	// queue. Past it the client is backpressured: messages to it are dropped
	// and counted until the queue drains. Optional. Default 1 MiB.
	BackpressureLimit int
	// CloseOnBackpressureLimit closes a backpressured client instead of
	// dropping its messages. Optional. Default false.
	CloseOnBackpressureLimit bool
	// WriteTimeout bounds one write to a client's socket; a client that takes
	// longer is disconnected. Optional. Default 10 s.
	WriteTimeout time.Duration

	// AuthTimeout is how long a new connection has to send authenticate; an
	// authentication in progress has 3 × AuthTimeout to finish. Close 4001.
	// Optional. Default 5 s.
	AuthTimeout time.Duration
	// HeartbeatInterval is the period of the idle-client sweep. Optional.
	// Default 30 s.
	HeartbeatInterval time.Duration
	// HeartbeatTimeout is how long an authenticated client may send nothing
	// before the sweep closes it with 4002. Optional. Default 90 s.
	HeartbeatTimeout time.Duration

	// RequireEncryption runs the Handshake hook after authentication; a
	// client whose handshake fails is closed with 4004. Optional. Default false.
	RequireEncryption bool
	// EncryptedBatchLimit caps how many TransformOutbound calls run at once
	// for one room or broadcast message. Optional. Default 10.
	EncryptedBatchLimit int

	// Broker carries messages between instances. Optional. Default: an
	// in-process broker (one instance). Use NewRedisBroker to scale out. The
	// server subscribes in Configure and unsubscribes in Shutdown; it never
	// closes the broker itself.
	Broker Broker
	// ReadyTimeout bounds how long Configure waits for the broker to confirm
	// its subscriptions. Optional. Default 30 s.
	ReadyTimeout time.Duration
	// ServerID identifies this instance in envelopes. Optional. Default: a
	// random UUID. It must never be "emitter".
	ServerID string
	// Logger receives the server's logs. Optional. Default slog.Default().
	Logger *slog.Logger

	// Authenticate checks a client's credentials. Required.
	Authenticate AuthenticateFunc
	// Handshake runs after Authenticate when RequireEncryption is set (and
	// is required then). Optional.
	Handshake HandshakeFunc
	// ValidateRooms returns which of the rooms a client asked to join it may
	// join. Optional. Without it every client join request is refused.
	ValidateRooms ValidateRoomsFunc
	// OnConnected runs after a client authenticated and got connected.
	// Optional.
	OnConnected ConnectedFunc
	// OnDisconnected runs after a client left every index. Optional.
	OnDisconnected DisconnectedFunc
	// OnMessage receives custom events from authenticated clients. Optional.
	// Without it custom events are dropped.
	OnMessage MessageFunc
	// TransformOutbound rewrites every message to an encrypted client
	// (never connected). Optional. Without it encrypted clients get plain
	// messages.
	TransformOutbound OutboundTransformer
	// TransformInbound decrypts a client-sent encrypted event into the
	// message it carries. Optional. Without it encrypted events are dropped.
	TransformInbound InboundTransformer
}

// withDefaults returns a copy of c with defaults applied, or an error
// wrapping ErrInvalidConfig.
func (c Config) withDefaults() (Config, error) {
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if !strings.HasPrefix(c.Path, "/") {
		return c, fmt.Errorf("%w: Path %q must start with /", ErrInvalidConfig, c.Path)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"IdleTimeout", c.IdleTimeout}, {"WriteTimeout", c.WriteTimeout},
		{"AuthTimeout", c.AuthTimeout}, {"HeartbeatInterval", c.HeartbeatInterval},
		{"HeartbeatTimeout", c.HeartbeatTimeout}, {"ReadyTimeout", c.ReadyTimeout},
	} {
		if d.v < 0 {
			return c, fmt.Errorf("%w: %s is negative (%v)", ErrInvalidConfig, d.name, d.v)
		}
	}
	for _, n := range []struct {
		name string
		v    int64
	}{
		{"MaxPayloadLength", c.MaxPayloadLength},
		{"BackpressureLimit", int64(c.BackpressureLimit)},
		{"EncryptedBatchLimit", int64(c.EncryptedBatchLimit)},
	} {
		if n.v < 0 {
			return c, fmt.Errorf("%w: %s is negative (%d)", ErrInvalidConfig, n.name, n.v)
		}
	}
	if c.Authenticate == nil {
		return c, ErrNoAuthenticate
	}
	if c.RequireEncryption && c.Handshake == nil {
		return c, ErrNoHandshake
	}
	if c.ServerID == wire.EmitterServerID {
		return c, fmt.Errorf("%w: ServerID %q is reserved for emitters", ErrInvalidConfig, c.ServerID)
	}
	if c.DefaultRooms == nil {
		c.DefaultRooms = DefaultRooms()
	} else {
		c.DefaultRooms = append([]string(nil), c.DefaultRooms...)
	}
	c.AllowedOrigins = append([]string(nil), c.AllowedOrigins...)
	setDefault(&c.MaxPayloadLength, DefaultMaxPayloadLength)
	setDefault(&c.IdleTimeout, DefaultIdleTimeout)
	setDefault(&c.BackpressureLimit, DefaultBackpressureLimit)
	setDefault(&c.WriteTimeout, DefaultWriteTimeout)
	setDefault(&c.AuthTimeout, DefaultAuthTimeout)
	setDefault(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	setDefault(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	setDefault(&c.EncryptedBatchLimit, DefaultEncryptedBatchLimit)
	setDefault(&c.ReadyTimeout, DefaultReadyTimeout)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

func setDefault[T int | int64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}
