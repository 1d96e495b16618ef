package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// progressEvery bounds how often the progress line is redrawn.
const progressEvery = 250 * time.Millisecond

type outcome struct {
	sent    bool
	latency time.Duration
	verdict verdict
	dest    int
	// seq is the order the answers arrived in (1-based).
	seq int64
	// denied: Okta blocked it itself (-deny-rate); the hook was not
	// called, so only dest is set.
	denied bool
	played played
}

func runLoad(ctx context.Context, client *http.Client, o *options, e env, stdout, stderr io.Writer) error {
	outcomes := make([]outcome, o.n)
	var next, done, bad, answered atomic.Int64

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

	var events *batcher
	if o.verify {
		events = newBatcher(newPoster(client, o, e), len(o.dests))
		tick, stopTick := e.newTicker(flushEvery)
		defer stopTick()
		go events.run(ctx, tick)
	}
	// Pacing spreads a run over time, as real traffic is: the conversion
	// guard judges a destination only once its codes have expired.
	var pace *rate.Limiter
	if o.rps > 0 {
		pace = rate.NewLimiter(rate.Limit(o.rps), 1)
	}

	start := time.Now()
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	for range o.c {
		wg.Go(func() {
			for {
				if pace != nil && pace.Wait(ctx) != nil {
					return
				}
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
				if deniedByOkta(o, i) {
					ev, err := newSendEvent(hr, e.now(), o.sendShape, deniedSend)
					if err != nil {
						errOnce.Do(func() { firstErr = err })
						return
					}
					events.add(queuedEvent{dest: destOf(o, i), ev: ev})
					outcomes[i] = outcome{sent: true, denied: true, dest: destOf(o, i)}
					done.Add(1)
					continue
				}
				r := send(ctx, client, o, body)
				v := classify(r, o.timeout)
				oc := outcome{sent: true, latency: r.latency, verdict: v, dest: destOf(o, i), seq: answered.Add(1)}
				evs, p, err := oktaEvents(o, hr, v, i, e.now())
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				oc.played = p
				for _, ev := range evs {
					events.add(queuedEvent{dest: oc.dest, ev: ev})
				}
				outcomes[i] = oc
				if !v.kind.valid() {
					bad.Add(1)
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var stats batchStats
	if events != nil {
		// The last events go out before the summary says what was taken.
		stats = events.close()
	}
	close(stopProgress)
	<-progressDone
	fmt.Fprintf(stderr, "\r%d/%d sent, %d not valid for Okta\n", done.Load(), o.n, bad.Load())

	if firstErr != nil {
		return firstErr
	}
	// After an interrupt, report only what was sent; the summary's
	// figures are the hook's answers, the table's Okta's blocks too.
	var completed, answers []outcome
	for _, oc := range outcomes {
		if oc.sent {
			completed = append(completed, oc)
		}
		if oc.sent && !oc.denied {
			answers = append(answers, oc)
		}
	}
	printSummary(stdout, o, answers, elapsed)
	printCountries(stdout, o, completed, stats)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var errs []error
	if bad.Load() > 0 {
		errs = append(errs, fmt.Errorf("%w: %d of %d", errInvalid, bad.Load(), done.Load()))
	}
	if n, why := stats.failures(); n > 0 {
		errs = append(errs, fmt.Errorf("%w: %d of %d (%s)", errEvents, n, stats.posts, why))
	}
	return errors.Join(errs...)
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

	fmt.Fprintf(w, "requests:    %d (concurrency %d, %d phone numbers)\n", n, o.c, distinctNumbers(o, n))
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

// guardReason is the prefix of the conversion guard's refusal codes:
// conversion_suspect for a destination that stopped converting,
// conversion_budget for one that never converted.
const guardReason = "conversion_"

// countryRow is one country's line of the summary.
type countryRow struct {
	label    string
	rate     string
	requests int
	kinds    [numKinds]int
	refused  map[string]int // reason → error objects
	verified int            // events posted for codes typed in
	mistyped int            // events posted for codes mistyped
	sends    int            // Okta's send events posted for the hook's sends
	failover int            // of those, flagged as Okta's own failover
	denied   int            // requests Okta blocked itself (a DENY send event)
	lost     int            // events in event POSTs not answered 2xx
	// caught is the answer seq of the first conversion guard refusal
	// (0: none); sentBefore and sentAfter count SUCCESSFUL answers
	// around it, in the order the answers arrived: exact with -c 1, off by
	// fewer than -c otherwise (the hook may decide in another order).
	caught                int64
	caughtBy              string // its reason
	sentBefore, sentAfter int
}

// countryRows tallies outcomes per country, in -phone's order.
func countryRows(o *options, outs []outcome, stats batchStats) []*countryRow {
	var rows []*countryRow
	byLabel := map[string]*countryRow{}
	rowOf := make([]*countryRow, len(o.dests))
	for d, dest := range o.dests {
		r := byLabel[dest.label()]
		if r == nil {
			r = &countryRow{label: dest.label(), rate: "-", refused: map[string]int{}}
			if o.verify {
				v, _ := o.rates.of(dest.country)
				r.rate = strconv.FormatFloat(v, 'g', -1, 64)
			}
			byLabel[r.label] = r
			rows = append(rows, r)
		}
		rowOf[d] = r
		if d < len(stats.refused) {
			r.lost += stats.refused[d]
		}
	}
	for _, oc := range outs {
		r := rowOf[oc.dest]
		if oc.denied {
			r.denied++
			continue
		}
		r.requests++
		r.kinds[oc.verdict.kind]++
		if oc.verdict.kind == kindError {
			reason := oc.verdict.reason
			if reason == "" {
				reason = "(no reason given)"
			}
			r.refused[reason]++
			if strings.HasPrefix(reason, guardReason) && (r.caught == 0 || oc.seq < r.caught) {
				r.caught, r.caughtBy = oc.seq, reason
			}
		}
		switch p := oc.played; {
		case p.verify && p.what == typedIn:
			r.verified++
		case p.verify && p.what == mistyped:
			r.mistyped++
		}
		if oc.played.send {
			r.sends++
		}
		if oc.played.failover {
			r.failover++
		}
	}
	for _, oc := range outs {
		r := rowOf[oc.dest]
		if r.caught == 0 || oc.denied || oc.verdict.kind != kindSuccessful {
			continue
		}
		if oc.seq < r.caught {
			r.sentBefore++
		} else {
			r.sentAfter++
		}
	}
	return rows
}

const rowFormat = "  %-7s %6s %8v %10v %7v %6v %7v %5v %8v %8v %7v %8v %5v %9v %12v\n"

// printCountries is the per-country table: what was sent, refused and
// verified, and how many codes a pumped country got before the conversion
// guard caught it.
func printCountries(w io.Writer, o *options, outs []outcome, stats batchStats) {
	rows := countryRows(o, outs, stats)
	fmt.Fprintln(w, "countries:")
	fmt.Fprintf(w, rowFormat, "country", "verify", "requests", "SUCCESSFUL", "PENDING", "FAILED", "refused", "other",
		"verified", "mistyped", "send-ev", "failover", "DENY", "ev-non2xx", "caught-after")
	var refusedLines []string
	for _, r := range rows {
		other := r.requests - r.kinds[kindSuccessful] - r.kinds[kindPending] - r.kinds[kindFailed] - r.kinds[kindError]
		caught := "-"
		if r.caught != 0 {
			caught = strconv.Itoa(r.sentBefore)
		}
		fmt.Fprintf(w, rowFormat, r.label, r.rate, r.requests, r.kinds[kindSuccessful], r.kinds[kindPending],
			r.kinds[kindFailed], r.kinds[kindError], other, r.verified, r.mistyped, r.sends, r.failover, r.denied, r.lost, caught)
		if len(r.refused) > 0 {
			refusedLines = append(refusedLines, fmt.Sprintf("    %-5s %s", r.label, byCount(r.refused)))
		}
	}
	if len(refusedLines) > 0 {
		fmt.Fprintln(w, "  refused, by reason:")
		for _, l := range refusedLines {
			fmt.Fprintln(w, l)
		}
	}
	for _, r := range rows {
		if r.caught != 0 {
			fmt.Fprintf(w, "  %s caught by the conversion guard after %d codes sent (SUCCESSFUL), %d sent after its first %s refusal\n",
				r.label, r.sentBefore, r.sentAfter, r.caughtBy)
		}
	}
	if o.verify {
		var sends, failovers, denied int
		for _, r := range rows {
			sends, failovers, denied = sends+r.sends+r.denied, failovers+r.failover, denied+r.denied
		}
		if o.sendEvents {
			fmt.Fprintf(w, "send events: %d posted (%s shape): %d Okta failovers, %d DENY\n", sends, o.shapeName(), failovers, denied)
		} else {
			fmt.Fprintln(w, "send events: none (-send-events off)")
		}
		n, why := stats.failures()
		line := fmt.Sprintf("event hook:  %d events in %d POST(s) to %s, %d retried, %d not answered 2xx", stats.events, stats.posts, o.eventURL, stats.retried, n)
		if n > 0 {
			line += ": " + why
		}
		fmt.Fprintln(w, line)
	}
}

// byCount renders counts commonest first: "30× conversion_suspect, 2× rate_limited_phone".
func byCount(m map[string]int) string {
	keys := commonestFirst(m)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d× %s", m[k], k)
	}
	return strings.Join(parts, ", ")
}

// printDetails shows the commonest few reasons behind a count, so an
// operator sees why without rerunning a single request.
func printDetails(w io.Writer, d map[string]int) {
	reasons := commonestFirst(d)
	for _, r := range reasons[:min(3, len(reasons))] {
		fmt.Fprintf(w, "    %d× %s\n", d[r], r)
	}
}

// commonestFirst is m's keys by count, highest first, then by name.
func commonestFirst(m map[string]int) []string {
	return slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b))
	})
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
