package component

import (
	"fmt"
	"time"

	"github.com/echows/echows/websocket"
)

// Config configures the echows fx module. The zero value of every field
// means its documented default, so an app that supplies no Config at all gets
// a server on "/ws" with an in-process broker.
//
// Supply it with fx.Supply(component.Config{...}) (or a constructor with
// fx.Provide); override a supplied one with fx.Replace or fx.Decorate.
type Config struct {
	// Path is where the WebSocket endpoint is mounted on the app's Echo
	// (GET only). Optional. Default "/ws".
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
	// queue. Past it messages to the client are dropped and counted until the
	// queue drains. Optional. Default 1 MiB.
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

	// RequireEncryption runs the websocket.HandshakeFunc after
	// authentication; the app must then provide one, or the app fails to
	// start with websocket.ErrNoHandshake. Optional. Default false.
	RequireEncryption bool
	// EncryptedBatchLimit caps how many outbound transformer calls run at
	// once for one room or broadcast message. Optional. Default 10.
	EncryptedBatchLimit int

	// RedisURL is a redis:// or rediss:// URL
	// ("redis://user:password@host:6379/0") of a single Redis node. When set
	// (and the app provides no client named "echows"), the module opens its
	// own client, uses it for cross-instance fan-out and closes it on stop.
	// Optional. Default: none. Set at most one of RedisURL and RedisAddr.
	RedisURL string
	// RedisAddr is the host:port of a single Redis node without auth, as a
	// shorter form of RedisURL. Optional. Default: none. For Sentinel,
	// Cluster or any other client option, provide a redis.UniversalClient
	// named "echows" instead (see UseRedis).
	RedisAddr string
	// ReadyTimeout bounds how long start waits for the broker (Redis) to
	// confirm its subscriptions. fx's own start timeout (fx.StartTimeout,
	// 15 s by default) also bounds it: raise that when ReadyTimeout is
	// longer. Optional. Default 30 s.
	ReadyTimeout time.Duration
	// ServerID identifies this instance in the envelopes it publishes.
	// Optional. Default: a random UUID. It must never be "emitter".
	ServerID string

	// ListenAddr is the TCP address Echo listens on when the app also uses
	// lifecycle.EchoServer; it is not used otherwise. Optional. Default
	// ":8080".
	ListenAddr string
}

// Hooks are the server's hook functions. The fx module takes each from the
// graph as an optional value of its type; by hand, fill in the ones you need.
// Only Authenticate is required (and Handshake with RequireEncryption).
type Hooks struct {
	// Authenticate checks a client's credentials. Required.
	Authenticate websocket.AuthenticateFunc
	// Handshake runs the key exchange when Config.RequireEncryption is set
	// (and is required then). Optional.
	Handshake websocket.HandshakeFunc
	// ValidateRooms returns which rooms a client may join. Optional. Without
	// it every join request is refused.
	ValidateRooms websocket.ValidateRoomsFunc
	// OnConnected runs after a client authenticated. Optional.
	OnConnected websocket.ConnectedFunc
	// OnDisconnected runs after a client left. Optional.
	OnDisconnected websocket.DisconnectedFunc
	// OnMessage receives custom events from authenticated clients. Optional.
	// Without it custom events are dropped.
	OnMessage websocket.MessageFunc
	// TransformOutbound rewrites messages to encrypted clients. Optional.
	TransformOutbound websocket.OutboundTransformer
	// TransformInbound decrypts client-sent encrypted events. Optional.
	// Without it they are dropped.
	TransformInbound websocket.InboundTransformer
}

// WebSocketConfig returns the websocket.Config for c with hooks h. Its Broker
// and Logger are left nil (the server's defaults: an in-process broker and
// slog.Default()); New sets them. Defaults are applied, and the result is
// validated, by websocket.New.
func (c Config) WebSocketConfig(h Hooks) websocket.Config {
	return websocket.Config{
		Path:                     c.Path,
		DefaultRooms:             cloneStrings(c.DefaultRooms),
		AllowedOrigins:           cloneStrings(c.AllowedOrigins),
		MaxPayloadLength:         c.MaxPayloadLength,
		IdleTimeout:              c.IdleTimeout,
		DisablePings:             c.DisablePings,
		BackpressureLimit:        c.BackpressureLimit,
		CloseOnBackpressureLimit: c.CloseOnBackpressureLimit,
		WriteTimeout:             c.WriteTimeout,
		AuthTimeout:              c.AuthTimeout,
		HeartbeatInterval:        c.HeartbeatInterval,
		HeartbeatTimeout:         c.HeartbeatTimeout,
		RequireEncryption:        c.RequireEncryption,
		EncryptedBatchLimit:      c.EncryptedBatchLimit,
		ReadyTimeout:             c.ReadyTimeout,
		ServerID:                 c.ServerID,
		Authenticate:             h.Authenticate,
		Handshake:                h.Handshake,
		ValidateRooms:            h.ValidateRooms,
		OnConnected:              h.OnConnected,
		OnDisconnected:           h.OnDisconnected,
		OnMessage:                h.OnMessage,
		TransformOutbound:        h.TransformOutbound,
		TransformInbound:         h.TransformInbound,
	}
}

// cloneStrings copies s, keeping nil as nil (nil DefaultRooms means the
// defaults, an empty slice means none).
func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string{}, s...)
}

// checkRedis reports a Config whose Redis fields contradict each other or
// the app's named client.
func (c Config) checkRedis(appClient bool) error {
	switch {
	case c.RedisURL != "" && c.RedisAddr != "":
		return fmt.Errorf("%w: both RedisURL and RedisAddr are set; set one", websocket.ErrInvalidConfig)
	case appClient && (c.RedisURL != "" || c.RedisAddr != ""):
		return fmt.Errorf("%w: a redis.UniversalClient named %q is provided and Config sets RedisURL or RedisAddr; use one", websocket.ErrInvalidConfig, RedisClientName)
	}
	return nil
}
