package websocket

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/redis/go-redis/v9"
)

// readRaw reads nc's socket rc with readSocket, and reports errors as
// nc.Read would: io.EOF bare, the rest in a *net.OpError, a system call's
// in an *os.SyscallError.
func readRaw(nc net.Conn, rc syscall.RawConn, p []byte) (int, error) {
	n, err := readSocket(rc, p)
	if err == nil || err == io.EOF {
		return n, err
	}
	var (
		errno syscall.Errno
		op    *net.OpError
	)
	switch {
	case errors.As(err, &errno):
		err = os.NewSyscallError("read", errno)
	case errors.As(err, &op):
		err = op.Err // RawConn's own "raw-read" wrapping: one is enough
	}
	op = &net.OpError{Op: "read", Addr: nc.RemoteAddr(), Err: err}
	if la := nc.LocalAddr(); la != nil {
		op.Net, op.Source = la.Network(), la
	}
	return n, op
}

// rawReadHook makes the connections of the broker's own Redis client (a
// clone of the application's, see NewRedisBroker) read with readSocket:
// the subscriber connection's read is what wakes an instance when a
// message comes from another one. The application's client is left as it
// is.
type rawReadHook struct{}

func (rawReadHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := next(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return withRawReads(nc), nil
	}
}

func (rawReadHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (rawReadHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}
