package redislog_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/echows/echows/examples/internal/redislog"
)

// A client that cannot dial makes go-redis log; the line arrives through
// slog, at the level given, and nothing is printed when that level is off.
func TestUse(t *testing.T) {
	t.Cleanup(func() { redislog.Use(slog.New(slog.DiscardHandler), slog.LevelDebug) })
	var buf bytes.Buffer
	handler := slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})

	redislog.Use(slog.New(handler), slog.LevelInfo)
	failToDial(t)
	out := buf.String()
	if !strings.Contains(out, "level=INFO") || !strings.Contains(out, "source=go-redis") || strings.Contains(out, "msg=\"redis: ") {
		t.Fatalf("go-redis's lines through slog: %q", out)
	}

	buf.Reset()
	redislog.Use(slog.New(handler), slog.LevelDebug) // below the handler's level
	failToDial(t)
	if buf.Len() != 0 {
		t.Fatalf("go-redis's lines at debug on an info logger: %q", buf.String())
	}
}

// failToDial pings a port on loopback that refuses connections (1): the
// pool logs its dial failure.
func failToDial(t *testing.T) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	if err := c.Ping(context.Background()).Err(); err == nil {
		t.Fatal("ping to 127.0.0.1:1 succeeded")
	}
}
