// Package memlimit gives the Go runtime a soft memory limit when none is
// set: the container's own limit (the cgroup's, which is what Cloud Run's
// --memory sets) minus headroom for what the runtime does not count. The
// garbage collector then works harder as the heap nears the limit instead
// of letting a flood of distinct keys push the instance into an OOM kill,
// and the hook sizes its in-memory state from the same figure.
package memlimit

import (
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// headroom is the share of the container's memory left outside the Go
// heap's soft limit: goroutine stacks, the binary's mapped pages, cgo-free
// runtime overhead.
const headroom = 0.10

// limitFiles are where the container's limit is read: cgroup v2, then v1.
var limitFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// Apply sets the runtime's soft memory limit from the container's when
// GOMEMLIMIT is unset, and returns the limit in force (0 when there is
// none).
func Apply(getenv func(string) string) int64 { return apply(getenv, os.ReadFile) }

func apply(getenv func(string) string, read func(string) ([]byte, error)) int64 {
	if getenv("GOMEMLIMIT") != "" {
		return debug.SetMemoryLimit(-1)
	}
	c := container(read)
	if c <= 0 {
		return 0
	}
	limit := int64(float64(c) * (1 - headroom))
	debug.SetMemoryLimit(limit)
	return limit
}

// container is the cgroup's memory limit in bytes, or 0 when unlimited or
// unknown.
func container(read func(string) ([]byte, error)) int64 {
	for _, f := range limitFiles {
		b, err := read(f)
		if err != nil {
			continue
		}
		s := strings.TrimSpace(string(b))
		if s == "max" {
			return 0
		}
		n, err := strconv.ParseInt(s, 10, 64)
		// cgroup v1 writes a huge number (about MaxInt64 rounded to the
		// page size) for "unlimited".
		if err != nil || n <= 0 || n >= math.MaxInt64/2 {
			return 0
		}
		return n
	}
	return 0
}
