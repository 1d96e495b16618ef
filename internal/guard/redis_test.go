package guard

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// A request that has run out of time is not evidence that Redis is down.
func TestRedisNotBlamedForCallerDeadline(t *testing.T) {
	r := newRig(t, openMiniredis)
	g := r.guard(Config{PerPhone: Limit{1, time.Hour}})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if ref := g.Allow(ctx, Subject{Phone: phoneA}); ref != nil {
		t.Fatalf("Allow with ctx over = %v, want an answer from memory", ref)
	}
	if _, _, err := g.Begin(ctx, "ev1", time.Minute); !errors.Is(err, ErrNoBudget) {
		t.Fatalf("Begin with ctx over = %v, want ErrNoBudget (no claim in memory behind Redis's back)", err)
	}
	if strings.Contains(r.logs.String(), "redis unavailable") {
		t.Fatalf("Redis blamed:\n%s", r.logs)
	}
	// Redis is still used.
	if ref := g.Allow(t.Context(), Subject{Phone: phoneA}); ref != nil {
		t.Fatal(ref)
	}
	if ref := g.Allow(t.Context(), Subject{Phone: phoneA}); ref == nil {
		t.Fatal("second send in Redis allowed")
	}
}

// stallStore is a Redis whose first claim stalls until its ctx ends, as
// against a paused server; with late set, Redis then runs it anyway (a
// stalled server runs what it was sent once it resumes). Later claims
// reach Redis.
type stallStore struct {
	Store
	late    bool
	stalled chan struct{} // closed when the stalled claim starts
	once    atomic.Bool
}

func (s *stallStore) Claim(ctx context.Context, now time.Time, k key, token string, ttl time.Duration) (redisstore.Claim, error) {
	if s.once.Swap(true) {
		return s.Store.Claim(ctx, now, k, token, ttl)
	}
	close(s.stalled)
	<-ctx.Done()
	if s.late {
		_, _ = s.Store.Claim(context.WithoutCancel(ctx), now, k, token, ttl)
	}
	return redisstore.Claim{}, ctx.Err()
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
			st := &stallStore{Store: r.primary, late: late, stalled: make(chan struct{})}
			r.primary, r.timeout = st, time.Hour
			g := r.guard(Config{})
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
			r := newRig(t, openMiniredis)
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

// slowFinish is a Redis whose first Finish answers only once its bound
// has run out, as a Redis slower than the settle's bound but not stalled.
type slowFinish struct {
	Store
	once atomic.Bool
}

func (s *slowFinish) Finish(ctx context.Context, now time.Time, k key, token string, deadline time.Time, answer []byte) error {
	if s.once.Swap(true) {
		return s.Store.Finish(ctx, now, k, token, deadline, answer)
	}
	<-ctx.Done()
	return ctx.Err()
}

// Recording an answer has a bound of its own, shorter than a Redis call's,
// to fit the hook's margin: running out of it says the request is short of
// time, not that Redis stalled. Taken for down, Redis would be skipped for
// a second: limits counted in this instance's memory only, and a repeat
// held by another instance delivered again here.
func TestSlowSettleIsNotRedisDown(t *testing.T) {
	r := newRig(t, openMiniredis)
	cfg := Config{PerPhone: Limit{1, time.Hour}, KeySecret: r.secret}
	other := r.guard(cfg)
	g, err := newGuard(cfg, &slowFinish{Store: r.primary}, nil, r.clock.Now, r.timeout, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Close(context.Background()) })
	if err := mustClaim(t, g, "ev1", time.Minute).Finish([]byte("answer")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Finish past its bound = %v, want a timeout", err)
	}
	if ref := other.Allow(t.Context(), Subject{Phone: phoneA}); ref != nil {
		t.Fatal(ref)
	}
	if ref := g.Allow(t.Context(), Subject{Phone: phoneA}); ref == nil {
		t.Fatal("a second send to the phone allowed: after a slow Finish the guard counted in memory, not in Redis")
	}
}
