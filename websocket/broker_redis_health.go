package websocket

// Health reports whether every subscription of the broker is confirmed by
// Redis on its current connection, and how many times one was restored
// after its connection was lost. A subscription whose connection broke, or
// whose health-check ping went unanswered, is not live until Redis has
// confirmed every channel and pattern again on a new connection.
func (b *RedisBroker) Health() BrokerHealth {
	b.mu.Lock()
	defer b.mu.Unlock()
	live := len(b.subs) > 0
	for s := range b.subs {
		if !s.live.Load() {
			live = false
		}
	}
	return BrokerHealth{Live: live, Reconnects: b.reconnects.Load()}
}
