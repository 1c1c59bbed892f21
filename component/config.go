package component

import (
	"fmt"
	"strings"

	"github.com/echows/echows/websocket"
)

// Config configures the echows fx module. The zero value of every field
// means its documented default, so an app that supplies no Config at all gets
// a server on "/ws" with an in-process broker.
//
// Supply it with fx.Supply(component.Config{...}) (or a constructor with
// fx.Provide); override a supplied one with fx.Replace or fx.Decorate (at
// the app's root: see the package documentation).
type Config struct {
	// Settings are the WebSocket server's settings (path, limits, timeouts,
	// ReadyTimeout, ServerID); see websocket.Settings for each field and its
	// default. ReadyTimeout also bounds the app's start: fx's own start
	// timeout (fx.StartTimeout, 15 s by default) must be longer.
	websocket.Settings

	// RedisURL is the URL of a single Redis node: redis://host:port/db, with
	// rediss:// for TLS, credentials as in redis://user:password@host:6379/0,
	// or unix:///path/to/redis.sock. When set (and the app provides no client
	// named "echows"), the module opens its own client from it, uses it for
	// cross-instance fan-out and closes it on stop. Host and port must both
	// be written out; anything else fails at construction (fx.New), before
	// any connection is tried, with an error wrapping
	// websocket.ErrInvalidConfig that names RedisURL. Optional. Default:
	// none (in-process broker). For Sentinel, Cluster or any other client
	// option, provide a redis.UniversalClient named "echows" instead (see
	// UseRedis).
	RedisURL string

	// BrowserClientPath is where the module also serves the browser client
	// (package browser: echows.js, for GET and HEAD) on the app's Echo, so
	// that pages load it without a build step. browser.DefaultPath
	// ("/echows.js") is the usual choice. It must start with "/".
	// Optional. Default: "" (not served).
	BrowserClientPath string
}

// checkBrowserClientPath reports a BrowserClientPath that cannot be served.
func (c Config) checkBrowserClientPath() error {
	switch p := c.BrowserClientPath; {
	case p == "":
	case !strings.HasPrefix(p, "/"):
		return fmt.Errorf("%w: BrowserClientPath %q must start with /", websocket.ErrInvalidConfig, p)
	case p == c.Path || (c.Path == "" && p == websocket.DefaultPath):
		return fmt.Errorf("%w: BrowserClientPath %q is the WebSocket endpoint's path", websocket.ErrInvalidConfig, p)
	}
	return nil
}

// checkRedis reports a Config whose Redis setting contradicts the app's
// named client.
func (c Config) checkRedis(appClient bool) error {
	if appClient && c.RedisURL != "" {
		return fmt.Errorf("%w: a redis.UniversalClient named %q is provided and Config.RedisURL is set; use one", websocket.ErrInvalidConfig, RedisClientName)
	}
	return nil
}
