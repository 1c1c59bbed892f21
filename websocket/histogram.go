package websocket

import (
	"sync/atomic"
	"time"
)

// histogramBounds are the upper bounds of the buckets of every duration
// histogram the server keeps (hook durations, delivery latency, the probe's
// round trip): from 100 µs to 10 s, about three buckets per decade. Fixed,
// so that an observation is a few atomic adds and a scrape reads 17 numbers.
var histogramBounds = [...]time.Duration{
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
}

// Histogram is a snapshot of a distribution of durations, in fixed buckets.
type Histogram struct {
	// Bounds are the buckets' upper bounds, ascending. They are the same
	// for every histogram of the server.
	Bounds []time.Duration
	// Counts[i] is how many observations were at most Bounds[i] and above
	// Bounds[i-1] (per bucket, not cumulative); the last element, at
	// len(Bounds), counts those above the last bound.
	Counts []uint64
	// Count is the number of observations: the sum of Counts.
	Count uint64
	// Sum is the sum of the observations.
	Sum time.Duration
}

// histogram is a fixed-bucket histogram of durations made of atomics:
// observing costs a bucket search over 16 bounds and two atomic adds, and
// takes no lock.
type histogram struct {
	counts [len(histogramBounds) + 1]atomic.Uint64
	sum    atomic.Int64 // nanoseconds
}

func (h *histogram) observe(d time.Duration) {
	i := 0
	for i < len(histogramBounds) && d > histogramBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// snapshot reads h. Buckets are read one by one, so a snapshot taken while
// observations land may count one in a bucket and not yet in Sum; Count is
// always the sum of the buckets read.
func (h *histogram) snapshot() Histogram {
	s := Histogram{Bounds: append([]time.Duration(nil), histogramBounds[:]...), Counts: make([]uint64, len(h.counts))}
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
		s.Count += s.Counts[i]
	}
	s.Sum = time.Duration(h.sum.Load())
	return s
}
