package telephonyhook

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/proctest"
)

// These tests run the function the way Cloud Run does: as a process whose
// main is the one Google's Go buildpack generates (internal/buildpackmain:
// blank import, funcframework.Start, no shutdown of its own).

// gated8x8 is an 8x8 that takes every request and answers only when
// released: a slow 8x8 that already has the callflow.
type gated8x8 struct {
	*httptest.Server
	arrived atomic.Int64
	got     chan struct{} // one value per request received
	release chan struct{}
}

func newGated8x8(t *testing.T) *gated8x8 {
	g := &gated8x8{got: make(chan struct{}, 1024), release: make(chan struct{})}
	var n atomic.Int64
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method != http.MethodPost { // the start-up: warm-up, speech profiles
			w.WriteHeader(http.StatusNotFound)
			return
		}
		g.arrived.Add(1)
		g.got <- struct{}{}
		<-g.release
		w.Header().Set("Content-Type", "application/json")
		id := fmt.Sprintf("%08d-376b-11ef-a28b-0582ff0039d5", n.Add(1))
		if strings.HasSuffix(r.URL.Path, "/messages") {
			fmt.Fprintf(w, `{"umid":%q,"status":{"code":"QUEUED","description":"queued"}}`, id)
			return
		}
		fmt.Fprintf(w, `{"sessionId":%q,"sessionStatus":"CREATED","statusCode":1,"statusMessage":"Created"}`, id)
	}))
	t.Cleanup(func() {
		select {
		case <-g.release:
		default:
			close(g.release)
		}
		g.Close()
	})
	return g
}

// processEnv is a deployed configuration for a process (Cloud Run sets
// K_SERVICE, PORT and FUNCTION_TARGET).
func processEnv(port, eightByEight string) map[string]string {
	env := deployedEnv(eightByEight, eightByEight)
	env["PORT"] = port
	env["FUNCTION_TARGET"] = FunctionName
	env["RATE_LIMIT_PER_PHONE"] = "0"
	env["RATE_LIMIT_PER_USER"] = "0"
	return env
}

// The function is registered under the name Cloud Run deploys
// (--function OktaTelephonyHook, which sets FUNCTION_TARGET): the
// buildpack's main serves it under that name, and under no other.
func TestRegisteredUnderItsName(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the buildpack main")
	}
	bin := proctest.Build(t, "./internal/buildpackmain")
	fake := newGated8x8(t)
	port := proctest.FreePort(t)
	p := proctest.Start(t, bin, proctest.Options{Env: processEnv(port, fake.URL)})
	if err := p.WaitHealthy("http://127.0.0.1:"+port+"/healthz", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	env := processEnv(proctest.FreePort(t), fake.URL)
	env["FUNCTION_TARGET"] = "TelephonyHook"
	other := proctest.Start(t, bin, proctest.Options{Env: env})
	if code := other.ExitCode(); code == 0 || !strings.Contains(other.Stderr.String(), "TelephonyHook") {
		t.Errorf("FUNCTION_TARGET=TelephonyHook: exit %d, stderr %s; want the framework to refuse an unknown name", code, other.Stderr)
	}
}

