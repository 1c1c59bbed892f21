// Command chat is a chat room in the browser on echows: pick a name, join
// rooms, talk, see who is there and the state of the connection.
//
//	go run ./examples/chat                       # one instance, nothing to install
//	go run ./examples/chat -addr 127.0.0.1:8081 -redis redis://127.0.0.1:6379/0
//
// With -redis (a URL; env REDIS_URL), run as many instances as you like on
// different ports: they share rooms through Redis. See
// examples/cluster/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"
)

func main() {
	addr := flag.String("addr", envOr("CHAT_ADDR", "127.0.0.1:8080"), "address to listen on (env CHAT_ADDR)")
	redis := flag.String("redis", os.Getenv("REDIS_URL"), "Redis URL (redis://host:port/db); set it to run several instances (env REDIS_URL)")
	flag.Parse()

	var e *echo.Echo
	app := fx.New(fx.NopLogger, App(Settings{Addr: *addr, RedisURL: *redis}), fx.Populate(&e))
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout+5*time.Second)
	defer cancel()
	if err := app.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "chat:", err)
		os.Exit(1)
	}
	broker := "the in-process broker: one instance"
	if *redis != "" {
		broker = "Redis at " + redacted(*redis) + ": start more instances on other ports"
	}
	fmt.Printf("chat: open %s in your browser\nchat: on %s; Ctrl-C stops\n", pageURL(e.ListenerAddr()), broker)

	<-app.Wait()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Stop(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "chat: stop:", err)
		os.Exit(1)
	}
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
