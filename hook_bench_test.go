package telephonyhook

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/benchtest"
)

// The in-process side by side: each target is served over loopback HTTP
// in this process and called by 32 clients here, delivering to a fast
// fake 8x8 here too. CPU, allocations, GC and lock waits are the whole
// process's (clients and fake 8x8 included, the same for both targets), so
// the ratios understate the hook's own share; BenchmarkProcess measures the
// server alone.

// shape is a load shape: the requests sent to a target, numbered; the
// first warm indices warm it (connections, the parser's patterns) and
// are never sent again.
type shape struct {
	name  string
	env   func(fake8x8 string) map[string]string
	reqs  func() *benchtest.Requests
	warm  int
	flood bool
}

func returningShape() shape {
	phones := benchtest.NewNumbers()
	returning := make([]string, 256)
	for i := range returning {
		returning[i] = phones.Phone(i)
	}
	return shape{
		name: "returning",
		env: func(fake string) map[string]string {
			// Limits raised so that the guard counts every send but
			// refuses none: each user signs in again and again.
			env := benchEnv(fake)
			env["RATE_LIMIT_PER_PHONE"] = "10000/15m"
			env["RATE_LIMIT_PER_USER"] = "10000/1h"
			return env
		},
		reqs: func() *benchtest.Requests { return benchtest.Returning("bench", time.Now(), returning) },
		warm: len(returning),
	}
}

func floodShape() shape {
	numbers := benchtest.NewNumbers()
	return shape{
		name:  "flood",
		env:   benchEnv,
		reqs:  func() *benchtest.Requests { return benchtest.Flood("flood", time.Now(), numbers) },
		warm:  2000,
		flood: true,
	}
}

// served is a target on loopback, warmed.
type served struct {
	load benchtest.Load
	next int // the next request index to send
}

func serve(b *testing.B, h http.Handler, sh shape) *served {
	srv := httptest.NewServer(h)
	q := sh.reqs()
	s := &served{load: newLoad(srv.URL, q), next: sh.warm}
	b.Cleanup(func() { s.load.Client.CloseIdleConnections(); srv.Close() })
	if _, err := s.load.Count(0, sh.warm); err != nil {
		b.Fatal(err)
	}
	return s
}

// measured is one target's run: the load's result and what the process
// did meanwhile.
type measured struct {
	res benchtest.Result
	rt  benchtest.Delta
}

func (m *measured) add(res benchtest.Result, rt benchtest.Delta) {
	m.res.Add(res)
	m.rt.CPU += rt.CPU
	m.rt.Mallocs += rt.Mallocs
	m.rt.GCs += rt.GCs
	m.rt.GCCPU += rt.GCCPU
	m.rt.AssistCPU += rt.AssistCPU
	m.rt.MutexWait += rt.MutexWait
	m.rt.PauseMax = max(m.rt.PauseMax, rt.PauseMax)
}

// round sends n requests to s.
func (s *served) round(b *testing.B, n int, into *measured) {
	before := benchtest.ReadRuntime()
	res, err := s.load.Count(s.next, n)
	rt := benchtest.ReadRuntime().Since(before)
	if err != nil {
		b.Fatal(err)
	}
	s.next += n
	into.add(res, rt)
}

func (m measured) cpuPerReq() float64 { return float64(m.rt.CPU.Microseconds()) / float64(m.res.N) }
func (m measured) p99() float64       { return float64(m.res.Quantile(0.99).Microseconds()) / 1000 }

