package main

import (
	"math"
	"slices"
	"testing"
)

func TestPairedRange(t *testing.T) {
	run := func(target string, rep int, ns float64) *runResult {
		return &runResult{Target: target, Scenario: "steady", Clients: 1000, Rep: rep, Median: burstResult{NsPerDelivery: ns}}
	}
	results := []*runResult{
		run("echows", 1, 90), run("upstream", 1, 100),
		run("upstream", 2, 100), run("echows", 2, 110),
		run("echows", 3, 95), // no upstream run to pair with
		{Target: "upstream", Scenario: "steady", Clients: 1000, Rep: 3, Error: "failed"},
		run("echows", 1, 1), // another client count: not paired
	}
	results[len(results)-1].Clients = 5000
	get := func(r *runResult) float64 { return r.Median.NsPerDelivery }
	if got, want := pairedRange(results, "echows", "steady", 1000, get), "0.90–1.10"; got != want {
		t.Errorf("pairedRange = %q, want %q", got, want)
	}
	if got := pairedRange(results, "echows", "redis", 1000, get); got != "–" {
		t.Errorf("pairedRange without runs = %q, want –", got)
	}
}

func TestQuietP99(t *testing.T) {
	period := func(p99us int64, stealMs float64) burstResult {
		return burstResult{P99us: p99us, StealMs: stealMs, WallSeconds: 10, CoreMeasured: true}
	}
	r := &runResult{Target: "echows", Scenario: "steady", Clients: 1000, Bursts: []burstResult{
		period(9000, 0), period(40000, 510), period(11000, 100), period(8000, 20),
	}}
	// 100 ms is 1% of 10 s: quiet; 510 ms is not.
	if got := quietP99(r); got != 9 {
		t.Errorf("quietP99 = %v, want 9 (the median of 9, 11 and 8 ms)", got)
	}
	stolen := &runResult{Target: "echows", Scenario: "steady", Clients: 1000, Rep: 1, Bursts: []burstResult{period(40000, 960)}}
	if got := quietP99(stolen); !math.IsNaN(got) {
		t.Errorf("quietP99 with every period stolen = %v, want NaN", got)
	}
	unmeasured := &runResult{Target: "echows", Scenario: "steady", Clients: 1000, Rep: 2, Bursts: []burstResult{{P99us: 40000, WallSeconds: 10}}}
	if got := quietP99(unmeasured); !math.IsNaN(got) {
		t.Errorf("quietP99 without a steal reading = %v, want NaN (not measured is not quiet)", got)
	}
	if got := values([]*runResult{r, stolen}, "echows", "steady", 1000, quietP99); len(got) != 1 || got[0] != 9 {
		t.Errorf("values = %v, want [9] (the run without a quiet period left out)", got)
	}
}

func TestParseCPUList(t *testing.T) {
	for in, want := range map[string][]int{"0": {0}, "0-2": {0, 1, 2}, "1,3": {1, 3}, "0-1,4": {0, 1, 4}, "": nil, "x": nil, "3-1": nil} {
		if got := parseCPUList(in); !slices.Equal(got, want) {
			t.Errorf("parseCPUList(%q) = %v, want %v", in, got, want)
		}
	}
}
