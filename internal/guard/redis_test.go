package guard

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

func countWarnings(logs string) int {
	return strings.Count(logs, `msg="redis unavailable, using in-memory guard"`)
}

func TestRedisDown(t *testing.T) {
	mr := miniredis.RunT(t)
	r := &rig{t: t, clock: newClock(), primary: openMiniredis(t, mr), logs: &syncBuffer{}}
	g := r.guard(Config{PerPhone: Limit{2, time.Hour}, PerUser: Limit{10, time.Hour}})
	ctx := t.Context()

	// One send lands in Redis before it goes away: the fallback starts
	// from an empty memory, which is the documented trade-off.
	a := Subject{Phone: phoneA, User: "u1"}
	if ref := g.Allow(ctx, a); ref != nil {
		t.Fatal(ref)
	}
	mr.Close()

	for i := range 2 {
		if ref := g.Allow(ctx, a); ref != nil {
			t.Fatalf("send %d with Redis down: %v", i, ref)
		}
	}
	if ref := g.Allow(ctx, a); ref == nil || ref.Reason != ReasonRatePhone {
		t.Fatalf("third send in memory = %v, want %s", ref, ReasonRatePhone)
	}
	tk := mustClaim(t, g, "ev1", time.Minute)
	_ = tk.Finish([]byte("answer"))
	wantPrior(t, g, "ev1", []byte("answer"))

	// Redis is retried each second; it still fails, still one warning.
	r.clock.Advance(30 * time.Second)
	mustClaim(t, g, "ev2", time.Minute).Abandon()
	logs := r.logs.String()
	if n := countWarnings(logs); n != 1 {
		t.Fatalf("%d warnings within a minute, want 1:\n%s", n, logs)
	}
	if !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "error_class=connection_refused") {
		t.Fatalf("warning lacks level or error class:\n%s", logs)
	}
	for _, secret := range []string{phoneA[1:], "okta8x8:", "ev1", "answer"} {
		if strings.Contains(logs, secret) {
			t.Fatalf("log holds %q:\n%s", secret, logs)
		}
	}

	r.clock.Advance(31 * time.Second)
	g.Allow(ctx, Subject{Phone: phoneB, User: "u1"})
	if n := countWarnings(r.logs.String()); n != 2 {
		t.Fatalf("%d warnings after a minute, want 2", n)
	}

	// Redis answers again: the next call after the retry delay uses it.
	if err := mr.Restart(); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(2 * time.Second)
	if ref := g.Allow(ctx, Subject{Phone: phoneC, User: "u1"}); ref != nil {
		t.Fatal(ref)
	}
	if key := "okta8x8:rl:" + g.keys.Key(kindPhone, phoneC).Hex(); !mr.Exists(key) {
		t.Fatalf("Redis keys after recovery = %q, want %s", mr.Keys(), key)
	}
	if !strings.Contains(r.logs.String(), "redis available again") {
		t.Fatalf("no recovery log:\n%s", r.logs.String())
	}
}

