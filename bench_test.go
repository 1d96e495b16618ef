package telephonyhook

// The hook side by side with floorreq (internal/benchtest.FloorReq: the
// least a correct hook must do), under the flood of distinct numbers,
// users and eventIds, with the event hook on. One core; each skips under
// -short. docs/performance.md holds the figures and the goals.
//
//	go test -run '^$' -bench '^BenchmarkFlood$' -cpu 1 -benchtime 20000x -count 3 .
//	go test -run '^$' -bench '^BenchmarkProcess$' -cpu 1 -benchtime 1x -count 3 .
//	go test -run '^$' -bench '^BenchmarkColdStart$' -cpu 1 -benchtime 41x -count 3 .

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/benchtest"
	"github.com/telephony-hooks/okta-8x8/internal/proctest"
)

const (
	benchClients = 32
	// floodFor is the flood of the process run: full speed, 8 s, in
	// rounds alternating with floorreq's so that a busy neighbour on the
	// machine weighs on both alike.
	floodFor    = 8 * time.Second
	floodRounds = 8
	// capsMemLimit is the GOMEMLIMIT internal/memlimit sets in a 256 MiB
	// Cloud Run instance (90 % of it); capsFlood requests fill the caps
	// sized from it.
	capsMemLimit = 256 << 20 * 9 / 10
	capsFlood    = 300_000
)

// benchSink stands for Cloud Run's log agent: it drains the lines as fast
// as they come and keeps the first few for the suite's leak scan.
type benchSink struct{ n atomic.Int64 }

func (s *benchSink) Write(p []byte) (int, error) {
	if s.n.Add(1) <= 4 {
		_, _ = suite.Write(p)
	}
	return len(p), nil
}

func newFast8x8(tb testing.TB) string {
	s := httptest.NewServer(benchtest.Fast8x8())
	tb.Cleanup(s.Close)
	return s.URL
}

// benchEnv is the deployment the benchmarks run: header auth, the guard
// in memory with its default limits, the event hook on, JSON logs.
func benchEnv(fake8x8 string) map[string]string {
	env := deployedEnv(fake8x8, fake8x8)
	env["OKTA_EVENT_HOOK_SECRET"] = "okta-event-hook-secret-Bn7Qw2"
	env["LOG_FORMAT"] = "json"
	env["FUNCTION_TARGET"] = FunctionName
	return env
}

func floorEnv(fake8x8 string) map[string]string {
	return map[string]string{"EIGHTYEIGHTX_VOICE_URL": fake8x8, "EIGHTYEIGHTX_SUBACCOUNT_ID": testSub,
		"EIGHTYEIGHTX_API_KEY": testAPIKey, "EIGHTYEIGHTX_SOURCE_NUMBER": testCaller}
}

// target is one side of a paired run: a load on a URL, and what it did.
type target struct {
	load benchtest.Load
	next int // the next request index
	res  benchtest.Result
	proc *proctest.Process // nil in process
	cpu  time.Duration     // the process's, while loaded
}

func newTarget(url string, q *benchtest.Requests) *target {
	return &target{load: benchtest.Load{URL: url, Client: benchtest.NewClient(benchClients), Secret: testSecret,
		Clients: benchClients, Body: q.Append}}
}

// send sends n requests, or for d when d > 0.
func (t *target) send(b *testing.B, n int, d time.Duration) {
	var cpu0 time.Duration
	if t.proc != nil {
		cpu0, _ = t.proc.CPUTime()
	}
	var res benchtest.Result
	var err error
	if d > 0 {
		res, err = t.load.For(t.next, d)
	} else {
		res, err = t.load.Count(t.next, n)
	}
	if err != nil {
		b.Fatal(err)
	}
	if t.proc != nil {
		cpu1, _ := t.proc.CPUTime()
		t.cpu += cpu1 - cpu0
	}
	t.next += res.N
	t.res.Add(res)
}

func (t *target) p99() float64 { return float64(t.res.Quantile(0.99).Microseconds()) / 1000 }

// report prints the hook's figures and their ratios to floorreq's.
func report(b *testing.B, hook, floor *target) {
	b.ReportMetric(hook.res.PerSec(), "req/s")
	b.ReportMetric(hook.p99(), "p99-ms")
	b.ReportMetric(hook.res.PerSec()/floor.res.PerSec(), "x-floorreq-req/s")
	b.ReportMetric(hook.p99()/floor.p99(), "x-floorreq-p99")
	if hook.proc != nil {
		_, peak, _ := hook.proc.Memory()
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(float64(hook.cpu.Microseconds())/float64(hook.res.N), "server-CPU-µs/req")
	}
}

