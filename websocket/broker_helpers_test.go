package websocket

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// steadyPublisher publishes numbered messages ("0", "1", ...) on one
// channel through a broker, one every 20 ms (50 a second), as the issue's
// outage scenario does. Every Publish must succeed: the first error is kept
// for err.
type steadyPublisher struct {
	published atomic.Int64
	firstErr  atomic.Value
	stop      chan struct{}
	wg        sync.WaitGroup
	once      sync.Once
}

// startPublisher starts publishing on channel through br until Stop (or the
// test's end).
func startPublisher(t *testing.T, br Broker, channel string) *steadyPublisher {
	p := &steadyPublisher{stop: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			if err := br.Publish(context.Background(), channel, []byte(strconv.Itoa(i))); err != nil {
				p.firstErr.CompareAndSwap(nil, fmt.Errorf("publish %d: %w", i, err))
			}
			p.published.Store(int64(i + 1))
		}
	}()
	t.Cleanup(p.Stop)
	return p
}

// Stop stops publishing and waits for the last Publish to return.
func (p *steadyPublisher) Stop() {
	p.once.Do(func() { close(p.stop); p.wg.Wait() })
}

// count returns how many messages have been published.
func (p *steadyPublisher) count() int { return int(p.published.Load()) }

// err returns the first Publish error, if any.
func (p *steadyPublisher) err() error {
	err, _ := p.firstErr.Load().(error)
	return err
}

// waitCount polls until n messages have been published, failing the test
// after rbWait.
func (p *steadyPublisher) waitCount(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(rbWait)
	for p.count() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the publisher is stuck at %d", p.count())
		}
		time.Sleep(5 * time.Millisecond) // the interval of a bounded poll
	}
}

// sequence checks that a recorder gets a steadyPublisher's messages on
// channel exactly once each, in order.
type sequence struct {
	rec     *rbRecorder
	channel string
	logs    *rbLogs
	next    int
}

// receiveUpTo reads messages until message n-1, failing the test on any
// other message (lost, duplicated or reordered) or after rbWait without one.
func (q *sequence) receiveUpTo(t *testing.T, n int) {
	t.Helper()
	for q.next < n {
		m := q.rec.next()
		if m.channel != q.channel || m.payload != strconv.Itoa(q.next) {
			t.Fatalf("got %+v, want message %d (lost, duplicated or reordered)\nlogs:\n%s", m, q.next, q.logs)
		}
		q.next++
	}
}

// waitOutboxEmpty polls until br's outbox is empty: a subscriber may get the
// last replayed message before br has read Redis's answer to it.
func waitOutboxEmpty(t *testing.T, br *RedisBroker) {
	t.Helper()
	deadline := time.Now().Add(rbWait)
	for br.Stats().OutboxMessages != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("outbox not empty after %v: %+v", rbWait, br.Stats())
		}
		time.Sleep(5 * time.Millisecond) // the interval of a bounded poll
	}
}

// deadAddr returns a loopback address nobody listens on: every dial is
// refused.
func deadAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
