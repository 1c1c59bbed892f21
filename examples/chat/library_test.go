package main

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/echows/echows/internal/testenv"
)

// The unit tests of the browser client library (static/echows.js) are
// JavaScript, in testdata/echows.test.mjs, run with Node's test runner
// against a fake WebSocket. Skipped when node is not installed (a failure
// under CI=true).
func TestClientLibraryWithNode(t *testing.T) {
	node := testenv.LookPath(t, "install Node.js 18 or later to run the client library's unit tests", "node")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, "--test", "testdata/echows.test.mjs").CombinedOutput()
	if err != nil {
		t.Fatalf("node --test: %v\n%s", err, out)
	}
}
