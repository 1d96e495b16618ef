package budget_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/telephony-hooks/okta-8x8/internal/conversion/budget"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
)

// A Monday, 00:00 UTC: the scenarios start on a clock hour.
var start = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

// backend is one place the budget's history lives in. store returns a Store
// over this test's state: for Redis on a new client each time, as a new
// instance (or a restarted one) would have.
type backend struct {
	name  string
	store func() budget.Store
	keys  func() map[string]string // Redis's keys and values; nil for memory
}

// backends are memory, miniredis, and the redis-server at REDIS_TEST_URL
// when it is set (CI sets it), each empty.
func backends(t *testing.T) []backend {
	mem := budget.NewMemory()
	bs := []backend{{name: "memory", store: func() budget.Store { return mem }}}
	for name, url := range sharedtest.RedisURLs(t, sharedtest.DBBudget) {
		bs = append(bs, redisBackend(t, name, url))
	}
	return bs
}

// redisBackend is the Redis at url: its keys are the budget's alone.
func redisBackend(t *testing.T, name, url string) backend {
	scan := func() map[string]string {
		c, out := client(t, url), map[string]string{}
		iter := c.Scan(context.Background(), 0, "*", 1000).Iterator()
		for iter.Next(context.Background()) {
			k := iter.Val()
			if ttl := c.TTL(context.Background(), k).Val(); ttl <= 30*24*time.Hour || ttl > 31*24*time.Hour {
				t.Errorf("%s: TTL %v, want 31 days", k, ttl)
			}
			out[k] = c.Get(context.Background(), k).Val()
		}
		return out
	}
	return backend{name: name, keys: scan, store: func() budget.Store {
		return redisstore.NewBudgetStore(client(t, url))
	}}
}

func client(t *testing.T, url string) *redis.Client {
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// send is one code requested: at (from start) to country; verified after
// verifyIn, or never when verifyIn is 0.
type send struct {
	at       time.Duration
	country  string
	verifyIn time.Duration
}

// tally is what a scenario's sends met.
type tally struct {
	passed, refused []send
	lastRefusal     budget.Decision
}

// count is how many of sends went to one of countries within [from, to).
func count(sends []send, countries []string, from, to time.Duration) (n int) {
	for _, s := range sends {
		if slices.Contains(countries, s.country) && s.at >= from && s.at < to {
			n++
		}
	}
	return n
}

// play makes each send (in time order) that Allow passes, and enters the
// code of each passed send at its time.
func play(t *testing.T, b *budget.Budget, clock *oktatest.Clock, sends []send) tally {
	t.Helper()
	ctx := t.Context()
	slices.SortStableFunc(sends, func(a, b send) int { return int(a.at - b.at) })
	type due struct {
		send   send
		sentAt time.Time
	} // a code to enter at send.at
	var pending []due
	verifyUntil := func(at time.Duration) {
		slices.SortStableFunc(pending, func(a, b due) int { return int(a.send.at - b.send.at) })
		for len(pending) > 0 && pending[0].send.at <= at {
			clock.Set(start.Add(pending[0].send.at))
			if err := b.Verified(ctx, pending[0].send.country, pending[0].sentAt); err != nil {
				t.Fatal(err)
			}
			pending = pending[1:]
		}
	}
	var out tally
	for _, s := range sends {
		verifyUntil(s.at)
		clock.Set(start.Add(s.at))
		d, err := b.Allow(ctx, s.country)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Allowed {
			out.refused = append(out.refused, s)
			out.lastRefusal = d
			continue
		}
		if err := b.Sent(ctx, s.country); err != nil {
			t.Fatal(err)
		}
		out.passed = append(out.passed, s)
		if s.verifyIn > 0 {
			pending = append(pending, due{send{at: s.at + s.verifyIn, country: s.country}, clock.Now()})
		}
	}
	verifyUntil(1 << 62)
	return out
}

// healthy is a company's traffic from `from` for `hours`: perHour sends
// spread evenly, round robin over countries, 4 in 5 codes entered within a
// minute (20 to 50 s).
func healthy(from time.Duration, hours, perHour int, countries ...string) []send {
	var out []send
	for i := range hours * perHour {
		s := send{at: from + time.Duration(i)*time.Hour/time.Duration(perHour), country: countries[i%len(countries)]}
		if i%5 != 4 {
			s.verifyIn = 20*time.Second + time.Duration(i%5)*10*time.Second
		}
		out = append(out, s)
	}
	return out
}

// ring pumps perHour codes an hour to each of countries, none entered.
func ring(from time.Duration, hours, perHour int, countries []string) []send {
	var out []send
	for i := range hours * perHour {
		for j, c := range countries {
			at := from + time.Duration(i)*time.Hour/time.Duration(perHour) + time.Duration(j)*time.Second
			out = append(out, send{at: at, country: c})
		}
	}
	return out
}

// ringCountries are n two-letter codes the company never sends to.
func ringCountries(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%c%c", 'M'+i/26, 'A'+i%26)
	}
	return out
}

