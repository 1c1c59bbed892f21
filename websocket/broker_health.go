package websocket

// BrokerHealth is what a broker reports about its link to the other
// instances.
type BrokerHealth struct {
	// Live reports whether the broker holds at least one subscription and
	// every one of them is confirmed: a message published now reaches this
	// instance. False while a lost connection is being restored.
	Live bool
	// Reconnects counts the times a subscription was restored after its
	// connection was lost.
	Reconnects uint64
}

// BrokerHealthReporter is implemented by brokers that can tell whether
// their subscriptions are live (MemoryBroker and RedisBroker do). The
// server's readiness (Server.Ready) and Stats use it when the broker has
// it; for a broker without it, a confirmed Subscribe is all the server
// knows, and the delivery probe does the rest.
type BrokerHealthReporter interface {
	Health() BrokerHealth
}

var (
	_ BrokerHealthReporter = (*MemoryBroker)(nil)
	_ BrokerHealthReporter = (*RedisBroker)(nil)
)

// Health reports the in-process broker live while it has a subscriber: it
// has no connection to lose.
func (b *MemoryBroker) Health() BrokerHealth {
	b.mu.Lock()
	defer b.mu.Unlock()
	return BrokerHealth{Live: len(b.subs) > 0}
}
