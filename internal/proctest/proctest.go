// Package proctest builds the repository's commands and runs them as
// processes for tests and benchmarks: what Cloud Run runs is a process
// (signals, stdout pipes, exit codes), and some guarantees only hold, or
// only fail, there.
package proctest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/logtest"
)

var (
	buildMu  sync.Mutex
	built    = map[string]string{}
	buildDir string
)

// Build compiles the command at import path or relative path pkg once per
// test binary and returns the executable's path.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if bin, ok := built[pkg]; ok {
		return bin
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "proctest-")
		if err != nil {
			tb.Fatal(err)
		}
		buildDir = d
	}
	bin := filepath.Join(buildDir, fmt.Sprintf("cmd%d-%s", len(built), filepath.Base(pkg)))
	out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
	if err != nil {
		tb.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	built[pkg] = bin
	return bin
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// BlackHole returns a loopback address that accepts TCP connections and
// never answers, as a stalled server does (a paused VM, a redis-server
// under SIGSTOP). Everything is closed when the test ends.
func BlackHole(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // read nothing, answer nothing
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// Process is a started command.
type Process struct {
	Cmd    *exec.Cmd
	Stdout *Buffer // nil when the caller gave its own stdout
	Stderr *Buffer
	exited chan struct{}
	state  *os.ProcessState
}

// Options say how to start a process. Env is the whole environment (plus
// PATH and HOME, so `go` and the runtime work). Stdout, when set, replaces
// the captured buffer (a pipe the test controls).
type Options struct {
	Env    map[string]string
	Stdout io.Writer
}

// Start starts bin; it is killed when the test ends.
func Start(tb testing.TB, bin string, o Options) *Process {
	tb.Helper()
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range o.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &Process{Cmd: cmd, Stderr: &Buffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.Stderr
	if o.Stdout != nil {
		cmd.Stdout = o.Stdout
	} else {
		p.Stdout = &Buffer{}
		cmd.Stdout = p.Stdout
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		_ = cmd.Wait()
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	tb.Cleanup(p.Kill)
	return p
}

// Kill ends the process if it still runs and waits for it.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Kill()
	<-p.exited
}

// Signal sends sig.
func (p *Process) Signal(sig syscall.Signal) error { return p.Cmd.Process.Signal(sig) }

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// ExitCode waits for the process and returns its exit code (-1 when a
// signal killed it).
func (p *Process) ExitCode() int {
	<-p.exited
	return p.state.ExitCode()
}

// Pid is the process id.
func (p *Process) Pid() int { return p.Cmd.Process.Pid }

// WaitHealthy polls url until it answers 200, the process exits, or
// timeout passes (a bound for the failure case only).
func (p *Process) WaitHealthy(url string, timeout time.Duration) error {
	hc := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(timeout)
	wait := 200 * time.Microsecond
	for {
		resp, err := hc.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy within %v (last: %v)\nstderr: %s", url, timeout, err, p.Stderr)
		}
		t := time.NewTimer(wait)
		select {
		case <-p.exited:
			t.Stop()
			return errors.New("process exited before it was healthy\nstderr: " + p.Stderr.String())
		case <-t.C:
		}
		wait = min(2*wait, 20*time.Millisecond)
	}
}

// Buffer collects a process's output; it can wait for a line to appear.
type Buffer = logtest.Buffer

// CPUTime is the process's user + system CPU time so far, from /proc
// (Linux; in clock ticks of 10 ms: measure thousands of requests).
func (p *Process) CPUTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}

// Memory is the process's resident set now (VmRSS) and at its peak so far
// (VmHWM), in bytes, from /proc (Linux).
func (p *Process) Memory() (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.Pid()))
	if err != nil {
		return 0, 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc status %s: %w", k, err)
		}
		if k == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	if rss == 0 || peak == 0 {
		return 0, 0, errors.New("no VmRSS or VmHWM in /proc status")
	}
	return rss, peak, nil
}