var company = []string{"US", "LV", "DE"}

// A fresh deploy in enforce, empty history: a company's 200 sends an hour
// over 3 countries at 80 % conversion are never refused in its first hour;
// a 50-country ring of 19 sends an hour each is held to the pool, alone or
// beside the company once the company's countries have history.
func TestFreshDeployHealthyCompanyAndRing(t *testing.T) {
	pumps := ringCountries(50)
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name                   string
		sends                  []send
		ringFrom               time.Duration
		wantFirstHour, wantDay int // the ring's codes through
		wantLimit              int // of the ring's last refusal
	}{
		{"healthy company, first hour", healthy(0, 1, 200, company...), 0, 0, 0, 0},
		// After its first hour the ring thins to 20 sends an hour: under the
		// hourly budget, so the daily one is what stops it.
		{"ring alone, first day", append(ring(0, 1, 19, pumps), ring(time.Hour, 23, 2, pumps[:10])...), 0, 30, 100, 100},
		{"ring from the second hour, beside the company", append(healthy(0, 2, 200, company...), ring(time.Hour, 1, 19, pumps)...),
			time.Hour, 30, 30, 30},
	} {
		for _, be := range backends(t) {
			t.Run(tc.name+"/"+be.name, func(t *testing.T) {
				clock := oktatest.NewClock(start)
				got := play(t, budget.New(be.store(), clock.Now), clock, tc.sends)
				if n := count(got.refused, company, 0, day); n != 0 {
					t.Errorf("the company was refused %d times, want 0 (passed %d)", n, count(got.passed, company, 0, day))
				}
				if n := count(got.passed, pumps, tc.ringFrom, tc.ringFrom+time.Hour); n != tc.wantFirstHour {
					t.Errorf("the ring got %d codes through in its first hour, want %d", n, tc.wantFirstHour)
				}
				if n := count(got.passed, pumps, tc.ringFrom, tc.ringFrom+day); n != tc.wantDay {
					t.Errorf("the ring got %d codes through in its first day, want %d", n, tc.wantDay)
				}
				if d := got.lastRefusal; tc.wantLimit > 0 && (!d.NeverConverted || d.Limit != tc.wantLimit) {
					t.Errorf("the ring's last refusal: %+v, want the pool's, limit %d", d, tc.wantLimit)
				}
			})
		}
	}
}

// A country with history may have as many unverified sends as its busiest
// hour had codes entered (at least 10) an hour, and as its busiest day (at
// least 50) a day: a pump there at night, two days later, gets that many
// codes through.
func TestBudgetScalesWithItsPeak(t *testing.T) {
	const pumpFrom = 2*24*time.Hour + 2*time.Hour // Wednesday 02:00
	for _, tc := range []struct {
		name              string
		peak              int // codes entered within an hour on Monday 10:00
		pumpPerHour, hrs  int
		wantPassed, limit int
		never             bool
	}{
		{"no history: the pool", 0, 60, 1, 30, 30, true},
		{"3 entered: the hourly floor", 3, 60, 1, 10, 10, false},
		{"40 entered: its peak", 40, 60, 1, 40, 40, false},
		{"120 entered: its peak", 120, 200, 1, 120, 120, false},
		{"40 entered, 20 an hour all night: the daily floor", 40, 20, 12, 50, 50, false},
		{"120 entered, 100 an hour all night: its busiest day", 120, 100, 6, 120, 120, false},
	} {
		for _, be := range backends(t) {
			t.Run(tc.name+"/"+be.name, func(t *testing.T) {
				clock := oktatest.NewClock(start)
				b := budget.New(be.store(), clock.Now)
				var sends []send
				for i := range tc.peak {
					sends = append(sends, send{at: 10*time.Hour + time.Duration(i)*20*time.Second, country: "LV", verifyIn: 20 * time.Second})
				}
				got := play(t, b, clock, append(sends, ring(pumpFrom, tc.hrs, tc.pumpPerHour, []string{"LV"})...))
				if n := count(got.passed, []string{"LV"}, pumpFrom, pumpFrom+24*time.Hour); n != tc.wantPassed {
					t.Errorf("the pump got %d codes through, want %d", n, tc.wantPassed)
				}
				if d := got.lastRefusal; d.Limit != tc.limit || d.NeverConverted != tc.never || d.Unverified < d.Limit {
					t.Errorf("last refusal %+v, want limit %d, never converted %v", d, tc.limit, tc.never)
				}
			})
		}
	}
}

