package conversion

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

const (
	// settleBatch is how many due sends one store call takes.
	settleBatch = 32
	// reportWorkers bounds the 8x8 feedback calls in flight per Settle.
	reportWorkers = 8
	// heldRetry: how often a failure report held for a silent event hook
	// is looked at again.
	heldRetry = time.Minute
	// runSettleBudget bounds one Settle of the background loop.
	runSettleBudget = 2 * reportTimeout
)

// Settle does the work that is due: it settles unverified the sends whose
// otpExpires + grace has passed, and sends the 8x8 feedback reports owed
// (retrying failed ones later while 8x8's 15 minutes last). It takes work
// a batch at a time from the shared store (leased, so instances running
// Settle at once never take the same report) and then from memory, until
// nothing is due or ctx ends; then it refreshes the verdict cache. It
// returns how many sends it settled, reported or dropped, and ctx's error
// if ctx ended with work left.
func (t *Tracker) Settle(ctx context.Context) (int, error) {
	total := 0
	var err error
	for _, st := range t.settleStores() {
		n, e := t.settleStore(ctx, st)
		total += n
		if e != nil {
			err = e
		}
	}
	// The cache reflects this Settle even if ctx is spent: its own bound.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.cfg.RedisTimeout)
	t.refresh(rctx)
	cancel()
	if total > 0 {
		t.log.LogAttrs(ctx, slog.LevelDebug, msgSettle, slog.Int("done", total))
	}
	return total, err
}

func (t *Tracker) settleStores() []Store {
	if p := t.pick(); p != nil {
		return []Store{p, t.mem}
	}
	return []Store{t.mem}
}

func (t *Tracker) settleStore(ctx context.Context, st Store) (int, error) {
	total := 0
	primary := st != Store(t.mem)
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		p := t.params()
		var jobs []job
		var c changes
		var err error
		if primary {
			octx, cancel := context.WithTimeout(ctx, t.cfg.RedisTimeout)
			jobs, c, err = st.take(octx, p, settleBatch)
			cancel()
			if err != nil {
				t.fo.Failed(ctx, err)
				return total, nil // memory's turn; the shared work waits for Redis
			}
			t.fo.Up()
		} else {
			jobs, c, _ = st.take(ctx, p, settleBatch)
		}
		t.logChanges(ctx, c)
		total += len(c.settled) + len(c.dropped)
		if len(jobs) == 0 && len(c.settled) == 0 && len(c.dropped) == 0 {
			return total, nil
		}
		total += t.report(ctx, st, jobs)
	}
}

