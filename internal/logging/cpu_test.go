//go:build unix

package logging

import (
	"syscall"
	"testing"
	"time"
)

// processCPU is the CPU time the process has used, garbage collection and
// every goroutine included: what Cloud Run bills, and less disturbed than
// the wall clock on a shared machine.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