// BenchmarkFlood serves both targets over loopback in this process, 32
// clients, a fast fake 8x8, b.N requests each in alternating rounds.
func BenchmarkFlood(b *testing.B) {
	if testing.Short() {
		b.Skip("a load benchmark")
	}
	fake := newFast8x8(b)
	env := benchEnv(fake)
	f := New(Options{Getenv: func(k string) string { return env[k] }, Stdout: &benchSink{}})
	if _, err := f.Ready(context.Background()); err != nil {
		b.Fatal(err)
	}
	// Its loops would otherwise keep this run's state alive, a heap the
	// next -count run's collections must mark.
	b.Cleanup(func() { _ = f.Shutdown(context.Background()) })
	var targets []*target
	for _, h := range []http.Handler{benchtest.FloorReq(benchtest.FloorConfig{VoiceURL: fake, Subaccount: testSub,
		APIKey: testAPIKey, CallerID: testCaller, Log: &benchSink{}}), f} {
		srv := httptest.NewServer(h)
		b.Cleanup(srv.Close)
		t := newTarget(srv.URL, benchtest.Flood("flood", time.Now(), benchNumbers()))
		t.send(b, 2000, 0) // warm: connections, the parser's patterns
		t.res = benchtest.Result{}
		targets = append(targets, t)
	}
	b.ResetTimer()
	for i := range 10 {
		n := (i+1)*b.N/10 - i*b.N/10
		targets[0].send(b, n, 0)
		targets[1].send(b, n, 0)
	}
	report(b, targets[1], targets[0])
}

// benchNumbers is the flood's numbers, built once.
var benchNumbers = sync.OnceValue(benchtest.NewNumbers)

// startProcess starts bin with env on one core and polls it until it
// answers a hook request.
func startProcess(b *testing.B, bin string, env map[string]string) *target {
	port := proctest.FreePort(b)
	env["PORT"], env["GOMAXPROCS"] = port, "1"
	t := newTarget("http://127.0.0.1:"+port+"/", benchtest.Flood("p"+port, time.Now(), benchNumbers()))
	first, start := t.load.Post, time.Now()
	t.proc = proctest.Start(b, bin, proctest.Options{Env: env, Stdout: &benchSink{}})
	poll := time.NewTicker(250 * time.Microsecond)
	defer poll.Stop()
	for ; first(benchtest.Flood("cold", start, benchNumbers()).Body(t.next)) != nil; <-poll.C {
		if time.Since(start) > 10*time.Second {
			b.Fatalf("%s: no answer within 10 s\nstderr: %s", bin, t.proc.Stderr)
		}
	}
	t.next++
	return t
}

// BenchmarkProcess runs the buildpack's main (what Cloud Run runs) and the
// floorreq command as processes. flood-8s: the 8 s flood side by side;
// caps-gomemlimit: the hook with a 256 MiB instance's GOMEMLIMIT past its
// caps, its peak RSS. It ignores b.N: run it with -benchtime 1x.
func BenchmarkProcess(b *testing.B) {
	if testing.Short() {
		b.Skip("builds and starts processes")
	}
	hookBin, floorBin := proctest.Build(b, "./internal/buildpackmain"), proctest.Build(b, "./internal/benchtest/floorreq")
	b.Run("flood-8s", func(b *testing.B) {
		fake := newFast8x8(b)
		floor, hook := startProcess(b, floorBin, floorEnv(fake)), startProcess(b, hookBin, benchEnv(fake))
		for range floodRounds {
			floor.send(b, 0, floodFor/floodRounds)
			hook.send(b, 0, floodFor/floodRounds)
		}
		report(b, hook, floor)
	})
	b.Run("caps-gomemlimit", func(b *testing.B) {
		env := benchEnv(newFast8x8(b))
		env["GOMEMLIMIT"] = strconv.Itoa(capsMemLimit)
		hook := startProcess(b, hookBin, env)
		hook.send(b, capsFlood, 0)
		_, peak, _ := hook.proc.Memory()
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
		b.ReportMetric(hook.res.PerSec(), "req/s")
	})
}

// BenchmarkColdStart times exec → first answered hook request for the
// buildpack's main, the design card's floor (internal/benchtest/cardfloor)
// and floorreq, interleaved, and reports the medians.
func BenchmarkColdStart(b *testing.B) {
	if testing.Short() {
		b.Skip("builds and starts processes")
	}
	fake := newFast8x8(b)
	targets := []struct {
		name string
		bin  string
		env  func() map[string]string
	}{
		{"hook", proctest.Build(b, "./internal/buildpackmain"), func() map[string]string { return benchEnv(fake) }},
		{"cardfloor", proctest.Build(b, "./internal/benchtest/cardfloor"), func() map[string]string { return map[string]string{"FUNCTION_TARGET": "CardFloor"} }},
		{"floorreq", proctest.Build(b, "./internal/benchtest/floorreq"), func() map[string]string { return floorEnv(fake) }},
	}
	times := make([][]time.Duration, len(targets))
	for range b.N {
		for i, tg := range targets {
			start := time.Now()
			t := startProcess(b, tg.bin, tg.env())
			times[i] = append(times[i], time.Since(start))
			t.proc.Kill()
		}
	}
	med := make([]float64, len(targets))
	for i, tg := range targets {
		slices.Sort(times[i])
		med[i] = float64(times[i][len(times[i])/2].Microseconds()) / 1000
		b.ReportMetric(med[i], tg.name+"-ms")
	}
	b.ReportMetric(med[0]/med[1], "x-cardfloor")
}
