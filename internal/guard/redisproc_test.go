package guard

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/proctest"
)

// redisProc is a redis-server process that a test starts on a free port
// and then pauses, kills and restarts to inject the faults production sees
// (a Memorystore failover, a stalled VM).
type redisProc struct {
	t    testing.TB
	bin  string
	port string
	cmd  *exec.Cmd
}

// startRedisServer runs redis-server ($REDIS_SERVER, else from PATH) with
// no persistence, so a kill loses everything as a failover without
// replication does. Without the binary the test is skipped, unless
// REQUIRE_REDIS_SERVER=1 (CI sets it), then it fails.
func startRedisServer(t testing.TB) *redisProc {
	t.Helper()
	bin := os.Getenv("REDIS_SERVER")
	if bin == "" {
		bin, _ = exec.LookPath("redis-server")
	}
	if bin == "" {
		if os.Getenv("REQUIRE_REDIS_SERVER") == "1" {
			t.Fatal("redis-server not found (set REDIS_SERVER or put it on PATH) and REQUIRE_REDIS_SERVER=1")
		}
		t.Skip("redis-server not found: install it (apt-get install redis-server) or set REDIS_SERVER; REQUIRE_REDIS_SERVER=1 turns this skip into a failure")
	}
	p := &redisProc{t: t, bin: bin}
	t.Cleanup(p.kill)
	var err error
	// Another process may take the free port between our probe and the
	// server's bind; try a few.
	for range 3 {
		p.port = proctest.FreePort(t)
		if err = p.start(); err == nil {
			return p
		}
	}
	t.Fatal(err)
	return nil
}

func (p *redisProc) url() string { return "redis://127.0.0.1:" + p.port + "/0" }

// start runs the server and returns once it accepts connections (it says
// so on stdout).
func (p *redisProc) start() error {
	cmd := exec.Command(p.bin, "--port", p.port, "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return err
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		var seen []string
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- nil
				_, _ = io.Copy(io.Discard, out)
				return
			}
			seen = append(seen, sc.Text())
		}
		ready <- errors.New("redis-server did not start:\n" + strings.Join(seen, "\n"))
	}()
	select {
	case err = <-ready:
	case <-time.After(10 * time.Second):
		err = errors.New("redis-server not ready after 10s")
	}
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return err
	}
	p.cmd = cmd
	return nil
}

// pause stops the process (SIGSTOP): connections stay open, commands get
// no answer, as from a stalled VM.
func (p *redisProc) pause() { p.signal(syscall.SIGSTOP) }

func (p *redisProc) resume() { p.signal(syscall.SIGCONT) }

func (p *redisProc) signal(s syscall.Signal) {
	if err := p.cmd.Process.Signal(s); err != nil {
		p.t.Fatal(err)
	}
}

// kill ends the process; its data is gone.
func (p *redisProc) kill() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// restart starts an empty server on the same port.
func (p *redisProc) restart() {
	p.kill()
	if err := p.start(); err != nil {
		p.t.Fatal(err)
	}
}
