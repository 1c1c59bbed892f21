package main

import "testing"

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
