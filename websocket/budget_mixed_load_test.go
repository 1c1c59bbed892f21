package websocket

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/echows/echows/internal/wsframe"
	"github.com/echows/echows/internal/wstest"
)

// A peer that floods pings and never reads, in a room that gets traffic of
// mixed sizes (corked and not) and server pings: its queue never holds more
// than BackpressureLimit plus one frame and the control slots.
func TestBudgetUnderMixedLoad(t *testing.T) {
	const limit = 64 << 10
	ts := startServer(t, Config{Settings: Settings{
		BackpressureLimit: limit, MessageRate: 1e9, MessageBurst: 1e9, ReadRate: 1 << 30,
	}})
	r := wstest.DialRaw(t, ts.url)
	id := r.Authenticate("flooder").ID
	r.NetConn().(*net.TCPConn).SetReadBuffer(4096)
	cl, _ := ts.Client(id)
	cl.raw.(*net.TCPConn).SetWriteBuffer(4096)
	ping := r.Frame(wsframe.Header{Fin: true, Opcode: wsframe.OpPing, Masked: true}, []byte(strings.Repeat("p", 125)))
	flood := strings.Repeat(string(ping), 64)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := r.NetConn().Write([]byte(flood)); err != nil {
				return
			}
		}
	}()
	maxFrame := 0
	worst := 0
	for i := range 3000 {
		size := []int{10, 1000, 20000}[i%3]
		data := strings.Repeat("x", size)
		if i%5 == 0 {
			ts.Cork(func() { ts.Local().Broadcast("m", data) })
		} else {
			ts.Local().Broadcast("m", data)
		}
		maxFrame = max(maxFrame, size+64)
		if i%100 == 0 {
			ts.pingAll(context.Background(), 0)
		}
		worst = max(worst, cl.QueuedBytes())
	}
	close(stop)
	r.Close()
	wg.Wait()
	if bound := limit + maxFrame + 2*(2+125) + len(pingFrame); worst > bound {
		t.Fatalf("the queue held %d bytes, over the budget's bound %d", worst, bound)
	}
	t.Logf("worst %d bytes, limit %d", worst, limit)
}
