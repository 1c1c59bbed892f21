package wstest

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/echows/echows/internal/wsframe"
	"github.com/echows/echows/websocket/wire"
)

// maxRawPayload bounds the payload Raw reads in one frame: a server frame
// claiming more is reported instead of read.
const maxRawPayload = 64 << 20

// Raw is a WebSocket client on a bare TCP connection, for tests that attack
// a server: it upgrades with a hand-written HTTP request, writes any frame
// or bytes (masked or not, any opcode, reserved bits, fragments, lengths
// that lie), and reads the server's frames strictly: every frame goes
// through a wsframe.Checker, so a masked server frame, a reserved opcode or
// bit, a fragmented or oversized control frame, a text message that is not
// valid UTF-8 (in one frame or across fragments), an invalid close code or
// reason, or a frame after the close fails the test.
//
// Use it from the test's goroutine only; a goroutine that floods writes to
// NetConn directly.
type Raw struct {
	tb    testing.TB
	nc    net.Conn
	br    *bufio.Reader
	mask  [4]byte
	check wsframe.Checker
	wait  time.Duration // bounds each read and write; ReadTimeout unless set

	msgOp byte   // opcode of the fragmented message being reassembled
	msg   []byte // its payload so far
}

// RawFrame is one frame the server sent, its payload unmasked.
type RawFrame struct {
	wsframe.Header
	Payload []byte
}

func (f RawFrame) String() string {
	p := f.Payload
	if len(p) > 64 {
		p = p[:64]
	}
	return fmt.Sprintf("frame fin=%v rsv=%#x op=%#x len=%d %q", f.Fin, f.RSV, f.Opcode, f.Length, p)
}

// DialRaw connects to url ("ws://host:port/path") and upgrades the
// connection, failing the test when the server refuses. The connection is
// closed when the test ends.
func DialRaw(tb testing.TB, url string) *Raw {
	tb.Helper()
	r, status, err := TryDialRaw(tb, url, nil)
	if err != nil {
		tb.Fatalf("raw dial %s: %v (HTTP status %d)", url, err, status)
	}
	return r
}

// TryDialRaw connects to rawURL with the extra request header h and returns
// the client, or the HTTP status and an error when the upgrade fails. A
// returned client is closed when the test ends.
func TryDialRaw(tb testing.TB, rawURL string, h http.Header) (*Raw, int, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, 0, err
	}
	nc, err := net.DialTimeout("tcp", u.Host, ReadTimeout)
	if err != nil {
		return nil, 0, err
	}
	var key [16]byte
	_, _ = rand.Read(key[:])
	secKey := base64.StdEncoding.EncodeToString(key[:])
	var req strings.Builder
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", u.RequestURI(), u.Host, secKey)
	for k, vs := range h {
		for _, v := range vs {
			fmt.Fprintf(&req, "%s: %s\r\n", k, v)
		}
	}
	req.WriteString("\r\n")
	nc.SetDeadline(time.Now().Add(ReadTimeout))
	if _, err := io.WriteString(nc, req.String()); err != nil {
		nc.Close()
		return nil, 0, err
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		nc.Close()
		return nil, 0, fmt.Errorf("read upgrade response: %w", err)
	}
	resp.Body.Close()
	sum := sha1.Sum([]byte(secKey + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		err = fmt.Errorf("upgrade refused: %s", resp.Status)
	case !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket"):
		err = fmt.Errorf("upgrade response: Upgrade %q", resp.Header.Get("Upgrade"))
	case resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]):
		err = fmt.Errorf("upgrade response: Sec-WebSocket-Accept %q", resp.Header.Get("Sec-WebSocket-Accept"))
	}
	if err != nil {
		nc.Close()
		return nil, resp.StatusCode, err
	}
	nc.SetDeadline(time.Time{})
	r := &Raw{tb: tb, nc: nc, br: br, wait: ReadTimeout}
	_, _ = rand.Read(r.mask[:])
	tb.Cleanup(func() { nc.Close() })
	return r, resp.StatusCode, nil
}

