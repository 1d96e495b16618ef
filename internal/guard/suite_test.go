package guard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/telephony-hooks/okta-8x8/internal/logtest"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// The suite runs every behaviour against each backend: the Guard's own
// memory (no primary), Redis through miniredis, and (in
// integration_test.go) a real redis-server.

// newClock is the guard tests' clock, at a fixed start.
func newClock() *oktatest.Clock {
	return oktatest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
}

// syncBuffer collects log output written from many goroutines.
type syncBuffer = logtest.Buffer

type backend struct {
	name string
	// open returns a fresh primary store for one test, shared by every
	// Guard of that test; nil means each Guard keeps its state in memory.
	open func(t *testing.T) store
}

var memoryBackend = backend{name: "memory", open: func(*testing.T) store { return nil }}

var miniredisBackend = backend{name: "miniredis", open: func(t *testing.T) store {
	return openMiniredis(t, miniredis.RunT(t))
}}

func openMiniredis(t testing.TB, mr *miniredis.Miniredis) *RedisStore {
	st, err := OpenRedis("redis://" + mr.Addr() + "/0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// testSecret keys the tests' Guards; every Guard of a test shares it, as
// every instance of a deployment does.
var testSecret = redisstore.DeriveSecret("test material")

func unitBackends() []backend { return []backend{memoryBackend, miniredisBackend} }

type rig struct {
	t       testing.TB
	clock   *oktatest.Clock
	primary store
	logs    *syncBuffer
}

func newRig(t *testing.T, b backend) *rig {
	return &rig{t: t, clock: newClock(), primary: b.open(t), logs: &syncBuffer{}}
}

func (r *rig) guard(cfg Config) *Guard {
	if cfg.RedisTimeout == 0 {
		// The race detector makes miniredis's Lua slow under load; a
		// timeout here would test the fallback, which has its own tests.
		cfg.RedisTimeout = 10 * time.Second
	}
	if cfg.KeySecret == nil {
		cfg.KeySecret = testSecret
	}
	logger := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := newGuard(cfg, r.primary, logger, r.clock.Now)
	if err != nil {
		r.t.Fatal(err)
	}
	return g
}

// suite lists the behaviours every backend must have.
var suite = []struct {
	name string
	run  func(t *testing.T, b backend)
}{
	{"Allow", testAllow},
	{"Begin", testBegin},
	{"BeginConcurrent", testBeginConcurrent},
	{"SharedAcrossInstances", testSharedAcrossInstances},
}

func TestSuite(t *testing.T) {
	for _, b := range unitBackends() {
		for _, s := range suite {
			t.Run(b.name+"/"+s.name, func(t *testing.T) { s.run(t, b) })
		}
	}
}

type allowStep struct {
	advance     time.Duration // before the request
	phone, user string
	country, ip string
	want        Reason        // "" = allowed
	wantRetry   time.Duration // checked when not 0
}

func repeat(n int, s allowStep) []allowStep {
	out := make([]allowStep, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func steps(groups ...[]allowStep) []allowStep {
	var out []allowStep
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func one(s allowStep) []allowStep { return []allowStep{s} }

const (
	phoneA = "+14155550101"
	phoneB = "+14155550102"
	phoneC = "+14155550103"
	phoneD = "+14155550104"
)

func testAllow(t *testing.T, b backend) {
	fiveIn15m := Config{PerPhone: Limit{5, 15 * time.Minute}}
	cases := []struct {
		name  string
		cfg   Config
		steps []allowStep
	}{
		{
			name: "five sends pass, the sixth is refused for the phone",
			cfg:  fiveIn15m,
			steps: steps(
				repeat(5, allowStep{phone: phoneA, user: "u1"}),
				one(allowStep{phone: phoneA, user: "u1", want: ReasonRatePhone, wantRetry: 15 * time.Minute}),
				one(allowStep{phone: phoneB, user: "u1"}),
			),
		},
		{
			name: "the window slides: the oldest send leaving frees one slot, not five",
			cfg:  fiveIn15m,
			steps: steps(
				one(allowStep{phone: phoneA}),
				repeat(4, allowStep{advance: time.Minute, phone: phoneA}),
				one(allowStep{phone: phoneA, want: ReasonRatePhone, wantRetry: 11 * time.Minute}),
				one(allowStep{advance: 11 * time.Minute, phone: phoneA}),
				one(allowStep{phone: phoneA, want: ReasonRatePhone, wantRetry: time.Minute}),
				one(allowStep{advance: time.Minute, phone: phoneA}),
			),
		},
		{
			name: "a burst across a fixed-window boundary does not double the limit",
			cfg:  fiveIn15m,
			steps: steps(
				one(allowStep{advance: 14*time.Minute + 59*time.Second, phone: phoneA}),
				repeat(4, allowStep{phone: phoneA}),
				one(allowStep{advance: 2 * time.Second, phone: phoneA, want: ReasonRatePhone}),
			),
		},
		{
			name: "per-user limit across different phones",
			cfg:  Config{PerUser: Limit{3, time.Hour}},
			steps: []allowStep{
				{phone: phoneA, user: "u1"},
				{phone: phoneB, user: "u1"},
				{phone: phoneC, user: "u1"},
				{phone: phoneD, user: "u1", want: ReasonRateUser, wantRetry: time.Hour},
				{phone: phoneD, user: "u2"},
			},
		},
		{
			name: "a refusal counts in neither window",
			cfg:  Config{PerPhone: Limit{2, time.Hour}, PerUser: Limit{3, time.Hour}},
			steps: []allowStep{
				{phone: phoneA, user: "u1"},
				{phone: phoneA, user: "u1"},
				{phone: phoneA, user: "u1", want: ReasonRatePhone}, // must not count for u1
				{phone: phoneB, user: "u1"},                        // u1's third
				{phone: phoneB, user: "u1", want: ReasonRateUser},  // must not count for B
				{phone: phoneB, user: "u2"},                        // B's second
				{phone: phoneB, user: "u3", want: ReasonRatePhone},
			},
		},
		{
			name: "per-country budget across phones and users",
			cfg:  Config{PerPhone: Limit{5, time.Hour}, PerCountry: Limit{3, time.Hour}},
			steps: []allowStep{
				{phone: phoneA, user: "u1", country: "US"},
				{phone: phoneB, user: "u2", country: "US"},
				{phone: phoneC, user: "u3", country: "US"},
				{phone: phoneD, user: "u4", country: "US", want: ReasonRateCountry, wantRetry: time.Hour},
				{phone: phoneD, user: "u4", country: "CA"},
				{phone: phoneA, user: "u1", country: "US", want: ReasonRateCountry}, // refusals count nowhere
				{advance: time.Hour, phone: phoneD, user: "u4", country: "US"},
			},
		},
		{
			name: "per-IP limit across phones and users; an IPv6 /64 is one IP",
			cfg:  Config{PerPhone: Limit{5, time.Hour}, PerIP: Limit{2, 10 * time.Minute}},
			steps: []allowStep{
				{phone: phoneA, user: "u1", ip: "203.0.113.7"},
				{phone: phoneB, user: "u2", ip: "203.0.113.7"},
				{phone: phoneC, user: "u3", ip: "203.0.113.7", want: ReasonRateIP, wantRetry: 10 * time.Minute},
				{phone: phoneC, user: "u3", ip: "::ffff:203.0.113.7", want: ReasonRateIP}, // the same IPv4
				{phone: phoneC, user: "u3", ip: "203.0.113.8"},
				{phone: phoneA, ip: "2001:db8:1:2::1"},
				{phone: phoneB, ip: "2001:db8:1:2:ffff::9"},
				{phone: phoneC, ip: "2001:db8:1:2:aaaa::1", want: ReasonRateIP},
				{phone: phoneC, ip: "2001:db8:1:3::1"},
				{phone: phoneD, ip: "not an address"}, // no IP window
				{phone: phoneD},
				{advance: 10 * time.Minute, phone: phoneD, ip: "203.0.113.7"},
			},
		},
		{
			name: "every window is checked before any counts: a refusal by the last counts in none",
			cfg:  Config{PerPhone: Limit{3, time.Hour}, PerUser: Limit{3, time.Hour}, PerIP: Limit{3, time.Hour}, PerCountry: Limit{2, time.Hour}},
			steps: []allowStep{
				{phone: phoneA, user: "u1", ip: "198.51.100.1", country: "US"},
				{phone: phoneA, user: "u1", ip: "198.51.100.1", country: "US"},
				{phone: phoneA, user: "u1", ip: "198.51.100.1", country: "US", want: ReasonRateCountry, wantRetry: time.Hour},
				{phone: phoneA, user: "u1", ip: "198.51.100.1", country: "CA"}, // the third for the phone, the user and the IP
				{phone: phoneA, user: "u2", ip: "198.51.100.2", country: "CA", want: ReasonRatePhone},
				{phone: phoneB, user: "u1", ip: "198.51.100.2", country: "CA", want: ReasonRateUser},
				{phone: phoneB, user: "u2", ip: "198.51.100.1", country: "CA", want: ReasonRateIP},
			},
		},
		{
			name: "a window longer than 65,535 s keeps its sends for at least the whole window",
			cfg:  Config{PerCountry: Limit{2, 48 * time.Hour}},
			steps: []allowStep{
				{country: "US"},
				{advance: time.Hour, country: "US"},
				{advance: 46 * time.Hour, country: "US", want: ReasonRateCountry},
				{advance: 59 * time.Minute, country: "US", want: ReasonRateCountry},
				{advance: 2 * time.Hour, country: "US"},
			},
		},
		{
			name: "retry-after is exact to the second as the window ends",
			cfg:  Config{PerPhone: Limit{1, time.Minute}},
			steps: []allowStep{
				{phone: phoneA},
				{advance: 59 * time.Second, phone: phoneA, want: ReasonRatePhone, wantRetry: time.Second},
				{advance: time.Second, phone: phoneA},
			},
		},
		{
			name:  "0 disables both limits",
			cfg:   Config{},
			steps: repeat(50, allowStep{phone: phoneA, user: "u1"}),
		},
		{
			name: "no userId: only the phone limit applies",
			cfg:  Config{PerPhone: Limit{2, time.Hour}, PerUser: Limit{1, time.Hour}},
			steps: []allowStep{
				{phone: phoneA},
				{phone: phoneA},
				{phone: phoneA, want: ReasonRatePhone},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, b)
			g := r.guard(tc.cfg)
			for i, s := range tc.steps {
				r.clock.Advance(s.advance)
				ref := g.Allow(t.Context(), Subject{Phone: s.phone, User: s.user, Country: s.country, IP: s.ip})
				var got Reason
				if ref != nil {
					got = ref.Reason
				}
				if got != s.want {
					t.Fatalf("step %d: Allow = %v, want reason %q", i, ref, s.want)
				}
				if s.wantRetry != 0 && ref.RetryAfter != s.wantRetry {
					t.Fatalf("step %d: RetryAfter = %v, want %v", i, ref.RetryAfter, s.wantRetry)
				}
				if ref != nil && s.phone != "" && strings.Contains(ref.Error(), s.phone) {
					t.Fatalf("step %d: refusal %q holds the number", i, ref.Error())
				}
			}
		})
	}
}

func testBegin(t *testing.T, b backend) {
	cases := []struct {
		name string
		run  func(t *testing.T, r *rig, g *Guard)
	}{
		{"the first claims; a duplicate after Finish gets the same bytes", func(t *testing.T, r *rig, g *Guard) {
			answer := []byte("{\"commands\":[1]}\x00\xff binary-safe")
			tk := mustClaim(t, g, "ev1", time.Minute)
			if err := tk.Finish(answer); err != nil {
				t.Fatal(err)
			}
			wantPrior(t, g, "ev1", answer)
			wantPrior(t, g, "ev1", answer)
			mustClaim(t, g, "ev2", time.Minute) // another eventId is independent
		}},
		{"an empty answer is still an answer", func(t *testing.T, r *rig, g *Guard) {
			if err := mustClaim(t, g, "ev1", time.Minute).Finish(nil); err != nil {
				t.Fatal(err)
			}
			wantPrior(t, g, "ev1", []byte{})
		}},
		{"Abandon lets a later request claim", func(t *testing.T, r *rig, g *Guard) {
			mustClaim(t, g, "ev1", time.Minute).Abandon()
			tk := mustClaim(t, g, "ev1", time.Minute)
			if err := tk.Finish([]byte("second")); err != nil {
				t.Fatal(err)
			}
			wantPrior(t, g, "ev1", []byte("second"))
		}},
		{"the answer expires after ttl", func(t *testing.T, r *rig, g *Guard) {
			_ = mustClaim(t, g, "ev1", time.Minute).Finish([]byte("a"))
			r.clock.Advance(59 * time.Second)
			wantPrior(t, g, "ev1", []byte("a"))
			r.clock.Advance(time.Second)
			mustClaim(t, g, "ev1", time.Minute)
		}},
		{"ttl is capped at 15 minutes", func(t *testing.T, r *rig, g *Guard) {
			_ = mustClaim(t, g, "ev1", 24*time.Hour).Finish([]byte("a"))
			r.clock.Advance(MaxEventTTL - time.Second)
			wantPrior(t, g, "ev1", []byte("a"))
			r.clock.Advance(time.Second)
			mustClaim(t, g, "ev1", time.Minute)
		}},
		{"an expired otpExpires still groups duplicates for 30s", func(t *testing.T, r *rig, g *Guard) {
			_ = mustClaim(t, g, "ev1", -time.Minute).Finish([]byte("a"))
			r.clock.Advance(29 * time.Second)
			wantPrior(t, g, "ev1", []byte("a"))
		}},
		{"a duplicate whose deadline ends before Finish gets ErrInFlight", func(t *testing.T, r *rig, g *Guard) {
			tk := mustClaim(t, g, "ev1", time.Minute)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				_, _, err := g.Begin(ctx, "ev1", time.Minute)
				done <- err
			}()
			cancel()
			if err := <-done; !errors.Is(err, ErrInFlight) {
				t.Fatalf("Begin = %v, want ErrInFlight", err)
			}
			_ = tk.Finish([]byte("late"))
			wantPrior(t, g, "ev1", []byte("late"))
		}},
		{"a waiting duplicate gets the answer once it comes", func(t *testing.T, r *rig, g *Guard) {
			tk := mustClaim(t, g, "ev1", time.Minute)
			done := beginAsync(t, g, "ev1")
			_ = tk.Finish([]byte("first"))
			res := <-done
			if res.err != nil || res.tk != nil || string(res.prior) != "first" {
				t.Fatalf("Begin = %v, %q, %v; want the first answer", res.tk, res.prior, res.err)
			}
		}},
		{"an in-flight claim that outlives ttl is taken over; the old holder's Finish is lost", func(t *testing.T, r *rig, g *Guard) {
			old := mustClaim(t, g, "ev1", 30*time.Second)
			r.clock.Advance(30 * time.Second)
			tk := mustClaim(t, g, "ev1", 30*time.Second)
			if err := old.Finish([]byte("old")); !errors.Is(err, ErrClaimLost) {
				t.Fatalf("old Finish = %v, want ErrClaimLost", err)
			}
			_ = tk.Finish([]byte("new"))
			wantPrior(t, g, "ev1", []byte("new"))
		}},
		{"Finish and Abandon act once; a nil Ticket is harmless", func(t *testing.T, r *rig, g *Guard) {
			tk := mustClaim(t, g, "ev1", time.Minute)
			_ = tk.Finish([]byte("a"))
			tk.Abandon()
			_ = tk.Finish([]byte("b"))
			wantPrior(t, g, "ev1", []byte("a"))
			var nilTk *Ticket
			_ = nilTk.Finish(nil)
			nilTk.Abandon()
		}},
		{"an empty eventId is not deduplicated", func(t *testing.T, r *rig, g *Guard) {
			for range 2 {
				tk := mustClaim(t, g, "", time.Minute)
				_ = tk.Finish([]byte("a"))
			}
		}},
		{"a very long eventId works", func(t *testing.T, r *rig, g *Guard) {
			long := strings.Repeat("e", 1000)
			_ = mustClaim(t, g, long, time.Minute).Finish([]byte("a"))
			wantPrior(t, g, long, []byte("a"))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, b)
			tc.run(t, r, r.guard(Config{}))
		})
	}
}

// beginResult is what Begin returned.
type beginResult struct {
	tk    *Ticket
	prior []byte
	err   error
}

// beginAsync calls Begin for id in the background (a duplicate that will
// wait for the first request's answer).
func beginAsync(t *testing.T, g *Guard, id string) <-chan beginResult {
	done := make(chan beginResult, 1)
	go func() {
		tk, prior, err := g.Begin(t.Context(), id, time.Minute)
		done <- beginResult{tk, prior, err}
	}()
	return done
}

func mustClaim(t *testing.T, g *Guard, id string, ttl time.Duration) *Ticket {
	t.Helper()
	tk, prior, err := g.Begin(t.Context(), id, ttl)
	if err != nil || tk == nil || prior != nil {
		t.Fatalf("Begin(%q) = %v, %q, %v; want a Ticket", id, tk, prior, err)
	}
	return tk
}

func wantPrior(t *testing.T, g *Guard, id string, want []byte) {
	t.Helper()
	tk, prior, err := g.Begin(t.Context(), id, time.Minute)
	if err != nil || tk != nil || !bytes.Equal(prior, want) || prior == nil {
		t.Fatalf("Begin(%q) = %v, %q, %v; want prior %q", id, tk, prior, err, want)
	}
}

// testBeginConcurrent fires many duplicates at once, many times: exactly one
// claims, every other gets its bytes. With a shared primary the
// duplicates are spread over two Guards, as over two Cloud Run instances.
func testBeginConcurrent(t *testing.T, b backend) {
	const rounds, dups = 40, 16
	r := newRig(t, b)
	guards := []*Guard{r.guard(Config{})}
	if r.primary != nil {
		guards = append(guards, r.guard(Config{}))
	}
	for round := range rounds {
		id := fmt.Sprintf("evt-%d", round)
		want := fmt.Appendf(nil, `{"round":%d}`, round)
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			tickets int
			fails   []string
		)
		start := make(chan struct{})
		for i := range dups {
			g := guards[i%len(guards)]
			wg.Go(func() {
				<-start
				tk, prior, err := g.Begin(t.Context(), id, time.Minute)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err != nil:
					fails = append(fails, err.Error())
				case tk != nil:
					tickets++
					if err := tk.Finish(want); err != nil {
						fails = append(fails, "finish: "+err.Error())
					}
				case !bytes.Equal(prior, want):
					fails = append(fails, fmt.Sprintf("prior %q", prior))
				}
			})
		}
		close(start)
		wg.Wait()
		if tickets != 1 || len(fails) > 0 {
			t.Fatalf("round %d: %d tickets (want 1), failures %q\nlogs:\n%s", round, tickets, fails, r.logs)
		}
	}
}

func testSharedAcrossInstances(t *testing.T, b backend) {
	r := newRig(t, b)
	if r.primary == nil {
		t.Skip("memory: each instance has its own state by design")
	}
	cfg := Config{PerPhone: Limit{3, 15 * time.Minute}, PerUser: Limit{10, time.Hour}}
	g1, g2 := r.guard(cfg), r.guard(cfg)
	for i, g := range []*Guard{g1, g2, g1} {
		if ref := g.Allow(t.Context(), Subject{Phone: phoneA, User: "u1"}); ref != nil {
			t.Fatalf("send %d: %v", i, ref)
		}
	}
	if ref := g2.Allow(t.Context(), Subject{Phone: phoneA, User: "u1"}); ref == nil || ref.Reason != ReasonRatePhone {
		t.Fatalf("fourth send on the other instance = %v, want %s", ref, ReasonRatePhone)
	}
	_ = mustClaim(t, g1, "ev1", time.Minute).Finish([]byte("from g1"))
	wantPrior(t, g2, "ev1", []byte("from g1"))
}
