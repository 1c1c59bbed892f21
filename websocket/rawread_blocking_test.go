//go:build linux && (amd64 || arm64) && !echows_portable

package websocket

import (
	"context"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"
)

// readSocket is a raw system call, which the scheduler does not know
// about. On a *net.TCPConn whose descriptor was put in blocking mode
// (conn.File().Fd() does that to the shared open file description, a
// common way for a custom go-redis Dialer to set socket options), a plain
// read(2) there would block holding its P: neither sysmon nor a
// stop-the-world could take the P back, and runtime.GC (any GC) would wait
// until the peer sends something. net.Conn's Read on the same socket
// blocks in an ordinary syscall and the process goes on. readSocket uses
// MSG_DONTWAIT, as writeNow does, so it must behave as net's.
func TestRawReadOfBlockingSocketStallsGC(t *testing.T) {
	if mode := os.Getenv("ECHOWS_RAWREAD_CHILD"); mode != "" {
		blockingReadChild(t, mode == "raw")
		return
	}
	for _, mode := range []string{"net", "raw"} {
		t.Run(mode, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRawReadOfBlockingSocketStallsGC$", "-test.v")
			cmd.Env = append(os.Environ(), "ECHOWS_RAWREAD_CHILD="+mode)
			out, err := cmd.CombinedOutput()
			if ctx.Err() != nil {
				t.Fatalf("%s read of a blocking socket: the process hung (runtime.GC never returned while the read waited)\n%s", mode, out)
			}
			if err != nil {
				t.Fatalf("child: %v\n%s", err, out)
			}
		})
	}
}

func blockingReadChild(t *testing.T, raw bool) {
	nc, peer := tcpPair(t)
	var conn net.Conn = nc
	if raw {
		// Wrapped first: withRawReads puts a socket that is already in
		// blocking mode back in non-blocking mode (rawConnOf), so this is
		// the case it cannot see, a socket put in blocking mode after it
		// was wrapped.
		conn = withRawReads(nc)
		if _, ok := conn.(*rawReadConn); !ok {
			t.Fatalf("withRawReads(%T) = %T, want *rawReadConn", nc, conn)
		}
	}
	f, err := nc.File() // a dup sharing the open file description
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Fd() // puts the description, hence nc's socket too, in blocking mode
	defer f.Close()
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 16)
		_, err := conn.Read(buf)
		done <- err
	}()
	waitForBlockedRead()
	runtime.GC() // must stop the world
	if _, err := peer.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// waitForBlockedRead returns once the child's reader waits for the peer:
// in the poller (a raw read, as it should) or in a system call (net's read
// of a blocking socket). A raw read blocked in recv holds its processor and
// shows as running, so with the bug this never returns and the parent's
// deadline fails the test, as the GC would.
func waitForBlockedRead() {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		for _, g := range strings.Split(string(buf[:n]), "\n\n") {
			if strings.Contains(g, "blockingReadChild.func") &&
				(strings.Contains(g, "[IO wait") || strings.Contains(g, "[syscall")) {
				return
			}
		}
		runtime.Gosched()
	}
}
