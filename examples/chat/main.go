// Command chat is a chat room in the browser on echows: pick a name, join
// rooms, talk, see who is there and the state of the connection.
//
//	go run ./examples/chat                       # one instance, nothing to install
//	go run ./examples/chat -addr 127.0.0.1:8081 -redis redis://127.0.0.1:6379/0
//
// With -redis (a URL; env REDIS_URL), run as many instances as you like on
// different ports: they share rooms through Redis. See
// examples/cluster/README.md. It prints one line when it starts and one
// when it stops; -access-log adds a line per HTTP request and per WebSocket
// connection.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"

	"github.com/echows/echows/examples/internal/redislog"
)

func main() {
	addr := flag.String("addr", envOr("CHAT_ADDR", "127.0.0.1:8080"), "address to listen on (env CHAT_ADDR)")
	redis := flag.String("redis", os.Getenv("REDIS_URL"), "Redis URL (redis://host:port/db); set it to run several instances (env REDIS_URL)")
	logRequests := flag.Bool("access-log", os.Getenv("CHAT_ACCESS_LOG") != "", "log every HTTP request and WebSocket connection (env CHAT_ACCESS_LOG=1)")
	flag.Parse()

	// The server's debug log has a line per connection that ends; go-redis's
	// own lines (a pool that cannot dial) go there too: the errors that
	// matter are reported in words.
	level := slog.LevelInfo
	if *logRequests {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	redislog.Use(logger, slog.LevelDebug)

	var e *echo.Echo
	opts := []fx.Option{fx.NopLogger, App(Settings{Addr: *addr, RedisURL: *redis, Logger: logger}), fx.Populate(&e)}
	if *logRequests {
		opts = append(opts, fx.Invoke(func(e *echo.Echo) { e.Use(accessLog(logger)) }))
	}
	app := fx.New(opts...)
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout+5*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", startError(err, *addr))
		os.Exit(1)
	}
	broker := "in-process broker: one instance"
	if *redis != "" {
		broker = "Redis at " + redacted(*redis) + ": start more instances on other ports"
	}
	fmt.Printf("chat: open %s in your browser (%s); Ctrl-C stops\n", pageURL(e.ListenerAddr()), broker)

	<-app.Wait()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "chat: stop:", err)
		os.Exit(1)
	}
	fmt.Println("chat: stopped")
}

// startError says why the app did not start. When it could not listen, it
// names the address once (the listen error names it twice) and the flag
// that changes it.
func startError(err error, addr string) string {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "listen" {
		return fmt.Sprintf("cannot listen on %s: %v; choose another address with -addr or CHAT_ADDR", addr, op.Err)
	}
	return err.Error()
}

// pageURL is the address to open: a wildcard host becomes localhost.
func pageURL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String() + "/"
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// redacted is a Redis URL without its password, for printing.
func redacted(redisURL string) string {
	u, err := url.Parse(redisURL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