// SetTimeout changes the bound of each read and write from ReadTimeout to
// d, for a test whose server is known to be slow (it is a guard against a
// hung test, never an assertion about speed).
func (r *Raw) SetTimeout(d time.Duration) { r.wait = d }

// NetConn returns the TCP connection, for socket options and for a
// goroutine that writes prepared bytes.
func (r *Raw) NetConn() net.Conn { return r.nc }

// Mask returns the key the client masks its frames with.
func (r *Raw) Mask() [4]byte { return r.mask }

// Close closes the connection without a close frame.
func (r *Raw) Close() { r.nc.Close() }

// CloseWrite shuts down the sending side (the server reads EOF); reading
// goes on. A connection the server already closed is logged, not fatal.
func (r *Raw) CloseWrite() {
	r.tb.Helper()
	if err := r.nc.(*net.TCPConn).CloseWrite(); err != nil {
		if errors.Is(err, syscall.ENOTCONN) || isReset(err) {
			r.tb.Logf("close write after the server closed: %v", err)
			return
		}
		r.tb.Fatalf("close write: %v", err)
	}
}

// WriteRaw writes b as it is. A server that failed the connection may have
// closed it already: a broken pipe or a reset is logged, not fatal, so the
// test goes on to read the close frame that came before it.
func (r *Raw) WriteRaw(b []byte) {
	r.tb.Helper()
	r.nc.SetWriteDeadline(time.Now().Add(r.wait))
	if _, err := r.nc.Write(b); err != nil {
		if errors.Is(err, syscall.EPIPE) || isReset(err) {
			r.tb.Logf("raw write after the server closed: %v", err)
			return
		}
		r.tb.Fatalf("raw write: %v", err)
	}
}

// WriteChopped writes b one byte per write call, so the server is likely
// to read a frame in pieces.
func (r *Raw) WriteChopped(b []byte) {
	r.tb.Helper()
	for i := range b {
		r.WriteRaw(b[i : i+1])
	}
}

// Frame encodes one frame: h with its Length set to len(payload), masked
// with the client's key when h.Masked (a zero h.Mask is replaced by it).
func (r *Raw) Frame(h wsframe.Header, payload []byte) []byte {
	if h.Masked && h.Mask == ([4]byte{}) {
		h.Mask = r.mask
	}
	return wsframe.AppendFrame(nil, h, payload)
}

// WriteFrame writes one frame; see Frame.
func (r *Raw) WriteFrame(h wsframe.Header, payload []byte) {
	r.tb.Helper()
	r.WriteRaw(r.Frame(h, payload))
}

// Send writes one final, masked frame of opcode op.
func (r *Raw) Send(op byte, payload []byte) {
	r.tb.Helper()
	r.WriteFrame(wsframe.Header{Fin: true, Opcode: op, Masked: true}, payload)
}

// SendText writes one final, masked text frame.
func (r *Raw) SendText(s string) {
	r.tb.Helper()
	r.Send(wsframe.OpText, []byte(s))
}

// SendMessage writes {"event": event, "data": data} as one text frame.
func (r *Raw) SendMessage(event string, data any) {
	r.tb.Helper()
	b, err := json.Marshal(map[string]any{"event": event, "data": data})
	if err != nil {
		r.tb.Fatal(err)
	}
	r.Send(wsframe.OpText, b)
}

// SendFragments writes one message of opcode op in len(parts) masked
// frames: op first, continuations after, FIN on the last.
func (r *Raw) SendFragments(op byte, parts ...[]byte) {
	r.tb.Helper()
	for i, p := range parts {
		h := wsframe.Header{Fin: i == len(parts)-1, Opcode: wsframe.OpContinuation, Masked: true}
		if i == 0 {
			h.Opcode = op
		}
		r.WriteFrame(h, p)
	}
}

