package logging

// TEMPORARY stand-in until the bounded writer lands (branch log).

import (
	"context"
	"io"
	"sync"
)

type WriterOptions struct{}

type Writer struct {
	mu sync.Mutex
	w  io.Writer
}

func NewWriter(w io.Writer, _ WriterOptions) *Writer { return &Writer{w: w} }

func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

func (w *Writer) Close(context.Context) error { return nil }
