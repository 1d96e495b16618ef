package guard

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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
// memory (no primary), Redis through miniredis, and a redis-server.

// newClock is the guard tests' clock, at a fixed start.
func newClock() *oktatest.Clock {
	return oktatest.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
}

// testSecret keys the tests' Guards; every Guard of a test shares it, as
// every instance of a deployment does.
var testSecret = redisstore.DeriveSecret("test material")

// opener returns a fresh primary store for one test, shared by every
// Guard of that test; nil means each Guard keeps its state in memory.
type opener func(t *testing.T) Store

func openMemory(*testing.T) Store { return nil }

func openMiniredis(t *testing.T) Store { return openStore(t, "redis://"+miniredis.RunT(t).Addr()+"/0") }

// openStore connects to url as production does.
func openStore(t testing.TB, url string) *redisstore.GuardStore {
	c, err := redisstore.Open(url, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return redisstore.NewGuardStore(c)
}

// backends start what each backend needs for a group of tests: a
// redis-server is started once and shared; each test keys its state with
// a secret of its own, so tests never see each other's keys.
var backends = []struct {
	name  string
	start func(t *testing.T) opener
}{
	{"memory", func(*testing.T) opener { return openMemory }},
	{"miniredis", func(*testing.T) opener { return openMiniredis }},
	{"redis-server", func(t *testing.T) opener {
		url := startRedisServer(t).url()
		return func(t *testing.T) Store { return openStore(t, url) }
	}},
}

type rig struct {
	t       testing.TB
	clock   *oktatest.Clock
	primary Store
	secret  []byte
	timeout time.Duration // per Redis call, Finish and Abandon included
	logs    *logtest.Buffer
}

func newRig(t *testing.T, open opener) *rig {
	return &rig{t: t, clock: newClock(), primary: open(t), secret: redisstore.DeriveSecret(t.Name()),
		// The race detector makes miniredis's Lua slow under load; a
		// timeout here would test the fallback, which has its own tests.
		timeout: 10 * time.Second, logs: &logtest.Buffer{}}
}

// guard returns an instance on the rig's primary, closed when the test ends.
func (r *rig) guard(cfg Config) *Guard {
	if cfg.KeySecret == nil {
		cfg.KeySecret = r.secret
	}
	logger := slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, err := newGuard(cfg, r.primary, logger, r.clock.Now, r.timeout, r.timeout)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = g.Close(ctx)
	})
	return g
}

// suite lists the behaviours every backend must have.
var suite = []struct {
	name string
	run  func(t *testing.T, open opener)
}{
	{"Allow", testAllow},
	{"Begin", testBegin},
	{"BeginConcurrent", testBeginConcurrent},
	{"SharedAcrossInstances", testSharedAcrossInstances},
}

func TestSuite(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			open := b.start(t)
			for _, s := range suite {
				t.Run(s.name, func(t *testing.T) { s.run(t, open) })
			}
		})
	}
}

type allowStep struct {
	advance     time.Duration // before the request
	phone, user string
	country, ip string
	want        Reason // "" = allowed
}

func repeat(n int, s allowStep) []allowStep {
	out := make([]allowStep, n)
	for i := range out {
		out[i] = s
	}
	return out
}

const (
	phoneA = "+14155550101"
	phoneB = "+14155550102"
	phoneC = "+14155550103"
	phoneD = "+14155550104"
)