// SIGTERM with requests in flight on the deployed path: every request
// already taken is answered (8x8 has its callflow: an empty reply would
// make Okta send a second code), then the process exits 0, well inside
// Cloud Run's 10 s.
func TestSIGTERMDrainsRequestsInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the buildpack main")
	}
	const inFlight = 50
	slow := newGated8x8(t)
	port := proctest.FreePort(t)
	p := proctest.Start(t, proctest.Build(t, "./internal/buildpackmain"), proctest.Options{Env: processEnv(port, slow.URL)})
	base := "http://127.0.0.1:" + port
	if err := p.WaitHealthy(base+"/healthz", 20*time.Second); err != nil {
		t.Fatal(err)
	}

	type result struct {
		status int
		body   string
		err    error
	}
	results := make(chan result, inFlight)
	hc := &http.Client{Timeout: 5 * time.Second}
	for i := range inFlight {
		body := voice("+14155550123", "482913", "en-US")
		body.EventID = fmt.Sprintf("sigterm-%d-%x", i, time.Now().UnixNano())
		go func() {
			req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(string(body.Body())))
			req.Header = oktatest.Headers()
			resp, err := hc.Do(req)
			if err != nil {
				results <- result{err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			results <- result{resp.StatusCode, string(b), err}
		}()
	}
	for range inFlight { // every call is with 8x8, waiting for its answer
		<-slow.got
	}
	sent := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Stdout.WaitFor("shutting down", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	close(slow.release) // 8x8 answers now, after the SIGTERM
	answered := 0
	for range inFlight {
		r := <-results
		switch {
		case r.err != nil:
			t.Errorf("a request in flight got no answer: %v", r.err)
		case r.status != 200 || !strings.Contains(r.body, `"SUCCESSFUL"`):
			t.Errorf("HTTP %d %s", r.status, r.body)
		default:
			answered++
		}
	}
	code := p.ExitCode()
	took := time.Since(sent)
	if code != 0 {
		t.Errorf("exit code %d, want 0\nstderr: %s", code, p.Stderr)
	}
	if took > 5*time.Second {
		t.Errorf("exit %v after SIGTERM: Cloud Run kills at 10 s", took)
	}
	if got := slow.arrived.Load(); got != inFlight {
		t.Errorf("8x8 received %d requests, want %d (no retry, no second code)", got, inFlight)
	}
	t.Logf("SIGTERM with %d requests in flight: %d answered, exit code %d, %v from SIGTERM to exit", inFlight, answered, code, took.Round(time.Millisecond))
	collectLogs(p.Stdout.String())
}

// A stalled stdout (a log reader that stopped reading) and a closed one
// (the reader left) must not hold Okta's answers back or kill the process.
func TestStdoutStalledOrClosed(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the buildpack main")
	}
	for _, tt := range []struct {
		name  string
		close bool
	}{
		{"stalled: nobody reads the pipe", false},
		{"closed: the reader left (SIGPIPE)", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fake := newGated8x8(t)
			close(fake.release)
			go func() {
				for range fake.got {
				}
			}()
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			port := proctest.FreePort(t)
			p := proctest.Start(t, proctest.Build(t, "./internal/buildpackmain"), proctest.Options{Env: processEnv(port, fake.URL), Stdout: w})
			w.Close() // the child holds the write end
			if tt.close {
				r.Close()
			} else {
				t.Cleanup(func() { r.Close() })
			}
			base := "http://127.0.0.1:" + port
			if err := p.WaitHealthy(base+"/healthz", 20*time.Second); err != nil {
				t.Fatal(err)
			}
			// Each answer logs a ~1 KiB line: far more than a pipe holds.
			hc := &http.Client{Timeout: 3 * time.Second}
			for i := range 300 {
				body := sms("+14155550123", "482913")
				body.EventID = fmt.Sprintf("stdout-%d-%x", i, time.Now().UnixNano())
				req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(string(body.Body())))
				req.Header = oktatest.Headers()
				start := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					t.Fatalf("request %d: %v (process exited: %v)\nstderr: %s", i, err, exited(p), p.Stderr)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !strings.Contains(string(b), "SUCCESSFUL") {
					t.Fatalf("request %d: HTTP %d %s", i, resp.StatusCode, b)
				}
				if took := time.Since(start); took > 2500*time.Millisecond {
					t.Fatalf("request %d answered in %v: the log write held it", i, took)
				}
			}
			if err := p.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if code := p.ExitCode(); code != 0 {
				t.Errorf("exit code %d, want 0\nstderr: %s", code, p.Stderr)
			}
		})
	}
}

func exited(p *proctest.Process) bool {
	select {
	case <-p.Exited():
		return true
	default:
		return false
	}
}

// collectLogs adds a process's log lines to the suite's leak scan, and
// checks they are all JSON.
func collectLogs(out string) {
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(strings.TrimSpace(string(line))) == 0 {
			continue
		}
		if !json.Valid(line) {
			line = []byte(fmt.Sprintf("NOT JSON: %q", line))
		}
		_, _ = suite.Write(append(line, '\n'))
	}
}

// BenchmarkSIGTERMSlow8x8 replays the reported failure with real time: a
// voice call to an 8x8 that answers after 1.5 s, SIGTERM 0.4 s into it,
// with 50 calls in flight, on the buildpack's main:
//
//	go test -run '^$' -bench SIGTERMSlow8x8 -benchtime 3x .
func BenchmarkSIGTERMSlow8x8(b *testing.B) {
	if testing.Short() {
		b.Skip("builds and runs the buildpack main")
	}
	const inFlight, answerAfter, signalAfter = 50, 1500 * time.Millisecond, 400 * time.Millisecond
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		time.Sleep(answerAfter) // the slow 8x8 under test, not a test's wait
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"sessionId":"5a8e7c3e-376b-11ef-a28b-0582ff0039d5","sessionStatus":"CREATED","statusCode":1,"statusMessage":"Created"}`)
	}))
	defer slow.Close()
	bin := proctest.Build(b, "./internal/buildpackmain")
	var answered, exitCodes, exitMs float64
	for range b.N {
		port := proctest.FreePort(b)
		p := proctest.Start(b, bin, proctest.Options{Env: processEnv(port, slow.URL)})
		base := "http://127.0.0.1:" + port
		if err := p.WaitHealthy(base+"/healthz", 20*time.Second); err != nil {
			b.Fatal(err)
		}
		ok := make(chan bool, inFlight)
		for range inFlight {
			r := voice("+14155550123", "482913", "en-US")
			go func() {
				req, _ := http.NewRequest(http.MethodPost, base+"/", strings.NewReader(string(r.Body())))
				req.Header = oktatest.Headers()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					ok <- false
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				ok <- resp.StatusCode == 200 && strings.Contains(string(body), "SUCCESSFUL")
			}()
		}
		time.Sleep(signalAfter) // SIGTERM 0.4 s into the calls, as reported
		sent := time.Now()
		_ = p.Signal(syscall.SIGTERM)
		code := p.ExitCode()
		exitMs += float64(time.Since(sent).Milliseconds())
		for range inFlight {
			if <-ok {
				answered++
			}
		}
		exitCodes += float64(code)
	}
	b.ReportMetric(answered/float64(b.N), "answered")
	b.ReportMetric(exitCodes/float64(b.N), "exit-code")
	b.ReportMetric(exitMs/float64(b.N), "ms-SIGTERM-to-exit")
}
