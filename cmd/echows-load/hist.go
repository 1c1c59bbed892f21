package main

import (
	"math/bits"
	"sync/atomic"
)

// histogram counts latencies in microseconds in log-linear buckets: exact
// below 64 µs, then 32 buckets per power of two (about 3 % wide).
type histogram struct {
	counts [64 + 58*32]atomic.Int64
}

func bucketOf(v int64) int {
	if v < 64 {
		if v < 0 {
			return 0
		}
		return int(v)
	}
	e := bits.Len64(uint64(v)) - 6 // v >> e is in [32, 64)
	return 64 + (e-1)*32 + int(v>>e) - 32
}

// lowerBound returns the smallest value of bucket i.
func lowerBound(i int) int64 {
	if i < 64 {
		return int64(i)
	}
	e := (i-64)/32 + 1
	return int64((i-64)%32+32) << e
}

func (h *histogram) record(v int64) {
	i := bucketOf(v)
	if i >= len(h.counts) {
		i = len(h.counts) - 1
	}
	h.counts[i].Add(1)
}

// quantiles returns the values at the given quantiles (0..1), in µs, as the
// middle of the bucket they fall in, and the maximum bucket's bound.
func (h *histogram) quantiles(qs ...float64) []int64 {
	var total int64
	for i := range h.counts {
		total += h.counts[i].Load()
	}
	out := make([]int64, len(qs))
	if total == 0 {
		return out
	}
	for k, q := range qs {
		rank := int64(q * float64(total))
		if rank >= total {
			rank = total - 1
		}
		var seen int64
		for i := range h.counts {
			seen += h.counts[i].Load()
			if seen > rank {
				lo, hi := lowerBound(i), lowerBound(i+1)
				out[k] = (lo + hi) / 2
				break
			}
		}
	}
	return out
}
