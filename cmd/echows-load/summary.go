package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// metric is one row of the summary.
type metric struct {
	name   string
	scen   string // "" for both
	get    func(*runResult) float64
	format string
	// target for echows: "min upstream", "max upstream", or a fixed bound
	// via atLeast/atMost (0: none).
	vsUpstream string // "higher" or "lower" is better
	atLeast    float64
	atMost     float64
	bursts     bool // bursts only (a steady run's rate is set by the tool)
}

var metrics = []metric{
	{name: "connect+auth per s", scen: "local", get: func(r *runResult) float64 { return r.ConnectRate }, format: "%.0f", vsUpstream: "higher"},
	{name: "idle KiB per connection (RSS)", scen: "local", get: func(r *runResult) float64 { return r.IdleKiBPerConn }, format: "%.2f", vsUpstream: "lower"},
	{name: "deliveries per s (M)", get: func(r *runResult) float64 { return r.Median.PerSecond / 1e6 }, format: "%.3f", vsUpstream: "higher", bursts: true},
	{name: "server CPU ns per delivery", get: func(r *runResult) float64 { return r.Median.NsPerDelivery }, format: "%.0f", vsUpstream: "lower"},
	{name: "server CPU s per burst", get: func(r *runResult) float64 { return r.Median.ServerCPU }, format: "%.3f"},
	{name: "messages per write call", get: func(r *runResult) float64 { return r.Median.MsgsPerWrite }, format: "%.1f"},
	{name: "latency p50 ms", get: func(r *runResult) float64 { return float64(r.Median.P50us) / 1e3 }, format: "%.2f", vsUpstream: "lower"},
	{name: "latency p99 ms", get: func(r *runResult) float64 { return float64(r.Median.P99us) / 1e3 }, format: "%.2f", vsUpstream: "lower"},
	{name: "latency p99 ms, periods without steal", get: quietP99, format: "%.2f", vsUpstream: "lower"},
	{name: "other processes' CPU during bursts (cores)", get: func(r *runResult) float64 { return r.Median.OthersCores }, format: "%.2f"},
	{name: "others on the server's core (ms)", get: func(r *runResult) float64 { return r.Median.OthersOnServerMs }, format: "%.0f"},
	{name: "steal on the server's core (ms)", get: func(r *runResult) float64 { return r.Median.StealMs }, format: "%.0f"},
	{name: "load tool CPU share of its core", get: func(r *runResult) float64 { return r.Median.ClientCPUShare * 100 }, format: "%.0f%%"},
}

// summary renders the medians over repetitions as markdown tables.
func summary(o options, results []*runResult) string {
	var sb strings.Builder
	for _, scen := range o.scenarios {
		if scen == "attack" {
			sb.WriteString(attackSummary(o, results))
			continue
		}
		cols := columns(o, scen)
		for _, n := range o.clients {
			if scen == "fleet" {
				sb.WriteString(fleetSummary(o, cols, results, n))
				continue
			}
			if strings.HasPrefix(scen, "steady") {
				fmt.Fprintf(&sb, "\n### %s, %d clients, %d publishers, %g msg/s of %d B for %v per period\n\n", scenTitle(scen), n, o.publishers, o.rate, o.size, o.duration)
			} else {
				fmt.Fprintf(&sb, "\n### %s, %d clients, %d × %d B per burst\n\n", scenTitle(scen), n, o.count, o.size)
			}
			fmt.Fprintf(&sb, "| metric |")
			for _, t := range cols {
				fmt.Fprintf(&sb, " %s median (min–max) |", t)
			}
			var others []string // echows targets compared with upstream
			if slices.Contains(cols, "upstream") {
				for _, t := range cols {
					if t != "upstream" {
						others = append(others, t)
					}
				}
			}
			for _, t := range others {
				fmt.Fprintf(&sb, " %s / upstream | per repetition (min–max) | %s: target met |", t, t)
			}
			sb.WriteString("\n|---|")
			for range cols {
				sb.WriteString("---|")
			}
			for range others {
				sb.WriteString("---|---|---|")
			}
			sb.WriteString("\n")
			for _, m := range metrics {
				if (m.scen != "" && m.scen != scen) || (m.bursts && strings.HasPrefix(scen, "steady")) {
					continue
				}
				fmt.Fprintf(&sb, "| %s |", m.name)
				med := map[string]float64{}
				for _, t := range cols {
					v := values(results, t, scen, n, m.get)
					if len(v) == 0 {
						sb.WriteString(" – |")
						continue
					}
					med[t] = median(v)
					fmt.Fprintf(&sb, " "+m.format+" ("+m.format+"–"+m.format+") |", med[t], slices.Min(v), slices.Max(v))
				}
				for _, t := range others {
					e, okE := med[t]
					u, okU := med["upstream"]
					ratio := "–"
					if okE && okU && u != 0 {
						ratio = fmt.Sprintf("%.2f", e/u)
					}
					fmt.Fprintf(&sb, " %s | %s | %s |", ratio, pairedRange(results, t, scen, n, m.get), targetMet(m, e, u, okE, okU))
				}
				sb.WriteString("\n")
			}
			for _, t := range others {
				sb.WriteString(roundPairs(results, t, scen, n))
			}
			// integrity
			for _, t := range cols {
				var lost, reord, gaps, closed, runs, timeouts int64
				for _, r := range results {
					if r.label() == t && r.Scenario == scen && r.Clients == n {
						runs++
						closed += r.ClientsClosed
						for _, b := range r.Bursts {
							lost += b.Lost
							reord += b.Reordered
							gaps += b.Gaps
							if b.TimedOut {
								timeouts++
							}
						}
					}
				}
				fmt.Fprintf(&sb, "\n%s: %d runs; over all measured bursts: lost %d, reordered %d, gaps %d, timed out %d; client connections closed by the server %d.", t, runs, lost, reord, gaps, timeouts, closed)
			}
			sb.WriteString("\n")
		}
	}
	return sb.String()
}

