package websocket

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/websocket/wire"
)

// Server is an echows WebSocket server: an http.Handler that upgrades
// connections, authenticates clients, keeps rooms and delivers messages
// locally and, through its Broker, to every other instance.
//
// It is usable as soon as New returns: connections are accepted and local
// sends work. Configure starts the heartbeat sweep and the broker
// subscription; Shutdown ends everything.
type Server struct {
	cfg      Config
	id       string
	log      *slog.Logger
	index    *index
	broker   Broker
	upgrader gws.Upgrader

	mu          sync.Mutex // guards the lifecycle fields below; never held across I/O
	configuring bool
	configured  bool
	closing     bool
	sub         Subscription
	stopSweep   context.CancelFunc

	// wg counts every goroutine the server starts: readers, writers,
	// authentications, the sweep.
	wg sync.WaitGroup
	// hookCtx is given to hooks not tied to one client's life
	// (OnDisconnected); cancelled when Shutdown gives up waiting.
	hookCtx    context.Context
	hookCancel context.CancelFunc

	flush     *flusher
	batch     coalescer                          // fan-outs of a burst, not yet queued
	interest  interests                          // what the broker must hear for this instance's clients
	memSub    atomic.Pointer[memorySubscription] // the subscription, when the broker is a MemoryBroker
	inbox     chan inboxItem                     // broker payloads for dispatchInbox
	inboxDone chan struct{}                      // closed when dispatchInbox returned

	// writeSocket is the flush goroutines' non-blocking write (writeNow);
	// a test replaces it to hold a write in progress.
	writeSocket func(fd int, rc syscall.RawConn, p []byte) (int, error)

	conns         atomic.Int64 // connections upgraded and not finished (MaxConnections)
	dropped       atomic.Uint64
	published     atomic.Uint64
	publishErrors atomic.Uint64
	received      atomic.Uint64
	malformed     atomic.Uint64
	throttled     atomic.Uint64 // reader pauses for MessageRate or ReadRate
	repaired      atomic.Uint64 // messages whose invalid UTF-8 was repaired
	m             meters        // the rest of Stats
	probe         prober        // the delivery probe (probe.go)
	logs          logLimits     // rate limits of the log lines a peer can trigger

	utf8Mu      sync.Mutex
	utf8Sources map[string]struct{} // sources of invalid UTF-8 already logged

	parker      parker // idle readers wait here, off goroutines
	parkErrOnce sync.Once
	// linger is how long a reader lingers, oftenWithin how soon after the
	// reader is ready a client's next frame must come for it to linger at
	// all (see read): both readLinger, which tests change.
	linger, oftenWithin time.Duration
}

// New returns a Server for cfg, with defaults applied. It fails with an
// error wrapping ErrInvalidConfig (ErrNoAuthenticate, ErrNoHandshake, ...)
// when cfg is unusable.
func New(cfg Config) (*Server, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, id: cfg.ServerID, log: cfg.Logger, index: newIndex(), broker: cfg.Broker, writeSocket: writeNow, linger: readLinger, oftenWithin: readLinger}
	if s.id == "" {
		s.id = uuid.NewString()
	}
	if s.broker == nil {
		s.broker = NewMemoryBroker()
	}
	_, s.interest.off = s.broker.(*MemoryBroker)
	s.hookCtx, s.hookCancel = context.WithCancel(context.Background())
	s.batch.s, s.batch.seed = s, maphash.MakeSeed()
	s.flush = newFlusher(func() {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.flush.run()
		}()
	}, &s.batch)
	s.flush.poll = s.parker.poll
	s.upgrader = gws.Upgrader{
		ReadBufferSize:  0,                 // gorilla reads through the reader hijackWriter.Hijack returns
		WriteBufferPool: unusedWritePool{}, // the server writes frames itself
		CheckOrigin:     s.checkOrigin,
		Error:           upgradeError,
	}
	return s, nil
}

// ID returns the server's id, carried as serverId in its envelopes.
func (s *Server) ID() string { return s.id }

// Path returns the configured mount path (default "/ws").
func (s *Server) Path() string { return s.cfg.Path }

// Config returns the configuration in force, defaults applied. Its slices
// are copies: changing them changes nothing.
func (s *Server) Config() Config {
	c := s.cfg
	c.Settings = c.Settings.clone()
	return c
}

