package component

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/websocket"
)

// parseRedisURL turns Config.RedisURL into client options, or fails with an
// error wrapping websocket.ErrInvalidConfig when the URL cannot work: not a
// URL (a bare "localhost" or "127.0.0.1:6379"), a scheme other than redis,
// rediss or unix, no host or no port. Host and port are required, although
// go-redis would default them, so that "redis://cache" is not silently
// "cache:6379". Errors never quote the URL, which may hold a password.
func parseRedisURL(raw string) (*redis.Options, error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("%w: RedisURL %s", websocket.ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	const want = "want redis://host:port/db, e.g. redis://127.0.0.1:6379/0"
	if !strings.Contains(raw, "://") {
		return nil, invalid("is not a URL (%s; a host:port needs redis:// in front)", want)
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return nil, invalid("is not a URL: %v (%s)", err, want)
	}
	switch u.Scheme {
	case "redis", "rediss":
		switch {
		case u.Hostname() == "":
			return nil, invalid("has no host (%s)", want)
		case u.Port() == "":
			return nil, invalid("has no port (Redis listens on 6379 by default: %s://%s:6379)", u.Scheme, u.Hostname())
		}
	case "unix":
		if u.Path == "" {
			return nil, invalid("has no socket path (want unix:///path/to/redis.sock)")
		}
	default:
		return nil, invalid("has scheme %q, not redis, rediss or unix (%s)", u.Scheme, want)
	}
	opts, err := redis.ParseURL(raw)
	if err != nil {
		return nil, invalid("%s: %v", u.Redacted(), err)
	}
	return opts, nil
}
