package guard

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// Exactly once must hold while Redis stalls, fails or restarts empty. Each
// scenario runs against each fault: miniredis closed or answering errors,
// and a real redis-server paused with SIGSTOP (a stalled VM: commands time
// out) or killed and restarted (a failover without replication: the data
// is gone).

type redisFault struct {
	name string
	// timeout is short where the fault is a silent Redis, so a stall is
	// detected by its timeout, as in production.
	timeout time.Duration
	// open starts a Redis for one test and returns the store, and how to
	// break and mend it.
	open func(t *testing.T) (st Store, breakIt, mend func())
}

func redisFaults() []redisFault {
	return []redisFault{
		{"miniredis closed", time.Second, func(t *testing.T) (Store, func(), func()) {
			mr := miniredis.RunT(t)
			return openStore(t, "redis://"+mr.Addr()+"/0"), mr.Close, func() {
				if err := mr.Restart(); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"miniredis refusing writes", time.Second, func(t *testing.T) (Store, func(), func()) {
			mr := miniredis.RunT(t)
			return openStore(t, "redis://"+mr.Addr()+"/0"), func() { mr.SetError("NOREPLICAS Not enough good replicas to write.") }, func() { mr.SetError("") }
		}},
		{"redis-server paused", 300 * time.Millisecond, func(t *testing.T) (Store, func(), func()) {
			p := startRedisServer(t)
			return openStore(t, p.url()), p.pause, p.resume
		}},
		{"redis-server killed and restarted empty", 300 * time.Millisecond, func(t *testing.T) (Store, func(), func()) {
			p := startRedisServer(t)
			return openStore(t, p.url()), p.kill, p.restart
		}},
	}
}

type faultRig struct {
	*rig
	breakIt, mend func()
}

// pastRetry moves the clock past redisstore.RetryAfter: the Guard asks
// Redis again.
func (r *faultRig) pastRetry() { r.clock.Advance(2 * redisstore.RetryAfter) }

// spyStore tells when Redis first said another instance holds an eventId.
type spyStore struct {
	Store
	once     sync.Once
	inFlight chan struct{}
}

func (s *spyStore) Claim(ctx context.Context, now time.Time, k key, token string, ttl time.Duration) (redisstore.Claim, error) {
	c, err := s.Store.Claim(ctx, now, k, token, ttl)
	if err == nil && c.State == redisstore.InFlight {
		s.once.Do(func() { close(s.inFlight) })
	}
	return c, err
}

// answerDuringFault breaks Redis and has g answer "ev-during" in memory
// only: the first request to meet the fault finds it, and ev-during then
// never reaches Redis, as during a long outage.
func answerDuringFault(t *testing.T, r *faultRig, g *Guard) {
	t.Helper()
	r.breakIt()
	mustClaim(t, g, "probe", time.Minute).Abandon()
	if err := mustClaim(t, g, "ev-during", time.Minute).Finish([]byte("during")); err != nil {
		t.Fatal(err)
	}
}

// wantWrittenWithin waits for g's write-back to write answers to Redis. A
// bound, not a timing: a Guard without it never writes them.
func wantWrittenWithin(t *testing.T, g *Guard, d time.Duration) {
	t.Helper()
	select {
	case <-g.written:
	case <-time.After(d):
		t.Fatalf("the answers kept in memory were not written to Redis within %v of it answering again", d)
	}
}

func wantInFlight(t *testing.T, g *Guard, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	tk, prior, err := g.Begin(ctx, id, time.Minute)
	if tk != nil || !errors.Is(err, ErrInFlight) {
		tk.Abandon()
		t.Fatalf("Begin(%q) = ticket %v, prior %q, %v; want ErrInFlight (a ticket is a second send)", id, tk != nil, prior, err)
	}
}

func TestExactlyOnceThroughRedisFaults(t *testing.T) {
	scenarios := []struct {
		name string
		run  func(t *testing.T, r *faultRig)
	}{
		{"answered before the fault: a repeat during it gets that answer", func(t *testing.T, r *faultRig) {
			g := r.guard(Config{})
			if err := mustClaim(t, g, "ev1", time.Minute).Finish([]byte("before")); err != nil {
				t.Fatal(err)
			}
			r.breakIt()
			wantPrior(t, g, "ev1", []byte("before"))
			// A fresh eventId meets the fault (a timeout if Redis is
			// paused) and is claimed in memory; the repeat still wins.
			mustClaim(t, g, "ev-fresh", time.Minute).Abandon()
			r.pastRetry()
			wantPrior(t, g, "ev1", []byte("before"))
			r.mend()
			r.pastRetry()
			wantPrior(t, g, "ev1", []byte("before"))
		}},
		{"answered during the fault: a repeat once Redis is back gets that answer", func(t *testing.T, r *faultRig) {
			g := r.guard(Config{})
			answerDuringFault(t, r, g)
			r.mend()
			r.pastRetry()
			wantPrior(t, g, "ev-during", []byte("during"))
			// Redis is in use again for what memory does not know.
			tk := mustClaim(t, g, "ev-after", time.Minute)
			if !tk.shared {
				t.Fatal("a fresh eventId after the fault was claimed in memory only")
			}
			_ = tk.Finish([]byte("after"))
		}},
		{"answered during the fault: once Redis is back, another instance gets that answer", func(t *testing.T, r *faultRig) {
			a, b := r.guard(Config{}), r.guard(Config{})
			held := mustClaim(t, a, "ev-claimed-before", time.Minute)
			r.breakIt()
			_ = held.Finish([]byte("claimed before")) // Redis does not hear it
			if err := mustClaim(t, a, "ev-claimed-during", time.Minute).Finish([]byte("claimed during")); err != nil {
				t.Fatal(err)
			}
			r.mend()
			r.pastRetry()
			// a's next request finds Redis back and wakes the write-back.
			_ = mustClaim(t, a, "ev-after", time.Minute).Finish([]byte("after"))
			wantWrittenWithin(t, a, 2*time.Second)
			wantPrior(t, b, "ev-claimed-before", []byte("claimed before"))
			wantPrior(t, b, "ev-claimed-during", []byte("claimed during"))
		}},
		{"answered during the fault, then no traffic: within 2 s of Redis answering, another instance gets that answer", func(t *testing.T, r *faultRig) {
			a, b := r.guard(Config{}), r.guard(Config{})
			answerDuringFault(t, r, a)
			// No request reaches a from here on, and its clock stands still.
			r.mend()
			wantWrittenWithin(t, a, 2*time.Second)
			wantPrior(t, b, "ev-during", []byte("during"))
		}},
		{"answered during the fault, then SIGTERM: Close writes it to Redis", func(t *testing.T, r *faultRig) {
			a, b := r.guard(Config{}), r.guard(Config{})
			answerDuringFault(t, r, a)
			r.mend()
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second) // the drain budget
			defer cancel()
			if err := a.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
			wantPrior(t, b, "ev-during", []byte("during"))
		}},
		{"rate windows count in memory during the fault, from zero; the logs name no one", func(t *testing.T, r *faultRig) {
			g := r.guard(Config{PerPhone: Limit{2, time.Hour}})
			allow := func(phone string, want Reason) {
				t.Helper()
				var got Reason
				if ref := g.Allow(t.Context(), Subject{Phone: phone}); ref != nil {
					got = ref.Reason
				}
				if got != want {
					t.Fatalf("Allow = %q, want %q", got, want)
				}
			}
			allow(phoneA, "") // in Redis, which memory does not see
			r.breakIt()
			_ = mustClaim(t, g, "ev1", time.Minute).Finish([]byte("answer"))
			allow(phoneA, "")
			allow(phoneA, "")
			allow(phoneA, ReasonRatePhone)
			r.mend()
			r.pastRetry()
			allow(phoneB, "") // in Redis again
			logs := r.logs.String()
			for _, want := range []string{`level=WARN msg="redis unavailable, using in-memory guard" error_class=`, "redis available again"} {
				if !strings.Contains(logs, want) {
					t.Fatalf("logs lack %q:\n%s", want, logs)
				}
			}
			for _, secret := range []string{phoneA[1:], "okta8x8:", "ev1", "answer"} {
				if strings.Contains(logs, secret) {
					t.Fatalf("logs hold %q:\n%s", secret, logs)
				}
			}
		}},
		{"in flight on another instance, then Redis fails: never a claim here", func(t *testing.T, r *faultRig) {
			r.primary = &spyStore{Store: r.primary, inFlight: make(chan struct{})}
			holder, dup := r.guard(Config{}), r.guard(Config{})
			first := mustClaim(t, holder, "ev3", time.Minute)
			done := beginAsync(t, dup, "ev3")
			<-r.primary.(*spyStore).inFlight // the duplicate polls Redis for the first's answer
			r.breakIt()
			if res := <-done; res.tk != nil || !errors.Is(res.err, ErrInFlight) {
				res.tk.Abandon()
				t.Fatalf("duplicate = ticket %v, prior %q, %v; want ErrInFlight", res.tk != nil, res.prior, res.err)
			}
			// Repeats while Redis is marked down, then when it is tried
			// again and still fails: still not claimed here.
			wantInFlight(t, dup, "ev3")
			r.pastRetry()
			wantInFlight(t, dup, "ev3")
			r.mend()
			if err := first.Finish([]byte("first")); err != nil {
				t.Fatalf("holder's Finish after the fault: %v", err)
			}
			r.pastRetry()
			wantPrior(t, dup, "ev3", []byte("first"))
		}},
	}
	for _, f := range redisFaults() {
		for _, sc := range scenarios {
			t.Run(f.name+"/"+sc.name, func(t *testing.T) {
				r := &faultRig{rig: newRig(t, openMemory)}
				r.primary, r.breakIt, r.mend = f.open(t)
				r.timeout = f.timeout
				sc.run(t, r)
			})
		}
	}
}
