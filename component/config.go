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
	// RedisBroker configures the Redis broker when there is Redis (RedisURL,
	// or the app's client): its routing (interest by default; patterns for
	// upstream's way; sharded pub/sub on a Cluster), ListenGrace, outbox
	// bounds and pool size; see websocket.RedisBrokerOptions for each field
	// and its default. Its Logger defaults to the module's logger. Ignored
	// on the in-process broker. Optional.
	RedisBroker websocket.RedisBrokerOptions

	// BrowserClientPath is where the module also serves the browser client
	// (package browser: echows.js, for GET and HEAD) on the app's Echo, so
	// that pages load it without a build step. browser.DefaultPath
	// ("/echows.js") is the usual choice. It must start with "/".
	// Optional. Default: "" (not served).
	BrowserClientPath string
	// ReadinessPath is where the module mounts the server's readiness
	// handler (websocket.Server.ReadinessHandler: 200 while the server is
	// configured, its broker's subscriptions are live and the delivery probe
	// is not overdue; 503 with the reason otherwise), e.g. "/readyz": point
	// Kubernetes' readinessProbe at it. Optional. Default: not mounted.
	ReadinessPath string
	// LivenessPath is where the module mounts the liveness handler
	// (websocket.LivenessHandler: 200 while the process answers), e.g.
	// "/livez": point Kubernetes' livenessProbe at it. Optional. Default:
	// not mounted.
	LivenessPath string
}

// checkPaths reports a path of the module's own routes that cannot be
// mounted: not starting with "/", the WebSocket endpoint's, or another
// route's.
func (c Config) checkPaths() error {
	wsPath := c.Path
	if wsPath == "" {
		wsPath = websocket.DefaultPath
	}
	taken := map[string]string{wsPath: "the WebSocket endpoint's Path"}
	for _, p := range []struct{ name, v string }{
		{"BrowserClientPath", c.BrowserClientPath}, {"ReadinessPath", c.ReadinessPath}, {"LivenessPath", c.LivenessPath},
	} {
		switch {
		case p.v == "":
			continue
		case !strings.HasPrefix(p.v, "/"):
			return fmt.Errorf("%w: %s %q must start with /", websocket.ErrInvalidConfig, p.name, p.v)
		case taken[p.v] != "":
			return fmt.Errorf("%w: %s %q is %s", websocket.ErrInvalidConfig, p.name, p.v, taken[p.v])
		}
		taken[p.v] = p.name
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