// SendClose writes a masked close frame with code and reason (code 0 and
// no reason: an empty payload).
func (r *Raw) SendClose(code int, reason string) {
	r.tb.Helper()
	r.Send(wsframe.OpClose, wsframe.AppendClosePayload(nil, code, reason))
}

// ReadFrame reads the next frame within the timeout and checks it. Its
// error is a read error (io.EOF when the server closed the connection), or
// one wrapping wsframe.ErrProtocol when the server broke RFC 6455.
func (r *Raw) ReadFrame() (RawFrame, error) {
	r.nc.SetReadDeadline(time.Now().Add(r.wait))
	b, err := r.br.Peek(2)
	if err == nil {
		b, err = r.br.Peek(wsframe.HeaderSize(b[1]))
	}
	if err != nil {
		if len(b) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return RawFrame{}, err
	}
	h, size, _ := wsframe.ParseHeader(b)
	r.br.Discard(size)
	if err := wsframe.Check(h, false); err != nil { // before reading a payload it may lie about
		return RawFrame{Header: h}, fmt.Errorf("server sent %s: %w", RawFrame{Header: h}, err)
	}
	if h.Length > maxRawPayload {
		return RawFrame{Header: h}, fmt.Errorf("server frame of %d bytes (op %#x): more than the test client reads", h.Length, h.Opcode)
	}
	f := RawFrame{Header: h, Payload: make([]byte, h.Length)}
	if _, err := io.ReadFull(r.br, f.Payload); err != nil {
		return f, fmt.Errorf("read payload of %s: %w", f, err)
	}
	if h.Masked {
		wsframe.MaskBytes(h.Mask, 0, f.Payload)
	}
	if err := r.check.Frame(h, f.Payload); err != nil {
		return f, fmt.Errorf("server sent %s: %w", f, err)
	}
	return f, nil
}

// Next returns the next frame, failing the test on a read error or a
// protocol violation.
func (r *Raw) Next() RawFrame {
	r.tb.Helper()
	f, err := r.ReadFrame()
	if err != nil {
		r.tb.Fatalf("raw read: %v", err)
	}
	return f
}

// NextMessage returns the next data message (its opcode and payload,
// fragments joined). It answers the server's pings on the way; a pong, a
// close or a violation fails the test.
func (r *Raw) NextMessage() (byte, []byte) {
	r.tb.Helper()
	for {
		f := r.Next()
		switch f.Opcode {
		case wsframe.OpPing:
			r.Send(wsframe.OpPong, f.Payload)
			continue
		case wsframe.OpPong:
			r.tb.Fatalf("unexpected pong %q while waiting for a message", f.Payload)
		case wsframe.OpClose:
			code, reason, _ := wsframe.ParseClose(f.Payload)
			r.tb.Fatalf("closed with %d %q while waiting for a message", code, reason)
		case wsframe.OpContinuation:
			r.msg = append(r.msg, f.Payload...)
		default:
			r.msgOp, r.msg = f.Opcode, append(r.msg[:0], f.Payload...)
		}
		if f.Fin {
			return r.msgOp, append([]byte(nil), r.msg...)
		}
	}
}

// NextEvent returns the next message, which must be a JSON text message.
func (r *Raw) NextEvent() wire.Message {
	r.tb.Helper()
	op, b := r.NextMessage()
	if op != wsframe.OpText {
		r.tb.Fatalf("message of opcode %#x, want text: %q", op, b)
	}
	var m wire.Message
	if err := json.Unmarshal(b, &m); err != nil {
		r.tb.Fatalf("text message is not an echows message: %q", b)
	}
	return m
}

// Expect reads the next message and checks its event.
func (r *Raw) Expect(event string) wire.Message {
	r.tb.Helper()
	m := r.NextEvent()
	if m.Event != event {
		r.tb.Fatalf("got event %q (data %s), want %q", m.Event, m.Data, event)
	}
	return m
}

// ExpectError reads the next message, which must be an error event with
// text.
func (r *Raw) ExpectError(text string) {
	r.tb.Helper()
	m := r.Expect(wire.EventError)
	var d struct{ Message string }
	if json.Unmarshal(m.Data, &d); d.Message != text {
		r.tb.Fatalf("error %s, want %q", m.Data, text)
	}
}

