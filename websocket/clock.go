package websocket

import "time"

// monoStart is the origin of monoNow.
var monoStart = time.Now()

// monoNow is the monotonic time since the process started: the clock of
// the timestamps the server keeps in atomics and per-client fields (8
// bytes, where a time.Time takes 24), always positive.
func monoNow() time.Duration { return time.Since(monoStart) }
