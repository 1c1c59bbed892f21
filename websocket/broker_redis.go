package websocket

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/websocket/wire"
)

// Defaults of RedisBrokerOptions.
const (
	DefaultRedisPoolSize       = 10
	DefaultRedisHealthInterval = 3 * time.Second
)

// Bounds of the wait between two attempts to reach Redis again after the
// subscriber connection was lost: it doubles from the first to the last.
const (
	redisRetryMin = 50 * time.Millisecond
	redisRetryMax = 2 * time.Second
)

// redisChannels and redisPatterns are what every subscription listens to:
// SUBSCRIBE ws:broadcast and PSUBSCRIBE ws:room:*, ws:client:*, ws:user:*,
// as upstream does.
var (
	redisChannels = []string{wire.ChannelBroadcast}
	redisPatterns = []string{wire.PatternRoom, wire.PatternClient, wire.PatternUser}
)

// RedisBrokerOptions configures a RedisBroker. The zero value of every field
// means its documented default.
type RedisBrokerOptions struct {
	// Logger receives the broker's logs: a lost subscriber connection (warn),
	// its recovery (info), and each failed attempt in between (debug).
	// Optional. Default slog.Default().
	Logger *slog.Logger
	// PoolSize caps the publisher connections of the broker's own client (per
	// node with a cluster). Publishes beyond it wait for a free connection.
	// Optional. Default 10.
	PoolSize int
	// HealthInterval is how long the subscriber connection may stay silent
	// before the broker pings Redis; when the pong does not come within
	// another HealthInterval the connection is dropped and dialled again, so a
	// half-open connection (a peer gone without a reset) is noticed within
	// 2 × HealthInterval. Optional. Default 3 s.
	HealthInterval time.Duration
}

// RedisBroker is a Broker on Redis pub/sub: what one instance publishes on
// the envelope channels reaches every instance subscribed to the same Redis
// (single node, Sentinel or Cluster).
//
// It never uses the application's client for its traffic. NewRedisBroker
// clones the client's options into a small client of its own, so WebSocket
// traffic and the application's commands do not share a pool: publishes go
// through that client's pool (at most PoolSize connections), and each
// Subscribe holds one dedicated subscriber connection, which go-redis never
// takes from a command pool. Close closes only that client.
//
// When Redis goes away, Publish returns errors (local delivery is the
// server's business and goes on), and each subscription keeps trying to
// reconnect on its own, with a backoff of at most 2 s; once Redis is back it
// subscribes again without any call from the caller. Messages published
// while the subscriber connection is down are lost, as Redis pub/sub does
// not keep them.
//
// A RedisBroker is safe for concurrent use.
type RedisBroker struct {
	client redis.UniversalClient // owned: a clone of the application's client
	addr   string                // where it points, for errors and logs
	log    *slog.Logger
	health time.Duration

	mu     sync.Mutex
	closed bool
	subs   map[*redisSubscription]struct{}

	reconnects atomic.Uint64 // subscriptions restored after a lost connection (Health)
}

