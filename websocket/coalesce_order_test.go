package websocket

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"

	"github.com/echows/echows/websocket/wire"
)

// rcRecv is what a test reader saw: the messages (event and number, in
// order, noise left out) and how the connection ended.
type rcRecv struct {
	got       []string
	closeCode int // 0: ended at the end marker
	err       error
}

// rcCollect reads conn on its own goroutine until the end marker event
// "E" or the connection closes. Encrypted messages (see sealing) are
// unwrapped; events named "noise" are skipped.
func rcCollect(conn *gws.Conn) <-chan rcRecv {
	out := make(chan rcRecv, 1)
	go func() {
		var r rcRecv
		defer func() { out <- r }()
		for {
			conn.SetReadDeadline(time.Now().Add(readTimeout))
			_, b, err := conn.ReadMessage()
			if err != nil {
				var ce *gws.CloseError
				if errors.As(err, &ce) {
					r.closeCode = ce.Code
				} else {
					r.err = err
				}
				return
			}
			var m wire.Message
			if err := json.Unmarshal(b, &m); err != nil {
				r.err = fmt.Errorf("frame %q: %w", b, err)
				return
			}
			if m.Event == wire.EventEncrypted {
				var inner struct {
					Event string
					Data  json.RawMessage
				}
				json.Unmarshal(m.Data, &inner)
				m.Event, m.Data = inner.Event, inner.Data
			}
			switch m.Event {
			case "noise":
				continue
			case "E":
				return
			}
			var n int
			if json.Unmarshal(m.Data, &n) != nil {
				var o struct{ N int }
				json.Unmarshal(m.Data, &o)
				n = o.N
			}
			r.got = append(r.got, fmt.Sprint(m.Event, n))
		}
	}()
	return out
}

// A model check of batching: random sends to rooms, users, everyone (with
// and without exclusions), direct sends, joins, leaves, corks, Stats and
// closes, each run on one of three goroutines in turn (each waits for the
// one before: the sends are causally ordered, not only per goroutine),
// while another goroutine keeps switching the batch's audience (noise to a
// room and to an audience with nobody in it) so that batches are cut at
// random points. Some members are encrypted, and their transformer calls
// Stats. Every client must get exactly the messages whose audience it was
// in when they were sent, in the order they were sent, and a closed client
// nothing after its close. Over TLS every client has its own writer
// (started under the batch's lock by queueLocked).
func TestCoalesceRandomOpsKeepCausalOrder(t *testing.T) {
	t.Run("tcp", func(t *testing.T) { coalesceRandomOps(t, startServer) })
	t.Run("tls", func(t *testing.T) { coalesceRandomOps(t, startTLSServer) })
}

