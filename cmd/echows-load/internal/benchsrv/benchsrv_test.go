package benchsrv

import "testing"

func TestSchedLatencyQuantile(t *testing.T) {
	before := SchedLatency{Counts: []uint64{5, 5, 5}, Upper: []float64{1e-6, 1e-3, 1e9}}
	after := SchedLatency{Counts: []uint64{5 + 98, 5 + 1, 5 + 1}, Upper: before.Upper}
	// since before: 98 waits up to 1 µs, 1 up to 1 ms, 1 longer
	if got := after.Quantile(before, 0.5); got != 1e-6 {
		t.Fatalf("p50 %v, want 1e-6", got)
	}
	if got := after.Quantile(before, 0.99); got != 1e-3 {
		t.Fatalf("p99 %v, want 1e-3", got)
	}
	if got := before.Quantile(before, 0.99); got != 0 {
		t.Fatalf("no waits: %v, want 0", got)
	}
}
