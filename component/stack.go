package component

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/emitter"
	"github.com/echows/echows/prommetrics"
	"github.com/echows/echows/websocket"
)

// Deps are New's optional collaborators, which the fx module takes from the
// graph.
type Deps struct {
	// Logger receives the logs of the broker and of the server NewServer
	// builds. Optional. Default slog.Default().
	Logger *slog.Logger
	// Redis is the app's own client, used for cross-instance fan-out and
	// never closed by echows. Optional. Default: the client opened from
	// Config.RedisURL, or none (in-process broker).
	Redis redis.UniversalClient
	// Registerer is where NewServer registers the server's Prometheus
	// metrics (see package prommetrics); Close unregisters them. Optional.
	// Default: none (nothing is registered, on the global registry neither).
	Registerer prometheus.Registerer
}

// Stack is what the server and the app's services share: the broker that
// carries messages between instances, an emitter publishing on it, and what
// was opened for them. It is built before any hook, so that hooks and the
// services they use may take the emitter; the server is built last, from
// the hooks (NewServer). The fx module builds one and never exposes it.
type Stack struct {
	// Emitter publishes through the stack's broker: with Redis it reaches
	// every instance, without it this process's server (once configured).
	// Give it to the services that send to clients.
	Emitter *emitter.Emitter

	cfg      Config
	logger   *slog.Logger
	registry prometheus.Registerer
	broker   websocket.Broker
	closers  []namedCloser // in closing order

	closeOnce sync.Once
	closeErr  error
}

type namedCloser struct {
	name  string
	close func() error
}

// New builds the broker and the emitter for cfg. The broker is chosen thus:
// with deps.Redis, a Redis broker on that client (which stays the app's:
// echows never closes it); else with cfg.RedisURL, a Redis broker on a
// client New opens (and Close closes); else one in-process
// websocket.MemoryBroker, which the server and the emitter share, so the
// emitter reaches this process's clients.
//
// New does no I/O: Redis is first reached when the server is configured
// (Server.Configure, or the fx start hook), which waits for it at most
// Settings.ReadyTimeout. A RedisURL that cannot work fails here, with an
// error wrapping websocket.ErrInvalidConfig. Call Close once the server has
// shut down.
func New(cfg Config, deps Deps) (*Stack, error) {
	if err := cfg.checkRedis(deps.Redis != nil); err != nil {
		return nil, fmt.Errorf("echows: %w", err)
	}
	if err := cfg.checkPaths(); err != nil {
		return nil, fmt.Errorf("echows: %w", err)
	}
	client, opened := deps.Redis, false
	if client == nil && cfg.RedisURL != "" {
		opts, err := parseRedisURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("echows: %w", err)
		}
		client, opened = redis.NewClient(opts), true
	}
	st := &Stack{cfg: cfg, logger: deps.Logger, registry: deps.Registerer}
	if client == nil {
		broker := websocket.NewMemoryBroker()
		st.broker, st.Emitter = broker, emitter.NewWithPublisher(broker)
		st.closers = []namedCloser{{"emitter", st.Emitter.Close}}
		return st, nil
	}
	opts := cfg.RedisBroker
	if opts.Logger == nil {
		opts.Logger = deps.Logger
	}
	broker, err := websocket.NewRedisBroker(client, opts)
	if err != nil {
		if opened {
			_ = client.Close()
		}
		return nil, fmt.Errorf("echows: %w", err)
	}
	st.broker, st.Emitter = broker, emitter.NewWithPublisher(broker)
	st.closers = []namedCloser{{"emitter", st.Emitter.Close}, {"redis broker", broker.Close}}
	if opened {
		st.closers = append(st.closers, namedCloser{"redis client", client.Close})
	}
	return st, nil
}

// NewServer builds the WebSocket server on the stack's broker, with the
// Config's settings, hooks (Authenticate is required) and event handlers,
// and registers its metrics on Deps.Registerer when there is one. Its
// errors wrap websocket.ErrInvalidConfig (ErrNoAuthenticate,
// ErrNoHandshake, ErrDuplicateHandler, ...), or are the registry's (a
// prometheus.AlreadyRegisteredError when echows' metrics are registered
// there already). Build one server per stack.
func (s *Stack) NewServer(hooks websocket.Hooks, handlers ...websocket.EventHandler) (*websocket.Server, error) {
	srv, err := websocket.New(websocket.Config{
		Settings: s.cfg.Settings,
		Hooks:    hooks,
		Handlers: handlers,
		Broker:   s.broker,
		Logger:   s.logger,
	})
	if err != nil {
		return nil, fmt.Errorf("echows: %w", err)
	}
	if s.registry != nil {
		c := prommetrics.NewCollector(srv)
		if err := s.registry.Register(c); err != nil {
			return nil, fmt.Errorf("echows: register metrics: %w", err)
		}
		unregister := func() error { s.registry.Unregister(c); return nil }
		s.closers = append([]namedCloser{{"metrics", unregister}}, s.closers...)
	}
	return srv, nil
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
