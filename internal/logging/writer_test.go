package logging

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/logtest"
)

// deadlockGuard bounds every wait in these tests. It asserts nothing about
// speed: a Write that should return at once and does not would hang.
const deadlockGuard = 10 * time.Second

// recorder keeps each Write call.
type recorder struct {
	mu     sync.Mutex
	writes []string
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes = append(r.writes, string(p))
	return len(p), nil
}

func (r *recorder) lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.writes...)
}

// splitLines splits output into its lines, each with its newline.
func splitLines(out string) []string {
	ls := strings.SplitAfter(out, "\n")
	if ls[len(ls)-1] == "" { // after the last newline
		ls = ls[:len(ls)-1]
	}
	return ls
}

// firesAt replaces the Wait timer: a Write's wait ends when the test says.
func firesAt(w *Writer, ch <-chan time.Time) {
	w.after = func(time.Duration) <-chan time.Time { return ch }
}

// fired is a timer channel that has fired already.
func fired() <-chan time.Time {
	ch := make(chan time.Time, 1)
	ch <- time.Time{}
	return ch
}

// within runs f and fails the test if it has not returned by the guard.
func within(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(deadlockGuard):
		t.Fatalf("%s: still blocked after %v", what, deadlockGuard)
	}
}

func closeWriter(t *testing.T, w *Writer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadlockGuard)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// In the normal case each line is on the output, in order, when Write
// returns: nothing is left in a buffer when Cloud Run throttles the CPU.
func TestWriterWritesBeforeReturning(t *testing.T) {
	var out recorder
	w := NewWriter(&out, WriterOptions{Wait: time.Hour}) // the bound never decides here
	defer closeWriter(t, w)
	buf := make([]byte, 0, 64)
	for i := range 100 {
		buf = fmt.Appendf(buf[:0], "line %d\n", i)
		n, err := w.Write(buf)
		if n != len(buf) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		got := out.lines()
		if len(got) != i+1 || got[i] != string(buf) {
			t.Fatalf("after Write %d the output holds %q", i, got)
		}
	}
}

// An output that blocks forever (a stalled pipe reader) never holds Write
// beyond the bound, from any number of goroutines.
func TestWriterBlockedOutputBoundsWrite(t *testing.T) {
	out := logtest.NewStalled()
	w := NewWriter(out, WriterOptions{Wait: time.Millisecond, QueueBytes: 1 << 10})
	defer closeWriter(t, w)
	defer out.Release()
	const goroutines, perG = 50, 20
	within(t, "writes to a blocked output", func() {
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				for i := range perG {
					if _, err := w.Write(fmt.Appendf(nil, "g%d line %d\n", g, i)); err != nil {
						t.Errorf("Write: %v", err)
					}
				}
			})
		}
		wg.Wait()
	})
	// One line is stuck in the output, the queue is full, the rest dropped.
	if d := w.Dropped(); d == 0 || d >= goroutines*perG {
		t.Errorf("dropped %d of %d", d, goroutines*perG)
	}
}

// The defect this Writer fixes: stdout is a pipe nobody reads any more.
// Once the pipe's buffer is full, logging still returns (lines are
// dropped, not waited for); when the reader comes back, it learns how many
// were lost.
func TestWriterUnreadPipe(t *testing.T) {
	r, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w := NewWriter(pw, WriterOptions{Wait: time.Millisecond, QueueBytes: 64 << 10})
	l := slog.New(NewHandler(w, Options{}))
	pad := strings.Repeat("x", 500)
	const lines = 2000 // 1 MB: far more than the pipe and the queue hold
	within(t, "logging to an unread pipe", func() {
		for i := range lines {
			l.Info("okta telephony hook", "i", i, "pad", pad)
		}
	})
	if w.Dropped() == 0 {
		t.Fatal("nothing dropped: did the pipe take 1 MB?")
	}
	read := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		read <- string(b)
	}()
	closeWriter(t, w)
	pw.Close()
	var out string
	within(t, "reading the pipe", func() { out = <-read })
	// Drops are reported whenever a line goes through again, so possibly
	// in several lines.
	var logged, reported int
	for _, line := range strings.SplitAfter(out, "\n") {
		var e struct {
			Message      string
			DroppedLines int
		}
		if line == "" {
			continue
		}
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("%v: %q", err, line)
		}
		if e.DroppedLines == 0 {
			logged++
			continue
		}
		reported += e.DroppedLines
		if want := fmt.Sprintf("%d log lines dropped: stdout was blocked", e.DroppedLines); e.Message != want {
			t.Errorf("message %q, want %q", e.Message, want)
		}
	}
	if logged+reported != lines || uint64(reported) != w.Dropped() {
		t.Errorf("%d lines read, %d reported dropped, %d dropped: want %d in all", logged, reported, w.Dropped(), lines)
	}
}

