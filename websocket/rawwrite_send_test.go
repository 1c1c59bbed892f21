//go:build linux && (amd64 || arm64) && !echows_portable

package websocket

import (
	"errors"
	"syscall"
	"testing"
)

// writeNow takes what the socket takes and never waits: a short write when
// the buffer fills, nothing and no error while it is full, EPIPE (not a
// signal) once the peer is gone.
func TestWriteNow(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fds[0])
	peer := fds[1]
	defer func() {
		if peer >= 0 { // a failure before the peer's close below
			syscall.Close(peer)
		}
	}()
	p := make([]byte, 16<<20) // more than any socket buffer here

	n, err := writeNow(fds[0], nil, p)
	if err != nil || n <= 0 || n >= len(p) {
		t.Fatalf("first write: %d bytes, %v; want a short write without error", n, err)
	}
	if n, err = writeNow(fds[0], nil, p); n != 0 || err != nil {
		t.Fatalf("write to a full socket: %d bytes, %v; want 0, nil", n, err)
	}

	syscall.Close(peer)
	peer = -1
	if n, err = writeNow(fds[0], nil, p[:10]); !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("write after the peer closed: %d bytes, %v; want EPIPE", n, err)
	}
}
