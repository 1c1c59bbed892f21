// Package benchsrv is the echows server under test of cmd/echows-load: the
// app hooks of the upstream bench server (../../upstream/server.ts) and the
// control endpoints that make it send bursts. cmd/echows-load/server runs it
// as a process; the smoke test mounts it in-process.
package benchsrv

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/pprof"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/echows/echows/websocket"
)

// Config returns the server configuration of the bench, at echows'
// defaults but where the load tool needs otherwise: {token} authenticates as
// user token, every join request is allowed, no application heartbeat is
// expected (the load tool answers transport pings only), and backpressure,
// when not 0, replaces the default BackpressureLimit. Clients are in the
// default rooms (the bench room is ws-default unless told otherwise).
//
// Its message hook is the steady scenario's app: "pub" sends the data to
// room on this instance (srv.Local().ToRoom, upstream's sendToRoom);
// "pubsend" sends it with srv.Send (upstream's send: published for the
// other instances when room is not here); "echo" answers the sender with the
// same data as a "bench" event (an ordinary client's round trip, measured
// by the load tool as it measures deliveries); "to:<room>" sends it to room
// on every instance with srv.ToRoom (the fleet scenario's publishers).
func Config(room string, backpressure int, logger *slog.Logger) websocket.Config {
	return websocket.Config{
		Settings: websocket.Settings{BackpressureLimit: backpressure, HeartbeatTimeout: time.Hour},
		Hooks: websocket.Hooks{
			Authenticate: websocket.AuthenticateAs(func(_ context.Context, _ websocket.AuthRequest, creds struct {
				Token string `json:"token"`
			}) (*websocket.Identity, error) {
				if creds.Token == "" {
					return nil, websocket.ErrRejected
				}
				return &websocket.Identity{UserID: creds.Token}, nil
			}),
			ValidateRooms: func(_ context.Context, _ *websocket.Client, rooms []string) ([]string, error) {
				return rooms, nil
			},
			OnMessage: func(ctx context.Context, c *websocket.Client, msg websocket.Message) error {
				if to, ok := strings.CutPrefix(msg.Event, "to:"); ok {
					return c.Server().ToRoom(ctx, to, "bench", msg.Data)
				}
				switch msg.Event {
				case "pub":
					defer steadyDelays.record(msg.Data, time.Now())
					return c.Server().Local().ToRoom(room, "bench", msg.Data)
				case "pubsend":
					defer steadyDelays.record(msg.Data, time.Now())
					return c.Server().Send(ctx, room, "bench", msg.Data)
				case "echo":
					return c.Send("bench", msg.Data)
				}
				return nil
			},
		},
		Logger: logger,
	}
}

// Mux serves srv at /ws, POST /burst, GET /stats, GET /pubdelay (see
// PubDelay) and, with withPprof,
// net/http/pprof under /debug/pprof/.
func Mux(srv *websocket.Server, room string, withPprof bool) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/ws", srv)
	mux.HandleFunc("POST /burst", func(w http.ResponseWriter, r *http.Request) { burst(w, r, srv, room) })
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) { stats(w, r, srv) })
	mux.HandleFunc("GET /pubdelay", steadyDelays.serve)
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	return mux
}

// Payload appends the data of message seq of burst b: a JSON object of
// exactly size bytes when size allows, {"b":b,"s":seq,"t":<unix µs>,"p":"x…"}
// (the bytes upstream's JSON.stringify produces for the same object).
func Payload(dst []byte, b, seq, size int) []byte {
	start := len(dst)
	dst = append(dst, `{"b":`...)
	dst = strconv.AppendInt(dst, int64(b), 10)
	dst = append(dst, `,"s":`...)
	dst = strconv.AppendInt(dst, int64(seq), 10)
	dst = append(dst, `,"t":`...)
	dst = strconv.AppendInt(dst, time.Now().UnixMicro(), 10)
	dst = append(dst, `,"p":"`...)
	for pad := size - (len(dst) - start) - 2; pad > 0; pad-- {
		dst = append(dst, 'x')
	}
	return append(dst, `"}`...)
}

// corker is a server that can hold its writers while a batch is queued
// (a Cork method, as uWebSockets has). The bench uses it with cork=1 when
// the websocket package under test has one.
type corker interface{ Cork(fn func()) }