func coalesceRandomOps(t *testing.T, startServer func(testing.TB, Config) *testServer) {
	var transforms atomic.Int64
	seal := func(ctx context.Context, c *Client, msg Message) (*Message, error) {
		if transforms.Add(1)%37 == 0 {
			c.Server().Stats() // a hook may call the server: no lock is held here
		}
		return sealing(ctx, c, msg)
	}
	ts := startServer(t, Config{
		Settings: Settings{BackpressureLimit: 64 << 20, DefaultRooms: []string{}},
		Hooks:    Hooks{TransformOutbound: seal},
	})
	users := []string{"u1", "u1", "u2", "u3", "u4", "u5"}
	m := ts.members(t, users...)
	for _, i := range []int{4, 5} {
		if err := ts.EnableClientEncryption(m[i].id); err != nil {
			t.Fatal(err)
		}
	}
	for _, x := range []int{0, 2} {
		if err := ts.JoinRoom(m[x].id, "noise-room"); err != nil {
			t.Fatal(err)
		}
	}
	recv := make([]<-chan rcRecv, len(m))
	for i, x := range m {
		recv[i] = rcCollect(x.c.conn)
	}

	stopNoise := make(chan struct{})
	noiseDone := make(chan struct{})
	go func() {
		defer close(noiseDone)
		for i := 0; ; i++ {
			select {
			case <-stopNoise:
				return
			default:
			}
			ts.flush.endedJustNow()
			switch i % 4 {
			case 0, 1:
				ts.Local().ToRoom("noise-room", "noise", i)
			case 2:
				ts.Local().ToUser("nobody", "noise", i) // an empty audience: queues what is batched
			case 3:
				if i%64 == 3 {
					ts.Stats()
				}
				runtime.Gosched()
			}
		}
	}()

	// three goroutines run the ops, one at a time
	type op func()
	work := make([]chan op, 3)
	var wg sync.WaitGroup
	for i := range work {
		work[i] = make(chan op)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work[i] {
				f()
			}
		}()
	}
	run := func(w int, f func()) {
		done := make(chan struct{})
		work[w] <- func() { f(); close(done) }
		<-done
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed) // shown on failure
	rng := rand.New(rand.NewPCG(seed, 7))
	rooms := []string{"r1", "r2"}
	in := map[string]map[int]bool{"r1": {}, "r2": {}}
	closed := make([]bool, len(m))
	want := make([][]string, len(m))
	seq := 0
	closes := 0
	give := func(n int, ev string, pred func(i int) bool) {
		for i := range m {
			if !closed[i] && pred(i) {
				want[i] = append(want[i], fmt.Sprint(ev, n))
			}
		}
	}
	var step func(inCork bool)
	step = func(inCork bool) {
		seq++
		n := seq
		if rng.IntN(5) != 0 {
			ts.flush.endedJustNow() // mostly a burst
		}
		switch k := rng.IntN(100); {
		case k < 30:
			r := rooms[rng.IntN(2)]
			ts.Local().ToRoom(r, "R", n)
			give(n, "R", func(i int) bool { return in[r][i] })
		case k < 38:
			r := rooms[rng.IntN(2)]
			ex := rng.IntN(len(m))
			ts.Local().ToRoom(r, "X", n, m[ex].id)
			give(n, "X", func(i int) bool { return in[r][i] && i != ex })
		case k < 50:
			u := users[rng.IntN(len(users))]
			ts.Local().ToUser(u, "U", n)
			give(n, "U", func(i int) bool { return users[i] == u })
		case k < 62:
			ts.Local().Broadcast("B", n)
			give(n, "B", func(int) bool { return true })
		case k < 66:
			ex := rng.IntN(len(m))
			ts.Local().Broadcast("Y", n, m[ex].id)
			give(n, "Y", func(i int) bool { return i != ex })
		case k < 72:
			to := rng.IntN(len(m))
			ts.Local().ToClient(m[to].id, "D", n)
			give(n, "D", func(i int) bool { return i == to })
		case k < 76:
			to := rng.IntN(len(m))
			cl, ok := ts.Client(m[to].id)
			if ok {
				cl.Send("S", n) // fails once the client is closing
				give(n, "S", func(i int) bool { return i == to })
			}
		case k < 84:
			r, i := rooms[rng.IntN(2)], rng.IntN(len(m))
			if !closed[i] && ts.JoinRoom(m[i].id, r) == nil {
				in[r][i] = true
			}
		case k < 92:
			r, i := rooms[rng.IntN(2)], rng.IntN(len(m))
			if !closed[i] && ts.LeaveRoom(m[i].id, r) == nil {
				in[r][i] = false
			}
		case k < 95:
			ts.Stats()
		case k < 98 && !inCork:
			ts.Cork(func() {
				for range 1 + rng.IntN(40) {
					step(true)
				}
			})
		default:
			if i := rng.IntN(len(m)); !closed[i] && closes < 2 && !inCork {
				cl, _ := ts.Client(m[i].id)
				cl.Close(4100+i, "bye")
				closed[i] = true
				closes++
			}
		}
	}
	for range 600 {
		w := rng.IntN(len(work))
		run(w, func() { step(false) })
	}
	close(stopNoise)
	<-noiseDone
	for i := range m {
		if !closed[i] {
			ts.Local().ToClient(m[i].id, "E", 0)
		}
	}
	for i := range work {
		close(work[i])
	}
	wg.Wait()

	for i := range m {
		r := <-recv[i]
		if r.err != nil {
			t.Fatalf("client %d (%s): %v after %d messages", i, users[i], r.err, len(r.got))
		}
		if !slices.Equal(r.got, want[i]) {
			at := 0
			for at < min(len(r.got), len(want[i])) && r.got[at] == want[i][at] {
				at++
			}
			t.Fatalf("client %d (%s, closed %v): got %d messages, want %d; first difference at %d: got %v, want %v",
				i, users[i], closed[i], len(r.got), len(want[i]), at,
				r.got[at:min(at+5, len(r.got))], want[i][at:min(at+5, len(want[i]))])
		}
		switch {
		case closed[i] && r.closeCode != 4100+i:
			t.Fatalf("client %d: closed with %d, want %d", i, r.closeCode, 4100+i)
		case !closed[i] && r.closeCode != 0:
			t.Fatalf("client %d: closed with %d", i, r.closeCode)
		}
	}
}