// Once a line has waited past the bound, later Writes do not wait at all
// until the output catches up; then they wait again.
func TestWriterStalledWritesDoNotWait(t *testing.T) {
	out := logtest.NewStalled()
	w := NewWriter(out, WriterOptions{})
	timeout := make(chan time.Time, 1)
	firesAt(w, timeout) // a Write's wait ends only when this fires

	timeout <- time.Time{}
	within(t, "the first Write, once its bound passed", func() { _, _ = w.Write([]byte("first\n")) })
	within(t, "Writes while stalled, with no timer firing", func() {
		buf := make([]byte, 0, 64) // reused: Write must have copied each line
		for i := range 10 {
			buf = fmt.Appendf(buf[:0], "queued %d\n", i)
			_, _ = w.Write(buf)
		}
	})

	out.Release()
	within(t, "Flush", func() {
		if err := w.Flush(context.Background()); err != nil {
			t.Error(err)
		}
	})
	// Caught up: a Write waits for its line again (the timer never fires).
	within(t, "a Write after catching up", func() { _, _ = w.Write([]byte("after\n")) })
	got := splitLines(out.String()) // read at once: the line must be there already
	want := []string{"first\n"}
	for i := range 10 {
		want = append(want, fmt.Sprintf("queued %d\n", i))
	}
	want = append(want, "after\n")
	if strings.Join(got, "") != strings.Join(want, "") {
		t.Errorf("output %q, want %q", got, want)
	}
	closeWriter(t, w)
}