// Configure subscribes to the broker, waiting at most ReadyTimeout for it to
// be ready, and starts the heartbeat sweep and transport pings. Call it once,
// before serving traffic from other instances. Upgrades and Shutdown do not
// wait for it.
func (s *Server) Configure(ctx context.Context) error {
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		return ErrServerClosed
	case s.configured || s.configuring:
		s.mu.Unlock()
		return ErrAlreadyConfigured
	}
	s.configuring = true
	s.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, s.cfg.ReadyTimeout)
	defer cancel()
	s.inbox, s.inboxDone = make(chan inboxItem, inboxSize), make(chan struct{})
	go s.dispatchInbox()
	sub, err := s.broker.Subscribe(ctx, s.enqueue)
	if err == nil {
		s.listenOwn(ctx, sub)
	}

	s.mu.Lock()
	s.configuring = false
	if err == nil && s.closing { // Shutdown ran meanwhile: undo
		err = ErrServerClosed
		s.mu.Unlock()
		_ = sub.Close()
		s.mu.Lock()
	}
	if err != nil {
		s.mu.Unlock()
		close(s.inbox)
		<-s.inboxDone
		if errors.Is(err, ErrServerClosed) {
			return err
		}
		if !errors.Is(err, ErrBrokerNotReady) {
			err = fmt.Errorf("%w: %w", ErrBrokerNotReady, err)
		}
		return fmt.Errorf("configure websocket server (ReadyTimeout %v): %w", s.cfg.ReadyTimeout, err)
	}
	defer s.mu.Unlock()
	s.sub = sub
	if ms, ok := sub.(*memorySubscription); ok {
		s.memSub.Store(ms)
	}
	sweepCtx, stop := context.WithCancel(context.Background())
	s.stopSweep = stop
	s.wg.Add(1)
	go s.sweep(sweepCtx)
	if !s.cfg.DisableProbe {
		s.wg.Add(1)
		go s.probeLoop(sweepCtx)
	}
	s.configured = true
	return nil
}

// listenOwn has sub hear what clients that connected before Configure, and
// the delivery probe, need. A failure is logged: Configure goes on, and the
// broker hears the channels as soon as it can.
func (s *Server) listenOwn(ctx context.Context, sub Subscription) {
	err := s.interest.attach(ctx, sub)
	if err == nil && !s.cfg.DisableProbe {
		err = s.interest.listen(ctx, []string{wire.ProbeChannel(s.id)}) // held until Shutdown
	}
	if err != nil {
		s.m.listenErrors.Add(1)
		s.log.Warn("websocket: the broker does not hear every channel yet", "err", err)
	}
}

// Shutdown closes every client with 1001 "Server shutting down", runs the
// disconnected hook for each, stops the sweep, unsubscribes from the broker
// and returns once every goroutine of the server has ended. When ctx ends
// first, it drops the remaining connections, cancels the hooks still running
// and returns ctx's error without waiting for hooks that ignore their
// context. New connections are refused from the start.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	s.closing = true
	stop, sub := s.stopSweep, s.sub
	s.mu.Unlock()

	if stop != nil {
		stop()
	}
	for _, c := range s.index.all() {
		c.closeWith(wire.CloseGoingAway, wire.ReasonShuttingDown)
	}
	s.flush.stop() // a batch sent from now on is queued by its sender: see ensure
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("websocket shutdown: %w", ctx.Err())
		s.hookCancel()
		for _, c := range s.index.all() {
			c.closeSocket()
		}
	}
	s.hookCancel()
	s.parker.stop() // every client is closed: none parks again
	if sub != nil {
		if cerr := sub.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("websocket shutdown: unsubscribe: %w", cerr)
		}
		close(s.inbox) // the handler is not called after Close returned
		<-s.inboxDone
	}
	return err
}

// Client returns the connected client with id.
func (s *Server) Client(id string) (*Client, bool) {
	c := s.index.get(id)
	return c, c != nil
}

// Clients returns every connected client (authenticated or not).
func (s *Server) Clients() []*Client { return s.index.all() }

// UserClients returns the clients of a user on this instance.
func (s *Server) UserClients(userID string) []*Client {
	cs, _ := s.index.audience(audience{audienceUser, userID}, nil)
	return cs
}

// RoomClients returns the clients in a room on this instance.
func (s *Server) RoomClients(room string) []*Client {
	cs, _ := s.index.audience(audience{audienceRoom, room}, nil)
	return cs
}

// runHook calls fn, turning a panic into an error, and times it (see
// Stats.Hooks). Hook errors are logged: a rejection of credentials only at
// debug level (it is no failure), any other failure at warn level at most
// once per logEvery per hook (a client can make a hook fail on every
// message), the others at debug level.
func (s *Server) runHook(name string, c *Client, fn func() error) (err error) {
	i := hookIndex(name)
	h := &s.m.hooks[i]
	start := time.Now()
	defer func() {
		panicked := false
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: hook %s panicked: %v", errHookPanic, name, r)
			panicked = true
		}
		h.duration.observe(time.Since(start))
		if err == nil {
			return
		}
		args := []any{"hook", hookNames[i], "err", err}
		if i == hookEventHandler {
			args = append(args, "event", strings.TrimPrefix(name, handlerHookPrefix))
		}
		if c != nil {
			args = append(args, "client", c.id)
			if u := c.UserID(); u != "" {
				args = append(args, "user", u)
			}
		}
		if errors.Is(err, ErrRejected) {
			s.log.Debug("websocket: credentials rejected", args...)
			return
		}
		h.errors.Add(1)
		if panicked {
			h.panics.Add(1)
		}
		if ok, skipped := s.logs.hooks[i].allow(); ok {
			s.log.Warn("websocket: hook failed", append(args, "suppressed", skipped)...)
		} else {
			s.log.Debug("websocket: hook failed", args...)
		}
	}()
	return fn()
}
