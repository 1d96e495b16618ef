//go:build unix

package logging

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
)

// BenchmarkWriter is the cost a Writer adds to a line (the hand-over to the
// writing goroutine and back) against writing under a mutex.
func BenchmarkWriter(b *testing.B) {
	line := bytes.Repeat([]byte("x"), 600)
	line[len(line)-1] = '\n'
	b.Run("direct", func(b *testing.B) {
		var mu sync.Mutex
		b.ReportAllocs()
		cpu := processCPU(b)
		for b.Loop() {
			mu.Lock()
			_, _ = io.Discard.Write(line)
			mu.Unlock()
		}
		b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
	})
	b.Run("Writer", func(b *testing.B) {
		w := NewWriter(io.Discard, WriterOptions{})
		b.ReportAllocs()
		cpu := processCPU(b)
		for b.Loop() {
			_, _ = w.Write(line)
		}
		b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
		_ = w.Close(context.Background())
	})
	b.Run("Writer/parallel", func(b *testing.B) {
		w := NewWriter(io.Discard, WriterOptions{})
		b.ReportAllocs()
		cpu := processCPU(b)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_, _ = w.Write(line)
			}
		})
		b.ReportMetric(float64(processCPU(b)-cpu)/float64(b.N), "cpu-ns/op")
		_ = w.Close(context.Background())
	})
}