// columns are the summary's columns for scenario scen: each target, or
// each of its routings (see label).
func columns(o options, scen string) []string {
	var cols []string
	for _, t := range o.targets {
		if scen == "fleet" && !o.variants[t].echows {
			continue
		}
		for _, rt := range runRoutings(o, t, scen, 0) {
			cols = append(cols, label(t, rt))
		}
	}
	return cols
}

func scenTitle(s string) string {
	switch s {
	case "redis":
		return "Cross-instance: send on A, room on B through Redis"
	case "steady":
		return "Steady: publishers at a fixed rate into one room"
	case "steady-redis":
		return "Steady through Redis: publishers on A, the room on B"
	}
	return "One server: connect, idle memory, room fan-out"
}

// quietSteal is the share of a period the hypervisor may have taken the
// server's core away for the period to count as without steal (see
// quietP99): the counters tick every 10 ms, so a burst of a few hundred
// milliseconds counts only with none at all.
const quietSteal = 0.01

// quietP99 is the median p99 of r's periods in which the server's core lost
// at most quietSteal of the wall time to steal, NaN when there are none (or
// steal was not measured).
// Steal (the hypervisor running another machine on the core) comes in
// stretches of milliseconds, and a server that loses its core for 20 ms
// delays every message meanwhile by that much: on this machine kind it
// makes most of the p99 spikes of either server. The row compares the
// servers on the periods that measured them rather than the machine.
func quietP99(r *runResult) float64 {
	var v []float64
	for _, b := range r.Bursts {
		if b.CoreMeasured && b.StealMs <= quietSteal*b.WallSeconds*1e3 {
			v = append(v, float64(b.P99us)/1e3)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	return median(v)
}

// values returns the figures of target t's runs of scen with n clients
// that did not fail (NaN figures, a run without such periods, left out).
func values(results []*runResult, t, scen string, n int, get func(*runResult) float64) []float64 {
	var v []float64
	for _, r := range runsOf(results, t, scen, n) {
		if x := get(r); !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	return v
}

// runsOf returns target t's runs of scen with n clients that did not fail.
func runsOf(results []*runResult, t, scen string, n int) []*runResult {
	var rs []*runResult
	for _, r := range results {
		if r.label() == t && r.Scenario == scen && r.Clients == n && r.Error == "" {
			rs = append(rs, r)
		}
	}
	return rs
}

// pairedRange returns the range of the ratios of t to upstream taken
// repetition by repetition ("min–max"). Repetitions alternate the targets,
// so the two runs of a pair are neighbours in time: a ratio that stays on
// one side of 1 in every pair says more than a ratio of medians whose
// ranges overlap.
func pairedRange(results []*runResult, t, scen string, n int, get func(*runResult) float64) string {
	upstream := map[int]float64{}
	for _, r := range runsOf(results, "upstream", scen, n) {
		upstream[r.Rep] = get(r)
	}
	var ratios []float64
	for _, r := range runsOf(results, t, scen, n) {
		if u, ok := upstream[r.Rep]; ok && u != 0 {
			if x := get(r) / u; !math.IsNaN(x) {
				ratios = append(ratios, x)
			}
		}
	}
	if len(ratios) == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f–%.2f", slices.Min(ratios), slices.Max(ratios))
}

func targetMet(m metric, e, u float64, okE, okU bool) string {
	if !okE {
		return "–"
	}
	var parts []string
	check := func(ok bool, what string) {
		mark := "yes"
		if !ok {
			mark = "**no**"
		}
		parts = append(parts, mark+" ("+what+")")
	}
	if okU {
		switch m.vsUpstream {
		case "higher":
			check(e >= u, "≥ upstream")
		case "lower":
			check(e <= u, "≤ upstream")
		}
	}
	if m.atLeast > 0 {
		check(e >= m.atLeast, fmt.Sprintf("≥ %g", m.atLeast))
	}
	if m.atMost > 0 {
		check(e <= m.atMost, fmt.Sprintf("≤ %g", m.atMost))
	}
	if len(parts) == 0 {
		return ""
	}
	return strings.Join(parts, ", ")
}

// roundFigures are the figures roundPairs compares; higher says a higher
// figure is the better one.
var roundFigures = []struct {
	name   string
	get    func(burstResult) float64
	higher bool
	bursts bool // bursts only (a steady period's rate is set by the tool)
}{
	{"CPU per delivery", func(b burstResult) float64 { return b.NsPerDelivery }, false, false},
	{"p50", func(b burstResult) float64 { return float64(b.P50us) }, false, false},
	{"p99", func(b burstResult) float64 { return float64(b.P99us) }, false, false},
	{"deliveries per s", func(b burstResult) float64 { return b.PerSecond }, true, true},
}

// roundPairs compares t with upstream round by round (burst by burst,
// period by period) over their interleaved runs (-interleave) of scen with
// n clients: the rounds at the same index of the same repetition ran in
// turn, seconds apart, so each ratio compares the servers under the same
// machine. A pair with a timed-out round, or a figure that was not
// measured (0), is left out. It returns "" when there are no pairs.
func roundPairs(results []*runResult, t, scen string, n int) string {
	steady := strings.HasPrefix(scen, "steady")
	upstream := map[int]*runResult{}
	for _, r := range runsOf(results, "upstream", scen, n) {
		if r.Interleaved {
			upstream[r.Rep] = r
		}
	}
	ratios := make([][]float64, len(roundFigures))
	for _, r := range runsOf(results, t, scen, n) {
		u, ok := upstream[r.Rep]
		if !ok || !r.Interleaved {
			continue
		}
		for i := range min(len(r.Bursts), len(u.Bursts)) {
			if r.Bursts[i].TimedOut || u.Bursts[i].TimedOut {
				continue // its figures are the timeout's, not the server's
			}
			for k, f := range roundFigures {
				x, d := f.get(r.Bursts[i]), f.get(u.Bursts[i])
				if x > 0 && d > 0 && !(f.bursts && steady) {
					ratios[k] = append(ratios[k], x/d)
				}
			}
		}
	}
	pairs := 0
	for _, v := range ratios {
		pairs = max(pairs, len(v))
	}
	if pairs == 0 {
		return ""
	}
	kind := "bursts"
	if steady {
		kind = "periods"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n%s / upstream, pair by pair (up to %d pairs of %s run in turn): ", t, pairs, kind)
	first := true
	for k, f := range roundFigures {
		v := ratios[k]
		if len(v) == 0 {
			continue
		}
		better, word := 0, "at or below"
		for _, x := range v {
			if (x <= 1) != f.higher || x == 1 {
				better++
			}
		}
		if f.higher {
			word = "at or above"
		}
		if !first {
			sb.WriteString("; ")
		}
		first = false
		fmt.Fprintf(&sb, "%s median %.2f (%.2f–%.2f), %s upstream in %d of %d", f.name, median(v), slices.Min(v), slices.Max(v), word, better, len(v))
	}
	sb.WriteString(".\n")
	return sb.String()
}
