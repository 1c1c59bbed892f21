//go:build linux

package websocket

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
)

// Shutdown stops the parker's epoll goroutine once it gave up waiting for
// the clients; an upgrade still under way then must not start a new one
// that nothing will ever stop (a goroutine, an epoll set and a pipe per
// Shutdown).
func TestShutdownRacingAnUpgradeLeavesNoEpollGoroutine(t *testing.T) {
	s, err := New(Config{Hooks: Hooks{Authenticate: testAuth}, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	entered, release := make(chan struct{}), make(chan struct{})
	s.upgrader.CheckOrigin = func(*http.Request) bool { // the upgrade, held mid-way
		close(entered)
		<-release
		return true
	}
	url := serve(t, s, httptest.NewServer).url

	type dialed struct {
		conn *gws.Conn
		err  error
	}
	dial := make(chan dialed, 1)
	go func() {
		conn, _, err := gws.DefaultDialer.Dial(url, nil)
		dial <- dialed{conn, err}
	}()
	waitChan(t, entered, "the upgrade to start")

	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Shutdown gives up at once: the upgrade holds a count
	if err := s.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: %v, want context.Canceled", err)
	}
	close(release)
	d := <-dial
	if d.err != nil {
		t.Fatal(d.err)
	}
	defer d.conn.Close()
	d.conn.SetReadDeadline(time.Now().Add(readTimeout))
	if _, _, err := d.conn.ReadMessage(); !gws.IsCloseError(err, gws.CloseGoingAway) {
		t.Fatalf("read: %v, want 1001", err)
	}
	wgDone := make(chan struct{})
	go func() { s.wg.Wait(); close(wgDone) }()
	waitChan(t, wgDone, "the server's goroutines to end")

	s.parker.mu.Lock()
	done := s.parker.done
	s.parker.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		default:
			t.Fatal("the parker's epoll goroutine runs after Shutdown, and nothing will stop it")
		}
	}
}

func waitChan(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(readTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// Upgrades racing Shutdown: each one is refused (503) or upgraded and then
// closed with 1001; Shutdown returns nil once all are gone, and the parker
// is stopped.
func TestShutdownRacingManyUpgrades(t *testing.T) {
	ts := startServer(t, Config{})
	s, url := ts.Server, ts.url
	const n = 60
	results := make(chan error, n)
	for i := range n {
		go func() {
			conn, resp, err := gws.DefaultDialer.Dial(url, nil)
			if err != nil {
				if resp != nil && resp.StatusCode == http.StatusServiceUnavailable {
					results <- nil
					return
				}
				results <- err
				return
			}
			defer conn.Close()
			if i%2 == 0 { // half of them authenticate, if they can
				conn.WriteMessage(gws.TextMessage, []byte(`{"event":"authenticate","data":{"token":"u"}}`))
			}
			conn.SetReadDeadline(time.Now().Add(readTimeout))
			for {
				if _, _, err := conn.ReadMessage(); err != nil {
					if !gws.IsCloseError(err, gws.CloseGoingAway) {
						results <- err
						return
					}
					results <- nil
					return
				}
			}
		}()
	}
	waitFor(t, "a third of the upgrades", func() bool { return s.Stats().Clients >= n/3 })
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range n {
		if err := <-results; err != nil {
			t.Error(err)
		}
	}
	s.parker.mu.Lock()
	done := s.parker.done
	s.parker.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		default:
			t.Fatal("the parker's epoll goroutine runs after Shutdown")
		}
	}
}
