package websocket

import "testing"

// The ready list is a FIFO whose consumed head is reclaimed only when the
// list empties. A server whose flush goroutines are busy all the time (a
// steady flow to many clients, each scheduled again as soon as it was
// written) may never see it empty: the list must then still hold about the
// clients waiting, not every scheduling since it last emptied.
func TestReadyListStaysBoundedWhileNeverEmpty(t *testing.T) {
	f := newFlusher(func() {}, new(coalescer)) // no goroutines: the test takes from the list itself
	clients := make([]*Client, 300)
	for i := range clients {
		clients[i] = new(Client)
	}
	f.add(clients...)
	buf := make([]*Client, 0, flushChunk)
	for range 20000 { // 5 M schedulings; never more than 300 clients waiting
		buf, _ = f.next(buf)
		f.add(buf...) // each written client is scheduled again
	}
	f.mu.Lock()
	waiting, size := len(f.ready)-f.head, cap(f.ready)
	f.mu.Unlock()
	if size > 1<<16 {
		t.Fatalf("the ready list holds an array of %d entries for %d waiting clients", size, waiting)
	}
}