func testAllow(t *testing.T, open opener) {
	fiveIn15m := Config{PerPhone: Limit{5, 15 * time.Minute}}
	cases := []struct {
		name  string
		cfg   Config
		steps []allowStep
	}{
		{
			name: "five sends pass, the sixth is refused for the phone",
			cfg:  fiveIn15m,
			steps: slices.Concat(repeat(5, allowStep{phone: phoneA, user: "u1"}), []allowStep{
				{phone: phoneA, user: "u1", want: ReasonRatePhone},
				{phone: phoneB, user: "u1"},
			}),
		},
		{
			name: "the window slides: the oldest send leaving, to the second, frees one slot, not five",
			cfg:  fiveIn15m,
			steps: slices.Concat([]allowStep{{phone: phoneA}}, repeat(4, allowStep{advance: time.Minute, phone: phoneA}), []allowStep{
				{phone: phoneA, want: ReasonRatePhone},
				{advance: 11*time.Minute - time.Second, phone: phoneA, want: ReasonRatePhone},
				{advance: time.Second, phone: phoneA},
				{phone: phoneA, want: ReasonRatePhone},
				{advance: time.Minute, phone: phoneA},
			}),
		},
		{
			name: "a burst across a fixed-window boundary does not double the limit",
			cfg:  fiveIn15m,
			steps: slices.Concat([]allowStep{{advance: 14*time.Minute + 59*time.Second, phone: phoneA}}, repeat(4, allowStep{phone: phoneA}), []allowStep{
				{advance: 2 * time.Second, phone: phoneA, want: ReasonRatePhone},
			}),
		},
		{
			name: "per-country budget across phones and users",
			cfg:  Config{PerPhone: Limit{5, time.Hour}, PerCountry: Limit{3, time.Hour}},
			steps: []allowStep{
				{phone: phoneA, user: "u1", country: "US"},
				{phone: phoneB, user: "u2", country: "US"},
				{phone: phoneC, user: "u3", country: "US"},
				{phone: phoneD, user: "u4", country: "US", want: ReasonRateCountry},
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
				{phone: phoneC, user: "u3", ip: "203.0.113.7", want: ReasonRateIP},
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
			name: "every window is checked before any counts: a refusal counts in no window",
			cfg:  Config{PerPhone: Limit{3, time.Hour}, PerUser: Limit{3, time.Hour}, PerIP: Limit{3, time.Hour}, PerCountry: Limit{2, time.Hour}},
			steps: []allowStep{
				{phone: phoneA, user: "u1", ip: "198.51.100.1", country: "US"},
				{phone: phoneA, user: "u1", ip: "198.51.100.1", country: "US"},
				{phone: phoneA, user: "u1", ip: "198.51.100.1", country: "US", want: ReasonRateCountry},
				{phone: phoneA, user: "u1", ip: "198.51.100.1", country: "CA"}, // the third for the phone, the user and the IP
				{phone: phoneA, user: "u2", ip: "198.51.100.2", country: "CA", want: ReasonRatePhone},
				{phone: phoneB, user: "u1", ip: "198.51.100.2", country: "CA", want: ReasonRateUser},
				{phone: phoneB, user: "u2", ip: "198.51.100.1", country: "CA", want: ReasonRateIP},
				{phone: phoneC, user: "u3", ip: "198.51.100.3", country: "CA"}, // CA's second
				{phone: phoneD, user: "u4", ip: "198.51.100.4", country: "CA", want: ReasonRateCountry},
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
			r := newRig(t, open)
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
				if ref != nil && s.phone != "" && strings.Contains(ref.Error(), s.phone) {
					t.Fatalf("step %d: refusal %q holds the number", i, ref.Error())
				}
			}
		})
	}
}

func testBegin(t *testing.T, open opener) {
	cases := []struct {
		name string
		run  func(t *testing.T, r *rig, g *Guard)
	}{
		{"the first claims; a duplicate after Finish gets the same bytes, even empty ones", func(t *testing.T, r *rig, g *Guard) {
			long := strings.Repeat("e", 1000)
			for id, answer := range map[string][]byte{"ev1": []byte("{\"commands\":[1]}\x00\xff binary-safe"), long: {}} {
				if err := mustClaim(t, g, id, time.Minute).Finish(answer); err != nil {
					t.Fatal(err)
				}
				wantPrior(t, g, id, answer)
				wantPrior(t, g, id, answer)
			}
			mustClaim(t, g, "ev2", time.Minute) // another eventId is independent
		}},
		{"Abandon lets a later request claim", func(t *testing.T, r *rig, g *Guard) {
			mustClaim(t, g, "ev1", time.Minute).Abandon()
			tk := mustClaim(t, g, "ev1", time.Minute)
			if err := tk.Finish([]byte("second")); err != nil {
				t.Fatal(err)
			}
			wantPrior(t, g, "ev1", []byte("second"))
		}},
		{"the answer lasts ttl, kept between 30s (an expired otpExpires) and 15 minutes", func(t *testing.T, r *rig, g *Guard) {
			for ttl, lasts := range map[time.Duration]time.Duration{time.Minute: time.Minute, 24 * time.Hour: MaxEventTTL, -time.Minute: minEventTTL} {
				id := ttl.String()
				_ = mustClaim(t, g, id, ttl).Finish([]byte("a"))
				r.clock.Advance(lasts - time.Second)
				wantPrior(t, g, id, []byte("a"))
				r.clock.Advance(time.Second)
				mustClaim(t, g, id, time.Minute).Abandon()
			}
		}},
		{"a duplicate whose deadline ends before Finish gets ErrInFlight", func(t *testing.T, r *rig, g *Guard) {
			tk := mustClaim(t, g, "ev1", time.Minute)
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			if _, _, err := g.Begin(ctx, "ev1", time.Minute); !errors.Is(err, ErrInFlight) {
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
				_ = mustClaim(t, g, "", time.Minute).Finish([]byte("a"))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, open)
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
	// A bound, not a timing: a wrong Guard may poll a claim forever.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	tk, prior, err := g.Begin(ctx, id, time.Minute)
	if err != nil || tk != nil || !bytes.Equal(prior, want) || prior == nil {
		tk.Abandon()
		t.Fatalf("Begin(%q) = ticket %v, prior %q, %v; want prior %q (a ticket is a second send)", id, tk != nil, prior, err, want)
	}
}

// testBeginConcurrent fires many duplicates at once, many times: exactly one
// claims, every other gets its bytes. With a shared primary the
// duplicates are spread over two Guards, as over two Cloud Run instances.
func testBeginConcurrent(t *testing.T, open opener) {
	const rounds, dups = 40, 16
	r := newRig(t, open)
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

func testSharedAcrossInstances(t *testing.T, open opener) {
	r := newRig(t, open)
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
