package websocket

import (
	"context"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// routeTimeout bounds one routing pass: a reload of the cluster's slot map
// and the lookups.
const routeTimeout = 5 * time.Second

// route runs for the life of a RoutingSharded subscription. It gives each new
// interest to the link of the master that owns its channel's slot (creating
// the link when it is the first interest there), and, when the topology may
// have changed (a link lost its connection, or a node unsubscribed a
// channel on its own because its slot moved), reloads the cluster's slot map
// and moves every interest whose slot changed owner. Links left without
// interests are closed.
func (s *redisSubscription) route() {
	defer s.wg.Done()
	failures := 0
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.routeKick:
		}
		for {
			s.mu.Lock()
			all := s.rerouteAll
			s.rerouteAll = false
			var todo []*redisInterest
			if all {
				todo = make([]*redisInterest, 0, len(s.entries))
				for _, e := range s.entries {
					todo = append(todo, e)
				}
			} else {
				todo = s.unrouted
			}
			s.unrouted = nil
			s.mu.Unlock()
			if len(todo) == 0 {
				break
			}
			err := s.routeOnce(all, todo)
			if err == nil {
				failures = 0
				break
			}
			s.mu.Lock()
			if all {
				s.rerouteAll = true
			} else {
				s.unrouted = append(todo, s.unrouted...)
			}
			s.lastErr = err
			s.mu.Unlock()
			s.broker.log.Debug("redis cluster routing failed; retrying", "err", err)
			failures++
			if !sleepCtx(s.ctx, retryDelay(failures)) {
				return
			}
		}
	}
}

// routeOnce routes todo (reloading the slot map first when reload is set)
// and applies the result.
func (s *redisSubscription) routeOnce(reload bool, todo []*redisInterest) error {
	cc := s.broker.cluster
	ctx, cancel := context.WithTimeout(s.ctx, routeTimeout)
	defer cancel()
	if reload {
		// ForEachMaster reloads the slot map before it calls fn: go-redis's
		// one public way to refresh it now rather than in the background.
		if err := cc.ForEachMaster(ctx, func(context.Context, *redis.Client) error { return nil }); err != nil {
			return err
		}
	}
	bySlot := make(map[int]*redis.Client)
	nodes := make([]*redis.Client, len(todo))
	for i, e := range todo {
		node, ok := bySlot[e.slot]
		if !ok {
			var err error
			if node, err = cc.MasterForKey(ctx, e.channel); err != nil {
				return err
			}
			bySlot[e.slot] = node
		}
		nodes[i] = node
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	for i, e := range todo {
		if s.entries[e.channel] != e {
			continue // released meanwhile
		}
		addr := nodes[i].Options().Addr
		if l := s.links[addr]; l != nil && l.node != nodes[i] {
			l.node = nodes[i] // go-redis replaced the node's client: dial through the new one
		}
		if e.link != nil && e.link.addr == addr {
			if e.held && !e.sent {
				s.markDirty(e) // dropped by the node on its own: subscribe again
			}
			continue
		}
		l := s.links[addr]
		if l == nil {
			l = s.newLinkLocked(addr, nodes[i])
		}
		s.attachLocked(e, l)
	}
	for addr, l := range s.links {
		if l.count == 0 {
			l.cancel()
			delete(s.links, addr)
		}
	}
	s.unlock(s.updateReadyLocked())
	s.kickAll()
	return nil
}

// clusterSlot returns the Redis Cluster hash slot of key: CRC16 (XMODEM) of
// the key, or of its hash tag (the part between the first "{" and the next
// "}", when not empty), modulo 16384.
func clusterSlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) & 16383
}
