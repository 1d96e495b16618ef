package conversion

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	rs "github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

const (
	settleBatch     = 32                // due sends one store call takes
	reportWorkers   = 8                 // 8x8 feedback calls in flight per Settle
	heldRetry       = time.Minute       // a failure report held for a silent event hook waits this long
	runSettleBudget = 2 * reportTimeout // bounds one Settle of the background loop
)

// Settle does the work that is due: it settles unverified the sends whose
// otpExpires + grace has passed, writes each code's settled line, and
// sends the 8x8 reports owed (a failed one again later, within 8x8's 15
// minutes), a leased batch at a time until nothing is due or ctx ends;
// then it refreshes the verdict cache. It returns how many sends it
// settled, reported or dropped, and ctx's error if work was left. After a
// store error the work waits in the store.
func (t *Tracker) Settle(ctx context.Context) (int, error) {
	total := 0
	var err error
	for {
		if err = ctx.Err(); err != nil {
			break
		}
		tctx, cancel := context.WithTimeout(ctx, t.timeout)
		jobs, c, terr := t.store.Take(tctx, t.params(), settleBatch)
		cancel()
		if terr != nil {
			t.warnStore(ctx, "settle", terr)
			break
		}
		t.logChanges(ctx, c)
		total += len(c.Settled) + len(c.Dropped)
		if len(jobs) == 0 && len(c.Settled) == 0 && len(c.Dropped) == 0 {
			break
		}
		total += t.report(ctx, jobs)
	}
	// The cache reflects this Settle even if ctx is spent: its own bound.
	t.refresh(context.WithoutCancel(ctx))
	if total > 0 {
		t.log.LogAttrs(ctx, slog.LevelDebug, msgSettle, slog.Int("done", total))
	}
	return total, err
}

// report sends the leased reports, a few at a time. A report not started
// before ctx ends is released for the next Settle.
func (t *Tracker) report(ctx context.Context, jobs []rs.ConvJob) int {
	var wg sync.WaitGroup
	var done atomic.Int64
	sem := make(chan struct{}, reportWorkers)
	for _, j := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			t.finish(ctx, j.ID, rs.ConvRelease, 0)
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if t.reportOne(ctx, j) {
				done.Add(1)
			}
		})
	}
	wg.Wait()
	return int(done.Load())
}

// reportOne sends one report and records what became of it. It reports
// whether the report went out or was dropped.
func (t *Tracker) reportOne(ctx context.Context, j rs.ConvJob) bool {
	now, deadline := t.now(), msTime(j.Deadline)
	left := deadline.Sub(now)
	drop := func(reason string) bool {
		t.finish(ctx, j.ID, rs.ConvDrop, 0)
		t.logDropped(ctx, j, reason)
		return true
	}
	switch {
	case t.rep == nil: // feedback off here, but on where the code was sent
		return drop(dropNoClient)
	case left <= 0:
		return drop(dropTooLate)
	}
	// A failure is only known when Okta's event hook is heard: a false one
	// teaches 8x8's fraud model to throttle real users. While the hook is
	// silent the report waits, dropped if that lasts into 8x8's last minute.
	if !j.Success && t.snap.Load().deaf {
		next := now.Add(heldRetry)
		if !next.Before(deadline) {
			return drop(dropDeaf)
		}
		t.finish(ctx, j.ID, rs.ConvHold, next.UnixMilli())
		return false
	}
	// The success timestamp is the verification; a failure has no event,
	// so no timestamp (the 8x8 client omits it when zero).
	var at time.Time
	if j.Success {
		at = msTime(j.VerifiedAt)
	}
	rctx, cancel := context.WithTimeout(ctx, min(reportTimeout, left))
	err := t.rep.Feedback(rctx, j.Tx, j.Success, at)
	cancel()
	if err == nil {
		t.finish(ctx, j.ID, rs.ConvDone, 0)
		t.log.LogAttrs(ctx, slog.LevelDebug, msgFeedbackSent,
			slog.String("transactionId", j.Tx), slog.String("outcome", outcomeName(j.Success)),
			slog.Int("attempt", j.Attempts+1))
		return true
	}
	// A report 8x8 refused (a 4xx) would be refused again: not retried.
	var refused *eightbyeight.Error
	if errors.As(err, &refused) && refused.Permanent() {
		return drop(dropRefused)
	}
	now = t.now()
	next := now.Add(backoff(j.Attempts))
	if !next.Before(deadline) {
		// One last try just before 8x8 stops taking it.
		next = deadline.Add(-2 * time.Second)
		if !next.After(now) {
			return drop(dropTooLate)
		}
	}
	t.finish(ctx, j.ID, rs.ConvRetry, next.UnixMilli())
	// The error is the 8x8 client's: it names no secret or number.
	t.log.LogAttrs(ctx, slog.LevelWarn, msgFeedbackFailed,
		slog.String("transactionId", j.Tx), slog.String("outcome", outcomeName(j.Success)),
		slog.Int("attempt", j.Attempts+1), slog.Time("retryAt", next), slog.String("error", err.Error()))
	return false
}

// backoff between attempts at one report: 5 s, 20 s, 80 s, then 2 min.
func backoff(attempts int) time.Duration {
	d := 5 * time.Second
	for range min(attempts, 3) {
		d *= 4
	}
	return min(d, 2*time.Minute)
}

// finish records a report's fate. It runs even when ctx is spent (the
// report may have gone out): a record lost here means the report may be
// repeated once its lease ends.
func (t *Tracker) finish(ctx context.Context, id, action string, next int64) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.timeout)
	defer cancel()
	if err := t.store.Finish(fctx, t.params(), id, action, next); err != nil {
		t.warnStore(ctx, "finish", err)
	}
}

// Run settles due work every 15 s and refreshes the verdict cache every
// 5 s until ctx ends. Start it once per instance; between requests it
// needs Cloud Run's always-allocated CPU (--no-cpu-throttling).
func (t *Tracker) Run(ctx context.Context) {
	settle := time.NewTicker(t.settleEvery)
	defer settle.Stop()
	refresh := time.NewTicker(refreshEvery)
	defer refresh.Stop()
	t.refresh(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-refresh.C:
			t.refresh(ctx)
		case <-settle.C:
			sctx, cancel := context.WithTimeout(ctx, runSettleBudget)
			_, _ = t.Settle(sctx)
			cancel()
		}
	}
}

// Close runs a last Settle at shutdown (SIGTERM), bounded by ctx. With
// Redis, work not done stays there for the other instances; in memory it
// is lost with the process.
func (t *Tracker) Close(ctx context.Context) error {
	_, err := t.Settle(ctx)
	return err
}
