package guard

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkExactlyOnceRedisFaults replays, in real time, a stream of eventIds against a real redis-server,
// each eventId sent again a while after its first send, while Redis is
// paused (SIGSTOP, then SIGCONT) or killed and restarted empty. It reports
// "dups", the sends beyond one per eventId (each Ticket is a send), and
// "pending", the repeats answered PENDING. One run whatever b.N is: use
// -benchtime=1x. Each case takes about ten seconds.
func BenchmarkExactlyOnceRedisFaults(b *testing.B) {
	cases := []experiment{
		{name: "sigstop-3s/repeat-after-4s", events: 3000, span: 6 * time.Second,
			faultAt: 2 * time.Second, faultFor: 3 * time.Second, repeatAfter: 4 * time.Second,
			breakIt: (*redisProc).pause, mend: (*redisProc).resume},
		{name: "kill-restart-2s/repeat-after-1s", events: 3000, span: 6 * time.Second,
			faultAt: 2 * time.Second, faultFor: 2 * time.Second, repeatAfter: time.Second,
			breakIt: (*redisProc).kill, mend: (*redisProc).restart},
		// Two instances, each repeat on the instance that did not answer
		// first: what memory cannot know, only Redis can.
		{name: "sigstop-3s/repeat-after-4s/other-instance", events: 3000, span: 6 * time.Second,
			faultAt: 2 * time.Second, faultFor: 3 * time.Second, repeatAfter: 4 * time.Second,
			breakIt: (*redisProc).pause, mend: (*redisProc).resume, instances: 2},
		{name: "kill-restart-2s/repeat-after-1s/other-instance", events: 3000, span: 6 * time.Second,
			faultAt: 2 * time.Second, faultFor: 2 * time.Second, repeatAfter: time.Second,
			breakIt: (*redisProc).kill, mend: (*redisProc).restart, instances: 2},
	}
	for _, ex := range cases {
		b.Run(ex.name, func(b *testing.B) {
			for b.Loop() {
				r := ex.run(b)
				b.ReportMetric(float64(r.dups), "dups")
				b.ReportMetric(float64(r.pending), "pending")
				b.ReportMetric(float64(ex.events), "eventIds")
			}
		})
	}
}

type experiment struct {
	name        string
	events      int           // distinct eventIds, first sends spread evenly over span
	span        time.Duration //
	faultAt     time.Duration // from the start
	faultFor    time.Duration
	repeatAfter time.Duration // each eventId is sent again this long after its first send
	breakIt     func(*redisProc)
	mend        func(*redisProc)
	instances   int // 0 or 1: one Guard; 2: repeats go to the other one
}

type experimentResult struct{ dups, pending int }

// experimentGuard is one instance as production builds it: the default
// Redis timeout, the real clock.
func experimentGuard(b *testing.B, st Store) *Guard {
	g, err := New(Config{KeySecret: testSecret}, st, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = g.Close(context.Background()) })
	return g
}

func (ex experiment) run(b *testing.B) experimentResult {
	p := startRedisServer(b)
	guards := make([]*Guard, max(1, ex.instances))
	for i := range guards {
		guards[i] = experimentGuard(b, openStore(b, p.url()))
	}
	type send struct {
		at    time.Duration
		event int
		guard *Guard
	}
	sends := make([]send, 0, 2*ex.events)
	for i := range ex.events {
		at := ex.span * time.Duration(i) / time.Duration(ex.events)
		sends = append(sends, send{at, i, guards[0]}, send{at + ex.repeatAfter, i, guards[len(guards)-1]})
	}
	// Replay in time order.
	slices.SortFunc(sends, func(a, b send) int { return int(a.at - b.at) })

	tickets := make([]atomic.Int32, ex.events)
	var pending atomic.Int32
	answer := []byte(`{"s":"SUCCESSFUL","t":"SM1a2b3c"}`)
	start := time.Now()
	var faults sync.WaitGroup
	faults.Go(func() {
		time.Sleep(time.Until(start.Add(ex.faultAt)))
		ex.breakIt(p)
		time.Sleep(time.Until(start.Add(ex.faultAt + ex.faultFor)))
		ex.mend(p)
	})
	var reqs sync.WaitGroup
	for _, s := range sends {
		time.Sleep(time.Until(start.Add(s.at)))
		reqs.Go(func() {
			// The hook's own deadline.
			ctx, cancel := context.WithTimeout(context.Background(), 2500*time.Millisecond)
			defer cancel()
			tk, _, err := s.guard.Begin(ctx, "evt-"+strconv.Itoa(s.event), 5*time.Minute)
			switch {
			case errors.Is(err, ErrInFlight):
				pending.Add(1)
			case tk != nil:
				tickets[s.event].Add(1)
				_ = tk.Finish(answer)
			}
		})
	}
	reqs.Wait()
	faults.Wait()
	var r experimentResult
	for i := range tickets {
		r.dups += max(0, int(tickets[i].Load())-1)
	}
	r.pending = int(pending.Load())
	return r
}
