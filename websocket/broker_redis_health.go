package websocket

// Health reports whether every subscription of the broker is ready (see
// Subscription.Ready: Redis confirmed every channel it listens to on its
// current connection), and how many times one was restored after its
// connection was lost.
func (b *RedisBroker) Health() BrokerHealth {
	b.mu.Lock()
	defer b.mu.Unlock()
	live := len(b.subs) > 0
	for s := range b.subs {
		select {
		case <-s.Ready():
		default:
			live = false
		}
	}
	h := BrokerHealth{Live: live, Reconnects: b.reconnects.Load()}
	if b.out != nil {
		var st RedisBrokerStats
		b.out.stats(&st)
		h.Outbox = OutboxStats{Messages: st.OutboxMessages, Bytes: st.OutboxBytes, Queued: st.OutboxQueued,
			Replayed: st.OutboxReplayed, Expired: st.OutboxExpired, Failed: st.OutboxFailed, Rejected: st.OutboxRejected}
	}
	return h
}
