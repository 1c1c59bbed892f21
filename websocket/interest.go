package websocket

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/echows/echows/websocket/wire"
)

// interests declares to the broker what this instance can deliver, so that
// a broker that routes by interest (RedisBroker's RoutingInterest and
// RoutingSharded) sends it only that. Every membership takes one reference
// to its channel for as long as it lasts:
//
//   - an authenticated client: ws:client:<id> and ws:room:<id> (the room of
//     its own id), and ws:user:<userId> when it has a user;
//   - a client in a room: ws:room:<room>.
//
// A reference is taken before the membership is visible (the client indexed,
// the join returned) and released after it is gone, so a message published
// on another instance once JoinRoom returned, or once a client got
// connected, reaches it. References taken before Configure are kept here and
// handed to the subscription when Configure has one.
type interests struct {
	off  bool                       // the broker hears every channel anyway (MemoryBroker)
	live atomic.Pointer[liveSubRef] // set once Configure subscribed

	mu      sync.Mutex
	pending map[string]int // references taken before live was set
}

// liveSubRef holds the subscription for an atomic pointer.
type liveSubRef struct{ sub Subscription }

// listen takes one reference to each of channels and waits until the
// broker hears them (or ctx ends, or the broker is not ready: the reference
// is held all the same, and the channel heard as soon as the broker can).
func (x *interests) listen(ctx context.Context, channels []string) error {
	if x.off || len(channels) == 0 {
		return nil
	}
	ref := x.live.Load()
	if ref == nil {
		x.mu.Lock()
		if ref = x.live.Load(); ref == nil {
			if x.pending == nil {
				x.pending = make(map[string]int)
			}
			for _, ch := range channels {
				x.pending[ch]++
			}
			x.mu.Unlock()
			return nil
		}
		x.mu.Unlock()
	}
	return ref.sub.Listen(ctx, channels...)
}

// unlisten releases one reference to each of channels.
func (x *interests) unlisten(channels []string) {
	if x.off || len(channels) == 0 {
		return
	}
	ref := x.live.Load()
	if ref == nil {
		x.mu.Lock()
		if ref = x.live.Load(); ref == nil {
			for _, ch := range channels {
				if n := x.pending[ch]; n > 1 {
					x.pending[ch] = n - 1
				} else {
					delete(x.pending, ch)
				}
			}
			x.mu.Unlock()
			return
		}
		x.mu.Unlock()
	}
	ref.sub.Unlisten(channels...)
}

// attach hands the references taken before Configure to sub, then waits
// until sub hears them. From then on listen and unlisten go to sub.
func (x *interests) attach(ctx context.Context, sub Subscription) error {
	if x.off {
		return nil
	}
	x.mu.Lock()
	var refs, channels []string
	for ch, n := range x.pending {
		channels = append(channels, ch)
		for range n {
			refs = append(refs, ch)
		}
	}
	x.pending = nil
	if len(refs) > 0 {
		// Listen takes its references before it waits; with a done context
		// it does not wait. Under mu no listen or unlisten passes meanwhile.
		done, cancel := context.WithCancel(context.Background())
		cancel()
		_ = sub.Listen(done, refs...)
	}
	x.live.Store(&liveSubRef{sub: sub})
	x.mu.Unlock()
	if len(channels) == 0 {
		return nil
	}
	// Wait for them with a reference of its own, released at once.
	err := sub.Listen(ctx, channels...)
	sub.Unlisten(channels...)
	return err
}

// clientChannels returns the channels an authenticated client makes this
// instance listen to, its rooms' (distinct) included.
func clientChannels(id, userID string, rooms []string) []string {
	out := make([]string, 0, 3+len(rooms))
	out = append(out, wire.ClientChannel(id), wire.RoomChannel(id))
	if userID != "" {
		out = append(out, wire.UserChannel(userID))
	}
	for _, r := range rooms {
		out = append(out, wire.RoomChannel(r))
	}
	return out
}

// roomChannels returns the channel of each of rooms (distinct rooms: a
// join's or a leave's).
func roomChannels(rooms []string) []string {
	if len(rooms) == 0 {
		return nil
	}
	out := make([]string, len(rooms))
	for i, r := range rooms {
		out[i] = wire.RoomChannel(r)
	}
	return out
}

// listenClient takes the references of an authenticated client's
// membership about to start: its own channels and rooms' (see listenFor).
// On a broker that hears every channel anyway, no channel name is built.
func (s *Server) listenClient(ctx context.Context, id, userID string, rooms []string) {
	if !s.interest.off {
		s.listenFor(ctx, id, clientChannels(id, userID, rooms))
	}
}

// listenRooms takes the references of a join of rooms about to happen (see
// listenFor).
func (s *Server) listenRooms(ctx context.Context, clientID string, rooms []string) {
	if !s.interest.off && len(rooms) > 0 {
		s.listenFor(ctx, clientID, roomChannels(rooms))
	}
}

// unlistenClient releases what listenClient took.
func (x *interests) unlistenClient(id, userID string, rooms []string) {
	if !x.off {
		x.unlisten(clientChannels(id, userID, rooms))
	}
}

// unlistenRooms releases what listenRooms took for rooms.
func (x *interests) unlistenRooms(rooms []string) {
	if !x.off && len(rooms) > 0 {
		x.unlisten(roomChannels(rooms))
	}
}

// listenFor takes the references of a membership about to start, waiting at
// most ReadyTimeout (and while parent lasts) until the broker hears them. A
// failure is logged, not returned: the membership goes on, and the broker
// hears the channels as soon as it can.
func (s *Server) listenFor(parent context.Context, clientID string, channels []string) {
	ctx, cancel := context.WithTimeout(parent, s.cfg.ReadyTimeout)
	err := s.interest.listen(ctx, channels)
	cancel()
	if err != nil && parent.Err() == nil {
		s.m.listenErrors.Add(1)
		s.log.Debug("websocket: the broker does not hear a client's channels yet", "client", clientID, "err", err)
	}
}