// burst handles POST /burst?room=&count=&size=&event=&burst=&mode=room|send[&cork=1]:
// count messages to room through SendToRoom (mode room: local fan-out) or
// Send (mode send: local fan-out when the room is here, and a publish to the
// broker for the other instances); with cork=1, inside one srv.Cork call
// (400 Bad Request when the server has no Cork method).
func burst(w http.ResponseWriter, r *http.Request, srv *websocket.Server, defRoom string) {
	q := r.URL.Query()
	room := q.Get("room")
	if room == "" {
		room = defRoom
	}
	event := q.Get("event")
	if event == "" {
		event = "bench"
	}
	count, _ := strconv.Atoi(q.Get("count"))
	size, _ := strconv.Atoi(q.Get("size"))
	b, _ := strconv.Atoi(q.Get("burst"))
	mode := q.Get("mode")
	if count <= 0 {
		count = 1
	}
	run := func(fn func()) { fn() }
	if q.Get("cork") == "1" {
		ck, ok := any(srv).(corker)
		if !ok {
			http.Error(w, "this websocket.Server has no Cork method", http.StatusBadRequest)
			return
		}
		run = ck.Cork
	}
	start := time.Now()
	var errs int
	run(func() {
		for i := range count {
			// A fresh slice per message: the server keeps the data it is given
			// until every recipient's writer has written it.
			data := json.RawMessage(Payload(make([]byte, 0, size+8), b, i, size))
			var err error
			if mode == "send" {
				err = srv.Send(r.Context(), room, event, data)
			} else {
				err = srv.Local().ToRoom(room, event, data)
			}
			if err != nil {
				errs++
			}
		}
	})
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"sent":%d,"errors":%d,"elapsed_ns":%d}`+"\n", count, errs, time.Since(start).Nanoseconds())
}

// stats handles GET /stats[?gc=1]: the server's Stats, goroutines and Go
// memory classes (after a runtime.GC with gc=1; it returns nothing to the OS).
func stats(w http.ResponseWriter, r *http.Request, srv *websocket.Server) {
	if r.URL.Query().Get("gc") == "1" {
		runtime.GC()
	}
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/os-stacks:bytes"},
		{Name: "/memory/classes/heap/stacks:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/sched/latencies:seconds"},
	}
	metrics.Read(samples)
	out := map[string]any{
		"stats":      srv.Stats(),
		"goroutines": runtime.NumGoroutine(),
		"gomaxprocs": runtime.GOMAXPROCS(0),
	}
	for _, s := range samples {
		switch s.Value.Kind() {
		case metrics.KindUint64:
			out[s.Name] = s.Value.Uint64()
		case metrics.KindFloat64Histogram: // /sched/latencies
			out["sched_latency"] = schedLatency(s.Value.Float64Histogram())
		}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// SchedLatency is the runtime's histogram of how long goroutines waited,
// runnable, for a processor (runtime/metrics /sched/latencies:seconds):
// Counts[i] goroutine starts waited at most Upper[i] seconds (and more than
// Upper[i-1]). The last bound, +Inf in the runtime, is 1e9 here (JSON has no
// infinity).
type SchedLatency struct {
	Counts []uint64  `json:"counts"`
	Upper  []float64 `json:"upper"`
}

func schedLatency(h *metrics.Float64Histogram) SchedLatency {
	upper := make([]float64, len(h.Counts))
	for i := range upper {
		upper[i] = min(h.Buckets[i+1], 1e9)
	}
	return SchedLatency{Counts: h.Counts, Upper: upper}
}

// Quantile returns the upper bound of the bucket holding quantile q of the
// waits counted in h since before (same buckets), in seconds, or 0 when
// there were none.
func (h SchedLatency) Quantile(before SchedLatency, q float64) float64 {
	var total uint64
	delta := make([]uint64, len(h.Counts))
	for i, n := range h.Counts {
		if i < len(before.Counts) {
			n -= before.Counts[i]
		}
		delta[i] = n
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := max(1, uint64(math.Ceil(q*float64(total)))) // the rank-th smallest wait
	var seen uint64
	for i, n := range delta {
		if seen += n; seen >= rank {
			return h.Upper[i]
		}
	}
	return h.Upper[len(h.Upper)-1]
}
