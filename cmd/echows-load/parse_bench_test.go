package main

import (
	"fmt"
	"testing"

	"github.com/echows/echows/internal/wsframe"
)

// BenchmarkParse measures the reader's hot path: parsing a buffer of 100
// burst messages of 64 bytes (header, prefix check, three integers, counters,
// histogram). It must not allocate.
func BenchmarkParse(b *testing.B) {
	const n = 100
	var frames []byte
	for i := range n {
		msg := fmt.Appendf(nil, `{"event":"bench","data":{"b":1,"s":%d,"t":1000,"p":"xxxxxxxxxxxx"}}`, i)
		frames = wsframe.AppendFrame(frames, wsframe.Header{Fin: true, Opcode: wsframe.OpText}, msg)
	}
	p := &pool{bufSize: len(frames)}
	p.cur.Store(newBurstState(1, 1<<62, 1))
	c := &wsConn{p: p, buf: make([]byte, len(frames))}
	b.ReportAllocs()
	b.SetBytes(int64(len(frames)))
	for b.Loop() {
		c.have = copy(c.buf, frames)
		c.next = 0
		if !c.parse(2000) || c.have != 0 {
			b.Fatal("parse failed")
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/msg")
}
