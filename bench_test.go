package telephonyhook

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/benchtest"
	"github.com/telephony-hooks/okta-8x8/internal/logtest"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
)

// The hook and the floor, side by side, as issue 7 measures them:
//
//	go test -run '^$' -bench Hook -cpu 1 -benchtime 5000x .
//
// Both serve real loopback HTTP to 32 concurrent clients and call the same
// fast fake 8x8 once per request. CPU and allocations are the whole test
// process's (clients and fake 8x8 included, the same for both), so the
// hook/floor ratios understate the hook's own share.

const benchConcurrency = 32

// Canned 8x8 answers: the fake answers at once, without validating.
var (
	fastVoiceAnswer = []byte(`{"sessionId":"5a8e7c3e-376b-11ef-a28b-0582ff0039d5","sessionStatus":"CREATED","callFlowRequestId":"03cc3e8b-376b-11ef-a28b-4dd5d900ecb3","statusCode":1,"statusMessage":"Created"}`)
	fastSMSAnswer   = []byte(`{"umid":"0f2a9c1e-8b7d-4e6f-a5c4-3b2a1f0e9d8c","clientMessageId":"x","destination":"12025550275","encoding":"GSM7","status":{"code":"QUEUED","description":"SMS is accepted and queued for processing"}}`)
)

// newFast8x8 is the floor's and the hook's partner: the spec-validating
// eightbyeighttest fake costs more than the hook, so it cannot be used.
func newFast8x8(tb testing.TB) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method != http.MethodPost { // the hook's connection warm-up
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		w.Header()["Content-Type"] = []string{"application/json"}
		if strings.HasSuffix(r.URL.Path, "/messages") {
			_, _ = w.Write(fastSMSAnswer)
			return
		}
		_, _ = w.Write(fastVoiceAnswer)
	}))
	tb.Cleanup(s.Close)
	return s
}

// benchPhones are distinct valid numbers: each sign-in of the load is a
// different user, as at Okta, and each number is seen a few times (the
// parser's cache is warmed by the warm-up pass, like a returning user).
func benchPhones(tb testing.TB, n int) []string {
	p, err := phone.NewParser("US", 0)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, npa := range []string{"415", "212", "202", "312", "617", "206", "303", "404", "512", "702"} {
		for line := 0; line < 10000 && len(out) < n; line += 37 {
			raw := fmt.Sprintf("+1%s2%02d%04d", npa, 30+line%60, line)
			if _, err := p.Parse(raw); err == nil {
				out = append(out, raw)
			}
		}
	}
	if len(out) < n {
		tb.Fatalf("only %d valid bench numbers", len(out))
	}
	return out
}

// benchBodies are realistic Okta voice requests (a synth fixture's shape),
// each with its own eventId.
func benchBodies(tb testing.TB, n int, phones []string) [][]byte {
	now := time.Now().UTC()
	exp := now.Add(5 * time.Minute).Format("2006-01-02T15:04:05.000Z")
	at := now.Format("2006-01-02T15:04:05.000Z")
	out := make([][]byte, n)
	for i := range out {
		k := i % len(phones)
		out[i] = fmt.Appendf(nil, `{"eventId":"bench%017d","eventTime":"%s","eventType":"com.okta.telephony.provider","eventTypeVersion":"1.0","contentType":"application/json","cloudEventVersion":"0.1","source":"https://acme.okta.com/api/v1/inlineHooks/calq3z8WbV5nPd2Hx0h7","requestType":"com.okta.user.telephony.mfa-verification","data":{"context":{"request":{"id":"Qw9Er7Ty5Ui3Op1As8Df6Gh4JkL","method":"POST","url":{"value":"/idp/idx/challenge"},"ipAddress":"198.51.100.23"}},"userProfile":{"firstName":"Alice","lastName":"Doe","login":"alice%d@example.com","userId":"00ubench%012d"},"messageProfile":{"phoneNumber":"%s","otpExpires":"%s","deliveryChannel":"Voice call","otpCode":"%06d","locale":"en-US"}}}`,
			i, at, k, k, phones[k], exp, (i*7919)%1000000)
	}
	return out
}

// benchLogSink discards log lines, except the first few, which join the
// suite's leak scan (TestMain fails a run that logged nothing).
type benchLogSink struct{ n atomic.Int64 }

func (s *benchLogSink) Write(p []byte) (int, error) {
	if s.n.Add(1) <= 4 {
		_, _ = suite.Write(p)
	}
	return len(p), nil
}

