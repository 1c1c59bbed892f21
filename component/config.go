package component

import (
	"fmt"

	"github.com/echows/echows/websocket"
)

// Config configures the echows fx module. The zero value of every field
// means its documented default, so an app that supplies no Config at all gets
// a server on "/ws" with an in-process broker.
//
// Supply it with fx.Supply(component.Config{...}) (or a constructor with
// fx.Provide); override a supplied one with fx.Replace or fx.Decorate.
type Config struct {
	// Settings are the WebSocket server's settings (path, limits, timeouts,
	// ReadyTimeout, ServerID); see websocket.Settings for each field and its
	// default. ReadyTimeout also bounds the app's start: fx's own start
	// timeout (fx.StartTimeout, 15 s by default) must be longer.
	websocket.Settings

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

	// ListenAddr is the TCP address Echo listens on when the app also uses
	// lifecycle.EchoServer; it is not used otherwise. Optional. Default
	// ":8080".
	ListenAddr string
}

// WebSocketConfig returns the websocket.Config for c with hooks h. Its Broker
// and Logger are left nil (the server's defaults: an in-process broker and
// slog.Default()); New sets them. Defaults are applied, and the result is
// validated, by websocket.New.
func (c Config) WebSocketConfig(h websocket.Hooks) websocket.Config {
	return websocket.Config{Settings: c.Settings, Hooks: h}
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