// NewRedisBroker returns a broker on the Redis that client points to,
// without connecting yet (Subscribe waits for Redis; Publish reports when it
// cannot reach it). The caller keeps owning client: the broker only reads
// its options, and works on a clone of them:
//
//   - *redis.Client (from redis.NewClient, or redis.NewUniversalClient with one
//     address): a new client with the same options.
//   - *redis.Client from redis.NewFailoverClient (Sentinel): the same; the
//     clone dials through the original client's Sentinel discovery, so close
//     the broker before the application's client. Sentinel disconnects clients
//     of a demoted master, and the clone then dials the new master.
//   - *redis.ClusterClient (also redis.NewFailoverClusterClient): a new cluster
//     client with the same options. Plain PUBLISH reaches every node of a
//     cluster, so the subscriber connection listens on a single node.
//   - *redis.Ring and any other type: an error wrapping ErrInvalidConfig. A
//     ring shards channels over independent servers, so instances would not
//     see each other's messages.
//
// In the clone, the pool is resized to PoolSize with no idle connections
// kept open in advance, client-side caching is off, the push-notification
// processor is a fresh default one (the application's already has its
// handlers registered), and ContextTimeoutEnabled is on, so that Publish
// honours its context's deadline. Invalid options return an error wrapping
// ErrInvalidConfig.
func NewRedisBroker(client redis.UniversalClient, opts RedisBrokerOptions) (*RedisBroker, error) {
	switch {
	case opts.PoolSize < 0:
		return nil, fmt.Errorf("%w: redis broker: PoolSize is negative (%d)", ErrInvalidConfig, opts.PoolSize)
	case opts.HealthInterval < 0:
		return nil, fmt.Errorf("%w: redis broker: HealthInterval is negative (%v)", ErrInvalidConfig, opts.HealthInterval)
	}
	if opts.PoolSize == 0 {
		opts.PoolSize = DefaultRedisPoolSize
	}
	if opts.HealthInterval == 0 {
		opts.HealthInterval = DefaultRedisHealthInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	own, addr, err := cloneRedisClient(client, opts.PoolSize)
	if err != nil {
		return nil, err
	}
	return &RedisBroker{
		client: own,
		addr:   addr,
		log:    opts.Logger.With("component", "redis-broker", "redis", addr),
		health: opts.HealthInterval,
		subs:   make(map[*redisSubscription]struct{}),
	}, nil
}

// cloneRedisClient returns a new client with c's options, resized to
// poolSize connections, and a description of where it points.
func cloneRedisClient(c redis.UniversalClient, poolSize int) (redis.UniversalClient, string, error) {
	switch c := c.(type) {
	case *redis.Client:
		if c != nil {
			o := *c.Options()
			if o.MaintNotificationsConfig != nil { // a pointer: do not share it
				m := *o.MaintNotificationsConfig
				o.MaintNotificationsConfig = &m
			}
			o.PoolSize, o.MinIdleConns, o.MaxIdleConns, o.MaxActiveConns = poolSize, 0, poolSize, 0
			o.PipelinePoolSize = -1 // the broker never pipelines: no pipeline pool
			o.ContextTimeoutEnabled = true
			// fail fast while Redis is down: a Send waits one dial, not
			// go-redis's 5 dials × 4 tries (about 1.7 s); the subscriber
			// loop has its own backoff
			o.DialerRetries, o.MaxRetries = 1, 1
			o.ClientSideCache, o.ClientSideCacheConfig = nil, nil
			o.PushNotificationProcessor = nil // the app's has its handlers registered: get a fresh one
			addr := o.Addr
			if addr == "FailoverClient" { // go-redis's placeholder for a Sentinel client
				addr = "Sentinel master"
			}
			return redis.NewClient(&o), addr, nil
		}
	case *redis.ClusterClient:
		if c != nil {
			o := *c.Options()
			o.Addrs = append([]string(nil), o.Addrs...)
			if o.MaintNotificationsConfig != nil {
				m := *o.MaintNotificationsConfig
				o.MaintNotificationsConfig = &m
			}
			o.PoolSize, o.MinIdleConns, o.MaxIdleConns, o.MaxActiveConns = poolSize, 0, poolSize, 0
			o.PipelinePoolSize = -1
			o.ContextTimeoutEnabled = true
			o.DialerRetries = 1 // fail fast while Redis is down (MaxRetries also covers redirects: kept)
			o.PushNotificationProcessor = nil
			return redis.NewClusterClient(&o), "cluster " + strings.Join(o.Addrs, ","), nil
		}
	case *redis.Ring:
		if c != nil {
			return nil, "", fmt.Errorf("%w: redis broker: *redis.Ring is not supported: it shards pub/sub channels over independent servers, so instances would miss each other's messages (use one server, Sentinel or Cluster)", ErrInvalidConfig)
		}
	case nil:
	default:
		return nil, "", fmt.Errorf("%w: redis broker: unsupported client type %T (use *redis.Client, a Sentinel client, or *redis.ClusterClient)", ErrInvalidConfig, c)
	}
	return nil, "", fmt.Errorf("%w: redis broker: nil redis client", ErrInvalidConfig)
}

// Publish sends payload on channel through the broker's own connections. It
// returns an error, wrapped with the channel name, when Redis cannot be
// reached or the broker is closed (errors.Is(err, redis.ErrClosed)). It
// returns by ctx's deadline; a ctx that is only cancelled bounds the wait for
// a connection and the dial, and the client's read and write timeouts bound
// the rest.
func (b *RedisBroker) Publish(ctx context.Context, channel string, payload []byte) error {
	if err := b.client.Publish(ctx, channel, payload).Err(); err != nil {
		return fmt.Errorf("publish %q: %w", channel, err)
	}
	return nil
}

// Subscribe opens a dedicated subscriber connection, subscribes to
// ws:broadcast and pattern-subscribes to ws:room:*, ws:client:* and
// ws:user:*, and returns once Redis has confirmed all four, so a message
// published after it returns is delivered. When ctx ends first it gives up
// and returns an error wrapping ErrBrokerNotReady that names the Redis
// address, the time waited and the last error seen.
//
// handler is called from a single goroutine, in the order Redis delivered
// the messages, with the channel a message was published on. It must not
// block for long: while it runs, messages wait in the connection (Redis
// drops a subscriber whose output buffer outgrows its limit, and the
// subscription then reconnects). It must not close the subscription.
func (b *RedisBroker) Subscribe(ctx context.Context, handler func(channel string, payload []byte)) (Subscription, error) {
	if handler == nil {
		return nil, fmt.Errorf("%w: redis broker: nil handler", ErrInvalidConfig)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	s := &redisSubscription{
		broker:  b,
		ps:      b.client.Subscribe(runCtx), // no channels yet: does not connect
		handler: handler,
		cancel:  cancel,
		ready:   make(chan struct{}),
		done:    make(chan struct{}),
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		cancel()
		_ = s.ps.Close()
		return nil, fmt.Errorf("subscribe: redis broker: %w", redis.ErrClosed)
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()

	start := time.Now()
	go s.run(runCtx)
	select {
	case <-s.ready:
		return s, nil
	case <-s.done: // closed by the broker's Close meanwhile
		return nil, fmt.Errorf("subscribe: redis broker: %w", redis.ErrClosed)
	case <-ctx.Done():
	}
	cause := s.lastError()
	_ = s.Close()
	if cause == nil {
		cause = ctx.Err()
	}
	return nil, fmt.Errorf("%w: redis %s did not confirm the subscriptions to %s within %v: %w",
		ErrBrokerNotReady, b.addr, strings.Join(append(append([]string(nil), redisChannels...), redisPatterns...), ", "),
		time.Since(start).Round(time.Millisecond), cause)
}

// Close ends every live subscription, then closes the broker's own client.
// It never closes the application's client. Publish and Subscribe fail after
// it. Closing a closed broker does nothing and returns nil.
func (b *RedisBroker) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := make([]*redisSubscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		_ = s.Close()
	}
	if err := b.client.Close(); err != nil {
		return fmt.Errorf("close redis broker: %w", err)
	}
	return nil
}

// redisSubscription is one Subscribe: a go-redis PubSub (one connection) and
// the goroutine that reads it.
type redisSubscription struct {
	broker  *RedisBroker
	ps      *redis.PubSub
	handler func(channel string, payload []byte)
	cancel  context.CancelFunc // ends run's context
	ready   chan struct{}      // closed when Redis first confirmed every subscription
	done    chan struct{}      // closed when run returned

	live      atomic.Bool // every channel and pattern confirmed on the current connection (Health)
	closeOnce sync.Once
	mu        sync.Mutex
	lastErr   error // the last error run met, for Subscribe's not-ready error
}

// Close stops the subscription and waits for its goroutine to return; the
// handler is not called after Close returns. It is idempotent.
func (s *redisSubscription) Close() error {
	s.closeOnce.Do(func() {
		s.cancel() // first, so that a dial in progress gives up and frees the PubSub
		_ = s.ps.Close()
		<-s.done
		s.broker.mu.Lock()
		delete(s.broker.subs, s)
		s.broker.mu.Unlock()
	})
	return nil
}

func (s *redisSubscription) setError(err error) {
	s.mu.Lock()
	s.lastErr = err
	s.mu.Unlock()
}

func (s *redisSubscription) lastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// run reads the subscriber connection until the subscription is closed.
//
// It relies on go-redis's PubSub for reconnection: a receive that fails on a
// broken connection closes it, and the next receive dials again and sends
// SUBSCRIBE and PSUBSCRIBE for every channel and pattern recorded, before
// reading. The loop only waits between attempts, keeps the connection
// honest with pings, and counts confirmations. A single goroutine reads, so
// the handler is called in order, one call at a time.
func (s *redisSubscription) run(ctx context.Context) {
	defer close(s.done)
	log, health := s.broker.log, s.broker.health

	// go-redis records the channels even when this first attempt cannot
	// connect, and subscribes to them on every connection it opens.
	err := s.ps.Subscribe(ctx, redisChannels...)
	if perr := s.ps.PSubscribe(ctx, redisPatterns...); err == nil {
		err = perr
	}
	if err != nil {
		s.setError(err)
	}

	want := len(redisChannels) + len(redisPatterns)
	confirmed := make(map[string]bool, want) // on the current connection
	var (
		failures int  // consecutive failed receives
		pinged   bool // a health-check ping awaits its pong
		lost     bool // the connection was lost since the last full confirmation
		ready    bool // s.ready is closed
	)
	for {
		var msg any
		if pinged {
			// A plain Receive under a deadline: when it times out, go-redis
			// treats the connection as broken and drops it.
			rctx, cancel := context.WithTimeout(ctx, health)
			msg, err = s.ps.Receive(rctx)
			cancel()
		} else {
			// A timeout here only means silence: the connection is kept.
			msg, err = s.ps.ReceiveTimeout(ctx, health)
		}
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, redis.ErrClosed) {
				return
			}
			if !pinged && isNetTimeout(err) {
				if err = s.ps.Ping(ctx); err == nil {
					pinged = true
					continue
				}
			}
			pinged = false
			clear(confirmed)
			s.live.Store(false)
			s.setError(err)
			if !lost && ready {
				log.Warn("redis subscriber connection lost; reconnecting", "err", err)
			} else {
				log.Debug("redis subscriber connection attempt failed", "err", err)
			}
			lost = true
			failures++
			if !sleepCtx(ctx, retryDelay(failures)) {
				return
			}
			continue
		}
		failures, pinged = 0, false
		switch m := msg.(type) {
		case *redis.Message:
			s.handler(m.Channel, []byte(m.Payload))
		case *redis.Subscription:
			if m.Kind != "subscribe" && m.Kind != "psubscribe" {
				continue
			}
			confirmed[m.Kind+" "+m.Channel] = true
			if len(confirmed) < want {
				continue
			}
			s.live.Store(true)
			switch {
			case !ready:
				ready = true
				close(s.ready)
			case lost:
				s.broker.reconnects.Add(1)
				log.Info("redis subscriber connection restored; subscribed again")
			}
			lost = false
		case *redis.Pong:
			// the health check was answered
		}
	}
}

// retryDelay is the wait before the next attempt after n consecutive
// failures: 50 ms, doubling, at most 2 s.
func retryDelay(n int) time.Duration {
	d := redisRetryMin
	for i := 1; i < n && d < redisRetryMax; i++ {
		d *= 2
	}
	return min(d, redisRetryMax)
}

// sleepCtx waits for d, or until ctx ends; it reports whether ctx is still
// live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func isNetTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