// benchHook builds the function as deployed: header auth, guard in memory,
// JSON logs, against fake8x8. The limits are raised so that the guard
// counts every send but refuses none (the happy path is what is measured).
func benchHook(tb testing.TB, fake8x8 string) http.Handler {
	env := deployedEnv(fake8x8, fake8x8)
	env["RATE_LIMIT_PER_PHONE"] = "1000/15m"
	env["RATE_LIMIT_PER_USER"] = "1000/1h"
	f := New(Options{Getenv: func(k string) string { return env[k] }, Stdout: &benchLogSink{}})
	if _, err := f.get(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return f
}

// floorHandler is the floor (benchtest.Floor) against fake8x8.
func floorHandler(fake8x8 string) http.Handler {
	return benchtest.Floor(fake8x8, testSub, testAPIKey, testCaller)
}

// loadResult is one measured run.
type loadResult struct {
	n        int
	elapsed  time.Duration
	p50, p99 time.Duration
	cpu      time.Duration // user + system of the whole process
	mallocs  uint64
	lat      []time.Duration
}

func (r loadResult) reqPerSec() float64 { return float64(r.n) / r.elapsed.Seconds() }
func (r loadResult) cpuPerReq() float64 {
	return float64(r.cpu.Microseconds()) / float64(r.n)
}
func (r loadResult) allocsPerReq() float64 { return float64(r.mallocs) / float64(r.n) }

func (r loadResult) report(b *testing.B) {
	b.ReportMetric(r.reqPerSec(), "req/s")
	b.ReportMetric(float64(r.p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(r.p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(r.cpuPerReq(), "CPU-µs/req")
	b.ReportMetric(r.allocsPerReq(), "allocs/req")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        2 * benchConcurrency,
		MaxIdleConnsPerHost: 2 * benchConcurrency,
		IdleConnTimeout:     time.Minute,
	}, Timeout: 10 * time.Second}
}

// drive sends bodies to url from c clients at once and checks each answer
// is a SUCCESSFUL command. lat, when not nil, receives each latency.
func drive(url string, hc *http.Client, bodies [][]byte, c int, lat []time.Duration) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Pointer[error]
	for range c {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) || firstErr.Load() != nil {
					return
				}
				start := time.Now()
				err := post(hc, url, bodies[i])
				if lat != nil {
					lat[i] = time.Since(start)
				}
				if err != nil {
					firstErr.CompareAndSwap(nil, &err)
					return
				}
			}
		})
	}
	wg.Wait()
	if p := firstErr.Load(); p != nil {
		return *p
	}
	return nil
}

var successful = []byte(`"status":"SUCCESSFUL"`)

func post(hc *http.Client, url string, body []byte) error {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = http.Header{
		"Authorization": {testSecret},
		"Content-Type":  {"application/json"},
		"Traceparent":   {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, successful) {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, b)
	}
	return nil
}

// target is a handler served on loopback, with a warm client.
type target struct {
	srv *httptest.Server
	hc  *http.Client
}

// newTarget serves h and runs a warm-up pass over phones (connections, the
// phone cache), with eventIds distinct from the measured ones.
func newTarget(b *testing.B, h http.Handler, phones []string) *target {
	t := &target{srv: httptest.NewServer(h), hc: loadClient()}
	b.Cleanup(func() { t.hc.CloseIdleConnections(); t.srv.Close() })
	warm := benchBodies(b, len(phones), phones)
	for i := range warm {
		warm[i] = bytes.Replace(warm[i], []byte(`"bench`), []byte(`"warm-`), 1)
	}
	if err := drive(t.srv.URL, t.hc, warm, benchConcurrency, nil); err != nil {
		b.Fatal(err)
	}
	return t
}

// measure sends bodies at benchConcurrency; the caller runs the timer.
func (t *target) measure(b *testing.B, bodies [][]byte) loadResult {
	lat := make([]time.Duration, len(bodies))
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := processCPU()
	start := time.Now()
	err := drive(t.srv.URL, t.hc, bodies, benchConcurrency, lat)
	elapsed := time.Since(start)
	cpu1 := processCPU()
	runtime.ReadMemStats(&ms1)
	if err != nil {
		b.Fatal(err)
	}
	return loadResult{n: len(bodies), elapsed: elapsed, cpu: cpu1 - cpu0, mallocs: ms1.Mallocs - ms0.Mallocs, lat: lat}
}

// add merges a round into r.
func (r *loadResult) add(o loadResult) {
	r.n += o.n
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.mallocs += o.mallocs
	r.lat = append(r.lat, o.lat...)
}

func (r *loadResult) percentiles() {
	slices.Sort(r.lat)
	r.p50, r.p99 = r.lat[len(r.lat)/2], r.lat[len(r.lat)*99/100]
}

// alone measures b.N requests to h.
func alone(b *testing.B, h http.Handler, phones []string) {
	t := newTarget(b, h, phones)
	bodies := benchBodies(b, b.N, phones)
	runtime.GC()
	b.ResetTimer()
	r := t.measure(b, bodies)
	b.StopTimer()
	r.percentiles()
	r.report(b)
}

