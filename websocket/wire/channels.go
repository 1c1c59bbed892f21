package wire

import "strings"

// Redis channel names and patterns.
const (
	ChannelBroadcast = "ws:broadcast"
	PrefixRoom       = "ws:room:"
	PrefixClient     = "ws:client:"
	PrefixUser       = "ws:user:"
	// ReservedPrefix starts every internal channel; room names may not use it.
	ReservedPrefix = "ws:"
	// PatternRoom, PatternClient and PatternUser are PSUBSCRIBE patterns.
	PatternRoom   = PrefixRoom + "*"
	PatternClient = PrefixClient + "*"
	PatternUser   = PrefixUser + "*"
)

// RoomChannel returns the channel of a room: ws:room:<room>.
func RoomChannel(room string) string { return PrefixRoom + room }

// ClientChannel returns the channel of a client: ws:client:<id>.
func ClientChannel(clientID string) string { return PrefixClient + clientID }

// UserChannel returns the channel of a user: ws:user:<id>.
func UserChannel(userID string) string { return PrefixUser + userID }

// Channel returns the channel an envelope of type t for target is published
// on, or "" when t is not a known type.
func Channel(t Type, target string) string {
	switch t {
	case TypeBroadcast:
		return ChannelBroadcast
	case TypeRoom:
		return RoomChannel(target)
	case TypeClient:
		return ClientChannel(target)
	case TypeUser:
		return UserChannel(target)
	}
	return ""
}

// IsReserved reports whether name starts with the reserved "ws:" prefix.
func IsReserved(name string) bool { return strings.HasPrefix(name, ReservedPrefix) }
