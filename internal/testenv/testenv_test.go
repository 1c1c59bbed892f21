package testenv

import (
	"testing"
)

func TestInCI(t *testing.T) {
	for v, want := range map[string]bool{"": false, "0": false, "false": false, "FALSE": false, "true": true, "1": true, "woodpecker": true} {
		t.Setenv("CI", v)
		if got := InCI(); got != want {
			t.Errorf("CI=%q: InCI %v, want %v", v, got, want)
		}
	}
}

// recorder is a testing.TB that records how Missing ended it.
type recorder struct {
	testing.TB
	skipped, failed bool
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skipf(string, ...any)         { r.skipped = true }
func (r *recorder) Fatalf(string, ...any)        { r.failed = true }
func (r *recorder) Logf(format string, a ...any) {}

func TestMissingSkipsOrFails(t *testing.T) {
	t.Setenv("CI", "")
	r := &recorder{TB: t}
	LookPath(r, "install nothing", "echows-no-such-tool")
	if !r.skipped || r.failed {
		t.Fatalf("outside CI: skipped %v failed %v, want a skip", r.skipped, r.failed)
	}
	t.Setenv("CI", "true")
	r = &recorder{TB: t}
	LookPath(r, "install nothing", "echows-no-such-tool")
	if r.skipped || !r.failed {
		t.Fatalf("under CI: skipped %v failed %v, want a failure", r.skipped, r.failed)
	}
	r = &recorder{TB: t}
	if p := LookPath(r, "", "echows-no-such-tool", "go"); p == "" || r.skipped || r.failed {
		t.Fatalf("LookPath of go: %q (skipped %v failed %v)", p, r.skipped, r.failed)
	}
}