// A request that has run out of time is not evidence that Redis is down.
func TestRedisNotBlamedForCallerDeadline(t *testing.T) {
	r := newRig(t, miniredisBackend)
	g := r.guard(Config{PerPhone: Limit{1, time.Hour}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if ref := g.Allow(ctx, Subject{Phone: phoneA}); ref != nil {
		t.Fatalf("Allow with ctx over = %v, want an answer from memory", ref)
	}
	if _, _, err := g.Begin(ctx, "ev1", time.Minute); !errors.Is(err, ErrNoBudget) {
		t.Fatalf("Begin with ctx over = %v, want ErrNoBudget (no claim in memory behind Redis's back)", err)
	}
	if n := countWarnings(r.logs.String()); n != 0 {
		t.Fatalf("%d warnings, want none", n)
	}
	// Redis is still used.
	if ref := g.Allow(t.Context(), Subject{Phone: phoneA}); ref != nil {
		t.Fatal(ref)
	}
	if ref := g.Allow(t.Context(), Subject{Phone: phoneA}); ref == nil {
		t.Fatal("second send in Redis allowed")
	}
}

func TestOpenRedisHidesURL(t *testing.T) {
	_, err := OpenRedis("redis://user:hunter2@host:notaport/0")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("OpenRedis error = %v", err)
	}
	if _, err := OpenRedis("rediss://user:pw@10.0.0.3:6378/0"); err != nil {
		t.Fatalf("rediss:// refused: %v", err)
	}
}

// A claim script retried after its reply was lost finds its own pending
// claim: it is still claimed, not in flight.
func TestRedisClaimIsIdempotentForItsToken(t *testing.T) {
	mr := miniredis.RunT(t)
	st := NewRedisStore(redis.NewClient(&redis.Options{Addr: mr.Addr()}))
	now := time.Unix(1_800_000_000, 0)
	k := key{1}
	for i, want := range []claimState{claimed, claimed} {
		c, err := st.claim(context.Background(), now, k, "tok-A", time.Minute)
		if err != nil || c.state != want {
			t.Fatalf("claim %d: %v %v, want %v", i, c.state, err, want)
		}
	}
	c, _ := st.claim(context.Background(), now, k, "tok-B", time.Minute)
	if c.state != inFlight || !c.deadline.Equal(now.Add(time.Minute)) {
		t.Fatalf("another token: %v until %v, want inFlight until %v", c.state, c.deadline, now.Add(time.Minute))
	}
}

// Warm opens the connection at start-up, and is harmless when Redis is down.
func TestRedisWarm(t *testing.T) {
	mr := miniredis.RunT(t)
	st, err := OpenRedis("redis://" + mr.Addr() + "/0")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.Warm(t.Context())
	if n := mr.CurrentConnectionCount(); n < 1 {
		t.Errorf("%d connections after Warm", n)
	}
	mr.Close()
	st.Warm(t.Context()) // no panic, no hang beyond the dial timeout
}

// stallStore is a Redis whose first claim stalls until its ctx ends, as
// against a paused server; with late set, Redis then runs it anyway (a
// stalled server runs what it was sent once it resumes). Later claims
// reach Redis.
type stallStore struct {
	store
	late    bool
	stalled chan struct{} // closed when the stalled claim starts
	once    atomic.Bool
}

func (s *stallStore) claim(ctx context.Context, now time.Time, k key, token string, ttl time.Duration) (claim, error) {
	if s.once.Swap(true) {
		return s.store.claim(ctx, now, k, token, ttl)
	}
	close(s.stalled)
	<-ctx.Done()
	if s.late {
		_, _ = s.store.claim(context.WithoutCancel(ctx), now, k, token, ttl)
	}
	return claim{}, ctx.Err()
}

// A request that runs out of time before its eventId is claimed answers as
// if 8x8 could not be reached (ErrNoBudget: nothing sent, Okta falls
// back), unless someone is known to hold the eventId (ErrInFlight:
// PENDING, the holder's code is coming). PENDING without a holder would
// leave the user waiting for a code nobody sends. The not-sent answer is
// recorded: a repeat, here or on another instance, gets it again rather
// than a delivery (Okta has already sent its own code), even when Redis
// ran the timed-out claim late.
func TestOutOfTimeBeforeTheClaim(t *testing.T) {
	over := func(t *testing.T) context.Context {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		return ctx
	}
	stall := func(late bool) func(t *testing.T, r *rig) (*Guard, *Ticket, error) {
		return func(t *testing.T, r *rig) (*Guard, *Ticket, error) {
			st := &stallStore{store: r.primary, late: late, stalled: make(chan struct{})}
			r.primary = st
			g := r.guard(Config{RedisTimeout: time.Hour})
			ctx, cancel := context.WithCancel(t.Context())
			go func() { <-st.stalled; cancel() }()
			tk, _, err := g.Begin(ctx, "ev1", time.Minute)
			return g, tk, err
		}
	}
	cases := []struct {
		name string
		run  func(t *testing.T, r *rig) (*Guard, *Ticket, error)
		want error
	}{
		{"ctx over before Redis is asked, nobody holds it", func(t *testing.T, r *rig) (*Guard, *Ticket, error) {
			g := r.guard(Config{})
			tk, _, err := g.Begin(over(t), "ev1", time.Minute)
			return g, tk, err
		}, ErrNoBudget},
		{"Redis stalls until the request's deadline, nobody holds it", stall(false), ErrNoBudget},
		{"Redis stalls until the deadline, then runs the claim", stall(true), ErrNoBudget},
		{"this instance's request holds it", func(t *testing.T, r *rig) (*Guard, *Ticket, error) {
			g := r.guard(Config{})
			first := mustClaim(t, g, "ev1", time.Minute)
			t.Cleanup(first.Abandon)
			tk, _, err := g.Begin(over(t), "ev1", time.Minute)
			return g, tk, err
		}, ErrInFlight},
		{"another instance holds it", func(t *testing.T, r *rig) (*Guard, *Ticket, error) {
			holder, dup := r.guard(Config{}), r.guard(Config{})
			first := mustClaim(t, holder, "ev1", time.Minute)
			t.Cleanup(first.Abandon)
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond) // ends while it polls
			defer cancel()
			tk, _, err := dup.Begin(ctx, "ev1", time.Minute)
			return dup, tk, err
		}, ErrInFlight},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, miniredisBackend)
			g, tk, err := c.run(t, r)
			if !errors.Is(err, c.want) {
				t.Fatalf("Begin = %v, want %v", err, c.want)
			}
			if c.want == ErrInFlight {
				if tk != nil {
					t.Fatal("ErrInFlight with a ticket: a second send")
				}
				return
			}
			if tk == nil {
				t.Fatal("ErrNoBudget without a ticket: the not-sent answer cannot be recorded")
			}
			if err := tk.Finish([]byte("FAILED")); err != nil {
				t.Fatalf("Finish: %v", err)
			}
			// Repeats with time left, here and on another instance.
			wantPrior(t, g, "ev1", []byte("FAILED"))
			wantPrior(t, r.guard(Config{}), "ev1", []byte("FAILED"))
		})
	}
}
