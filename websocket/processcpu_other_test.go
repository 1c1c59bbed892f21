//go:build !unix

package websocket

import (
	"testing"
	"time"
)

// processCPU needs getrusage: the benchmarks that report CPU time do not
// run here.
func processCPU(b *testing.B) time.Duration {
	b.Helper()
	b.Skip("process CPU time needs getrusage (unix)")
	return 0
}
