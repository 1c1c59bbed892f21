// Package redislog routes go-redis's own log lines through slog.
//
// go-redis writes what it notices on its own (a pool that cannot dial, a
// bad pub/sub connection dropped) with the standard log package, to
// stderr, in a format of its own: "redis: 2026/01/02 15:04:05 pool.go:770:
// redis: connection pool: failed to dial ...". The examples send those
// lines to their slog logger instead, at a level of their choosing: the
// errors that matter reach the app as returned errors, which the examples
// report in words.
package redislog

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Use makes go-redis log through l at level, for every client of the
// process (go-redis has one logger). Call it before the first client is
// made.
func Use(l *slog.Logger, level slog.Level) {
	redis.SetLogger(logger{l: l, level: level})
}

// logger adapts a *slog.Logger to go-redis's logging interface.
type logger struct {
	l     *slog.Logger
	level slog.Level
}

// Printf logs one go-redis line, without go-redis's "redis: " prefix and
// with source=go-redis.
func (a logger) Printf(ctx context.Context, format string, v ...any) {
	if !a.l.Enabled(ctx, a.level) {
		return
	}
	msg := strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: ")
	a.l.Log(ctx, a.level, msg, "source", "go-redis")
}