// Beyond QueueBytes lines are dropped and counted; once the output takes
// lines again, one line reports the count, and the queued lines follow in
// order.
func TestWriterQueueFullDropsAndReports(t *testing.T) {
	out := logtest.NewStalled()
	line := []byte("0123456789abcdef\n") // 17 bytes
	w := NewWriter(out, WriterOptions{QueueBytes: 10 * len(line)})
	firesAt(w, fired())
	var want []string
	for i := range 30 {
		l := fmt.Appendf(nil, "%02d%s", i, line[2:])
		if i < 10 {
			want = append(want, string(l))
		}
		if n, err := w.Write(l); n != len(l) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if d := w.Dropped(); d != 20 {
		t.Errorf("Dropped = %d, want 20", d)
	}
	out.Release()
	within(t, "Flush", func() { _ = w.Flush(context.Background()) })
	closeWriter(t, w)

	var lines []string
	var report map[string]any
	for _, l := range splitLines(out.String()) {
		if strings.HasPrefix(l, "{") {
			if report != nil {
				t.Errorf("second report %s", l)
			}
			if err := json.Unmarshal([]byte(l), &report); err != nil {
				t.Fatalf("%v: %s", err, l)
			}
			continue
		}
		lines = append(lines, l)
	}
	if strings.Join(lines, "") != strings.Join(want, "") {
		t.Errorf("lines %q, want %q", lines, want)
	}
	if report["severity"] != "WARNING" || report["message"] != "20 log lines dropped: stdout was blocked" || report["droppedLines"] != 20.0 {
		t.Errorf("report %v", report)
	}
}

// failing refuses its first n writes with err.
type failing struct {
	recorder
	n   int
	err error
}

func (f *failing) Write(p []byte) (int, error) {
	f.mu.Lock()
	if f.n > 0 {
		f.n--
		f.mu.Unlock()
		return 0, f.err
	}
	f.mu.Unlock()
	return f.recorder.Write(p)
}

type panicking struct{}

func (panicking) Write([]byte) (int, error) { panic("boom") }

// An output that fails (the reader left the pipe, the file is closed, the
// writer panics) never fails or kills the caller: the lines are dropped and
// counted.
func TestWriterFailingOutput(t *testing.T) {
	tests := []struct {
		name string
		out  func(t *testing.T) io.Writer
	}{
		{"os.Pipe, reader closed (EPIPE)", func(t *testing.T) io.Writer {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			r.Close()
			t.Cleanup(func() { w.Close() })
			return w
		}},
		{"io.Pipe, reader closed", func(t *testing.T) io.Writer {
			r, w := io.Pipe()
			r.Close()
			return w
		}},
		{"closed file", func(t *testing.T) io.Writer {
			f, err := os.Create(t.TempDir() + "/log")
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
			return f
		}},
		{"panicking writer", func(*testing.T) io.Writer { return panicking{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWriter(tt.out(t), WriterOptions{Wait: time.Hour})
			within(t, "writes to a failed output", func() {
				for i := range 5 {
					if n, err := w.Write(fmt.Appendf(nil, "line %d\n", i)); n == 0 || err != nil {
						t.Errorf("Write = %d, %v", n, err)
					}
				}
				_ = w.Flush(context.Background())
			})
			if d := w.Dropped(); d != 5 {
				t.Errorf("Dropped = %d, want 5", d)
			}
			closeWriter(t, w)
		})
	}
}

// Once the output works again, the next line is followed by the count of
// lines it refused, with its error.
func TestWriterReportsFailedWrites(t *testing.T) {
	out := &failing{n: 3, err: errors.New("write |1: broken pipe")}
	w := NewWriter(out, WriterOptions{Wait: time.Hour})
	for i := range 4 {
		_, _ = w.Write(fmt.Appendf(nil, "line %d\n", i))
	}
	closeWriter(t, w)
	got := out.lines()
	if len(got) != 2 || got[0] != "line 3\n" {
		t.Fatalf("output %q", got)
	}
	var report struct {
		Severity, Message, Error   string
		DroppedLines, FailedWrites int
	}
	if err := json.Unmarshal([]byte(got[1]), &report); err != nil {
		t.Fatalf("%v: %s", err, got[1])
	}
	want := struct {
		Severity, Message, Error   string
		DroppedLines, FailedWrites int
	}{"WARNING", "3 log lines dropped: writing to stdout failed", "write |1: broken pipe", 3, 3}
	if report != want {
		t.Errorf("report %+v, want %+v", report, want)
	}
}

// Flush waits for the queue to drain, bounded by its context.
func TestWriterFlush(t *testing.T) {
	out := logtest.NewStalled()
	w := NewWriter(out, WriterOptions{})
	firesAt(w, fired())
	for i := range 5 {
		_, _ = w.Write(fmt.Appendf(nil, "line %d\n", i))
	}
	within(t, "the first line reaching the output", func() { <-out.Started() })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	within(t, "Flush with an ended context", func() {
		if err := w.Flush(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Flush = %v, want context.Canceled", err)
		}
	})
	if err := w.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Close with the output blocked = %v, want context.Canceled", err)
	}
	out.Release()
	within(t, "Flush", func() {
		if err := w.Flush(context.Background()); err != nil {
			t.Errorf("Flush = %v", err)
		}
	})
	if got := splitLines(out.String()); len(got) != 5 || got[4] != "line 4\n" {
		t.Errorf("output %q", got)
	}
	closeWriter(t, w)
	if _, err := w.Write([]byte("late\n")); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Write after Close = %v, want os.ErrClosed", err)
	}
}

// Through a handler, from many goroutines, every record is one whole line,
// never split across Writes of the output.
func TestWriterWholeLines(t *testing.T) {
	var out recorder
	w := NewWriter(&out, WriterOptions{Wait: time.Hour})
	base := slog.New(NewHandler(w, Options{}))
	const goroutines, perG = 16, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range perG {
				base.Info("m", "g", g, "i", i, "pad", strings.Repeat("x", i*40))
			}
		})
	}
	wg.Wait()
	closeWriter(t, w)
	// A Write holds whole lines only: one, or several that queued up
	// together.
	lines := 0
	for _, write := range out.lines() {
		if !strings.HasSuffix(write, "\n") {
			t.Fatalf("a write that does not end a line: %q", write)
		}
		for l := range strings.SplitSeq(strings.TrimSuffix(write, "\n"), "\n") {
			if !json.Valid([]byte(l)) {
				t.Fatalf("not a whole line: %q", l)
			}
			lines++
		}
	}
	if lines != goroutines*perG {
		t.Fatalf("%d lines, want %d", lines, goroutines*perG)
	}
}
