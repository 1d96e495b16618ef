package logging

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// WriterOptions configure a Writer.
type WriterOptions struct {
	// Wait bounds how long Write waits for its line to be written; 0
	// means 20 ms. Once a line has waited that long, Writes stop waiting
	// until the output catches up.
	Wait time.Duration
	// QueueBytes bounds the bytes accepted and not yet written; a line
	// beyond it is dropped and counted. 0 means 1 MiB.
	QueueBytes int
	// Format is that of the line reporting dropped lines: the handler's.
	Format Format
}

// Writer puts log lines on an output that may block or fail (stdout is a
// pipe to Cloud Run's log agent) without ever holding up the caller for
// long. One goroutine owns the output and writes the lines in order, each
// in one Write call. Write hands its line over and, normally, returns once
// the line is written: Cloud Run throttles the CPU after the answer, so a
// line must not sit in a buffer then. But it waits at most Wait; from then
// on Writes return at once, queueing up to QueueBytes, until the output
// catches up. Lines beyond that, and lines the output refuses (EPIPE once
// the reader has gone, a closed file), are dropped and counted, and a
// later line says how many ("N log lines dropped: …") once writing works
// again.
//
// A process whose stdout or stderr is a pipe is killed by SIGPIPE when the
// reader goes, unless it ignores SIGPIPE (signal.Ignore(syscall.SIGPIPE));
// then the write fails with EPIPE and the Writer counts it.
type Writer struct {
	out      io.Writer
	wait     time.Duration
	maxBytes int
	format   Format
	scratch  []byte // writeBatch's buffer; the writing goroutine's only
	// after, when set, makes the Wait timer instead of pooled timers:
	// tests fire it on demand.
	after func(time.Duration) <-chan time.Time

	wake   chan struct{} // capacity 1: lines are queued, or closing
	exited chan struct{} // closed when the writing goroutine ends

	// Pools spare a Write its allocations: line buffers, done channels
	// (capacity 1; one that timed out is not reused) and timers.
	lines, dones, timers sync.Pool

	mu       sync.Mutex
	queue    []entry // accepted, not yet taken by the writing goroutine
	queued   int     // bytes accepted and not yet written, in queue or being written
	accepted uint64  // lines accepted so far
	settled  uint64  // lines written or failed so far; lines settle in order
	// progress is closed, and replaced, when settled moves on and Flush
	// is waiting for it (waiting).
	progress chan struct{}
	waiting  bool
	stalled  bool // a line waited past Wait: Writes do not wait until the queue empties
	closed   bool

	dropped   int   // lines dropped since the last report
	failed    int   // of which refused by the output
	lastErr   error // the output's last error
	dropTotal uint64
}

// entry is a line to write, and, if its Write waits, the channel that
// tells it the line is written.
type entry struct {
	line *[]byte
	done chan struct{}
}

// NewWriter starts the goroutine that writes to out; Close stops it.
func NewWriter(out io.Writer, opts WriterOptions) *Writer {
	w := &Writer{
		out:      out,
		wait:     opts.Wait,
		maxBytes: opts.QueueBytes,
		format:   opts.Format,
		wake:     make(chan struct{}, 1),
		exited:   make(chan struct{}),
		progress: make(chan struct{}),
	}
	if w.wait <= 0 {
		w.wait = 20 * time.Millisecond
	}
	if w.maxBytes <= 0 {
		w.maxBytes = 1 << 20
	}
	w.lines.New = func() any { b := make([]byte, 0, 1024); return &b }
	w.dones.New = func() any { return make(chan struct{}, 1) }
	w.timers.New = func() any {
		t := time.NewTimer(time.Hour)
		t.Stop()
		return t
	}
	go w.run()
	return w
}

// Write queues a copy of p, one whole line, and waits for it to be written
// at most the Wait bound. It reports success for a line dropped because the
// queue is full (the caller could do nothing better), and os.ErrClosed
// after Close.
func (w *Writer) Write(p []byte) (int, error) {
	line := w.lines.Get().(*[]byte)
	*line = append((*line)[:0], p...)
	w.mu.Lock()
	if w.closed || w.queued+len(p) > w.maxBytes {
		closed := w.closed
		w.drop(nil)
		w.mu.Unlock()
		w.lines.Put(line)
		if closed {
			return 0, os.ErrClosed
		}
		return len(p), nil
	}
	e := entry{line: line}
	if !w.stalled {
		e.done = w.dones.Get().(chan struct{})
	}
	w.queue = append(w.queue, e)
	w.queued += len(p)
	w.accepted++
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	if e.done != nil {
		w.await(e.done)
	}
	return len(p), nil
}

