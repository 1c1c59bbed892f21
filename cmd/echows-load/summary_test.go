package main

import (
	"math"
	"slices"
	"strings"
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

func TestRoundPairs(t *testing.T) {
	periods := func(v ...int64) []burstResult {
		var bs []burstResult
		for _, x := range v {
			bs = append(bs, burstResult{NsPerDelivery: float64(x), P50us: x, P99us: x})
		}
		return bs
	}
	run := func(target string, rep int, interleaved bool, bs []burstResult) *runResult {
		return &runResult{Target: target, Scenario: "steady", Clients: 1000, Rep: rep, Interleaved: interleaved, Bursts: bs}
	}
	results := []*runResult{
		run("echows", 0, true, periods(50, 300, 100)), run("upstream", 0, true, periods(100, 200, 100)),
		run("echows", 1, true, periods(80, 1)), run("upstream", 1, true, periods(100)), // one pair: the shorter run's
		run("echows", 2, false, periods(1)), run("upstream", 2, false, periods(100)), // not interleaved: no pairs
		run("echows", 3, true, periods(1, 0)), run("upstream", 3, true, periods(100, 100)), // timed out; not measured: no pairs
	}
	results[len(results)-2].Bursts[0].TimedOut = true
	got := roundPairs(results, "echows", "steady", 1000)
	want := "median 0.90 (0.50–1.50), at or below upstream in 3 of 4"
	if !strings.Contains(got, "(up to 4 pairs of periods run in turn)") || strings.Count(got, want) != 3 {
		t.Errorf("roundPairs = %q, want 4 pairs and %q for each figure", got, want)
	}
	if strings.Contains(got, "deliveries per s") {
		t.Errorf("roundPairs of steady periods = %q: a period's rate is the tool's, not compared", got)
	}
	burst := func(target string, perSecond float64) *runResult {
		return &runResult{Target: target, Scenario: "local", Clients: 5000, Interleaved: true, Bursts: []burstResult{{NsPerDelivery: 1, P50us: 1, P99us: 1, PerSecond: perSecond}}}
	}
	got = roundPairs([]*runResult{burst("echows", 3e6), burst("upstream", 2e6)}, "echows", "local", 5000)
	if want := "deliveries per s median 1.50 (1.50–1.50), at or above upstream in 1 of 1"; !strings.Contains(got, want) || !strings.Contains(got, "(up to 1 pairs of bursts run in turn)") {
		t.Errorf("roundPairs of bursts = %q, want %q", got, want)
	}
	if got := roundPairs(results[4:], "echows", "steady", 1000); got != "" {
		t.Errorf("roundPairs without interleaved runs = %q, want \"\"", got)
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
