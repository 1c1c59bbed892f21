package benchsrv

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"
)

// PubDelay is what the server measured of the steady scenario's messages
// since the last read: for each "pub" or "pubsend" message, the time from
// the publisher's write (the "t" of its data, the publisher's wall clock in
// µs) to the hook's start (Hook: the message waited in the socket and for
// the server's reader) and to the hook's return (Done: with what the send
// call did, which in echows' sparse steady traffic is every member's write,
// and in upstream's is handing the message to uWebSockets). Both are in µs. The load tool reads it after
// each steady period (GET /pubdelay), from either server, so that a late
// delivery can be placed: before the server ran the hook, during the
// fan-out, or after the server's write (the receiving client's side).
type PubDelay struct {
	N       int   `json:"n"`
	HookP50 int64 `json:"hook_p50_us"`
	HookP99 int64 `json:"hook_p99_us"`
	HookMax int64 `json:"hook_max_us"`
	DoneP50 int64 `json:"done_p50_us"`
	DoneP99 int64 `json:"done_p99_us"`
	DoneMax int64 `json:"done_max_us"`
}

// String is the load tool's log of d: empty for nil or no messages.
func (d *PubDelay) String() string {
	if d == nil || d.N == 0 {
		return ""
	}
	return fmt.Sprintf("; server: hook p50 %.2f p99 %.2f max %.1f ms, done p50 %.2f p99 %.2f max %.1f ms",
		ms(d.HookP50), ms(d.HookP99), ms(d.HookMax), ms(d.DoneP50), ms(d.DoneP99), ms(d.DoneMax))
}

func ms(us int64) float64 { return float64(us) / 1e3 }

// steadyDelays is the process's: Config's hook records, Mux serves (one
// bench server per process).
var steadyDelays pubDelays

// pubDelays records the delays of one server's steady messages.
type pubDelays struct {
	mu         sync.Mutex
	hook, done []int64
}

// record adds one message whose hook started at entry and returned now.
// Data without a timestamp is not counted.
func (d *pubDelays) record(data []byte, entry time.Time) {
	t, ok := sentMicros(data)
	if !ok {
		return
	}
	end := time.Now().UnixMicro()
	d.mu.Lock()
	d.hook = append(d.hook, entry.UnixMicro()-t)
	d.done = append(d.done, end-t)
	d.mu.Unlock()
}

// take returns what was recorded since the last take, and forgets it.
func (d *pubDelays) take() PubDelay {
	d.mu.Lock()
	hook, done := d.hook, d.done
	d.hook, d.done = nil, nil
	d.mu.Unlock()
	slices.Sort(hook)
	slices.Sort(done)
	return PubDelay{N: len(hook),
		HookP50: quantile(hook, 0.50), HookP99: quantile(hook, 0.99), HookMax: quantile(hook, 1),
		DoneP50: quantile(done, 0.50), DoneP99: quantile(done, 0.99), DoneMax: quantile(done, 1)}
}

func (d *pubDelays) serve(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(d.take())
}

// quantile returns the q-quantile of sorted (nearest rank), 0 when empty.
func quantile(sorted []int64, q float64) int64 {
	if len(sorted) == 0 {
		return 0
	}
	i := min(len(sorted)-1, max(0, int(math.Ceil(q*float64(len(sorted))))-1))
	return sorted[i]
}

// sentMicros finds the "t" of a Payload.
func sentMicros(data []byte) (int64, bool) {
	i := bytes.Index(data, []byte(`"t":`))
	if i < 0 {
		return 0, false
	}
	rest := data[i+4:]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	t, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	return t, err == nil
}
