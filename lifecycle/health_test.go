package lifecycle_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/echows/echows/lifecycle"
	"github.com/echows/echows/websocket"
)

func TestReadinessAndLivenessHandlers(t *testing.T) {
	s, err := websocket.New(websocket.Config{Hooks: websocket.Hooks{Authenticate: func(context.Context, websocket.AuthRequest) (*websocket.Identity, error) {
		return nil, nil
	}}})
	if err != nil {
		t.Fatal(err)
	}
	e := lifecycle.NewEcho()
	e.GET("/readyz", lifecycle.Readiness(s))
	e.GET("/livez", lifecycle.Liveness())
	hs := httptest.NewServer(e)
	defer hs.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, _ := get("/readyz"); status != http.StatusServiceUnavailable {
		t.Fatalf("readiness before Configure: %d", status)
	}
	if status, _ := get("/livez"); status != http.StatusOK {
		t.Fatalf("liveness before Configure: %d", status)
	}
	if err := s.Configure(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Shutdown(context.Background())
	if status, body := get("/readyz"); status != http.StatusOK || body != "ready\n" {
		t.Fatalf("readiness once configured: %d %q", status, body)
	}
}
