package proctest

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// helperEnv makes the test binary, started by a test, the process under
// measurement instead of a test run.
const helperEnv = "PROCTEST_HELPER"

// helperMiB is what the helper keeps resident.
const helperMiB = 48

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		helper()
		return
	}
	os.Exit(m.Run())
}

// helper touches helperMiB MiB, hashes it a few times (CPU), says so and
// waits to be killed.
func helper() {
	b := make([]byte, helperMiB<<20)
	for i := range b {
		b[i] = byte(i)
	}
	var sum [32]byte
	for range 8 {
		sum = sha256.Sum256(b)
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM)
	fmt.Printf("ready %x\n", sum[:2])
	<-c
}

// A process's CPU time and memory, as the benchmarks read them: the peak
// covers what it touched, the CPU what it computed; once it has exited,
// both are errors, never zeros that would pass for a measurement.
func TestCPUTimeAndMemory(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := Start(t, exe, Options{Env: map[string]string{helperEnv: "1"}})
	if err := p.Stdout.WaitFor("ready", 30e9); err != nil {
		t.Fatal(err)
	}
	rss, peak, err := p.Memory()
	if err != nil {
		t.Fatal(err)
	}
	if rss < helperMiB<<20 || peak < rss {
		t.Errorf("RSS %d, peak %d: want at least %d MiB resident, peak ≥ RSS", rss, peak, helperMiB)
	}
	cpu, err := p.CPUTime()
	if err != nil {
		t.Fatal(err)
	}
	if cpu <= 0 {
		t.Errorf("CPU time %v after hashing %d MiB 8 times", cpu, helperMiB)
	}
	p.Kill()
	if _, _, err := p.Memory(); err == nil {
		t.Error("Memory of an exited process: no error")
	}
	if _, err := p.CPUTime(); err == nil {
		t.Error("CPUTime of an exited process: no error")
	}
}
