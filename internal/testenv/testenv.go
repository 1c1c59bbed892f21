// Package testenv decides what a test does when a tool it needs (redis-server,
// node, npm, Chromium) is not installed: on a developer's machine it skips,
// saying what to install; under CI it fails, because CI installs every tool
// (.ci/run) and a skip there would hide a test that never ran.
package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// InCI reports whether the tests run under CI: the CI environment variable
// is set to anything but "", "0" or "false" (CI services set CI=true; some
// set their own name).
func InCI() bool {
	switch strings.ToLower(strings.TrimSpace(os.Getenv("CI"))) {
	case "", "0", "false":
		return false
	}
	return true
}

// Missing ends tb because something it needs is missing: tb.Skipf with the
// message, or tb.Fatalf under CI.
func Missing(tb testing.TB, format string, args ...any) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("CI: "+format+" (under CI=true a missing tool fails the test instead of skipping it)", args...)
		return
	}
	tb.Skipf(format, args...)
}

// LookPath returns the path of the first of names found on PATH; when none
// is, it ends tb through Missing with hint ("install it with ...").
func LookPath(tb testing.TB, hint string, names ...string) string {
	tb.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(tb, "%s not found on PATH; %s", strings.Join(names, " or "), hint)
	return ""
}
