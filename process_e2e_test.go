package telephonyhook

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/proctest"
)

// These tests run the function the way Cloud Run does: as a process whose
// main is the one Google's Go buildpack generates (internal/buildpackmain:
// blank import, funcframework.Start, no shutdown of its own).

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
	fake := eightbyeighttest.New(t)
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
	slow := eightbyeighttest.New(t)
	gate := slow.Hold()
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
		<-gate.Arrived
	}
	sent := time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Stdout.WaitFor("shutting down", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	gate.Release() // 8x8 answers now, after the SIGTERM
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
	if got := slow.Count(); got != inFlight {
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
			fake := eightbyeighttest.New(t)
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
					t.Fatalf("request %d: %v\nstderr: %s", i, err, p.Stderr)
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

// LOG_LEVEL holds from the first line to the last: with LOG_LEVEL=error
// a start and a SIGTERM write no INFO line.
func TestLogLevelFromStartToExit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the buildpack main")
	}
	fake := eightbyeighttest.New(t)
	port := proctest.FreePort(t)
	env := processEnv(port, fake.URL)
	env["LOG_LEVEL"] = "error"
	p := proctest.Start(t, proctest.Build(t, "./internal/buildpackmain"), proctest.Options{Env: env})
	if err := p.WaitHealthy("http://127.0.0.1:"+port+"/healthz", 20*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.ExitCode(); code != 0 {
		t.Errorf("exit code %d, want 0\nstderr: %s", code, p.Stderr)
	}
	if out := p.Stdout.String(); strings.Contains(out, `"severity":"INFO"`) {
		t.Errorf("LOG_LEVEL=error, and INFO lines were written:\n%s", out)
	}
	collectLogs(p.Stdout.String())
}
