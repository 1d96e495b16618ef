// Package logtest holds what tests need to capture logs.
package logtest

import (
	"bytes"
	"sync"
)

// Buffer collects log output written from many goroutines. Its zero value
// is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Buffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Stalled is a log output nobody reads, like a stdout pipe whose reader
// has stopped: each Write blocks until Release, then is kept. Make it with
// NewStalled.
type Stalled struct {
	Buffer
	started, released chan struct{}
	startOnce         sync.Once
	releaseOnce       sync.Once
}

// NewStalled returns an output that blocks every Write until Release.
func NewStalled() *Stalled {
	return &Stalled{started: make(chan struct{}), released: make(chan struct{})}
}

func (s *Stalled) Write(p []byte) (int, error) {
	s.startOnce.Do(func() { close(s.started) })
	<-s.released
	return s.Buffer.Write(p)
}

// Started is closed once a Write has begun (and is blocked).
func (s *Stalled) Started() <-chan struct{} { return s.started }

// Release lets every Write, blocked or to come, through.
func (s *Stalled) Release() { s.releaseOnce.Do(func() { close(s.released) }) }