// Authenticate sends {"event":"authenticate","data":{"token": token}} and
// returns the data of the connected event that must follow.
func (r *Raw) Authenticate(token string) Connected {
	r.tb.Helper()
	r.SendMessage(wire.EventAuthenticate, map[string]string{"token": token})
	m := r.Expect(wire.EventConnected)
	var d Connected
	if err := json.Unmarshal(m.Data, &d); err != nil {
		r.tb.Fatalf("connected data %s: %v", m.Data, err)
	}
	return d
}

// RoundTrip proves that the server read and handled everything sent before
// and kept the connection: it sends a text frame that is not JSON and
// expects the "Invalid message format" error, which the server sends in
// order.
func (r *Raw) RoundTrip() {
	r.tb.Helper()
	r.SendText("not json")
	r.ExpectError(wire.ErrTextInvalidFormat)
}

// ExpectPong reads the next frame, which must be a pong carrying payload
// (the server's own pings are answered and skipped).
func (r *Raw) ExpectPong(payload []byte) {
	r.tb.Helper()
	for {
		f := r.Next()
		if f.Opcode == wsframe.OpPing {
			r.Send(wsframe.OpPong, f.Payload)
			continue
		}
		if f.Opcode != wsframe.OpPong || string(f.Payload) != string(payload) {
			r.tb.Fatalf("got %s, want a pong with %q", f, payload)
		}
		return
	}
}

// ExpectClose reads the server's close frame, which must be the next frame
// (the server's own pings aside), and checks its code is one of codes
// (wsframe.CloseNoStatus for an empty close payload; any code when none is
// given). It answers the close as RFC 6455 §5.5.1 asks, then expects the
// server to end the TCP connection, with no frame after its close. It
// returns the close's code and reason.
func (r *Raw) ExpectClose(codes ...int) (int, string) {
	r.tb.Helper()
	for {
		f, err := r.ReadFrame()
		if err != nil {
			r.tb.Fatalf("waiting for close %v: %v", codes, err)
		}
		if f.Opcode == wsframe.OpPing && len(f.Payload) == 0 {
			r.Send(wsframe.OpPong, nil)
			continue
		}
		if f.Opcode != wsframe.OpClose {
			r.tb.Fatalf("got %s, want close %v", f, codes)
		}
		code, reason, _ := wsframe.ParseClose(f.Payload) // the checker validated it
		if len(codes) > 0 && !containsCode(codes, code) {
			r.tb.Fatalf("closed with %d %q, want %v", code, reason, codes)
		}
		r.answerClose(code)
		r.ExpectEOF()
		return code, reason
	}
}

// answerClose echoes the server's close code, as a client does; a write
// error is ignored (the server may have dropped the connection already).
func (r *Raw) answerClose(code int) {
	if code == wsframe.CloseNoStatus {
		code = 0
	}
	r.nc.SetWriteDeadline(time.Now().Add(r.wait))
	_, _ = r.nc.Write(r.Frame(wsframe.Header{Fin: true, Opcode: wsframe.OpClose, Masked: true},
		wsframe.AppendClosePayload(nil, code, "")))
}

// ExpectEOF reads until the server ends the TCP connection, failing the
// test on any frame (after a close, the Checker refuses every frame).
func (r *Raw) ExpectEOF() {
	r.tb.Helper()
	f, err := r.ReadFrame()
	switch {
	case err == nil:
		r.tb.Fatalf("got %s, want the end of the connection", f)
	case errors.Is(err, wsframe.ErrProtocol):
		r.tb.Fatalf("%v", err)
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), isReset(err):
	default:
		r.tb.Fatalf("waiting for the server to end the connection: %v", err)
	}
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

func containsCode(codes []int, code int) bool {
	for _, c := range codes {
		if c == code {
			return true
		}
	}
	return false
}
