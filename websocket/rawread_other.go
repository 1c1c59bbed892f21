//go:build !(linux && (amd64 || arm64) && !echows_portable)

package websocket

import (
	"errors"
	"net"
	"syscall"
)

// canReadRaw: clients' sockets are read through net.Conn here (see the
// Linux readSocket).
const canReadRaw = false

func readSocket(syscall.RawConn, []byte) (int, error) {
	return 0, errors.New("websocket: raw reads are not supported here")
}

// withRawReads returns nc: raw reads are Linux-only (amd64, arm64).
func withRawReads(nc net.Conn) net.Conn { return nc }
