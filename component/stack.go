package component

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/emitter"
	"github.com/echows/echows/websocket"
)

// Deps are what New takes besides Config: the hooks and the optional
// collaborators the fx module takes from the graph.
type Deps struct {
	// Hooks are the server's hooks; Authenticate is required.
	Hooks websocket.Hooks
	// Logger receives the server's logs. Optional. Default slog.Default().
	Logger *slog.Logger
	// Redis is the app's own client, used for cross-instance fan-out and
	// never closed by echows. Optional. Default: the client opened from
	// Config.RedisURL or Config.RedisAddr, or none (in-process broker).
	Redis redis.UniversalClient
}

// Stack is what the module builds: the server, the emitter sharing its
// broker, and what was opened for them.
type Stack struct {
	// Server is the WebSocket server. It is usable at once: local sends work
	// before start.
	Server *websocket.Server
	// Emitter publishes through the server's broker: with Redis it reaches
	// every instance, without it this process's clients (once the server is
	// configured).
	Emitter *emitter.Emitter

	closers   []namedCloser // in closing order
	closeOnce sync.Once
	closeErr  error
}

type namedCloser struct {
	name  string
	close func() error
}

// New builds the server and emitter for cfg.
//
// The broker is chosen thus: with deps.Redis, a Redis broker on that client
// (which stays the app's: echows never closes it); else with
// cfg.RedisURL or cfg.RedisAddr, a Redis broker on a client New opens (and
// Close closes); else one in-process websocket.MemoryBroker, which the server
// and the emitter share, so the emitter reaches this process's clients.
//
// New does no I/O: Redis is first reached when the server is configured.
// Errors wrap websocket.ErrInvalidConfig (ErrNoAuthenticate, ErrNoHandshake,
// ...). Call Close once the server has shut down.
func New(cfg Config, deps Deps) (*Stack, error) {
	if err := cfg.checkRedis(deps.Redis != nil); err != nil {
		return nil, fmt.Errorf("echows: %w", err)
	}
	wcfg := cfg.WebSocketConfig(deps.Hooks)
	wcfg.Logger = deps.Logger

	st := &Stack{}
	client, opened, err := redisClient(cfg, deps.Redis)
	if err != nil {
		return nil, fmt.Errorf("echows: %w", err)
	}
	if client == nil {
		broker := websocket.NewMemoryBroker()
		wcfg.Broker = broker
		st.Emitter = emitter.NewWithPublisher(broker)
	} else {
		broker, err := websocket.NewRedisBroker(client, websocket.RedisBrokerOptions{Logger: deps.Logger})
		if err != nil {
			if opened {
				_ = client.Close()
			}
			return nil, fmt.Errorf("echows: %w", err)
		}
		wcfg.Broker = broker
		st.Emitter = emitter.NewWithPublisher(broker)
		st.closers = append(st.closers, namedCloser{"redis broker", broker.Close})
		if opened {
			st.closers = append(st.closers, namedCloser{"redis client", client.Close})
		}
	}
	st.closers = append([]namedCloser{{"emitter", st.Emitter.Close}}, st.closers...)

	st.Server, err = websocket.New(wcfg)
	if err != nil {
		_ = st.Close()
		return nil, fmt.Errorf("echows: %w", err)
	}
	return st, nil
}

// redisClient returns the client to use, and whether New opened it.
func redisClient(cfg Config, app redis.UniversalClient) (redis.UniversalClient, bool, error) {
	switch {
	case app != nil:
		return app, false, nil
	case cfg.RedisURL != "":
		opts, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, false, fmt.Errorf("%w: RedisURL: %w", websocket.ErrInvalidConfig, err)
		}
		return redis.NewClient(opts), true, nil
	case cfg.RedisAddr != "":
		return redis.NewClient(&redis.Options{Addr: cfg.RedisAddr}), true, nil
	}
	return nil, false, nil
}

// Close closes what New opened, in order: the emitter, the Redis broker and
// the Redis client New opened (never the app's). Call it after the server's
// Shutdown returned, when nothing uses them any more. Later calls return the
// first call's result.
func (s *Stack) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		for _, c := range s.closers {
			if err := c.close(); err != nil {
				errs = append(errs, fmt.Errorf("close %s: %w", c.name, err))
			}
		}
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
