package websocket

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/websocket/wire"
)

// Defaults of RedisBrokerOptions.
const (
	DefaultRedisPoolSize       = 10
	DefaultRedisHealthInterval = 3 * time.Second
	DefaultListenGrace         = 5 * time.Second
	DefaultOutboxMaxAge        = 10 * time.Second
	DefaultOutboxMaxBytes      = 16 << 20
)

// Bounds of the wait between two attempts to reach Redis again after a
// subscriber connection was lost: it doubles from the first to the last. The
// last is also how long the outbox waits, once this broker hears again, before
// it replays (see RedisBrokerOptions.OutboxMaxAge): every RedisBroker retries
// at least that often, so by then the other instances most likely hear again
// too.
const (
	redisRetryMin = 50 * time.Millisecond
	redisRetryMax = time.Second
)

// RedisRouting says which channels a RedisBroker's subscriptions listen to,
// and how.
type RedisRouting uint8

const (
	// RoutingDefault is RoutingInterest.
	RoutingDefault RedisRouting = iota
	// RoutingPatterns is upstream's way: SUBSCRIBE ws:broadcast and
	// PSUBSCRIBE ws:room:*, ws:client:*, ws:user:*. Every instance receives
	// every envelope of the fleet and drops what it cannot deliver. Listen
	// and Unlisten cost nothing for those channels.
	RoutingPatterns
	// RoutingInterest subscribes ws:broadcast, and each other channel only
	// between Listen and Unlisten: an instance receives only what it can
	// deliver. Channel names and envelopes do not change, so a fleet may mix
	// it with upstream servers and emitters.
	RoutingInterest
	// RoutingSharded is RoutingInterest on Redis Cluster with sharded
	// pub/sub: SPUBLISH and SSUBSCRIBE, so a message travels only within the
	// shard that owns its channel's slot instead of to every node of the
	// cluster. One subscriber connection per shard. Every process of the
	// fleet must use it (upstream servers and emitters, which use PUBLISH,
	// would not reach it, nor it them). Needs a *redis.ClusterClient and Redis
	// 7 or later.
	RoutingSharded
)

// String returns the routing's name: "patterns", "interest" or "sharded".
func (r RedisRouting) String() string {
	switch r.resolve() {
	case RoutingPatterns:
		return "patterns"
	case RoutingInterest:
		return "interest"
	case RoutingSharded:
		return "sharded"
	}
	return fmt.Sprintf("RedisRouting(%d)", uint8(r))
}

func (r RedisRouting) resolve() RedisRouting {
	if r == RoutingDefault {
		return RoutingInterest
	}
	return r
}

// RedisBrokerOptions configures a RedisBroker. The zero value of every field
// means its documented default.
type RedisBrokerOptions struct {
	// Logger receives the broker's logs: a lost subscriber connection (warn),
	// its recovery (info), outbox replays and drops (info, warn), and each
	// failed attempt in between (debug). Optional. Default slog.Default().
	Logger *slog.Logger
	// PoolSize caps the publisher connections of the broker's own client (per
	// node with a cluster). Publishes beyond it wait for a free connection.
	// Optional. Default 10.
	PoolSize int
	// HealthInterval is how long a subscriber connection may stay silent
	// before the broker pings Redis; when the pong does not come within
	// another HealthInterval the connection is dropped and dialled again, so a
	// half-open connection (a peer gone without a reset) is noticed within
	// 2 × HealthInterval. Optional. Default 3 s.
	HealthInterval time.Duration
	// Routing says what subscriptions listen to. Optional. Default
	// RoutingDefault (see there).
	Routing RedisRouting
	// ListenGrace is how long a channel stays subscribed after its last
	// Unlisten, so that a room that empties and fills again does not cost a
	// round trip each time. Optional. Default 5 s.
	ListenGrace time.Duration
	// OutboxMaxAge bounds the outbox: while Redis is away (a publish failed
	// for want of a connection, or a subscription is being restored),
	// publishes are queued in memory and replayed in order once this broker's
	// subscriptions are back. A queued message is dropped (and counted) when
	// it could not be sent within OutboxMaxAge of its Publish, and once an
	// outage has lasted OutboxMaxAge, Publish fails at once (ErrOutboxFull)
	// until Redis is back. Optional. Default 10 s.
	OutboxMaxAge time.Duration
	// OutboxMaxBytes bounds the payload bytes queued in the outbox; a
	// Publish that would pass it fails with ErrOutboxFull. Optional. Default
	// 16 MiB.
	OutboxMaxBytes int
	// OutboxDisabled turns the outbox off: Publish fails at once while Redis
	// is away, as upstream's default does. Optional. Default false.
	OutboxDisabled bool
}

