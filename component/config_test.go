package component_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/fx"

	"github.com/echows/echows/component"
	"github.com/echows/echows/lifecycle"
	"github.com/echows/echows/websocket"
)

// A RedisURL that cannot work fails fx.New, during construction and before
// any connection is tried (no Redis runs here, and nothing waits for one),
// with ErrInvalidConfig naming RedisURL, and never quotes a password.
func TestBadRedisURLFailsAtConstruction(t *testing.T) {
	for _, tc := range []struct{ name, url, mention string }{
		{"HostAlone", "localhost", "not a URL"},
		{"HostPortWithoutScheme", "127.0.0.1:6379", "redis:// in front"},
		{"NameAndPortWithoutScheme", "localhost:6379", "redis:// in front"},
		{"NoPort", "redis://localhost", "no port"},
		{"NoPortWithPassword", "redis://user:s3cret@cache", "no port"},
		{"NoHost", "redis://:6379", "no host"},
		{"OtherScheme", "http://127.0.0.1:6379", `"http"`},
		{"UnixWithoutPath", "unix://", "socket path"},
		{"BadPort", "redis://127.0.0.1:port", "not a URL"},
		{"BadDatabase", "redis://user:s3cret@127.0.0.1:6379/x", "database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := fx.New(fx.NopLogger, lifecycle.ProvideEcho, component.Module, provideAuth(testAuth),
				fx.Supply(component.Config{RedisURL: tc.url}))
			err := app.Err()
			if !errors.Is(err, websocket.ErrInvalidConfig) || !strings.Contains(err.Error(), "RedisURL") || !strings.Contains(err.Error(), tc.mention) {
				t.Fatalf("fx.New: %v, want ErrInvalidConfig naming RedisURL and saying %q", err, tc.mention)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("the error quotes the password: %v", err)
			}
		})
	}
}

// The app supplies its own lifecycle.EchoServerConfig: the module provides
// none, so nothing clashes, and Echo runs on the app's settings.
func TestAppSuppliesItsOwnEchoServerConfig(t *testing.T) {
	var e *echo.Echo
	a := newApp(t, component.Config{},
		provideAuth(testAuth),
		fx.Supply(lifecycle.EchoServerConfig{Addr: "127.0.0.1:0", ReadHeaderTimeout: 3 * time.Second}),
		fx.Populate(&e),
	)
	a.RequireStart()
	defer a.RequireStop()
	if e.Server.ReadHeaderTimeout != 3*time.Second {
		t.Fatalf("e.Server.ReadHeaderTimeout %v, want the app's 3s", e.Server.ReadHeaderTimeout)
	}
	a.dial(t).Authenticate("alice")
}
