package benchsrv

import (
	"strconv"
	"testing"
	"time"
)

func TestPubDelays(t *testing.T) {
	var d pubDelays
	sent := time.Now().Add(-3 * time.Millisecond)
	data := []byte(`{"b":1,"s":7,"t":` + strconv.FormatInt(sent.UnixMicro(), 10) + `,"p":"xx"}`)
	d.record(data, sent.Add(time.Millisecond))
	d.record([]byte(`{"b":1,"s":8}`), time.Now()) // no stamp: not counted
	got := d.take()
	if got.N != 1 {
		t.Fatalf("N = %d, want 1", got.N)
	}
	if got.HookP50 != 1000 || got.HookMax != 1000 {
		t.Errorf("hook = %d/%d µs, want 1000", got.HookP50, got.HookMax)
	}
	if got.DoneP50 < 3000 {
		t.Errorf("done = %d µs, want at least 3000 (the hook returned after now-3ms)", got.DoneP50)
	}
	if again := d.take(); again.N != 0 {
		t.Errorf("a second take has %d, want 0: take forgets", again.N)
	}
}

func TestQuantile(t *testing.T) {
	v := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for q, want := range map[float64]int64{0.5: 5, 0.99: 10, 1: 10, 0.1: 1} {
		if got := quantile(v, q); got != want {
			t.Errorf("quantile(%v) = %d, want %d", q, got, want)
		}
	}
	if quantile(nil, 0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
}

func TestQuantileIsNearestRank(t *testing.T) {
	v := make([]int64, 160)
	for i := range v {
		v[i] = int64(i + 1)
	}
	// ceil(0.99 × 160) = 159: the 159th value.
	if got := quantile(v, 0.99); got != 159 {
		t.Errorf("quantile(0.99) of 1..160 = %d, want 159", got)
	}
}
