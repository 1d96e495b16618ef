package logging

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/logtest"
)

// t0 is 12:03:00 UTC, the start of a minute.
var t0 = time.Date(2025, 3, 4, 12, 3, 0, 0, time.UTC)

type logged struct {
	Message    string
	Reason     string
	Suppressed int
	From, To   time.Time
}

func readLines(t *testing.T, out string) []logged {
	t.Helper()
	var ls []logged
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l logged
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%v: %s", err, sc.Bytes())
		}
		ls = append(ls, l)
	}
	return ls
}

// refusals is a run of n refusals for reason, spread over [at, at+span).
type refusals struct {
	at, span time.Duration
	reason   string
	n        int
}

// line is what a test expects to read: a full line ("refused" with its
// reason) or a summary (Suppressed > 0).
type line struct {
	reason     string
	suppressed int
}

func TestSampler(t *testing.T) {
	full := func(reason string, n int) []line {
		ls := make([]line, n)
		for i := range ls {
			ls[i] = line{reason: reason}
		}
		return ls
	}
	cat := func(parts ...[]line) []line {
		var ls []line
		for _, p := range parts {
			ls = append(ls, p...)
		}
		return ls
	}
	manyReasons := func(n int) []refusals {
		rs := make([]refusals, n)
		for i := range rs {
			rs[i] = refusals{at: time.Duration(i) * time.Millisecond, reason: fmt.Sprintf("r%02d", i), n: 1}
		}
		return rs
	}
	var firstReasons []line
	for i := range maxReasons {
		firstReasons = append(firstReasons, line{reason: fmt.Sprintf("r%02d", i)})
	}

	tests := []struct {
		name  string
		runs  []refusals
		flush time.Duration // after the runs, Flush at t0+flush; 0: no Flush
		want  []line
	}{
		{
			name: "10,000 wrong secrets in a minute: 5 lines, then one summary",
			runs: []refusals{
				{at: 0, span: time.Minute, reason: "unauthorized", n: 10000},
				{at: time.Minute, reason: "unauthorized", n: 1},
			},
			want: cat(full("unauthorized", 5), []line{{"unauthorized", 9995}}, full("unauthorized", 1)),
		},
		{
			name: "a new minute writes full lines again; Flush tells the rest",
			runs: []refusals{
				{at: 0, span: time.Minute, reason: "unauthorized", n: 7},
				{at: time.Minute, span: time.Minute, reason: "unauthorized", n: 7},
			},
			flush: 2*time.Minute - time.Second,
			want: cat(full("unauthorized", 5), []line{{"unauthorized", 2}},
				full("unauthorized", 5), []line{{"unauthorized", 2}}),
		},
		{
			name: "two reasons counted apart",
			runs: []refusals{
				{at: 0, span: 30 * time.Second, reason: "unauthorized", n: 8},
				{at: 30 * time.Second, span: 30 * time.Second, reason: "bad request", n: 6},
				{at: time.Minute, reason: "bad request", n: 1},
			},
			want: cat(full("unauthorized", 5), full("bad request", 5),
				[]line{{"unauthorized", 3}, {"bad request", 1}}, full("bad request", 1)),
		},
		{
			name: "past 64 reasons the rest count as other",
			runs: append(manyReasons(100), refusals{at: time.Minute, reason: "r99", n: 1}),
			want: cat(firstReasons, full("r64", 1), full("r65", 1), full("r66", 1), full("r67", 1), full("r68", 1),
				[]line{{"other", 31}}, full("r99", 1)),
		},
		{
			name: "nothing left out: no summary",
			runs: []refusals{
				{at: 0, span: time.Minute, reason: "unauthorized", n: 5},
				{at: time.Minute, reason: "unauthorized", n: 1},
			},
			flush: 2 * time.Minute,
			want:  full("unauthorized", 6),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			s := NewSampler(5, time.Minute, func() time.Time { return now })
			var buf logtest.Buffer
			l := slog.New(NewHandler(&buf, Options{}))
			for _, r := range tt.runs {
				for i := range r.n {
					now = t0.Add(r.at + r.span*time.Duration(i)/time.Duration(r.n))
					// The line a full refusal writes names its reason; a
					// line left out under "other" still has its own.
					s.Log(context.Background(), l, slog.LevelWarn, r.reason, "refused", slog.String("reason", r.reason))
				}
			}
			if tt.flush != 0 {
				now = t0.Add(tt.flush)
				s.Flush(l)
			}
			var got []line
			for _, g := range readLines(t, buf.String()) {
				if g.Suppressed == 0 && g.Message != "refused" {
					t.Errorf("unexpected line %+v", g)
				}
				got = append(got, line{g.Reason, g.Suppressed})
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("lines\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}

// The summary says what was left out, when, and why, as text and as fields.
func TestSamplerSummaryLine(t *testing.T) {
	now := t0
	s := NewSampler(5, time.Minute, func() time.Time { return now })
	var buf logtest.Buffer
	l := slog.New(NewHandler(&buf, Options{}))
	for range 10000 {
		s.Allow(l, "unauthorized")
	}
	now = t0.Add(3 * time.Hour) // the next refusal comes much later
	s.Allow(l, "unauthorized")
	ls := readLines(t, buf.String())
	want := logged{
		Message:    "refusals not logged: 9995 unauthorized between 12:03:00 and 12:04:00",
		Reason:     "unauthorized",
		Suppressed: 9995,
		From:       t0,
		To:         t0.Add(time.Minute),
	}
	if len(ls) != 1 || ls[0] != want {
		t.Errorf("lines %+v, want %+v", ls, want)
	}
}

// Allow is safe from many goroutines and loses no count.
func TestSamplerConcurrent(t *testing.T) {
	var mu sync.Mutex
	now := t0
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	s := NewSampler(5, time.Minute, clock)
	var buf logtest.Buffer
	l := slog.New(NewHandler(&buf, Options{}))
	const goroutines, each = 8, 1000
	var allowed sync.Map
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			n := 0
			for range each {
				if s.Allow(l, "unauthorized") {
					n++
				}
			}
			allowed.Store(g, n)
		})
	}
	wg.Wait()
	total := 0
	allowed.Range(func(_, v any) bool { total += v.(int); return true })
	if total != 5 {
		t.Errorf("%d allowed, want 5", total)
	}
	mu.Lock()
	now = t0.Add(time.Minute)
	mu.Unlock()
	s.Flush(l)
	ls := readLines(t, buf.String())
	if len(ls) != 1 || ls[0].Suppressed != goroutines*each-5 {
		t.Errorf("summary %+v, want %d left out", ls, goroutines*each-5)
	}
}
