package websocket

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/echows/echows/internal/wsframe"
	"github.com/echows/echows/internal/wstest"
)

// Peers that flood pings while the server sends them room traffic (corked
// and not), pings them, and closes them at random moments: the strict raw
// reader (wsframe.Checker) sees valid frames only, and nothing at all (no
// pong, no ping, no message) after the close frame.
func TestNothingAfterTheClose(t *testing.T) {
	ts := startServer(t, Config{Settings: Settings{
		IdleTimeout: 200 * time.Millisecond, MessageRate: 1e9, MessageBurst: 1e9, ReadRate: 1 << 30,
		BackpressureLimit: 256 << 10,
	}})
	const clients = 30
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	ids := make([]string, clients)
	raws := make([]*wstest.Raw, clients)
	for i := range clients {
		raws[i] = wstest.DialRaw(t, ts.url)
		ids[i] = raws[i].Authenticate(fmt.Sprint("u", i)).ID
	}
	stop := make(chan struct{})
	for i, r := range raws {
		ping := r.Frame(wsframe.Header{Fin: true, Opcode: wsframe.OpPing, Masked: true}, []byte(fmt.Sprint("p", i)))
		nc := r.NetConn()
		wg.Add(2)
		go func() { // flood pings until the connection ends
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := nc.Write(ping); err != nil {
					return
				}
				if rand.IntN(4) == 0 {
					time.Sleep(time.Duration(rand.IntN(200)) * time.Microsecond)
				}
			}
		}()
		go func() { // read strictly until the close, then expect the end
			defer wg.Done()
			for {
				f, err := r.ReadFrame()
				if err != nil {
					errs <- fmt.Errorf("client %d before the close: %w", i, err)
					return
				}
				if f.Opcode != wsframe.OpClose {
					continue
				}
				nc.SetWriteDeadline(time.Now().Add(readTimeout))
				nc.Write(r.Frame(wsframe.Header{Fin: true, Opcode: wsframe.OpClose, Masked: true}, f.Payload[:2]))
				for {
					f, err := r.ReadFrame()
					switch {
					case err == nil:
						errs <- fmt.Errorf("client %d: %s after the close", i, f)
					case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.Is(err, io.ErrUnexpectedEOF):
						errs <- nil
					default:
						var ne net.Error
						if errors.As(err, &ne) && !ne.Timeout() {
							errs <- nil // a reset: the server closed with our pings unread
						} else {
							errs <- fmt.Errorf("client %d after the close: %w", i, err)
						}
					}
					return
				}
			}
		}()
	}
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if i%3 == 0 {
				ts.Cork(func() {
					for j := range 10 {
						ts.Local().Broadcast("room", j)
					}
				})
			} else {
				ts.Local().Broadcast("room", i)
			}
			time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
		}
	}()
	for _, i := range rand.Perm(clients) {
		time.Sleep(time.Duration(rand.IntN(10)) * time.Millisecond)
		ts.Disconnect(ids[i], 4000+i, "bye")
	}
	for range clients {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}
