package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"
	"go.uber.org/fx/fxtest"
)

// A busy port: the message names the address once, why, and the flag and
// variable that change it.
func TestStartErrorOnBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()

	app := fx.New(fx.NopLogger, App(Settings{Addr: addr, Logger: slog.New(slog.DiscardHandler)}))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = app.Start(ctx)
	if err == nil {
		app.Stop(ctx)
		t.Fatalf("the chat started on %s, which is in use", addr)
	}
	msg := startError(err, addr)
	for _, want := range []string{"cannot listen on " + addr, "address already in use", "-addr", "CHAT_ADDR"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
	if n := strings.Count(msg, addr); n != 1 {
		t.Errorf("message %q names the address %d times", msg, n)
	}
}

// records is a slog.Handler that hands every record to a channel.
type records chan slog.Record

func (records) Enabled(context.Context, slog.Level) bool { return true }
func (r records) Handle(_ context.Context, rec slog.Record) error {
	r <- rec.Clone()
	return nil
}
func (r records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r records) WithGroup(string) slog.Handler      { return r }

// next returns the next record with message msg, as "key=value" pairs.
func (r records) next(t *testing.T, msg string) map[string]string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case rec := <-r:
			if rec.Message != msg {
				continue
			}
			attrs := map[string]string{}
			rec.Attrs(func(a slog.Attr) bool {
				attrs[a.Key] = a.Value.String()
				return true
			})
			return attrs
		case <-timeout:
			t.Fatalf("no %q log line", msg)
		}
	}
}

// The access log has a line for the page and one for the WebSocket
// upgrade, with status 101.
func TestAccessLog(t *testing.T) {
	log := make(records, 100)
	var e *echo.Echo
	app := fxtest.New(t, fx.NopLogger,
		App(Settings{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)}),
		fx.Invoke(func(e *echo.Echo) { e.Use(accessLog(slog.New(log))) }),
		fx.Populate(&e),
	)
	app.RequireStart()
	t.Cleanup(app.RequireStop)
	base := "http://" + e.ListenerAddr().String()

	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := log.next(t, "http"); got["method"] != "GET" || got["uri"] != "/" || got["status"] != "200" {
		t.Fatalf("page: logged %v", got)
	}

	req, _ := http.NewRequest(http.MethodGet, base+"/ws", nil)
	req.Header.Set("Connection", "Upgrade")
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	req.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close() // the WebSocket connection
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %s", resp.Status)
	}
	if got := log.next(t, "http"); got["uri"] != "/ws" || got["status"] != "101" {
		t.Fatalf("upgrade: logged %v", got)
	}
}