// pairRounds is how many floor/hook rounds the paired run alternates, so
// that a busy neighbour on the machine weighs on both alike.
const pairRounds = 10

// BenchmarkHook measures the floor and the hook alone (profile these:
// -bench 'Hook/hook$'), then both in alternating rounds against one fake
// 8x8 (Hook/paired), which reports the hook's figures and the ratios
// hook/floor (x-floor-…).
func BenchmarkHook(b *testing.B) {
	phones := benchPhones(b, 256)
	b.Run("floor", func(b *testing.B) {
		alone(b, floorHandler(newFast8x8(b).URL), phones)
	})
	b.Run("hook", func(b *testing.B) {
		alone(b, benchHook(b, newFast8x8(b).URL), phones)
	})
	b.Run("paired", func(b *testing.B) {
		fake := newFast8x8(b).URL
		fl := newTarget(b, floorHandler(fake), phones)
		hk := newTarget(b, benchHook(b, fake), phones)
		bodies := benchBodies(b, b.N, phones)
		var floor, hook loadResult
		runtime.GC()
		b.ResetTimer()
		for i := range pairRounds {
			lo, hi := i*b.N/pairRounds, (i+1)*b.N/pairRounds
			if lo == hi {
				continue
			}
			b.StopTimer()
			floor.add(fl.measure(b, bodies[lo:hi]))
			b.StartTimer()
			hook.add(hk.measure(b, bodies[lo:hi]))
		}
		b.StopTimer()
		floor.percentiles()
		hook.percentiles()
		hook.report(b)
		b.ReportMetric(hook.reqPerSec()/floor.reqPerSec(), "x-floor-req/s")
		b.ReportMetric(float64(hook.p99)/float64(floor.p99), "x-floor-p99")
		b.ReportMetric(hook.cpuPerReq()/floor.cpuPerReq(), "x-floor-CPU")
		b.ReportMetric(hook.allocsPerReq()/floor.allocsPerReq(), "x-floor-allocs")
	})
}

// buildCmd builds the command pkg ("./cmd") into dir.
func buildCmd(b *testing.B, dir, pkg string) string {
	bin := filepath.Join(dir, filepath.Base(pkg))
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		b.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// freePort returns a port that was free a moment ago.
func freePort(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// started is a running ./cmd.
type started struct {
	cmd    *exec.Cmd
	exited chan struct{}
	out    *logtest.Buffer
}

func startCmd(b *testing.B, bin string, env map[string]string) *started {
	cmd := exec.Command(bin)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	s := &started{cmd: cmd, exited: make(chan struct{}), out: &logtest.Buffer{}}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(s.exited) }()
	return s
}

func (s *started) stop() {
	_ = s.cmd.Process.Kill()
	<-s.exited
	// The first lines join the leak scan.
	sc := bufio.NewScanner(strings.NewReader(s.out.String()))
	for i := 0; i < 3 && sc.Scan(); i++ {
		_, _ = suite.Write(append(sc.Bytes(), '\n'))
	}
}

// firstAnswer posts body to url until it is answered 200, backing off a
// little between refused connections; it gives up if the process exits.
func firstAnswer(s *started, url string, body []byte) error {
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	wait := 100 * time.Microsecond
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := post(hc, url, body)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within 10s: %w\n%s", err, s.out)
		}
		t := time.NewTimer(wait)
		select {
		case <-s.exited:
			t.Stop()
			return fmt.Errorf("process exited: %s", s.out)
		case <-t.C:
		}
		wait = min(2*wait, 2*time.Millisecond)
	}
}

// BenchmarkColdStart times exec → first answered hook of the built ./cmd,
// secrets from the environment, in dry run:
//
//	go test -run '^$' -bench ColdStart -benchtime 20x .
func BenchmarkColdStart(b *testing.B) {
	if testing.Short() {
		b.Skip("builds and starts ./cmd")
	}
	bin := buildCmd(b, b.TempDir(), "./cmd")
	body := benchBodies(b, 1, benchPhones(b, 1))[0]
	var hwm float64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		port := freePort(b)
		env := map[string]string{"PORT": port, "HOST": "127.0.0.1", "OKTA_SECRET": testSecret, "DRY_RUN": "true",
			"GOOGLE_CLOUD_PROJECT": "acme-hooks", "LOG_FORMAT": "json"}
		b.StartTimer()
		s := startCmd(b, bin, env)
		err := firstAnswer(s, "http://127.0.0.1:"+port+"/", body)
		b.StopTimer()
		if err != nil {
			s.stop()
			b.Fatal(err)
		}
		hwm = max(hwm, vmHWM(s.cmd.Process.Pid))
		s.stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/start")
	b.ReportMetric(hwm, "peak-RSS-MiB")
}

