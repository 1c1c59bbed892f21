// Package wstest is a WebSocket test client speaking the echows protocol,
// for tests that run a real server on loopback: it dials, authenticates,
// reads frames under a deadline and checks close codes. Client is built on
// gorilla's client; Raw is a raw-socket client for tests that attack a
// server with hand-built frames and read its frames strictly.
package wstest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"
	"unicode/utf8"

	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/websocket/wire"
)

// ReadTimeout bounds every wait for a frame. It guards against a hung test;
// it is never an assertion about speed.
const ReadTimeout = 10 * time.Second

// Client is one test connection. Use it from the test's goroutine only.
type Client struct {
	tb   testing.TB
	conn *gws.Conn
}

// Connected is the data of the connected event.
type Connected struct {
	ID     string `json:"id"`
	UserID string `json:"userId"`
	Time   string `json:"time"`
}

// Dial connects to url ("ws://host:port/ws"), failing the test when it
// cannot. The connection is closed when the test ends.
func Dial(tb testing.TB, url string) *Client {
	tb.Helper()
	c, resp, err := TryDial(url)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		tb.Fatalf("dial %s: %v (HTTP status %d)", url, err, status)
	}
	c.tb = tb
	tb.Cleanup(func() { c.conn.Close() })
	return c
}

// TryDial connects to url and returns the handshake response, so a test can
// check a refusal. The caller closes a returned client with Close.
func TryDial(url string) (*Client, *http.Response, error) {
	d := *gws.DefaultDialer
	d.HandshakeTimeout = ReadTimeout
	conn, resp, err := d.Dial(url, nil)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return nil, resp, err
	}
	return &Client{conn: conn}, resp, nil
}

// Close closes the connection without a close frame.
func (c *Client) Close() { c.conn.Close() }

// Send writes {"event": event, "data": data}.
func (c *Client) Send(event string, data any) {
	c.tb.Helper()
	b, err := json.Marshal(map[string]any{"event": event, "data": data})
	if err != nil {
		c.tb.Fatal(err)
	}
	if err := c.conn.WriteMessage(gws.TextMessage, b); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
}

// SendRaw writes b as one frame of type typ (gorilla's TextMessage,
// BinaryMessage, ...), as it is: for frames that are not valid messages.
func (c *Client) SendRaw(typ int, b []byte) error { return c.conn.WriteMessage(typ, b) }

// Next returns the next frame, or the error that ended the read (a
// *gws.CloseError for a close frame). A text frame that is not valid UTF-8
// is an error too: gorilla does not check, browsers do.
func (c *Client) Next() (wire.Message, error) {
	c.conn.SetReadDeadline(time.Now().Add(ReadTimeout))
	typ, b, err := c.conn.ReadMessage()
	if err != nil {
		return wire.Message{}, err
	}
	if typ == gws.TextMessage && !utf8.Valid(b) {
		return wire.Message{}, fmt.Errorf("server sent a text frame that is not valid UTF-8: %q", b)
	}
	var m wire.Message
	if err := json.Unmarshal(b, &m); err != nil {
		return wire.Message{}, errors.New("frame is not a message: " + string(b))
	}
	return m, nil
}

// Expect reads the next frame and checks its event.
func (c *Client) Expect(event string) wire.Message {
	c.tb.Helper()
	m, err := c.Next()
	if err != nil {
		c.tb.Fatalf("read, waiting for %q: %v", event, err)
	}
	if m.Event != event {
		c.tb.Fatalf("got event %q (data %s), want %q", m.Event, m.Data, event)
	}
	return m
}

// ExpectData reads the next frame and checks its event and its data's JSON.
func (c *Client) ExpectData(event, data string) {
	c.tb.Helper()
	m := c.Expect(event)
	if string(m.Data) != data {
		c.tb.Fatalf("event %q data %s, want %s", event, m.Data, data)
	}
}

// Authenticate sends {"event":"authenticate","data":{"token": token}} and
// returns the data of the connected event that must follow.
func (c *Client) Authenticate(token string) Connected {
	c.tb.Helper()
	c.Send(wire.EventAuthenticate, map[string]string{"token": token})
	m := c.Expect(wire.EventConnected)
	var d Connected
	if err := json.Unmarshal(m.Data, &d); err != nil {
		c.tb.Fatalf("connected data %s: %v", m.Data, err)
	}
	return d
}

// CloseResult reads until the connection ends and returns the close frame's
// code and reason; it fails the test when the connection ends otherwise.
func (c *Client) CloseResult() (int, string) {
	c.tb.Helper()
	for {
		m, err := c.Next()
		if err == nil {
			c.tb.Logf("frame before close: %s %s", m.Event, m.Data)
			continue
		}
		var ce *gws.CloseError
		if !errors.As(err, &ce) {
			c.tb.Fatalf("read ended with %v, want a close frame", err)
		}
		return ce.Code, ce.Text
	}
}

// ExpectClose reads until the connection ends and checks the close frame.
func (c *Client) ExpectClose(code int, reason string) {
	c.tb.Helper()
	if gotCode, gotReason := c.CloseResult(); gotCode != code || gotReason != reason {
		c.tb.Fatalf("closed with %d %q, want %d %q", gotCode, gotReason, code, reason)
	}
}

// Closed is how a connection ended: the close frame's code and reason, or
// Err when it ended without one.
type Closed struct {
	Code   int
	Reason string
	Err    error
}

// AwaitClose reads on its own goroutine until the connection ends, so that
// the client answers the server's close frame while the test's goroutine is
// busy (stopping an app), and delivers how it ended. Frames before the
// close are skipped. Do not read from c in the meantime.
func (c *Client) AwaitClose() <-chan Closed {
	ch := make(chan Closed, 1)
	go func() {
		for {
			c.conn.SetReadDeadline(time.Now().Add(ReadTimeout))
			if _, _, err := c.conn.ReadMessage(); err != nil {
				var ce *gws.CloseError
				if errors.As(err, &ce) {
					ch <- Closed{Code: ce.Code, Reason: ce.Text}
				} else {
					ch <- Closed{Err: err}
				}
				return
			}
		}
	}()
	return ch
}

// Wait returns what ch delivers, failing the test when nothing comes within
// ReadTimeout.
func Wait[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	t := time.NewTimer(ReadTimeout)
	defer t.Stop()
	select {
	case v := <-ch:
		return v
	case <-t.C:
		tb.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// Received is what a client got until its connection ended: the events of
// its frames, in order, and how the connection ended.
type Received struct {
	Events []string
	Closed Closed
}

// ReceiveUntilClose is AwaitClose that also records the events of the
// frames before the close. Do not read from c in the meantime.
func (c *Client) ReceiveUntilClose() <-chan Received {
	ch := make(chan Received, 1)
	go func() {
		var r Received
		for {
			m, err := c.Next()
			if err != nil {
				var ce *gws.CloseError
				if errors.As(err, &ce) {
					r.Closed = Closed{Code: ce.Code, Reason: ce.Text}
				} else {
					r.Closed = Closed{Err: err}
				}
				ch <- r
				return
			}
			r.Events = append(r.Events, m.Event)
		}
	}()
	return ch
}
