package wire

import "strings"

// The delivery probe. An echows server sends itself, through the broker, a
// client envelope for a target that no client has, and notices when it does
// not come back (a subscription that looks alive but delivers nothing).
// Every server that hears it, an upstream one included, takes it for a
// message to a client it does not have, and does nothing: client ids are
// UUIDs, and a probe target is not shaped like one. An echows server
// recognises probes before anything else and never delivers them.
const (
	// ProbeTargetPrefix starts the target of every probe envelope:
	// "echows-probe-<serverId>".
	ProbeTargetPrefix = "echows-probe-"
	// ProbeEvent is the event of a probe envelope. Its data is {"seq": n}.
	ProbeEvent = "echows:probe"
)

// ProbeTarget returns the target of the probes of the server serverID.
func ProbeTarget(serverID string) string { return ProbeTargetPrefix + serverID }

// ProbeChannel returns the channel the probes of the server serverID are
// published on: ws:client:echows-probe-<serverId>. A server hears it with
// the ws:client:* pattern; a broker that subscribes to channels one by one
// must subscribe to it for the probe to come back.
func ProbeChannel(serverID string) string { return ClientChannel(ProbeTarget(serverID)) }

// IsProbe reports whether e is a probe envelope, of any server.
func IsProbe(e Envelope) bool {
	return e.Type == TypeClient && strings.HasPrefix(e.Target, ProbeTargetPrefix)
}
