package benchtest

import (
	"runtime/metrics"
	"syscall"
	"time"
)

// Runtime is a snapshot of this process's CPU and of the Go runtime's
// counters that say where a tail goes: garbage collection (cycles, CPU,
// stop-the-world pauses) and waiting for locks.
type Runtime struct {
	CPU       time.Duration // user + system, the whole process
	Mallocs   uint64
	GCs       uint64
	GCCPU     float64 // seconds: GC work, background and assists
	AssistCPU float64 // seconds: GC work done by goroutines that allocate (it delays their requests)
	MutexWait float64 // seconds goroutines waited for sync.Mutex/RWMutex
	Pauses    []float64
	pauseBkts []float64
}

var runtimeMetrics = []string{
	"/gc/heap/allocs:objects",
	"/gc/cycles/total:gc-cycles",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/gc/mark/assist:cpu-seconds",
	"/sync/mutex/wait/total:seconds",
	"/sched/pauses/total/gc:seconds",
}

// ReadRuntime takes a snapshot.
func ReadRuntime() Runtime {
	s := make([]metrics.Sample, len(runtimeMetrics))
	for i, n := range runtimeMetrics {
		s[i].Name = n
	}
	metrics.Read(s)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	r := Runtime{
		CPU:       time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
		Mallocs:   s[0].Value.Uint64(),
		GCs:       s[1].Value.Uint64(),
		GCCPU:     s[2].Value.Float64(),
		AssistCPU: s[3].Value.Float64(),
		MutexWait: s[4].Value.Float64(),
	}
	if h := s[5].Value.Float64Histogram(); h != nil {
		for _, c := range h.Counts {
			r.Pauses = append(r.Pauses, float64(c))
		}
		r.pauseBkts = h.Buckets
	}
	return r
}

// Delta is what happened between r (earlier) and o (later).
type Delta struct {
	CPU       time.Duration
	Mallocs   uint64
	GCs       uint64
	GCCPU     float64
	AssistCPU float64
	MutexWait float64
	// PauseMax is the longest stop-the-world pause of the GC, to the
	// upper bound of its bucket in the runtime's histogram.
	PauseMax time.Duration
}

// Since returns o − r.
func (o Runtime) Since(r Runtime) Delta {
	d := Delta{CPU: o.CPU - r.CPU, Mallocs: o.Mallocs - r.Mallocs, GCs: o.GCs - r.GCs,
		GCCPU: o.GCCPU - r.GCCPU, AssistCPU: o.AssistCPU - r.AssistCPU, MutexWait: o.MutexWait - r.MutexWait}
	for i := len(o.Pauses) - 1; i >= 0; i-- {
		var before float64
		if i < len(r.Pauses) {
			before = r.Pauses[i]
		}
		if o.Pauses[i] > before {
			d.PauseMax = time.Duration(min(o.pauseBkts[i+1], 3600) * float64(time.Second))
			break
		}
	}
	return d
}
