package logging

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/logtest"
)

// failing refuses every write, as stdout does once its reader has gone.
type failing struct{}

func (failing) Write([]byte) (int, error) { return 0, syscall.EPIPE }

// A stalled output never holds a Write up; once it drains, the lines come
// out in order and a line says how many did not fit.
func TestWriterStalledOutput(t *testing.T) {
	out := logtest.NewStalled()
	w := NewWriter(out)
	const n = queueLines + 500 // more than the queue holds
	done := make(chan struct{})
	go func() {
		for i := range n {
			fmt.Fprintf(w, `{"n":%d}`+"\n", i)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second): // a bound for the failure case only
		t.Fatal("Write blocked on a stalled output")
	}
	<-out.Started()
	out.Release()
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if !strings.HasPrefix(lines[0], `{"n":0}`) {
		t.Errorf("first line %q", lines[0])
	}
	written := 0
	for _, l := range lines {
		if strings.HasPrefix(l, `{"n":`) {
			written++
		}
	}
	report := `"message":"log lines dropped","dropped":` + fmt.Sprint(n-written) + "}"
	if written == n || !strings.Contains(out.String(), report) {
		t.Errorf("%d of %d lines written; want the rest reported as %s; output ends %q", written, n, report, lines[len(lines)-1])
	}
}

func TestWriterFailingOutput(t *testing.T) {
	w := NewWriter(failing{})
	if n, err := w.Write([]byte("line\n")); n != 5 || err != nil {
		t.Errorf("Write = %d, %v; want 5, nil (a log line never fails its caller)", n, err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := w.dropped.Load(); got != 1 {
		t.Errorf("dropped = %d, want 1", got)
	}
	if _, err := w.Write([]byte("after close\n")); err != nil {
		t.Errorf("Write after Close: %v", err)
	}
}

// Close gives up on a stalled output when its context ends.
func TestWriterCloseIsBounded(t *testing.T) {
	out := logtest.NewStalled()
	defer out.Release()
	w := NewWriter(out)
	w.Write([]byte("stuck\n"))
	<-out.Started()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want the deadline", err)
	}
}
