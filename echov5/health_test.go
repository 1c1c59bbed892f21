package echov5_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v5"

	"github.com/echows/echows/component"
	"github.com/echows/echows/echov5"
	"github.com/echows/echows/websocket"
)

func v5Get(t *testing.T, base, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The module mounts the health handlers on Echo v5 at the Config's paths.
func TestModuleMountsHealthPaths(t *testing.T) {
	a := newV5App(t, orders[0].modules, component.Config{ReadinessPath: "/readyz", LivenessPath: "/livez"}, echov5.EchoServerConfig{})
	a.RequireStart()
	defer a.RequireStop()
	base := "http://" + a.addr.String()
	if status, body := v5Get(t, base, "/readyz"); status != http.StatusOK || body != "ready\n" {
		t.Fatalf("GET /readyz: %d %q", status, body)
	}
	if status, body := v5Get(t, base, "/livez"); status != http.StatusOK || body != "alive\n" {
		t.Fatalf("GET /livez: %d %q", status, body)
	}
}

func TestReadinessAndLivenessHandlersByHand(t *testing.T) {
	s, err := websocket.New(websocket.Config{Hooks: websocket.Hooks{Authenticate: testAuth}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.GET("/readyz", echov5.Readiness(s))
	e.GET("/livez", echov5.Liveness())
	hs := httptest.NewServer(e)
	defer hs.Close()
	if status, _ := v5Get(t, hs.URL, "/readyz"); status != http.StatusServiceUnavailable {
		t.Fatalf("readiness before Configure: %d", status)
	}
	if err := s.Configure(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if status, _ := v5Get(t, hs.URL, "/readyz"); status != http.StatusOK {
		t.Fatalf("readiness once configured: %d", status)
	}
	if status, _ := v5Get(t, hs.URL, "/livez"); status != http.StatusOK {
		t.Fatalf("liveness: %d", status)
	}
}