// await waits until done is signalled, or the Wait bound passes; then the
// output is stalled and later Writes do not wait.
func (w *Writer) await(done chan struct{}) {
	var timeout <-chan time.Time
	if w.after != nil {
		timeout = w.after(w.wait)
	} else {
		t := w.timers.Get().(*time.Timer)
		t.Reset(w.wait)
		defer w.timers.Put(t)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-done:
		w.dones.Put(done)
	case <-timeout:
		select {
		case <-done: // written just in time
			w.dones.Put(done)
			return
		default:
		}
		// done is left to the writing goroutine, never reused.
		w.mu.Lock()
		w.stalled = w.settled < w.accepted // unless it has just caught up
		w.mu.Unlock()
	}
}

// watch reports whether line seq is settled, and otherwise returns a
// channel closed when more lines are.
func (w *Writer) watch(seq uint64) (<-chan struct{}, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.settled >= seq {
		return nil, true
	}
	w.waiting = true
	return w.progress, false
}

// Flush waits until every line accepted before the call is written (or
// has failed), or ctx ends.
func (w *Writer) Flush(ctx context.Context) error {
	w.mu.Lock()
	seq := w.accepted
	w.mu.Unlock()
	for {
		ch, ok := w.watch(seq)
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close refuses further lines, writes those queued and stops the writing
// goroutine, or gives up when ctx ends (an output blocked in Write cannot
// be interrupted; the goroutine then ends when that Write returns).
func (w *Writer) Close(ctx context.Context) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
	select {
	case <-w.exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Dropped is the number of lines dropped since the Writer was made.
func (w *Writer) Dropped() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dropTotal
}

// drop counts a line dropped; err is the output's error, if it refused it.
// w.mu is held.
func (w *Writer) drop(err error) {
	w.dropped++
	w.dropTotal++
	if err != nil {
		w.failed++
		w.lastErr = err
	}
}

func (w *Writer) run() {
	defer close(w.exited)
	var spare []entry // the queue's other slice, swapped with it
	for {
		w.mu.Lock()
		batch, closed := w.queue, w.closed
		if len(batch) > 0 {
			w.queue = spare[:0]
		}
		w.mu.Unlock()
		if len(batch) == 0 {
			if closed {
				w.report()
				return
			}
			<-w.wake
			continue
		}
		// Lines that queued up together go out in one write: whole
		// lines, one syscall (this goroutine is the output's only writer).
		err := w.writeBatch(batch)
		for _, e := range batch {
			n := len(*e.line)
			if cap(*e.line) <= 64<<10 { // one huge line must not stay pinned
				w.lines.Put(e.line)
			}
			if e.done != nil {
				e.done <- struct{}{}
			}
			w.mu.Lock()
			w.queued -= n
			w.settled++
			if err != nil {
				w.drop(err)
			}
			if w.settled == w.accepted {
				w.stalled = false // caught up
			}
			if w.waiting {
				close(w.progress)
				w.progress, w.waiting = make(chan struct{}), false
			}
			tell := err == nil && w.dropped > 0 // writing works again
			w.mu.Unlock()
			if tell {
				w.report()
			}
		}
		clear(batch)
		spare = batch
	}
}

// writeBatch writes the lines of batch with one Write.
func (w *Writer) writeBatch(batch []entry) error {
	if len(batch) == 1 {
		return w.write(*batch[0].line)
	}
	w.scratch = w.scratch[:0]
	for _, e := range batch {
		w.scratch = append(w.scratch, *e.line...)
	}
	err := w.write(w.scratch)
	if cap(w.scratch) > 256<<10 {
		w.scratch = nil // a burst must not stay pinned
	}
	return err
}

// write writes one line; a panicking output is a failed write, not a dead
// process.
func (w *Writer) write(line []byte) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("log output panicked: %v", p)
		}
	}()
	_, err = w.out.Write(line)
	return err
}

// report writes the line counting the lines dropped since the last one,
// if any were. Called by the writing goroutine only.
func (w *Writer) report() {
	w.mu.Lock()
	n, failed, lastErr := w.dropped, w.failed, w.lastErr
	w.dropped, w.failed, w.lastErr = 0, 0, nil
	w.mu.Unlock()
	if n == 0 {
		return
	}
	attrs := []slog.Attr{slog.Int("droppedLines", n)}
	why := "stdout was blocked"
	if failed > 0 {
		why = "writing to stdout failed"
		if failed < n {
			why = "stdout was blocked or failed"
		}
		attrs = append(attrs, slog.Int("failedWrites", failed), slog.String("error", lastErr.Error()))
	}
	var buf bytes.Buffer
	msg := fmt.Sprintf("%d log lines dropped: %s", n, why)
	slog.New(NewHandler(&buf, Options{Format: w.format})).LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
	if err := w.write(buf.Bytes()); err != nil {
		w.mu.Lock()
		w.dropped += n // still to be told
		w.failed += failed
		w.lastErr = err
		w.mu.Unlock()
	}
}
