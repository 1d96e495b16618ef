package logging

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Sampler keeps refused requests from flooding the logs (and the Cloud
// Logging bill): anyone can send wrong secrets as fast as they like. In
// each period (a minute, say) the first burst lines of each reason are
// written in full; the rest are only counted, and once the period is over
// one line per reason says how many were left out. There is no background
// goroutine (Cloud Run throttles the CPU between requests): the summary is
// written by the first call after the period, or by Flush.
//
// Memory is bounded whatever the reasons: past maxReasons distinct reasons
// in a period, the others are counted together as "other".
type Sampler struct {
	burst int
	per   time.Duration
	now   func() time.Time

	mu     sync.Mutex
	start  time.Time // of the current period, a multiple of per; zero before any call
	counts map[string]*sampled
}

type sampled struct {
	logged, suppressed int
}

const (
	maxReasons  = 64
	otherReason = "other"
)

// NewSampler writes burst lines per reason per period in full. now is the
// clock (nil: time.Now).
func NewSampler(burst int, per time.Duration, now func() time.Time) *Sampler {
	if now == nil {
		now = time.Now
	}
	return &Sampler{burst: burst, per: per, now: now, counts: make(map[string]*sampled)}
}

// Allow reports whether the line for reason is to be written in full, and
// counts it as left out otherwise. When the call is the first of a new
// period, it first writes to l the summaries of the period before. A nil
// Sampler allows everything.
func (s *Sampler) Allow(l *slog.Logger, reason string) bool {
	if s == nil {
		return true
	}
	now := s.now()
	s.mu.Lock()
	var ended []summary
	if start := now.Truncate(s.per); !start.Equal(s.start) {
		ended = s.endPeriod(start)
	}
	c, ok := s.counts[reason]
	if !ok {
		if len(s.counts) >= maxReasons {
			reason = otherReason
			c, ok = s.counts[reason]
		}
		if !ok {
			c = &sampled{}
			s.counts[reason] = c
		}
	}
	allow := c.logged < s.burst
	if allow {
		c.logged++
	} else {
		c.suppressed++
	}
	s.mu.Unlock()
	writeSummaries(l, ended)
	return allow
}

// Log writes the line through l if Allow lets it.
func (s *Sampler) Log(ctx context.Context, l *slog.Logger, level slog.Level, reason, msg string, attrs ...slog.Attr) {
	if s.Allow(l, reason) {
		l.LogAttrs(ctx, level, msg, attrs...)
	}
}

// Flush writes the summaries of the current period so far and starts
// counting afresh: at shutdown, so that no count is lost.
func (s *Sampler) Flush(l *slog.Logger) {
	if s == nil {
		return
	}
	s.mu.Lock()
	ended := s.endPeriod(s.now())
	s.mu.Unlock()
	writeSummaries(l, ended)
}

// summary is what one reason left out in one period.
type summary struct {
	reason     string
	suppressed int
	from, to   time.Time
}

// endPeriod closes the current period at next, the start of the next one,
// and returns its summaries. s.mu is held.
func (s *Sampler) endPeriod(next time.Time) []summary {
	var out []summary
	if !s.start.IsZero() {
		to := s.start.Add(s.per)
		if next.Before(to) { // Flush, mid-period
			to = next
		}
		for reason, c := range s.counts {
			if c.suppressed > 0 {
				out = append(out, summary{reason, c.suppressed, s.start, to})
			}
		}
	}
	clear(s.counts)
	s.start = next
	slices.SortFunc(out, func(a, b summary) int { return b.suppressed - a.suppressed })
	return out
}

func writeSummaries(l *slog.Logger, ss []summary) {
	for _, m := range ss {
		// Not the context of the request at hand: the summary is not about it.
		l.LogAttrs(context.Background(), slog.LevelWarn,
			fmt.Sprintf("refusals not logged: %d %s between %s and %s",
				m.suppressed, m.reason, m.from.UTC().Format(time.TimeOnly), m.to.UTC().Format(time.TimeOnly)),
			slog.String("reason", m.reason),
			slog.Int("suppressed", m.suppressed),
			slog.Time("from", m.from),
			slog.Time("to", m.to))
	}
}
