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
	// Outbox is what the broker holds while Redis is away (RedisBroker's
	// outbox; zero for a broker without one).
	Outbox OutboxStats
}

// OutboxStats describe a broker's outbox: the publishes it holds while
// Redis is away, to replay them in order once it is back.
type OutboxStats struct {
	// Messages and Bytes are what it holds now.
	Messages, Bytes int
	// Queued counts the publishes it took; Replayed those later sent;
	// Expired those dropped after OutboxMaxAge (or at Close); Failed those
	// Redis refused on replay; Rejected the publishes refused because the
	// outbox was full (they returned an error).
	Queued, Replayed, Expired, Failed, Rejected uint64
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
