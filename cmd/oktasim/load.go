package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// progressEvery bounds how often the progress line is redrawn.
const progressEvery = 250 * time.Millisecond

type outcome struct {
	sent    bool
	latency time.Duration
	verdict verdict
}

func runLoad(ctx context.Context, client *http.Client, o *options, e env, stdout, stderr io.Writer) error {
	outcomes := make([]outcome, o.n)
	var next, done, bad atomic.Int64

	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-stopProgress:
				return
			case <-t.C:
				fmt.Fprintf(stderr, "\r%d/%d sent, %d not valid for Okta", done.Load(), o.n, bad.Load())
			}
		}
	}()

	start := time.Now()
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for range o.c {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= o.n || ctx.Err() != nil {
					return
				}
				hr, err := newHookRequest(o, e.now(), i)
				var body []byte
				if err == nil {
					body, err = json.Marshal(hr)
				}
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				r := send(ctx, client, o, body)
				v := classify(r, o.timeout)
				outcomes[i] = outcome{sent: true, latency: r.latency, verdict: v}
				if !v.kind.valid() {
					bad.Add(1)
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(stopProgress)
	<-progressDone
	fmt.Fprintf(stderr, "\r%d/%d sent, %d not valid for Okta\n", done.Load(), o.n, bad.Load())

	if firstErr != nil {
		return firstErr
	}
	// After an interrupt, report only what was sent.
	completed := outcomes[:0:0]
	for _, oc := range outcomes {
		if oc.sent {
			completed = append(completed, oc)
		}
	}
	printSummary(stdout, o, completed, elapsed)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if bad.Load() > 0 {
		return fmt.Errorf("%w: %d of %d", errInvalid, bad.Load(), done.Load())
	}
	return nil
}

func printSummary(w io.Writer, o *options, outs []outcome, elapsed time.Duration) {
	n := len(outs)
	lat := make([]time.Duration, n)
	var counts [numKinds]int
	httpCodes := map[int]int{}
	details := map[kind]map[string]int{}
	for i, oc := range outs {
		lat[i] = oc.latency
		k := oc.verdict.kind
		counts[k]++
		switch k {
		case kindHTTP:
			httpCodes[oc.verdict.status]++
		case kindError, kindMalformed, kindTransport:
			if details[k] == nil {
				details[k] = map[string]int{}
			}
			details[k][oc.verdict.detail]++
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })

	fmt.Fprintf(w, "requests:    %d (concurrency %d, %d phone numbers)\n", n, o.c, min(o.phones, n))
	fmt.Fprintf(w, "elapsed:     %s\n", ms(elapsed))
	if elapsed > 0 {
		fmt.Fprintf(w, "throughput:  %.1f requests/s\n", float64(n)/elapsed.Seconds())
	}
	fmt.Fprintf(w, "latency:     p50 %s  p90 %s  p99 %s  max %s\n",
		ms(percentile(lat, 50)), ms(percentile(lat, 90)), ms(percentile(lat, 99)), ms(percentile(lat, 100)))
	fmt.Fprintln(w, "answers:")
	for k := range numKinds {
		if k == kindHTTP {
			codes := make([]int, 0, len(httpCodes))
			for c := range httpCodes {
				codes = append(codes, c)
			}
			sort.Ints(codes)
			if len(codes) == 0 {
				fmt.Fprintf(w, "  %-16s %d\n", k, 0)
			}
			for _, c := range codes {
				fmt.Fprintf(w, "  %-16s %d\n", fmt.Sprintf("HTTP %d", c), httpCodes[c])
			}
			continue
		}
		fmt.Fprintf(w, "  %-16s %d\n", k, counts[k])
		printDetails(w, details[k])
	}
}

// printDetails shows the commonest few reasons behind a count, so an
// operator sees why without rerunning a single request.
func printDetails(w io.Writer, d map[string]int) {
	reasons := make([]string, 0, len(d))
	for r := range d {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if d[reasons[i]] != d[reasons[j]] {
			return d[reasons[i]] > d[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	for _, r := range reasons[:min(3, len(reasons))] {
		fmt.Fprintf(w, "    %d× %s\n", d[r], r)
	}
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