func (m measured) report(b *testing.B) {
	n := float64(m.res.N)
	b.ReportMetric(m.res.PerSec(), "req/s")
	b.ReportMetric(float64(m.res.Quantile(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(m.p99(), "p99-ms")
	b.ReportMetric(float64(m.res.Quantile(0.999).Microseconds())/1000, "p99.9-ms")
	b.ReportMetric(m.cpuPerReq(), "CPU-µs/req")
	b.ReportMetric(float64(m.rt.Mallocs)/n, "allocs/req")
	b.ReportMetric(1000*float64(m.rt.GCs)/n, "GCs/1k-req")
	b.ReportMetric(100*m.rt.GCCPU/m.rt.CPU.Seconds(), "GC-%CPU")
	b.ReportMetric(100*m.rt.AssistCPU/m.rt.CPU.Seconds(), "assist-%CPU")
	b.ReportMetric(1e6*m.rt.MutexWait/n, "lockwait-µs/req")
	b.ReportMetric(float64(m.rt.PauseMax.Microseconds())/1000, "GCpause-max-ms")
}

// alone measures b.N requests of the shape to one target.
func alone(b *testing.B, sh shape, build func(b *testing.B, fake string) http.Handler) {
	if testing.Short() {
		b.Skip("a load benchmark")
	}
	s := serve(b, build(b, newFast8x8(b).URL), sh)
	var m measured
	runtime.GC()
	b.ResetTimer()
	s.round(b, b.N, &m)
	b.StopTimer()
	m.report(b)
}

// pairRounds is how many floorreq/hook rounds a paired run alternates, so
// that a busy neighbour on the machine weighs on both alike.
const pairRounds = 10

// paired measures both targets in alternating rounds against one fake
// 8x8 and reports the hook's figures, their ratios to floorreq's, and the
// goals.
func paired(b *testing.B, sh shape) {
	if testing.Short() {
		b.Skip("a load benchmark")
	}
	fake := newFast8x8(b).URL
	fl := serve(b, benchFloor(fake), sh)
	hk := serve(b, benchHook(b, sh.env(fake)), sh)
	var floor, hook measured
	runtime.GC()
	b.ResetTimer()
	for i := range pairRounds {
		n := (i+1)*b.N/pairRounds - i*b.N/pairRounds
		if n == 0 {
			continue
		}
		b.StopTimer()
		fl.round(b, n, &floor)
		b.StartTimer()
		hk.round(b, n, &hook)
	}
	b.StopTimer()
	hook.report(b)
	b.ReportMetric(hook.res.PerSec()/floor.res.PerSec(), "x-floorreq-req/s")
	b.ReportMetric(hook.p99()/floor.p99(), "x-floorreq-p99")
	b.ReportMetric(hook.cpuPerReq()/floor.cpuPerReq(), "x-floorreq-CPU")
	b.ReportMetric(float64(hook.rt.Mallocs)/float64(floor.rt.Mallocs), "x-floorreq-allocs")
	if b.N < 1000 { // the framework's first, one-request call
		return
	}
	b.Logf("floorreq: %.0f req/s, p99 %.2f ms, %.0f µs CPU/req, %.0f allocs/req, %.1f GCs/1k req, GC %.1f%% of CPU",
		floor.res.PerSec(), floor.p99(), floor.cpuPerReq(), float64(floor.rt.Mallocs)/float64(floor.res.N),
		1000*float64(floor.rt.GCs)/float64(floor.res.N), 100*floor.rt.GCCPU/floor.rt.CPU.Seconds())
	if sh.flood {
		goal(b, "in-process flood req/s vs floorreq", hook.res.PerSec()/floor.res.PerSec(), goalReqPerSec, false, "×")
		goal(b, "in-process flood p99 vs floorreq", hook.p99()/floor.p99(), goalP99, true, "×")
	}
}

func hookTarget(sh shape) func(*testing.B, string) http.Handler {
	return func(b *testing.B, fake string) http.Handler { return benchHook(b, sh.env(fake)) }
}

func floorTarget(_ *testing.B, fake string) http.Handler { return benchFloor(fake) }

// BenchmarkHook is the returning-users shape: 256 users, each with its own
// number, signing in again and again (each request its own eventId).
func BenchmarkHook(b *testing.B) {
	sh := returningShape()
	b.Run("floorreq", func(b *testing.B) { alone(b, sh, floorTarget) })
	b.Run("hook", func(b *testing.B) { alone(b, sh, hookTarget(sh)) })
	b.Run("paired", func(b *testing.B) { paired(b, sh) })
}

// BenchmarkFlood is the pumping shape of issue 13: every request a
// distinct number (spread over NANP area codes and exchanges), user and
// eventId, with the default rate limits: every request opens a phone and
// a user window and leaves a remembered answer.
func BenchmarkFlood(b *testing.B) {
	sh := floodShape()
	b.Run("floorreq", func(b *testing.B) { alone(b, sh, floorTarget) })
	b.Run("hook", func(b *testing.B) { alone(b, sh, hookTarget(sh)) })
	b.Run("paired", func(b *testing.B) { paired(b, sh) })
}
