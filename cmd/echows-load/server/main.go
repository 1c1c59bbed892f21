// Command server is the echows server under test for cmd/echows-load: a
// websocket.Server with the app hooks of the upstream bench server
// (../upstream/server.ts), plus control endpoints (see package benchsrv).
//
//	server -addr 127.0.0.1:0 [-room ws-default] [-redis 127.0.0.1:6390 [-routing patterns|interest|sharded] [-cluster]] [-pprof] [-metrics]
//
// It prints "READY <port> <pid>" on stdout once it serves. Routes:
//
//	GET  /ws                    the WebSocket endpoint (authenticate with
//	                            {"token": "<userId>"}; every client is in the
//	                            default rooms, -room is one of them); custom
//	                            events "pub", "pubsend", "echo" and
//	                            "to:<room>" (see benchsrv.Config)
//	POST /burst?room=&count=&size=&event=&burst=&mode=room|send
//	                            sends count messages to room, each with data
//	                            {"b":burst,"s":seq,"t":<unix µs>,"p":"x…"} of
//	                            size bytes: mode room calls Local().ToRoom (local
//	                            fan-out), mode send calls Send (local fan-out
//	                            when the room is here, and a publish to the
//	                            broker for the other instances)
//	GET  /stats[?gc=1]          JSON: the server's Stats, goroutines, Go memory
//	                            (after a runtime.GC with gc=1)
//	GET  /pubdelay              JSON: the delays of the steady scenario's
//	                            messages since the last read (benchsrv.PubDelay)
//	GET  /debug/pprof/...       net/http/pprof (with -pprof)
//	GET  /metrics               Prometheus metrics (with -metrics: the server's
//	                            collector on a registry of its own, which the
//	                            server also gathers every -scrape-interval, as a
//	                            Prometheus scraping it would)
//
// echows-load starts it pinned to one core (taskset -c 0), so GOMAXPROCS is 1.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/cmd/echows-load/internal/benchsrv"
	"github.com/echows/echows/prommetrics"
	"github.com/echows/echows/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	room := flag.String("room", "ws-default", "the bench room (clients are in the default rooms)")
	redisAddr := flag.String("redis", "", "Redis address for a RedisBroker (empty: in-process broker)")
	routing := flag.String("routing", "", "with -redis: the broker's Routing, patterns, interest or sharded (empty: the broker's default)")
	cluster := flag.Bool("cluster", false, "with -redis: a Redis Cluster client, -redis being one of its nodes (sharded routing needs one)")
	backpressure := flag.Int("backpressure", 0, "BackpressureLimit in bytes (0: the default, 1 MiB)")
	withPprof := flag.Bool("pprof", false, "mount net/http/pprof under /debug/pprof/")
	logLevel := flag.String("log", "warn", "log level: debug, info, warn, error")
	memProfileRate := flag.Int("memprofilerate", 0, "runtime.MemProfileRate (1: every allocation in heap profiles); 0: Go's default")
	idleTimeout := flag.Duration("idle-timeout", 0, "IdleTimeout (pings every half of it); 0: the default, 60 s")
	authTimeout := flag.Duration("auth-timeout", 0, "AuthTimeout; 0: the default, 5 s")
	withMetrics := flag.Bool("metrics", false, "register the Prometheus collector, serve /metrics and gather it every -scrape-interval")
	scrapeEvery := flag.Duration("scrape-interval", time.Second, "with -metrics: how often the server gathers its own registry (Prometheus' default is 15 s)")
	flag.Parse()

	if *memProfileRate > 0 {
		runtime.MemProfileRate = *memProfileRate
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fatal("bad -log: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	cfg := benchsrv.Config(*room, *backpressure, logger)
	cfg.IdleTimeout = *idleTimeout
	cfg.AuthTimeout = *authTimeout
	var broker *websocket.RedisBroker
	if *redisAddr != "" {
		rt, err := parseRouting(*routing)
		if err != nil {
			fatal("%v", err)
		}
		var rc redis.UniversalClient = redis.NewClient(&redis.Options{Addr: *redisAddr})
		if *cluster {
			rc = redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{*redisAddr}})
		}
		defer rc.Close()
		b, err := websocket.NewRedisBroker(rc, websocket.RedisBrokerOptions{Logger: logger, Routing: rt})
		if err != nil {
			fatal("redis broker: %v", err)
		}
		broker, cfg.Broker = b, b
	}
	srv, err := websocket.New(cfg)
	if err != nil {
		fatal("new server: %v", err)
	}
	ctx := context.Background()
	if err := srv.Configure(ctx); err != nil {
		fatal("configure: %v", err)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fatal("listen: %v", err)
	}
	mux := benchsrv.Mux(srv, *room, *withPprof)
	if *withMetrics {
		reg := prometheus.NewRegistry()
		reg.MustRegister(prommetrics.NewCollector(srv))
		mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		go func() {
			for range time.Tick(*scrapeEvery) {
				if _, err := reg.Gather(); err != nil {
					fatal("gather: %v", err)
				}
			}
		}()
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := hs.Serve(ln); err != nil && err != http.ErrServerClosed {
			fatal("serve: %v", err)
		}
	}()
	fmt.Printf("READY %d %d\n", ln.Addr().(*net.TCPAddr).Port, os.Getpid())

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(sctx)
	_ = hs.Shutdown(sctx)
	if broker != nil {
		_ = broker.Close()
	}
}

// parseRouting maps -routing to a RedisRouting ("": the default).
func parseRouting(s string) (websocket.RedisRouting, error) {
	switch s {
	case "":
		return websocket.RoutingDefault, nil
	case "patterns":
		return websocket.RoutingPatterns, nil
	case "interest":
		return websocket.RoutingInterest, nil
	case "sharded":
		return websocket.RoutingSharded, nil
	}
	return 0, fmt.Errorf("bad -routing %q: patterns, interest or sharded", s)
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "echows bench server: "+format+"\n", args...)
	os.Exit(1)
}
