package guard

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
)

// Exactly once must hold while Redis stalls, fails or restarts empty. Each
// scenario runs against each fault: miniredis closed or answering errors,
// and a real redis-server paused with SIGSTOP (a stalled VM: commands time
// out) or killed and restarted (a failover without replication: the data
// is gone).

type redisFault struct {
	name string
	// redisTimeout is short where the fault is a silent Redis, so a
	// stall is detected by its timeout, as in production.
	redisTimeout time.Duration
	// open starts a Redis for one test and returns the store, and how to
	// break and mend it.
	open func(t *testing.T) (st *RedisStore, breakIt, mend func())
}

func redisFaults() []redisFault {
	return []redisFault{
		{"miniredis closed", time.Second, func(t *testing.T) (*RedisStore, func(), func()) {
			mr := miniredis.RunT(t)
			return openMiniredis(t, mr), mr.Close, func() {
				if err := mr.Restart(); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"miniredis answering errors", time.Second, func(t *testing.T) (*RedisStore, func(), func()) {
			mr := miniredis.RunT(t)
			return openMiniredis(t, mr), func() { mr.SetError("LOADING Redis is loading the dataset in memory") }, func() { mr.SetError("") }
		}},
		{"redis-server paused", 300 * time.Millisecond, func(t *testing.T) (*RedisStore, func(), func()) {
			p := startRedisServer(t)
			return openRedisServer(t, p), p.pause, p.resume
		}},
		{"redis-server killed and restarted empty", 300 * time.Millisecond, func(t *testing.T) (*RedisStore, func(), func()) {
			p := startRedisServer(t)
			return openRedisServer(t, p), p.kill, p.restart
		}},
	}
}

func openRedisServer(t testing.TB, p *redisProc) *RedisStore {
	st, err := OpenRedis(p.url())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

type faultRig struct {
	t       *testing.T
	clock   *oktatest.Clock
	st      *RedisStore
	breakIt func()
	mend    func()
	timeout time.Duration
	logs    *syncBuffer
}

// guard returns an instance on primary (nil: the rig's Redis).
func (r *faultRig) guard(primary store) *Guard {
	if primary == nil {
		primary = r.st
	}
	logger := slog.New(slog.NewTextHandler(r.logs, nil))
	g, err := newGuard(Config{KeySecret: testSecret, RedisTimeout: r.timeout}, primary, logger, r.clock.Now)
	if err != nil {
		r.t.Fatal(err)
	}
	return g
}

// pastRetry moves the clock past redisRetryAfter: the Guard asks Redis
// again.
func (r *faultRig) pastRetry() { r.clock.Advance(2 * redisRetryAfter) }

// spyStore tells when Redis first said another instance holds an eventId.
type spyStore struct {
	store
	once     sync.Once
	inFlight chan struct{}
}

func (s *spyStore) claim(ctx context.Context, now time.Time, k key, token string, ttl time.Duration) (claim, error) {
	c, err := s.store.claim(ctx, now, k, token, ttl)
	if err == nil && c.state == inFlight {
		s.once.Do(func() { close(s.inFlight) })
	}
	return c, err
}

func wantPriorWithin(t *testing.T, g *Guard, id string, want []byte) {
	t.Helper()
	// A bound, not a timing: a wrong Guard may poll a claim forever.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	tk, prior, err := g.Begin(ctx, id, time.Minute)
	if err != nil || tk != nil || !bytes.Equal(prior, want) {
		tk.Abandon()
		t.Fatalf("Begin(%q) = ticket %v, prior %q, %v; want prior %q (a ticket is a second send)", id, tk != nil, prior, err, want)
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
			g := r.guard(nil)
			if err := mustClaim(t, g, "ev1", time.Minute).Finish([]byte("before")); err != nil {
				t.Fatal(err)
			}
			r.breakIt()
			wantPriorWithin(t, g, "ev1", []byte("before"))
			// A fresh eventId meets the fault (a timeout if Redis is
			// paused) and is claimed in memory; the repeat still wins.
			mustClaim(t, g, "ev-fresh", time.Minute).Abandon()
			r.pastRetry()
			wantPriorWithin(t, g, "ev1", []byte("before"))
			r.mend()
			r.pastRetry()
			wantPriorWithin(t, g, "ev1", []byte("before"))
		}},
		{"answered during the fault: a repeat once Redis is back gets that answer", func(t *testing.T, r *faultRig) {
			g := r.guard(nil)
			r.breakIt()
			// The first request to meet the fault finds it; ev2 then never
			// reaches Redis, as during a long outage.
			mustClaim(t, g, "probe", time.Minute).Abandon()
			if err := mustClaim(t, g, "ev2", time.Minute).Finish([]byte("during")); err != nil {
				t.Fatal(err)
			}
			r.mend()
			r.pastRetry()
			wantPriorWithin(t, g, "ev2", []byte("during"))
			// Redis is in use again for what memory does not know.
			tk := mustClaim(t, g, "ev-after", time.Minute)
			if !tk.shared {
				t.Fatal("a fresh eventId after the fault was claimed in memory only")
			}
			_ = tk.Finish([]byte("after"))
		}},
		{"answered during the fault: once Redis is back, another instance gets that answer", func(t *testing.T, r *faultRig) {
			a, b := r.guard(nil), r.guard(nil)
			held := mustClaim(t, a, "ev-claimed-before", time.Minute)
			r.breakIt()
			_ = held.Finish([]byte("claimed before")) // Redis does not hear it
			if err := mustClaim(t, a, "ev-claimed-during", time.Minute).Finish([]byte("claimed during")); err != nil {
				t.Fatal(err)
			}
			r.mend()
			r.pastRetry()
			// a's next request finds Redis back; what a answered meanwhile
			// is written there in the background.
			_ = mustClaim(t, a, "ev-after", time.Minute).Finish([]byte("after"))
			a.flushes.Wait()
			wantPriorWithin(t, b, "ev-claimed-before", []byte("claimed before"))
			wantPriorWithin(t, b, "ev-claimed-during", []byte("claimed during"))
		}},
		{"in flight on another instance, then Redis fails: never a claim here", func(t *testing.T, r *faultRig) {
			spy := &spyStore{store: r.st, inFlight: make(chan struct{})}
			holder, dup := r.guard(nil), r.guard(spy)
			first := mustClaim(t, holder, "ev3", time.Minute)
			done := beginAsync(t, dup, "ev3")
			<-spy.inFlight // the duplicate polls Redis for the first's answer
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
			wantPriorWithin(t, dup, "ev3", []byte("first"))
		}},
	}
	for _, f := range redisFaults() {
		for _, sc := range scenarios {
			t.Run(f.name+"/"+sc.name, func(t *testing.T) {
				st, breakIt, mend := f.open(t)
				r := &faultRig{t: t, clock: newClock(), st: st, breakIt: breakIt, mend: mend, timeout: f.redisTimeout, logs: &syncBuffer{}}
				sc.run(t, r)
			})
		}
	}
}
