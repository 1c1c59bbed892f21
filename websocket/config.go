package websocket

import (
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/echows/echows/websocket/wire"
)

// Defaults applied by New to zero-valued Settings fields.
const (
	DefaultPath                  = "/ws"
	DefaultMaxPayloadLength      = 128 << 10
	DefaultMaxAuthPayloadLength  = 16 << 10
	DefaultIdleTimeout           = 60 * time.Second
	DefaultBackpressureLimit     = 1 << 20
	DefaultAuthTimeout           = 5 * time.Second
	DefaultHeartbeatInterval     = 30 * time.Second
	DefaultHeartbeatTimeout      = 90 * time.Second
	DefaultEncryptedBatchLimit   = 10
	DefaultWriteTimeout          = 10 * time.Second
	DefaultReadyTimeout          = 30 * time.Second
	DefaultProbeInterval         = 5 * time.Second
	DefaultMaxConnections        = 100_000
	DefaultMaxConnectionsPerUser = 100
	DefaultMaxRoomsPerClient     = 256
	DefaultMaxRoomsPerJoin       = 64
	DefaultMessageRate           = 100
	DefaultMessageBurst          = 200
	DefaultReadRate              = 1 << 20
)

// DefaultRooms are the rooms every authenticated client joins when
// Settings.DefaultRooms is nil.
func DefaultRooms() []string { return []string{wire.RoomDefault, wire.RoomNotification} }

// Settings are the server's data-only settings: no functions, no
// connections, so they can be read from a file or the environment and
// embedded by configs that wrap the server's (component.Config does). The
// zero value of every field means its documented default.
type Settings struct {
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

	// MaxPayloadLength is the largest message a client may send, in bytes:
	// the sum of its frames' payloads when it is fragmented. A larger one
	// closes the connection with 1009. Optional. Default 128 KiB.
	MaxPayloadLength int64
	// MaxAuthPayloadLength is the largest message a client may send before
	// it has authenticated (credentials fit in it), so that connections
	// that never authenticate stay cheap. A larger one closes the
	// connection with 1009. It never exceeds MaxPayloadLength. Optional.
	// Default 16 KiB.
	MaxAuthPayloadLength int64
	// IdleTimeout is how long the transport may stay silent before the peer
	// is dropped, when pings are on. The server pings every IdleTimeout/2.
	// Optional. Default 60 s (proxies drop idle sockets around 60 s).
	IdleTimeout time.Duration
	// DisablePings turns off protocol pings and the IdleTimeout check of
	// the sweep. Optional. Default false (pings are sent).
	DisablePings bool
	// BackpressureLimit is how many bytes may wait in one client's outbound
	// queue, control frames included. Past it the client is backpressured:
	// messages to it are dropped and counted, and the server stops reading
	// from it, until its queue drains. Optional. Default 1 MiB.
	BackpressureLimit int
	// CloseOnBackpressureLimit closes a backpressured client with 1013
	// instead of dropping its messages. Optional. Default false.
	CloseOnBackpressureLimit bool
	// WriteTimeout bounds one write to a client's socket; a client that takes
	// longer is disconnected. It also bounds one OutboundTransformer call.
	// Optional. Default 10 s.
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

	// MaxConnections caps this instance's connections, authenticated or
	// not; an upgrade past it is refused with HTTP 503. Optional. Default
	// 100,000.
	MaxConnections int
	// MaxConnectionsPerUser caps one user id's connections on this
	// instance; an authentication past it gets the error "Too many
	// connections" and is closed with 1008. Optional. Default 100.
	MaxConnectionsPerUser int
	// MaxRoomsPerClient caps the rooms one client is in, its own-id room and
	// the default rooms included. Joins past it are refused as the
	// ValidateRooms hook refuses rooms (JoinRoom returns ErrTooManyRooms).
	// Optional. Default 256.
	MaxRoomsPerClient int
	// MaxRoomsPerJoin caps the rooms one join or leave request may name;
	// the rest of the request is ignored. Optional. Default 64.
	MaxRoomsPerJoin int
	// MessageRate is how many frames per second a client may send, on
	// average (messages, pings and pongs alike). Past it the server stops
	// reading from the client until the rate allows the next frame, so a
	// flooding peer slows only itself and TCP pushes back on it. Optional.
	// Default 100.
	MessageRate float64
	// MessageBurst is how many frames a client may send at once above
	// MessageRate. Optional. Default 200.
	MessageBurst int
	// ReadRate is how many bytes per second a client may send, on average;
	// it bounds the CPU a peer can take with many tiny frames. Past it the
	// server stops reading until the rate allows. A burst of
	// 2 × MaxPayloadLength is allowed. Optional. Default 1 MiB.
	ReadRate int

	// ReadyTimeout bounds how long Configure waits for the broker to confirm
	// its subscriptions. Optional. Default 30 s.
	ReadyTimeout time.Duration
	// ProbeInterval paces the delivery probe: once the broker has delivered
	// nothing for ProbeInterval, the server publishes a probe to itself
	// through it, and one that has not come back ProbeInterval later (with
	// nothing else heard meanwhile) makes Ready fail until the broker
	// delivers again. A subscription that looks alive but delivers nothing
	// (a half-open connection, a failover, a proxy) is so noticed within
	// about 2 × ProbeInterval. Optional. Default 5 s.
	ProbeInterval time.Duration
	// DisableProbe turns the delivery probe off: Ready then checks the
	// broker's subscriptions only. Optional. Default false.
	DisableProbe bool
	// ServerID identifies this instance in envelopes. Optional. Default: a
	// random UUID. It must never be "emitter".
	ServerID string
}