// History lives in Redis: a new instance (or a restarted one) over the same
// Redis knows which countries converted and what the pool holds.
func TestHistorySurvivesARestart(t *testing.T) {
	for _, be := range backends(t) {
		if be.keys == nil {
			continue // memory dies with its instance
		}
		t.Run(be.name, func(t *testing.T) {
			clock := oktatest.NewClock(start.Add(10 * time.Hour))
			before := budget.New(be.store(), clock.Now)
			play(t, before, clock, append(healthy(10*time.Hour, 1, 10, "LV"), ring(10*time.Hour, 1, 12, []string{"PG"})...))
			clock.Set(start.Add(11 * time.Hour)) // the last hour: 10:00 to 11:00
			after := budget.New(be.store(), clock.Now)
			for country, want := range map[string]budget.Decision{
				"LV": {Allowed: true, Unverified: 2, Limit: 10},
				"PG": {Allowed: true, Unverified: 12, Limit: 30, NeverConverted: true},
				"ZW": {Allowed: true, Unverified: 12, Limit: 30, NeverConverted: true},
			} {
				if got, err := after.Allow(t.Context(), country); err != nil || got != want {
					t.Errorf("%s after the restart: %+v, %v; want %+v", country, got, err, want)
				}
			}
		})
	}
}

// A country's history ends 30 days after its last code entered: then it
// is back in the pool.
func TestHistoryExpires(t *testing.T) {
	for _, tc := range []struct {
		after time.Duration
		never bool
	}{
		{time.Hour, false},
		{29 * 24 * time.Hour, false},
		{30 * 24 * time.Hour, true},
	} {
		for _, be := range backends(t) {
			t.Run(fmt.Sprintf("%v/%s", tc.after, be.name), func(t *testing.T) {
				clock := oktatest.NewClock(start.Add(10 * time.Hour))
				b := budget.New(be.store(), clock.Now)
				play(t, b, clock, []send{{at: 10 * time.Hour, country: "LV", verifyIn: time.Minute}})
				clock.Advance(tc.after)
				if d, err := b.Allow(t.Context(), "LV"); err != nil || d.NeverConverted != tc.never {
					t.Errorf("%v later: %+v, %v; want never converted %v", tc.after, d, err, tc.never)
				}
			})
		}
	}
}

// Whatever the regions it is given, the budget keeps a state per two
// letters, "ZZ" for all the rest, and the pool's: at most 26² + 1 states,
// each under 2 kB, kept 31 days after its last change.
func TestFootprintIsBounded(t *testing.T) {
	for region, want := range map[string]string{"lv": "LV", "Lv": "LV", "ZZ": "ZZ", "001": "ZZ", "": "ZZ", "+371": "ZZ", "LVA": "ZZ", "é": "ZZ", "L1": "ZZ"} {
		if got := budget.Country(region); got != want {
			t.Errorf("Country(%q) = %q, want %q", region, got, want)
		}
	}
	var regions []string
	for a := 'A'; a <= 'Z'; a++ {
		regions = append(regions, "M"+string(a), "m"+string(a), fmt.Sprintf("%c%d", a, a), fmt.Sprint(a))
	}
	for _, be := range backends(t) {
		if be.keys == nil {
			continue // the same names as in Redis; none to count from outside
		}
		t.Run(be.name, func(t *testing.T) {
			clock := oktatest.NewClock(start)
			b := budget.New(be.store(), clock.Now)
			for _, r := range regions {
				if err := b.Sent(t.Context(), r); err != nil {
					t.Fatal(err)
				}
				clock.Advance(time.Minute)
			}
			// LV's slots all in use: a code entered every day for 30 days,
			// then one every hour of a day.
			var lv []send
			for i := range 30*24 + 24 {
				if i < 30*24 && i%24 != 10 {
					continue
				}
				lv = append(lv, send{at: time.Duration(i) * time.Hour, country: "LV", verifyIn: time.Minute})
			}
			play(t, b, clock, lv)
			keys := be.keys()
			if len(keys) != 26+3 { // MA to MZ, LV, ZZ, the pool
				t.Errorf("%d keys, want %d", len(keys), 26+3)
			}
			for k, v := range keys {
				if len(v) > 2000 {
					t.Errorf("key %q holds %d bytes, want at most 2,000", k, len(v))
				}
			}
		})
	}
}

// Instances updating one Redis at once lose no send: each update is one
// transaction, started again when another instance's came in between.
func TestInstancesShareOneBudget(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			clock := oktatest.NewClock(start.Add(10 * time.Hour))
			instances := []*budget.Budget{
				budget.New(be.store(), clock.Now),
				budget.New(be.store(), clock.Now),
			}
			var wg sync.WaitGroup
			for i := range 8 {
				wg.Go(func() {
					for range 10 {
						if err := instances[i%2].Sent(context.Background(), "LV"); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			want := budget.Decision{Unverified: 80, Limit: 30, NeverConverted: true}
			if d, err := instances[0].Allow(t.Context(), "FJ"); err != nil || d != want {
				t.Errorf("after 80 sends from 2 instances: %+v, %v; want %+v", d, err, want)
			}
		})
	}
}
