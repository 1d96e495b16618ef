//go:build unix

package logging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
)

// A process whose stdout is a pipe the reader has left is killed by
// SIGPIPE on its next write, whatever the Writer does, unless the process
// ignores SIGPIPE: then the write fails with EPIPE and the Writer counts
// it. The function package must call signal.Ignore(syscall.SIGPIPE) at
// start-up; this test runs a child process both ways to show it.
func TestBrokenStdoutNeedsSIGPIPEIgnored(t *testing.T) {
	if os.Getenv("LOGGING_SIGPIPE_CHILD") != "" {
		sigpipeChild()
		return
	}
	tests := []struct {
		mode       string
		wantKilled bool
	}{
		{"default", true},
		{"ignore", false},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestBrokenStdoutNeedsSIGPIPEIgnored$")
			cmd.Env = append(os.Environ(), "LOGGING_SIGPIPE_CHILD="+tt.mode)
			cmd.Stdout = w
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr limitedBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// The reader leaves before the child writes: the child waits
			// for its stdin to close.
			w.Close()
			r.Close()
			stdin.Close()
			err = cmd.Wait()
			var exit *exec.ExitError
			killed := errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGPIPE
			if killed != tt.wantKilled {
				t.Errorf("killed by SIGPIPE = %v, want %v (err %v, stderr %q)", killed, tt.wantKilled, err, stderr.String())
			}
			if !tt.wantKilled && (err != nil || stderr.String() != "dropped 3\n") {
				t.Errorf("child: %v, stderr %q", err, stderr.String())
			}
		})
	}
}

func sigpipeChild() {
	if os.Getenv("LOGGING_SIGPIPE_CHILD") == "ignore" {
		signal.Ignore(syscall.SIGPIPE)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	w := NewWriter(os.Stdout, WriterOptions{})
	for i := range 3 {
		_, _ = fmt.Fprintf(w, "line %d\n", i)
	}
	_ = w.Close(context.Background())
	fmt.Fprintf(os.Stderr, "dropped %d\n", w.Dropped())
	os.Exit(0)
}

// limitedBuffer keeps the first 4 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.b = append(l.b, p[:min(len(p), 4096-len(l.b))]...)
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