// Hooks are the functions a server calls at points of a client's life.
// Only Authenticate is required (and Handshake with RequireEncryption).
// See the types for when each runs and on which goroutine.
type Hooks struct {
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
	// OnMessage receives the custom events from authenticated clients that
	// no EventHandler in Config.Handlers claims (upstream's messageHandler).
	// Optional. Without it those events are dropped.
	OnMessage MessageFunc
	// TransformOutbound rewrites every message to an encrypted client
	// (never connected). Optional. Without it encrypted clients get plain
	// messages.
	TransformOutbound OutboundTransformer
	// TransformInbound decrypts a client-sent encrypted event into the
	// message it carries. Optional. Without it encrypted events are dropped.
	TransformInbound InboundTransformer
}

// Config configures a Server: its Settings, its Hooks, its event handlers,
// and the broker and logger it uses. Only Hooks.Authenticate is required.
type Config struct {
	Settings
	Hooks

	// Handlers handle custom events by name: a message whose event a
	// handler names goes to that handler; any other custom event goes to
	// the OnMessage hook, or is dropped without one. At most one handler per
	// event, and none for a system event: New fails with ErrDuplicateHandler
	// (naming both handlers' sources) or ErrReservedEvent. Optional.
	Handlers []EventHandler

	// Broker carries messages between instances. Optional. Default: an
	// in-process broker (one instance). Use NewRedisBroker to scale out. The
	// server subscribes in Configure and unsubscribes in Shutdown; it never
	// closes the broker itself.
	Broker Broker
	// Logger receives the server's logs. Optional. Default slog.Default().
	Logger *slog.Logger

	// handlers are Handlers by event, built by withDefaults.
	handlers map[string]boundHandler
}

// withDefaults returns a copy of c with defaults applied, or an error
// wrapping ErrInvalidConfig.
func (c Config) withDefaults() (Config, error) {
	s, err := c.Settings.withDefaults()
	if err != nil {
		return c, err
	}
	c.Settings = s
	if c.Authenticate == nil {
		return c, ErrNoAuthenticate
	}
	if c.RequireEncryption && c.Handshake == nil {
		return c, ErrNoHandshake
	}
	if c.handlers, err = indexHandlers(c.Handlers); err != nil {
		return c, err
	}
	c.Handlers = append([]EventHandler(nil), c.Handlers...)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c, nil
}

