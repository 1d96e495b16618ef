package benchtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Load sends Okta requests to URL from Clients concurrent clients, each
// waiting for its answer before sending the next (a closed loop: "full
// speed" is as fast as the server answers), and checks that every answer
// is 200 with a SUCCESSFUL command.
type Load struct {
	URL     string
	Client  *http.Client // keep-alive, with room for Clients idle connections
	Secret  string       // the Authorization header
	Clients int
	Body    func(dst []byte, i int) []byte // request i's body, appended to dst
}

// NewClient is a keep-alive client for n concurrent clients.
func NewClient(n int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        2 * n,
		MaxIdleConnsPerHost: 2 * n,
		IdleConnTimeout:     time.Minute,
	}, Timeout: 10 * time.Second}
}

// Result is one run: requests answered, how long they took in all, each
// one's latency (sorted).
type Result struct {
	N         int
	Elapsed   time.Duration
	Latencies []time.Duration
}

// PerSec is the throughput.
func (r Result) PerSec() float64 { return float64(r.N) / r.Elapsed.Seconds() }

// Quantile is the q-quantile latency (0.99: p99).
func (r Result) Quantile(q float64) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.Latencies[min(len(r.Latencies)-1, int(q*float64(len(r.Latencies))))]
}

// Add merges o into r (rounds of one measurement).
func (r *Result) Add(o Result) {
	r.N += o.N
	r.Elapsed += o.Elapsed
	r.Latencies = append(r.Latencies, o.Latencies...)
	slices.Sort(r.Latencies)
}

// Count sends requests first, first+1, … first+n-1.
func (l Load) Count(first, n int) (Result, error) {
	return l.run(first, first+n, time.Time{})
}

// For sends requests first, first+1, … until d has passed; it returns how
// many were sent in Result.N (the next free index is first+N).
func (l Load) For(first int, d time.Duration) (Result, error) {
	return l.run(first, -1, time.Now().Add(d))
}

var successful = []byte(`"status":"SUCCESSFUL"`)

func (l Load) run(first, end int, until time.Time) (Result, error) {
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		failed   atomic.Bool
		all      []time.Duration
	)
	next.Store(int64(first))
	start := time.Now()
	for range l.Clients {
		wg.Go(func() {
			var (
				lat  []time.Duration
				body []byte
				err  error
			)
			defer func() {
				mu.Lock()
				all = append(all, lat...)
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}()
			for !failed.Load() {
				i := int(next.Add(1)) - 1
				if (end >= 0 && i >= end) || (end < 0 && !time.Now().Before(until)) {
					return
				}
				body = l.Body(body[:0], i)
				t := time.Now()
				if err = l.Post(body); err != nil {
					err = fmt.Errorf("request %d: %w", i, err)
					failed.Store(true)
					return
				}
				lat = append(lat, time.Since(t))
			}
		})
	}
	wg.Wait()
	r := Result{N: len(all), Elapsed: time.Since(start), Latencies: all}
	slices.Sort(r.Latencies)
	return r, firstErr
}

// Post sends one request and checks its answer.
func (l Load) Post(body []byte) error {
	req, err := http.NewRequest(http.MethodPost, l.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = http.Header{
		"Authorization": {l.Secret},
		"Content-Type":  {"application/json"},
		"Traceparent":   {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
	}
	resp, err := l.Client.Do(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, successful) {
		return fmt.Errorf("HTTP %d: %.300s", resp.StatusCode, b)
	}
	return nil
}
