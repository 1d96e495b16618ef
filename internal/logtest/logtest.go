// Package logtest holds what tests need to capture logs.
package logtest

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Buffer collects log output written from many goroutines, and can wait
// for a line to appear. Its zero value is ready to use.
type Buffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed at the next Write, when someone waits
}

func (l *Buffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.b.Write(p)
}

// WaitFor returns once s has been written, or an error after timeout (a
// bound for the failure case only).
func (l *Buffer) WaitFor(s string, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		l.mu.Lock()
		if strings.Contains(l.b.String(), s) {
			l.mu.Unlock()
			return nil
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-deadline.C:
			return fmt.Errorf("%q not written within %v; got:\n%s", s, timeout, l.String())
		}
	}
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