// withDefaults returns a copy of s with defaults applied and its slices
// copied, or an error wrapping ErrInvalidConfig.
func (s Settings) withDefaults() (Settings, error) {
	if s.Path == "" {
		s.Path = DefaultPath
	}
	if !strings.HasPrefix(s.Path, "/") {
		return s, fmt.Errorf("%w: Path %q must start with /", ErrInvalidConfig, s.Path)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"IdleTimeout", s.IdleTimeout}, {"WriteTimeout", s.WriteTimeout},
		{"AuthTimeout", s.AuthTimeout}, {"HeartbeatInterval", s.HeartbeatInterval},
		{"HeartbeatTimeout", s.HeartbeatTimeout}, {"ReadyTimeout", s.ReadyTimeout},
		{"ProbeInterval", s.ProbeInterval},
	} {
		if d.v < 0 {
			return s, fmt.Errorf("%w: %s is negative (%v)", ErrInvalidConfig, d.name, d.v)
		}
	}
	for _, n := range []struct {
		name string
		v    int64
	}{
		{"MaxPayloadLength", s.MaxPayloadLength},
		{"MaxAuthPayloadLength", s.MaxAuthPayloadLength},
		{"BackpressureLimit", int64(s.BackpressureLimit)},
		{"EncryptedBatchLimit", int64(s.EncryptedBatchLimit)},
		{"MaxConnections", int64(s.MaxConnections)},
		{"MaxConnectionsPerUser", int64(s.MaxConnectionsPerUser)},
		{"MaxRoomsPerClient", int64(s.MaxRoomsPerClient)},
		{"MaxRoomsPerJoin", int64(s.MaxRoomsPerJoin)},
		{"MessageBurst", int64(s.MessageBurst)},
		{"ReadRate", int64(s.ReadRate)},
	} {
		if n.v < 0 {
			return s, fmt.Errorf("%w: %s is negative (%d)", ErrInvalidConfig, n.name, n.v)
		}
	}
	if s.MessageRate < 0 || math.IsNaN(s.MessageRate) || math.IsInf(s.MessageRate, 0) {
		return s, fmt.Errorf("%w: MessageRate must be a positive number (%v)", ErrInvalidConfig, s.MessageRate)
	}
	if s.ServerID == wire.EmitterServerID {
		return s, fmt.Errorf("%w: ServerID %q is reserved for emitters", ErrInvalidConfig, s.ServerID)
	}
	if s.DefaultRooms == nil {
		s.DefaultRooms = DefaultRooms()
	} else {
		s.DefaultRooms = distinct(s.DefaultRooms) // a copy; each room once, in order
	}
	for _, r := range s.DefaultRooms {
		if err := checkRoom(r); err != nil {
			return s, fmt.Errorf("%w: DefaultRooms: %w", ErrInvalidConfig, err)
		}
	}
	s.AllowedOrigins = append([]string(nil), s.AllowedOrigins...)
	setDefault(&s.MaxPayloadLength, DefaultMaxPayloadLength)
	setDefault(&s.MaxAuthPayloadLength, DefaultMaxAuthPayloadLength)
	s.MaxAuthPayloadLength = min(s.MaxAuthPayloadLength, s.MaxPayloadLength)
	setDefault(&s.IdleTimeout, DefaultIdleTimeout)
	setDefault(&s.BackpressureLimit, DefaultBackpressureLimit)
	setDefault(&s.WriteTimeout, DefaultWriteTimeout)
	setDefault(&s.AuthTimeout, DefaultAuthTimeout)
	setDefault(&s.HeartbeatInterval, DefaultHeartbeatInterval)
	setDefault(&s.HeartbeatTimeout, DefaultHeartbeatTimeout)
	setDefault(&s.EncryptedBatchLimit, DefaultEncryptedBatchLimit)
	setDefault(&s.MaxConnections, DefaultMaxConnections)
	setDefault(&s.MaxConnectionsPerUser, DefaultMaxConnectionsPerUser)
	setDefault(&s.MaxRoomsPerClient, DefaultMaxRoomsPerClient)
	setDefault(&s.MaxRoomsPerJoin, DefaultMaxRoomsPerJoin)
	setDefault(&s.MessageRate, DefaultMessageRate)
	setDefault(&s.MessageBurst, DefaultMessageBurst)
	setDefault(&s.ReadRate, DefaultReadRate)
	setDefault(&s.ReadyTimeout, DefaultReadyTimeout)
	setDefault(&s.ProbeInterval, DefaultProbeInterval)
	if need := 1 + len(s.DefaultRooms); s.MaxRoomsPerClient < need {
		return s, fmt.Errorf("%w: MaxRoomsPerClient %d leaves no room for the client's own room and %d default rooms",
			ErrInvalidConfig, s.MaxRoomsPerClient, len(s.DefaultRooms))
	}
	return s, nil
}

// clone returns s with its slices copied, so a caller cannot change the
// server's through it.
func (s Settings) clone() Settings {
	s.DefaultRooms = append([]string{}, s.DefaultRooms...)
	s.AllowedOrigins = append([]string(nil), s.AllowedOrigins...)
	return s
}

func setDefault[T int | int64 | float64 | time.Duration](v *T, def T) {
	if *v == 0 {
		*v = def
	}
}

// distinct returns a copy of list with each value once, in the order of
// their first occurrence.
func distinct(list []string) []string {
	out := make([]string, 0, len(list))
	for _, v := range list {
		if !contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