// report sends the leased reports, a few at a time. A report not started
// before ctx ends is released for the next Settle.
func (t *Tracker) report(ctx context.Context, st Store, jobs []job) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	done := 0
	sem := make(chan struct{}, reportWorkers)
	for _, j := range jobs {
		if !acquire(ctx, sem) {
			t.finish(ctx, st, j.id, actRelease, 0)
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if t.reportOne(ctx, st, j) {
				mu.Lock()
				done++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return done
}

func acquire(ctx context.Context, sem chan struct{}) bool {
	select {
	case sem <- struct{}{}:
		if ctx.Err() != nil {
			<-sem
			return false
		}
		return true
	case <-ctx.Done():
		return false
	}
}

// reportOne sends one report and records what became of it. It reports
// whether the report went out or was dropped.
func (t *Tracker) reportOne(ctx context.Context, st Store, j job) bool {
	now := t.now()
	deadline := msTime(j.deadline)
	left := deadline.Sub(now)
	if left <= 0 || t.rep == nil {
		// Out of time, or this instance has no 8x8 client (feedback off
		// here but on where the code was sent).
		d := dropped{tx: j.tx, success: j.success}
		if t.rep == nil {
			d.reason = dropNoClient
		}
		t.finish(ctx, st, j.id, actDrop, 0)
		t.logChanges(ctx, changes{dropped: []dropped{d}})
		return true
	}
	// A failure is only known when Okta's event hook is heard: while it
	// is silent (never subscribed, deactivated, or no delivery in the
	// window), an unverified code may have been verified unheard, and a
	// false failure teaches 8x8's fraud model to throttle real users.
	// The report waits, and is dropped if the silence lasts into the last
	// minute 8x8 takes it. A pump with no verification while deliveries arrive is
	// not silence: its failures go out.
	if !j.success && t.snap.Load().deaf {
		next := now.Add(heldRetry)
		if !next.Before(deadline) {
			t.finish(ctx, st, j.id, actDrop, 0)
			t.logChanges(ctx, changes{dropped: []dropped{{tx: j.tx, reason: dropDeaf}}})
			return true
		}
		t.finish(ctx, st, j.id, actHold, next.UnixMilli())
		return false
	}
	// The success timestamp is the verification; a failure has no event,
	// so no timestamp (the 8x8 client omits it when zero).
	var at time.Time
	if j.success {
		at = msTime(j.verifiedAt)
	}
	rctx, cancel := context.WithTimeout(ctx, min(reportTimeout, left))
	err := t.rep.Feedback(rctx, j.tx, j.success, at)
	cancel()
	if err == nil {
		t.st.reports.Add(1)
		t.finish(ctx, st, j.id, actDone, 0)
		t.log.LogAttrs(ctx, slog.LevelDebug, msgFeedbackSent,
			slog.String("transactionId", j.tx), slog.String("outcome", outcomeName(j.success)),
			slog.Int("attempt", j.attempts+1))
		return true
	}
	t.st.reportFails.Add(1)
	now = t.now()
	next := now.Add(backoff(j.attempts))
	if !next.Before(deadline) {
		// One last try just before 8x8 stops taking it.
		next = deadline.Add(-2 * time.Second)
		if !next.After(now) {
			t.finish(ctx, st, j.id, actDrop, 0)
			t.logChanges(ctx, changes{dropped: []dropped{{tx: j.tx, success: j.success}}})
			return true
		}
	}
	t.finish(ctx, st, j.id, actRetry, next.UnixMilli())
	// The error is the 8x8 client's: it names no secret or number.
	t.log.LogAttrs(ctx, slog.LevelWarn, msgFeedbackFailed,
		slog.String("transactionId", j.tx), slog.String("outcome", outcomeName(j.success)),
		slog.Int("attempt", j.attempts+1), slog.Time("retryAt", next), slog.String("error", err.Error()))
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
func (t *Tracker) finish(ctx context.Context, st Store, id string, a action, next int64) {
	if st == Store(t.mem) {
		_ = st.finish(ctx, t.params(), id, a, next) // cannot fail or block
		return
	}
	if t.pick() == nil {
		// Redis failed during this Settle: do not wait on it again. The
		// lease hands the report out again later.
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.cfg.RedisTimeout)
	defer cancel()
	if err := st.finish(fctx, t.params(), id, a, next); err != nil {
		// fctx is Redis's own timeout, not the caller's: running past it
		// is Redis's fault. Marked down, the next finish does not wait.
		t.fo.Failed(context.WithoutCancel(ctx), err)
	}
}

// Run settles due work every SettleEvery (15 s) and refreshes the verdict
// cache every RefreshEvery (5 s) until ctx ends. Start it once per
// instance; with Cloud Run it needs always-allocated CPU
// (--no-cpu-throttling) to run between requests.
func (t *Tracker) Run(ctx context.Context) {
	settle := time.NewTicker(t.cfg.SettleEvery)
	defer settle.Stop()
	refresh := time.NewTicker(RefreshEvery)
	defer refresh.Stop()
	t.refreshNow(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-refresh.C:
			t.refreshNow(ctx)
		case <-settle.C:
			sctx, cancel := context.WithTimeout(ctx, runSettleBudget)
			_, _ = t.Settle(sctx)
			cancel()
		}
	}
}

func (t *Tracker) refreshNow(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, t.cfg.RedisTimeout)
	t.refresh(rctx)
	cancel()
}

// Close runs a last Settle at shutdown (SIGTERM), bounded by ctx. With
// Redis, work not done stays there for the other instances; in memory it
// is lost with the process.
func (t *Tracker) Close(ctx context.Context) error {
	_, err := t.Settle(ctx)
	return err
}