// Bursts of every length, each read to its end before the next starts:
// the batch's tail is queued by the flush goroutine ensure started, even
// when the one before is just counting itself out (next), and nothing is
// lost or duplicated. The batch holds no client or message afterwards.
func TestCoalesceTailsAcrossFlushGoroutineExits(t *testing.T) {
	ts := startServer(t, Config{})
	m := ts.members(t, "a", "b")
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed) // shown on failure
	rng := rand.New(rand.NewPCG(seed, 9))
	n := 0
	for round := range 150 {
		k := 1 + rng.IntN(70)
		var want []string
		for range k {
			ts.flush.endedJustNow()
			ts.Local().Broadcast("r", n)
			want = append(want, fmt.Sprint("r", n))
			n++
		}
		for _, x := range m {
			expectSeq(t, x.c, x.id, want)
		}
		if round%10 == 0 {
			// a flush goroutine may be exiting as the next burst begins;
			// once they all ended, the batch must be empty and hold nothing
			waitFor(t, "the flush goroutines to end", func() bool {
				ts.flush.mu.Lock()
				defer ts.flush.mu.Unlock()
				return ts.flush.running == 0
			})
			b := &ts.batch
			b.mu.Lock()
			pending := b.pending.Load()
			leftC := slices.ContainsFunc(b.members[:cap(b.members)], func(c *Client) bool { return c != nil })
			leftM := slices.ContainsFunc(b.msgs[:cap(b.msgs)], func(o *outbound) bool { return o != nil })
			b.mu.Unlock()
			if pending || leftC || leftM {
				t.Fatalf("round %d: idle batch pending %v, holds clients %v, holds messages %v", round, pending, leftC, leftM)
			}
		}
	}
	for _, x := range m {
		ts.expectNothing(t, x.c, x.id)
	}
}

// rcHandler is a slog handler that calls back into the server for every
// record: backpressured logs from coalescer.after, which must run outside
// the batch's lock.
type rcHandler struct {
	on func(slog.Record)
}

func (h rcHandler) Enabled(context.Context, slog.Level) bool      { return true }
func (h rcHandler) Handle(_ context.Context, r slog.Record) error { h.on(r); return nil }
func (h rcHandler) WithAttrs([]slog.Attr) slog.Handler            { return h }
func (h rcHandler) WithGroup(string) slog.Handler                 { return h }

