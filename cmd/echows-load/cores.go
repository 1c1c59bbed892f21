package main

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// coreTimes is what /proc/stat says of some cores: the time they ran
// anything (user, nice, system, irq, softirq) and the time the hypervisor
// gave their virtual CPUs to someone else (steal).
type coreTimes struct {
	busy, steal time.Duration
}

// readCoreTimes sums /proc/stat's lines of cores, and reports whether it
// had a line for each of them (false for no cores or no file).
func readCoreTimes(cores []int) (coreTimes, bool) {
	var ct coreTimes
	if len(cores) == 0 {
		return ct, false
	}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return ct, false
	}
	seen := 0
	for line := range strings.Lines(string(b)) {
		name, rest, _ := strings.Cut(line, " ")
		n, ok := strings.CutPrefix(name, "cpu")
		if !ok || n == "" {
			continue
		}
		id, err := strconv.Atoi(n)
		if err != nil || !slices.Contains(cores, id) {
			continue
		}
		seen++
		f := strings.Fields(rest)
		for i, v := range f {
			j, _ := strconv.ParseInt(v, 10, 64)
			d := time.Duration(j) * time.Second / clkTck
			switch i {
			case 0, 1, 2, 5, 6: // user, nice, system, irq, softirq
				ct.busy += d
			case 7:
				ct.steal += d
			}
		}
	}
	return ct, seen == len(cores)
}

// parseCPUList parses a taskset list ("0", "0-3", "0,2"); nil when it
// cannot.
func parseCPUList(s string) []int {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil
			}
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out
}
