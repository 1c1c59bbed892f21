//go:build !unix

package websocket

import (
	"errors"
	"net"
	"syscall"
)

// rawConnOf returns nil: without non-blocking writes every client has a
// writer goroutine of its own.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

func rawFD(syscall.RawConn) int { return -1 }

func writeNow(int, syscall.RawConn, []byte) (int, error) {
	return 0, errors.New("websocket: non-blocking writes are not supported here")
}