// A batch that takes its members past a small budget with
// CloseOnBackpressureLimit: the drops are counted once each (per client,
// in Stats), each member has one episode and one close, gets a prefix of
// the batch in order and then 1013, and the logger, called for the
// episode, may itself call Stats and send (no lock is held). Anything
// that closed under the batch's lock would deadlock here.
func TestCoalesceBackpressureCloseFromABatch(t *testing.T) {
	var srv atomic.Pointer[Server]
	var reentered atomic.Int32
	logger := slog.New(rcHandler{on: func(r slog.Record) {
		if s := srv.Load(); s != nil && strings.Contains(r.Message, "backpressured") {
			reentered.Add(1)
			s.Stats()
			s.flush.endedJustNow()
			s.Local().ToUser("nobody", "noise", 0) // takes the batch's lock
		}
	}})
	ts := startServer(t, Config{
		Settings: Settings{BackpressureLimit: 1024, CloseOnBackpressureLimit: true, DefaultRooms: []string{}},
		Logger:   logger,
	})
	srv.Store(ts.Server)
	m := ts.members(t, "a", "b")
	settle(t, ts, m[0].id, m[1].id)
	cls := make([]*Client, len(m))
	for i, x := range m {
		cls[i], _ = ts.Client(x.id)
	}
	recv := []<-chan rcRecv{rcCollect(m[0].c.conn), rcCollect(m[1].c.conn)}
	before := ts.Stats()

	done := make(chan struct{})
	go func() {
		defer close(done)
		pad := strings.Repeat("x", 90)
		ts.Cork(func() { // nothing is written until the cork ends: the budget fills deterministically
			for i := range batchLen {
				ts.flush.endedJustNow()
				ts.Local().Broadcast("r", map[string]any{"n": i, "pad": pad})
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(readTimeout): // a guard, not a synchronisation
		buf := make([]byte, 1<<20)
		t.Fatalf("the burst did not return (deadlock?):\n%s", buf[:runtime.Stack(buf, true)])
	}
	var drops uint64
	for i, x := range m {
		r := <-recv[i]
		if r.err != nil || r.closeCode != wire.CloseTryAgainLater {
			t.Fatalf("%s: ended with %v / close %d, want close 1013", x.id, r.err, r.closeCode)
		}
		var want []string
		for j := range len(r.got) {
			want = append(want, fmt.Sprint("r", j))
		}
		d := cls[i].Dropped()
		drops += d
		if len(r.got) == 0 || !slices.Equal(r.got, want) || d == 0 || uint64(len(r.got))+d > batchLen {
			t.Fatalf("%s: got %v before the close, %d dropped", x.id, r.got, d)
		}
	}
	st := ts.Stats()
	if got := st.Dropped - before.Dropped; got != drops {
		t.Fatalf("Stats counts %d dropped, the clients %d", got, drops)
	}
	if ep := st.BackpressureEpisodes - before.BackpressureEpisodes; ep != 2 {
		t.Fatalf("episodes %d, want 2", ep)
	}
	if c := st.BackpressureCloses - before.BackpressureCloses; c != 2 {
		t.Fatalf("backpressure closes %d, want 2", c)
	}
	if reentered.Load() == 0 {
		t.Fatal("the logger was not called for the episode")
	}
}

// Cork's promise, "nothing it queues reaches the network before it
// returns", holds for batched fan-outs: full batches queued by the sender
// (and flusher.help), the tail queued by the flush goroutine, and a direct
// send in the middle are all held; then everything arrives in order.
func TestCoalesceCorkHoldsBatchedWrites(t *testing.T) {
	s := newServer(t, Config{Settings: Settings{DefaultRooms: []string{}, HeartbeatInterval: time.Hour}})
	var corked atomic.Bool
	var during atomic.Int64
	write := s.writeSocket
	s.writeSocket = func(fd int, rc syscall.RawConn, p []byte) (int, error) {
		if corked.Load() {
			during.Add(1)
		}
		return write(fd, rc, p)
	}
	ts := serve(t, s, httptest.NewServer)
	m := ts.members(t, "a", "b", "c")
	settle(t, ts, m[0].id, m[1].id, m[2].id)
	var want [3][]string
	ts.Cork(func() {
		corked.Store(true)
		defer corked.Store(false)
		for i := range 100 {
			ts.flush.endedJustNow()
			ts.Local().Broadcast("r", i)
			for j := range want {
				want[j] = append(want[j], fmt.Sprint("r", i))
			}
			if i%45 == 44 {
				ts.Local().ToClient(m[1].id, "d", i)
				want[1] = append(want[1], fmt.Sprint("d", i))
			}
		}
	})
	if n := during.Load(); n != 0 {
		t.Fatalf("%d socket writes while the cork was open", n)
	}
	for i, x := range m {
		expectSeq(t, x.c, x.id, want[i])
		ts.expectNothing(t, x.c, x.id)
	}
}

// Shutdown right after a burst: the batch still pending (or being
// queued) goes out before each client's 1001, and Shutdown leaves no
// flush goroutine and no pending batch (TestMain's goleak checks the
// goroutines too).
func TestCoalesceShutdownSendsThePendingBatchFirst(t *testing.T) {
	ts := startServer(t, Config{})
	m := ts.members(t, "a", "b", "c")
	recv := make([]<-chan rcRecv, len(m))
	for i, x := range m {
		recv[i] = rcCollect(x.c.conn)
	}
	var want []string
	for i := range 5 {
		ts.flush.endedJustNow()
		ts.Local().Broadcast("r", i)
		want = append(want, fmt.Sprint("r", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	if err := ts.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i, x := range m {
		r := <-recv[i]
		if r.err != nil || r.closeCode != wire.CloseGoingAway || !slices.Equal(r.got, want) {
			t.Fatalf("%s: got %v, then %v / close %d; want %v then 1001", x.id, r.got, r.err, r.closeCode, want)
		}
	}
	ts.flush.mu.Lock()
	running := ts.flush.running
	ts.flush.mu.Unlock()
	if running != 0 || ts.batch.pending.Load() {
		t.Fatalf("after Shutdown: %d flush goroutines, batch pending %v", running, ts.batch.pending.Load())
	}
}

// Bursts from another instance are delivered by the dispatcher under a
// cork, batched: each client still gets the room, user and direct
// messages in the order they were published.
func TestCoalesceBrokerBurstKeepsOrder(t *testing.T) {
	broker := NewMemoryBroker()
	a := startServer(t, Config{Broker: broker})
	b := startServer(t, Config{Broker: broker, Settings: Settings{DefaultRooms: []string{"lobby"}}})
	m := b.members(t, "x", "y")
	recv := []<-chan rcRecv{rcCollect(m[0].c.conn), rcCollect(m[1].c.conn)}
	ctx := context.Background()
	var want [2][]string
	for i := range 600 {
		switch i % 7 {
		case 3:
			a.ToClient(ctx, m[0].id, "D", i)
			want[0] = append(want[0], fmt.Sprint("D", i))
		case 5:
			a.ToUser(ctx, "y", "U", i)
			want[1] = append(want[1], fmt.Sprint("U", i))
		default:
			a.ToRoom(ctx, "lobby", "R", i)
			want[0] = append(want[0], fmt.Sprint("R", i))
			want[1] = append(want[1], fmt.Sprint("R", i))
		}
	}
	for _, x := range m {
		a.ToClient(ctx, x.id, "E", 0)
	}
	for i, x := range m {
		r := <-recv[i]
		if r.err != nil || r.closeCode != 0 || !slices.Equal(r.got, want[i]) {
			t.Fatalf("%s: got %d messages (%v / close %d), want %d in order", x.id, len(r.got), r.err, r.closeCode, len(want[i]))
		}
	}
}

// Client.Dropped and Client.Backpressured are current when a batched send
// returns, as they were unbatched: a refusal is counted when the batch is
// queued, so the accessors queue a waiting batch first (as Stats does).
// Here the client has 500 bytes waiting in a held write and a budget of
// 1000: each 600-byte broadcast is refused.
func TestCoalesceClientDroppedIsCurrentAfterTheSend(t *testing.T) {
	s := newServer(t, Config{Settings: Settings{BackpressureLimit: 1000, DefaultRooms: []string{}, HeartbeatInterval: time.Hour}})
	h := holdWrites(t, s)
	ts := serve(t, s, httptest.NewServer)
	m := ts.members(t, "a")
	settle(t, ts, m[0].id)
	cl, _ := ts.Client(m[0].id)
	h.armed.Store(true)
	go ts.Local().ToClient(m[0].id, "x", strings.Repeat("x", 500)) // written inline: held in the write
	<-h.inWrite
	big := strings.Repeat("y", 600)
	for range 3 {
		ts.flush.endedJustNow()
		ts.Local().Broadcast("r", big)
	}
	d, bp := cl.Dropped(), cl.Backpressured()
	h.release()
	if d != 3 || !bp {
		t.Fatalf("right after the sends: Dropped %d, Backpressured %v; want 3, true (Stats now says %d)", d, bp, ts.Stats().Dropped)
	}
	m[0].c.expect("x")
	// The client reads x as soon as the held write puts it on the socket,
	// before the writer accounts for it: until then the queue still holds
	// x's bytes and stays backpressured, and the marker below would be
	// dropped, as it should be (it failed CI once that way).
	waitFor(t, "x to be accounted for and backpressure to clear", func() bool { return !cl.Backpressured() })
	ts.expectNothing(t, m[0].c, m[0].id)
}

// The log line for a repaired (invalid UTF-8) message is written after the
// batch's lock is released: the app's slog handler may call the server (a
// log feed to an admin room, Stats), which would deadlock under it, and a
// slow handler would stall every sender. The handler here makes its call
// on another goroutine and gives up after a while, so the test fails
// instead of hanging.
func TestCoalesceLoggerRunsOutsideTheBatchLock(t *testing.T) {
	var srv atomic.Pointer[Server]
	result := make(chan error, 1)
	logger := slog.New(rcHandler{on: func(r slog.Record) {
		s := srv.Load()
		if s == nil || !strings.Contains(r.Message, "UTF-8") {
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.flush.endedJustNow()
			s.Local().ToUser("nobody", "x", 0) // a burst: takes the batch's lock
		}()
		select {
		case <-done:
			result <- nil
		case <-time.After(readTimeout / 2): // a guard, not a synchronisation
			result <- errors.New("a send from the log handler blocked: the handler runs under the batch's lock")
		}
	}})
	ts := startServer(t, Config{Logger: logger})
	srv.Store(ts.Server)
	m := ts.members(t, "a")
	ts.flush.endedJustNow()
	ts.Local().Broadcast("bad\xffevent", 1) // repaired, and logged once
	select {
	case err := <-result:
		if err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatal("the repaired message was not logged")
	}
	m[0].c.expect("bad\uFFFDevent")
}

// A member that accumulates inlineFlush bytes while waiting for a flush
// goroutine is written by the sender's call, batched or not, so a producer
// faster than the scheduler (one core, a send loop) writes in bounded
// batches: here messages alternate audiences, so no batch fills (and
// since coalescer.repeats none is batched at all), and the flush
// goroutines are held back, as one busy core does. The queue must stay
// near inlineFlush, not grow to BackpressureLimit.
func TestCoalesceInlineFlushBoundsAQueueAcrossAudiences(t *testing.T) {
	s := newServer(t, Config{Settings: Settings{DefaultRooms: []string{}, HeartbeatInterval: time.Hour}})
	var gate atomic.Bool
	var deferred []func()
	var mu sync.Mutex
	start := s.flush.start
	s.flush.start = func() {
		if gate.Load() {
			mu.Lock()
			deferred = append(deferred, start)
			mu.Unlock()
			return
		}
		start()
	}
	ts := serve(t, s, httptest.NewServer)
	m := ts.members(t, "a")
	settle(t, ts, m[0].id)
	cl, _ := ts.Client(m[0].id)
	recv := rcCollect(m[0].c.conn)
	data := strings.Repeat("x", 1500)
	worst := 0
	var want []string
	gate.Store(true)
	for i := range 24 {
		ts.flush.endedJustNow()
		if i%2 == 0 {
			ts.Local().Broadcast("b", data)
		} else {
			ts.Local().ToUser("a", "u", data)
		}
		want = append(want, map[bool]string{true: "b0", false: "u0"}[i%2 == 0])
		worst = max(worst, cl.QueuedBytes())
	}
	gate.Store(false)
	mu.Lock()
	for _, f := range deferred {
		f()
	}
	mu.Unlock()
	ts.Local().ToClient(m[0].id, "E", 0)
	if r := <-recv; r.err != nil || !slices.Equal(r.got, want) {
		t.Fatalf("got %d messages (%v), want %d", len(r.got), r.err, len(want))
	}
	if bound := inlineFlush + 2*(len(data)+64); worst > bound {
		t.Fatalf("a member's queue reached %d bytes waiting for a flush goroutine, past inlineFlush's bound %d", worst, bound)
	}
}

// The last flush goroutine must not count itself out while a batch waits:
// its sender saw it running (ensure) and started none. The interleaving
// (the sender's ensure between the goroutine's batch.flush and its next)
// is too narrow to hit over sockets; here next is called in that state.
func TestCoalesceLastFlushGoroutineStaysForAPendingBatch(t *testing.T) {
	b := new(coalescer)
	var starts int
	f := newFlusher(func() { starts++ }, b)
	f.ensure() // a batch began: one flush goroutine runs
	if f.running != 1 || starts != 1 {
		t.Fatalf("ensure: running %d, starts %d", f.running, starts)
	}
	b.pending.Store(true)
	f.ensure() // the next message of the batch: it runs already
	buf := make([]*Client, 0, flushChunk)
	if _, done := f.next(buf); done || f.running != 1 {
		t.Fatalf("with a batch pending and nothing ready: done %v, running %d", done, f.running)
	}
	b.pending.Store(false)
	if _, done := f.next(buf); !done || f.running != 0 {
		t.Fatalf("with nothing pending or ready: done %v, running %d", done, f.running)
	}
	if starts != 1 {
		t.Fatalf("%d flush goroutines started, want 1", starts)
	}
}
