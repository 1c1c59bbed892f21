package websocket

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/echows/echows/internal/wsframe"
	"github.com/echows/echows/internal/wstest"
)

// A server-side close gives the peer closeGrace to answer, under a read
// deadline (queueClose). The reader's linger sets and clears its own read
// deadline around its wait for the next frame: a close queued between the
// linger's "not closing" check and its clearing of the deadline must not
// lose the close's deadline, or a peer that keeps the TCP connection open
// and never answers holds the client (its goroutine, its index entries, its
// MaxConnections slot) forever.
//
// The peers here send frames steadily, so the reader is often in linger
// when the server closes them; after the close they go quiet without
// answering. Every connection must be dropped by the server.
func TestCloseDuringLingerKeepsItsDeadline(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{
		MessageRate: 1e9, MessageBurst: 1e9, ReadRate: 1 << 30,
		IdleTimeout: time.Hour, HeartbeatInterval: time.Hour, HeartbeatTimeout: time.Hour,
		AuthTimeout: time.Hour,
	}})
	const (
		rounds   = 8
		parallel = 60
	)
	for round := range rounds {
		var wg sync.WaitGroup
		stuck := make(chan string, parallel)
		for range parallel {
			r := wstest.DialRaw(t, ts.url)
			id := r.Authenticate("u").ID
			frame := r.Frame(wsframe.Header{Fin: true, Opcode: wsframe.OpText, Masked: true}, []byte(`{"event":"heartbeat"}`))
			nc := r.NetConn()
			wg.Add(1)
			go func() {
				defer wg.Done()
				stop := make(chan struct{})
				go func() { // the peer: a frame every few microseconds until closed
					for {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := nc.Write(frame); err != nil {
							return
						}
						time.Sleep(time.Duration(rand.IntN(40)) * time.Microsecond)
					}
				}()
				time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
				_ = ts.Disconnect(id, 4000, "bye")
				close(stop) // and never answer the close
				// the server must end the connection: read until EOF
				nc.SetReadDeadline(time.Now().Add(readTimeout))
				if _, err := io.Copy(io.Discard, nc); err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						stuck <- id
					}
				}
			}()
		}
		wg.Wait()
		close(stuck)
		for id := range stuck {
			t.Errorf("round %d: client %s was closed by the server but never dropped", round, id)
		}
		if t.Failed() {
			return
		}
	}
}