// ErrOutboxFull is wrapped by the error Publish returns while Redis is away
// and the outbox cannot take the message: it would pass OutboxMaxBytes, or
// the outage has lasted OutboxMaxAge.
var ErrOutboxFull = errors.New("websocket: broker outbox full")

// RedisBroker is a Broker on Redis pub/sub: what one instance publishes on
// the envelope channels reaches every instance subscribed to the same Redis
// (single node, Sentinel or Cluster). See RedisRouting for what each
// instance listens to.
//
// It never uses the application's client for its traffic. NewRedisBroker
// clones the client's options into a small client of its own, so WebSocket
// traffic and the application's commands do not share a pool: publishes go
// through that client's pool (at most PoolSize connections), and each
// Subscribe holds one dedicated subscriber connection (one per shard with
// RoutingSharded), which go-redis never takes from a command pool. Close
// closes only that client.
//
// When Redis goes away, local delivery is the server's business and goes
// on; each subscription keeps trying to reconnect on its own, with a backoff
// of at most 1 s, and once Redis is back it subscribes again to everything it
// listens to before it reports ready (Subscription.Ready). Meanwhile Publish
// queues messages in a bounded outbox and replays them in order once the
// subscriptions are back (see OutboxMaxAge). Redis pub/sub does not keep
// messages for subscribers that are away: what another instance publishes
// while this one's subscriber connection is down is lost to this one.
//
// A RedisBroker is safe for concurrent use.
type RedisBroker struct {
	client  redis.UniversalClient // owned: a clone of the application's client
	cluster *redis.ClusterClient  // client, when it is a cluster client
	addr    string                // where it points, for errors and logs
	log     *slog.Logger
	health  time.Duration
	routing RedisRouting // resolved: never RoutingDefault
	grace   time.Duration
	out     *outbox // nil when OutboxDisabled

	ctx    context.Context // ends at Close: bounds the outbox's replays
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	subs   map[*redisSubscription]struct{}

	subscribeCmds   atomic.Uint64
	unsubscribeCmds atomic.Uint64
	reconnects      atomic.Uint64 // subscriptions restored after a lost connection (Health)
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
//     cluster, so the subscriber connection listens on a single node; with
//     RoutingSharded there is one subscriber connection per shard.
//   - *redis.Ring and any other type: an error wrapping ErrInvalidConfig. A
//     ring shards channels over independent servers, so instances would not
//     see each other's messages.
//
// In the clone, the pool is resized to PoolSize with no idle connections
// kept open in advance, client-side caching is off, the push-notification
// processor is a fresh default one (the application's already has its
// handlers registered), ContextTimeoutEnabled is on, so that Publish
// honours its context's deadline, and plain TCP or Unix connections read
// with raw system calls, as the server's sockets do (a hook on the clone's
// dial): a read that goes through the scheduler after an idle spell wakes
// the runtime's sysmon thread into polling every 20 µs, which cost an
// instance receiving steady traffic through Redis 15–23 % of its CPU.
// Invalid options (negative durations or sizes, an unknown Routing,
// RoutingSharded without a cluster client) return an error wrapping
// ErrInvalidConfig.
func NewRedisBroker(client redis.UniversalClient, opts RedisBrokerOptions) (*RedisBroker, error) {
	switch {
	case opts.PoolSize < 0:
		return nil, fmt.Errorf("%w: redis broker: PoolSize is negative (%d)", ErrInvalidConfig, opts.PoolSize)
	case opts.HealthInterval < 0:
		return nil, fmt.Errorf("%w: redis broker: HealthInterval is negative (%v)", ErrInvalidConfig, opts.HealthInterval)
	case opts.ListenGrace < 0:
		return nil, fmt.Errorf("%w: redis broker: ListenGrace is negative (%v)", ErrInvalidConfig, opts.ListenGrace)
	case opts.OutboxMaxAge < 0:
		return nil, fmt.Errorf("%w: redis broker: OutboxMaxAge is negative (%v)", ErrInvalidConfig, opts.OutboxMaxAge)
	case opts.OutboxMaxBytes < 0:
		return nil, fmt.Errorf("%w: redis broker: OutboxMaxBytes is negative (%d)", ErrInvalidConfig, opts.OutboxMaxBytes)
	case opts.Routing > RoutingSharded:
		return nil, fmt.Errorf("%w: redis broker: unknown Routing %d", ErrInvalidConfig, opts.Routing)
	}
	if opts.PoolSize == 0 {
		opts.PoolSize = DefaultRedisPoolSize
	}
	if opts.HealthInterval == 0 {
		opts.HealthInterval = DefaultRedisHealthInterval
	}
	if opts.ListenGrace == 0 {
		opts.ListenGrace = DefaultListenGrace
	}
	if opts.OutboxMaxAge == 0 {
		opts.OutboxMaxAge = DefaultOutboxMaxAge
	}
	if opts.OutboxMaxBytes == 0 {
		opts.OutboxMaxBytes = DefaultOutboxMaxBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	own, addr, err := cloneRedisClient(client, opts.PoolSize)
	if err != nil {
		return nil, err
	}
	cluster, _ := own.(*redis.ClusterClient)
	routing := opts.Routing.resolve()
	if routing == RoutingSharded && cluster == nil {
		_ = own.Close()
		return nil, fmt.Errorf("%w: redis broker: RoutingSharded needs a *redis.ClusterClient (sharded pub/sub scales a Redis Cluster; one server gains nothing from it), got %T", ErrInvalidConfig, client)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b := &RedisBroker{
		client:  own,
		cluster: cluster,
		addr:    addr,
		log:     opts.Logger.With("component", "redis-broker", "redis", addr),
		health:  opts.HealthInterval,
		routing: routing,
		grace:   opts.ListenGrace,
		ctx:     ctx,
		cancel:  cancel,
		subs:    make(map[*redisSubscription]struct{}),
	}
	if !opts.OutboxDisabled {
		b.out = newOutbox(b, opts.OutboxMaxAge, opts.OutboxMaxBytes)
	}
	return b, nil
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
			// loop has its own backoff, the outbox its own retries
			o.DialerRetries, o.MaxRetries = 1, 1
			o.ClientSideCache, o.ClientSideCacheConfig = nil, nil
			o.PushNotificationProcessor = nil // the app's has its handlers registered: get a fresh one
			addr := o.Addr
			if addr == "FailoverClient" { // go-redis's placeholder for a Sentinel client
				addr = "Sentinel master"
			}
			own := redis.NewClient(&o)
			own.AddHook(rawReadHook{})
			return own, addr, nil
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
			newNode := o.NewClient
			if newNode == nil {
				newNode = redis.NewClient
			}
			o.NewClient = func(opt *redis.Options) *redis.Client {
				node := newNode(opt)
				node.AddHook(rawReadHook{})
				return node
			}
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

// Routing returns the routing in force (never RoutingDefault).
func (b *RedisBroker) Routing() RedisRouting { return b.routing }

// Publish sends payload on channel (SPUBLISH with RoutingSharded, PUBLISH
// otherwise) through the broker's own connections.
//
// While Redis is reachable and this broker's subscriptions are live, it
// publishes at once and returns Redis's answer: nil once Redis took the
// message, or an error wrapped with the channel name. It returns by ctx's
// deadline; a ctx that is only cancelled bounds the wait for a connection
// and the dial, and the client's read and write timeouts bound the rest.
//
// While Redis is away — a publish failed for want of a connection, or a
// subscription of this broker is lost or being restored — Publish puts the
// message in the outbox and returns nil at once: the message is taken, and
// is sent after every message queued before it, once this broker's
// subscriptions are confirmed again (plus a short settling time, so that the
// other instances most likely hear again too). It returns an error wrapping
// ErrOutboxFull instead when the outbox is at OutboxMaxBytes or the outage
// has lasted OutboxMaxAge; a queued message that could not be sent within
// OutboxMaxAge is dropped and counted (RedisBrokerStats.OutboxExpired).
// Messages reach Redis at least once: one that was in flight when the
// connection broke may be sent twice. With OutboxDisabled, Publish fails at
// once while Redis is away.
//
// After Close, Publish returns an error wrapping ErrBrokerClosed and
// redis.ErrClosed.
func (b *RedisBroker) Publish(ctx context.Context, channel string, payload []byte) error {
	if b.out == nil {
		return b.publishNow(ctx, channel, payload)
	}
	return b.out.publish(ctx, channel, payload)
}

// publishNow sends one message, without the outbox; its error names the
// channel.
func (b *RedisBroker) publishNow(ctx context.Context, channel string, payload []byte) error {
	return publishError(channel, b.publishRaw(ctx, channel, payload))
}

// publishError wraps a publish error with the channel's name (and
// ErrBrokerClosed when the broker is closed); nil stays nil.
func publishError(channel string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, redis.ErrClosed):
		return fmt.Errorf("publish %q: %w: %w", channel, ErrBrokerClosed, err)
	}
	return fmt.Errorf("publish %q: %w", channel, err)
}

// publishRaw sends one message, without the outbox, and returns Redis's
// error as it is. On a cluster with classic pub/sub, the message goes to the
// node that owns the channel's slot (see publishCmd); when that node cannot
// be reached, it goes to any node: a PUBLISH reaches every node from any
// node.
func (b *RedisBroker) publishRaw(ctx context.Context, channel string, payload []byte) error {
	cmd := b.publishCmd(ctx, channel, payload, true)
	_ = b.client.Process(ctx, cmd)
	err := cmd.Err()
	if err != nil && b.cluster != nil && b.routing != RoutingSharded && redisAway(err) && ctx.Err() == nil {
		b.refreshTopology()
		cmd = b.publishCmd(ctx, channel, payload, false)
		_ = b.client.Process(ctx, cmd)
		err = cmd.Err()
	}
	return err
}

// publishCmd returns the command that publishes payload on channel:
// SPUBLISH with RoutingSharded, PUBLISH otherwise. On a cluster, SPUBLISH
// goes to the node that owns the channel's slot, and so does a pinned
// PUBLISH: go-redis sends a PUBLISH, which names no key, to any node, so two
// messages on one channel could take two nodes and two cluster-bus links,
// and arrive out of order.
func (b *RedisBroker) publishCmd(ctx context.Context, channel string, payload []byte, pinned bool) *redis.IntCmd {
	name := "publish"
	if b.routing == RoutingSharded {
		name, pinned = "spublish", true
	}
	cmd := redis.NewIntCmd(ctx, name, channel, payload)
	if pinned {
		cmd.SetFirstKeyPos(1)
	}
	return cmd
}

// refreshTopology asks a cluster client to reload its slot map in the
// background, after a publish found Redis away: go-redis reloads it on a
// MOVED answer, which a dead master never gives, and otherwise only every
// ClusterStateReloadInterval (a minute by default), so without this a
// publish would keep dialling a failed-over master.
func (b *RedisBroker) refreshTopology() {
	if b.cluster != nil {
		b.cluster.ReloadState(b.ctx)
	}
}

// redisAway reports whether err means Redis could not be reached or cannot
// take publishes for now (it is loading, failing over, or read-only during a
// Sentinel switch): what the outbox waits out. Errors of the caller's
// context, of a closed broker, and Redis's answers about the command itself
// are not.
func redisAway(err error) bool {
	switch {
	case err == nil, errors.Is(err, redis.ErrClosed), errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return false
	case errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	for _, prefix := range []string{"LOADING", "MASTERDOWN", "READONLY", "CLUSTERDOWN", "TRYAGAIN"} {
		if redis.HasErrorPrefix(err, prefix) {
			return true
		}
	}
	return false
}

// Subscribe opens a dedicated subscriber connection (one per shard with
// RoutingSharded), subscribes to ws:broadcast (and, with RoutingPatterns,
// pattern-subscribes to ws:room:*, ws:client:* and ws:user:*), and returns
// once Redis has confirmed them, so a message published after it returns is
// delivered. When ctx ends first it gives up and returns an error wrapping
// ErrBrokerNotReady that names the Redis address, the time waited and the
// last error seen.
//
// handler is called from one goroutine at a time (with RoutingSharded, from
// one per shard, never two at once), in the order Redis delivered the
// messages of a channel, with the channel a message was published on. It
// must not block for long: while it runs, messages wait in the connection
// (Redis drops a subscriber whose output buffer outgrows its limit, and the
// subscription then reconnects). It must not close the subscription.
func (b *RedisBroker) Subscribe(ctx context.Context, handler func(channel string, payload []byte)) (Subscription, error) {
	if handler == nil {
		return nil, fmt.Errorf("%w: redis broker: nil handler", ErrInvalidConfig)
	}
	s := newRedisSubscription(b, handler)
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, fmt.Errorf("subscribe: redis broker: %w: %w", ErrBrokerClosed, redis.ErrClosed)
	}
	b.subs[s] = struct{}{}
	s.start()
	b.mu.Unlock()

	start := time.Now()
	select {
	case <-s.Ready():
		return s, nil
	case <-s.done: // closed by the broker's Close meanwhile
		return nil, fmt.Errorf("subscribe: redis broker: %w: %w", ErrBrokerClosed, redis.ErrClosed)
	case <-ctx.Done():
	}
	cause := s.lastError()
	_ = s.Close()
	if cause == nil {
		cause = ctx.Err()
	}
	return nil, fmt.Errorf("%w: redis %s did not confirm the subscriptions to %s within %v: %w",
		ErrBrokerNotReady, b.addr, strings.Join(s.baseNames(), ", "),
		time.Since(start).Round(time.Millisecond), cause)
}

// Close ends every live subscription, drops what the outbox still holds
// (counted in OutboxExpired, and logged), then closes the broker's own
// client. It never closes the application's client. Publish and Subscribe
// fail after it. Closing a closed broker does nothing and returns nil.
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
	b.cancel()
	if b.out != nil {
		b.out.close()
	}
	if err := b.client.Close(); err != nil {
		return fmt.Errorf("close redis broker: %w", err)
	}
	return nil
}

// RedisBrokerStats are counters and gauges of a RedisBroker, for metrics and
// tests.
type RedisBrokerStats struct {
	// Channels is the number of channels the live subscriptions listen to
	// or are about to (ws:broadcast included; patterns not).
	Channels int
	// SubscribeCommands and UnsubscribeCommands count the SUBSCRIBE and
	// UNSUBSCRIBE commands sent (SSUBSCRIBE and SUNSUBSCRIBE with
	// RoutingSharded, PSUBSCRIBE with RoutingPatterns). One command carries
	// many channels: compare with the Listen calls to see the batching.
	SubscribeCommands, UnsubscribeCommands uint64
	// OutboxMessages and OutboxBytes are what the outbox holds now.
	OutboxMessages, OutboxBytes int
	// OutboxQueued counts the messages Publish queued; OutboxReplayed those
	// later sent; OutboxExpired those dropped after OutboxMaxAge or at
	// Close; OutboxFailed those Redis refused on replay (dropped);
	// OutboxRejected the Publish calls that failed with ErrOutboxFull.
	OutboxQueued, OutboxReplayed, OutboxExpired, OutboxFailed, OutboxRejected uint64
}

// Stats returns the broker's counters.
func (b *RedisBroker) Stats() RedisBrokerStats {
	st := RedisBrokerStats{
		SubscribeCommands:   b.subscribeCmds.Load(),
		UnsubscribeCommands: b.unsubscribeCmds.Load(),
	}
	b.mu.Lock()
	subs := make([]*redisSubscription, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		st.Channels += s.channelCount()
	}
	if b.out != nil {
		b.out.stats(&st)
	}
	return st
}

// subscriptionsLive reports whether every subscription that has been ready
// is ready now. Subscriptions still in their first Subscribe do not count.
func (b *RedisBroker) subscriptionsLive() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.everReady.Load() && !s.readyNow.Load() {
			return false
		}
	}
	return true
}

// readinessChanged is called by a subscription after it became ready or
// stopped being ready, or was closed, outside its lock.
func (b *RedisBroker) readinessChanged() {
	if b.out != nil {
		b.out.readinessChanged(b.subscriptionsLive())
	}
}

func (b *RedisBroker) removeSubscription(s *redisSubscription) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
	b.readinessChanged()
}

// retryDelay is the wait before the next attempt after n consecutive
// failures: 50 ms, doubling, at most 1 s.
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

// envelopeChannel reports whether channel is one of the envelope channels
// the pattern routing hears without being asked.
func envelopeChannel(channel string) bool {
	return channel == wire.ChannelBroadcast || strings.HasPrefix(channel, wire.PrefixRoom) ||
		strings.HasPrefix(channel, wire.PrefixClient) || strings.HasPrefix(channel, wire.PrefixUser)
}
