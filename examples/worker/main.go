// Command worker is a background process that reaches browsers through
// echows without running a WebSocket server: it publishes to Redis with
// package emitter, and whichever chat instance a user is connected to
// delivers the events.
//
//	go run ./examples/worker -redis redis://127.0.0.1:6379/0 -user alice -room lobby
//
// It sends job:progress events (0% to 100%) to every connection of -user and
// announcements to -room. The chat page (examples/chat, started with the
// same -redis) shows both. See examples/cluster/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/emitter"
	"github.com/echows/echows/examples/internal/redislog"
	"github.com/echows/echows/examples/worker/job"
)

func main() {
	redisURL := flag.String("redis", envOr("REDIS_URL", "redis://127.0.0.1:6379/0"), "Redis URL, redis://host:port/db (env REDIS_URL)")
	user := flag.String("user", "", "user id to send job:progress to (the name picked in the chat page)")
	room := flag.String("room", "lobby", "room to send announcements to; empty for none")
	id := flag.String("job", "report-"+time.Now().Format("150405"), "job id shown in the page")
	steps := flag.Int("steps", job.DefaultSteps, "steps from 0% to 100%")
	interval := flag.Duration("interval", job.DefaultInterval, "time per step")
	flag.Parse()

	if err := run(*redisURL, job.Options{ID: *id, User: *user, Room: *room, Steps: *steps, Interval: *interval}); err != nil {
		fmt.Fprintln(os.Stderr, "worker:", err)
		os.Exit(1)
	}
}

func run(redisURL string, opts job.Options) error {
	switch {
	case opts.User == "" && opts.Room == "":
		return errors.New("nothing to do: give -user, -room or both")
	case opts.User == "":
		fmt.Fprintf(os.Stderr, "worker: no -user: sending announcements to #%s only (give -user NAME, a name picked in the chat page, to send job progress too)\n", opts.Room)
	case opts.Room == "":
		fmt.Fprintf(os.Stderr, "worker: no -room: sending job progress to %s only\n", opts.User)
	}
	redisOpts, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("-redis: %w (want redis://host:port/db)", err)
	}
	opts.Logger = slog.New(slog.NewTextHandler(os.Stdout, nil))
	redislog.Use(opts.Logger, slog.LevelDebug) // the error that matters is returned
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	client := redis.NewClient(redisOpts)
	defer client.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pingCtx).Err(); err != nil {
		return fmt.Errorf("redis at %s (waited up to 5s): %w", redisOpts.Addr, err)
	}
	em := emitter.New(client)
	defer em.Close() // before the client: deferred calls run last-in first-out

	return job.Run(ctx, em, opts)
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
