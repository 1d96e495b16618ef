package logging

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// Writer puts log lines on an output that may block or fail (stdout is a
// pipe to Cloud Run's log agent) without ever holding up the caller: Write
// hands its line to one goroutine through a buffered channel and returns.
// When the queue is full, or holds maxQueued bytes, the line is dropped and
// counted; so is a line the output refuses (EPIPE once the reader has gone,
// with SIGPIPE ignored). The next line written says how many were dropped.
type Writer struct {
	out    io.Writer
	lines  chan []byte
	queued atomic.Int64 // bytes in lines
	// dropped is written by Write and the writing goroutine; reported by
	// the writing goroutine only.
	dropped  atomic.Uint64
	quit     chan struct{}
	done     chan struct{}
	quitOnce sync.Once
}

const (
	queueLines = 1024
	maxQueued  = 4 << 20
)

// NewWriter starts the goroutine that writes to out.
func NewWriter(out io.Writer) *Writer {
	w := &Writer{out: out, lines: make(chan []byte, queueLines), quit: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

// Write queues a copy of p as one line; it never blocks and never fails.
func (w *Writer) Write(p []byte) (int, error) {
	if w.queued.Add(int64(len(p))) > maxQueued {
		w.queued.Add(-int64(len(p)))
		w.dropped.Add(1)
		return len(p), nil
	}
	select {
	case <-w.quit:
		w.queued.Add(-int64(len(p)))
		w.dropped.Add(1)
	case w.lines <- append([]byte(nil), p...):
	default:
		w.queued.Add(-int64(len(p)))
		w.dropped.Add(1)
	}
	return len(p), nil
}

func (w *Writer) run() {
	defer close(w.done)
	var reported uint64
	for {
		var line []byte
		select {
		case line = <-w.lines:
		case <-w.quit:
			select {
			case line = <-w.lines:
			default:
				return
			}
		}
		w.queued.Add(-int64(len(line)))
		if _, err := w.out.Write(line); err != nil {
			w.dropped.Add(1)
			continue
		}
		if d := w.dropped.Load(); d > reported {
			report := fmt.Sprintf(`{"severity":"WARNING","message":"log lines dropped","dropped":%d}`+"\n", d-reported)
			if _, err := io.WriteString(w.out, report); err == nil {
				reported = d
			}
		}
	}
}

// Close writes the lines already queued and stops, or gives up when ctx
// ends (the output is stalled); later lines are dropped.
func (w *Writer) Close(ctx context.Context) error {
	w.quitOnce.Do(func() { close(w.quit) })
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("logging: %d bytes of log lines not written: %w", w.queued.Load(), ctx.Err())
	}
}