// vmHWM is a process's peak resident set, in MiB (Linux; 0 elsewhere).
func vmHWM(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// procCPU is a process's user + system CPU time from /proc (10 ms ticks).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// processRun is one measured process.
type processRun struct {
	reqPerSec, p99ms, cpuPerReq, rssMiB float64
}

// measureProcess starts bin with env (one core: GOMAXPROCS=1), sends b.N
// requests at benchConcurrency after a warm-up pass, and measures the
// process alone: its CPU per request and its peak RSS.
func measureProcess(b *testing.B, bin string, env map[string]string, phones []string) processRun {
	port := freePort(b)
	env["PORT"], env["HOST"], env["GOMAXPROCS"] = port, "127.0.0.1", "1"
	s := startCmd(b, bin, env)
	defer s.stop()
	url := "http://127.0.0.1:" + port + "/"
	if err := firstAnswer(s, url, benchBodies(b, 1, phones)[0]); err != nil {
		b.Fatal(err)
	}
	hc := loadClient()
	defer hc.CloseIdleConnections()
	warm := benchBodies(b, len(phones), phones)
	for i := range warm {
		warm[i] = bytes.Replace(warm[i], []byte(`"bench`), []byte(`"warm-`), 1)
	}
	if err := drive(url, hc, warm, benchConcurrency, nil); err != nil {
		b.Fatal(err)
	}
	bodies := benchBodies(b, b.N, phones)
	lat := make([]time.Duration, b.N)
	pid := s.cmd.Process.Pid
	cpu0, err := procCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	err = drive(url, hc, bodies, benchConcurrency, lat)
	elapsed := time.Since(start)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	cpu1, _ := procCPU(pid)
	slices.Sort(lat)
	r := processRun{
		reqPerSec: float64(b.N) / elapsed.Seconds(),
		p99ms:     float64(lat[len(lat)*99/100].Microseconds()) / 1000,
		cpuPerReq: float64((cpu1 - cpu0).Microseconds()) / float64(b.N),
		rssMiB:    vmHWM(pid),
	}
	b.ReportMetric(r.reqPerSec, "req/s")
	b.ReportMetric(r.p99ms, "p99-ms")
	b.ReportMetric(r.cpuPerReq, "server-CPU-µs/req")
	b.ReportMetric(r.rssMiB, "peak-RSS-MiB")
	return r
}

// BenchmarkProcess runs the floor (internal/benchtest/floor) and the
// built ./cmd as separate processes on one core each (GOMAXPROCS=1),
// delivering to a fast fake 8x8 in this process, and measures only the
// server process: its CPU per request (from /proc, 10 ms ticks: use
// thousands of requests) and its peak RSS. The hook's log lines go to a
// pipe, as on Cloud Run.
//
//	go test -run '^$' -bench Process -benchtime 2000x .
func BenchmarkProcess(b *testing.B) {
	if testing.Short() {
		b.Skip("builds and starts processes")
	}
	dir := b.TempDir()
	hookBin := buildCmd(b, dir, "./cmd")
	floorBin := buildCmd(b, dir, "./internal/benchtest/floor")
	phones := benchPhones(b, 256)
	var floor processRun
	b.Run("floor", func(b *testing.B) {
		fake := newFast8x8(b)
		floor = measureProcess(b, floorBin, map[string]string{"EIGHTYEIGHTX_VOICE_URL": fake.URL,
			"EIGHTYEIGHTX_SUBACCOUNT_ID": testSub, "EIGHTYEIGHTX_API_KEY": testAPIKey, "EIGHTYEIGHTX_SOURCE_NUMBER": testCaller}, phones)
	})
	b.Run("hook", func(b *testing.B) {
		fake := newFast8x8(b)
		r := measureProcess(b, hookBin, map[string]string{
			"K_SERVICE": "okta-telephony-hook", "OKTA_SECRET": testSecret,
			"EIGHTYEIGHTX_SUBACCOUNT_ID": testSub, "EIGHTYEIGHTX_API_KEY": testAPIKey,
			"EIGHTYEIGHTX_SOURCE_NUMBER": testCaller, "EIGHTYEIGHTX_VOICE_URL": fake.URL, "EIGHTYEIGHTX_SMS_URL": fake.URL,
			"GOOGLE_CLOUD_PROJECT": "acme-hooks", "LOG_FORMAT": "json",
			"RATE_LIMIT_PER_PHONE": "1000/15m", "RATE_LIMIT_PER_USER": "1000/1h"}, phones)
		if floor.cpuPerReq > 0 {
			b.ReportMetric(r.reqPerSec/floor.reqPerSec, "x-floor-req/s")
			b.ReportMetric(r.p99ms/floor.p99ms, "x-floor-p99")
			b.ReportMetric(r.cpuPerReq/floor.cpuPerReq, "x-floor-CPU")
		}
	})
}
