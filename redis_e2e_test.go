package telephonyhook

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/proctest"
	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
)

// redisURLs are the Redis servers to test against (see sharedtest).
func redisURLs(t *testing.T) map[string]string { return sharedtest.RedisURLs(t, sharedtest.DBRoot) }

// Two instances sharing one Redis behave as one: never two calls for one
// eventId, and one per-phone limit.
func TestTwoInstancesShareRedis(t *testing.T) {
	for name, url := range redisURLs(t) {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"REDIS_URL": url, "RATE_LIMIT_PER_PHONE": "0"}
			a, b := newHarness(t, env), newHarness(t, env)
			const rounds = 30
			for round := range rounds {
				r := voice("+14155550123", "482913", "en")
				r.EventID = fmt.Sprintf("%s-shared-%x-%d", name, time.Now().UnixNano(), round)
				body := r.Body()
				var wg sync.WaitGroup
				answers := make([]string, 6)
				for i := range answers {
					inst := a
					if i%2 == 1 {
						inst = b
					}
					wg.Go(func() { answers[i] = inst.hook(body).Body.String() })
				}
				wg.Wait()
				// One answer for the eventId; a duplicate that could not
				// wait for it may say PENDING (no second code), never
				// another delivery.
				delivered := map[string]bool{}
				for _, ans := range answers {
					if !strings.Contains(ans, `"PENDING"`) {
						delivered[ans] = true
					}
				}
				if len(delivered) != 1 {
					t.Fatalf("round %d: the instances answered differently: %q", round, answers)
				}
			}
			if got := a.fake.Count() + b.fake.Count(); got != rounds {
				t.Errorf("8x8 received %d calls for %d distinct eventIds across two instances", got, rounds)
			}
		})
		t.Run(name+"/per-phone limit holds across instances", func(t *testing.T) {
			env := map[string]string{"REDIS_URL": url, "RATE_LIMIT_PER_PHONE": "3/15m"}
			a, b := newHarness(t, env), newHarness(t, env)
			phone := "+12025550175"
			var refused int
			for i := range 6 {
				inst := a
				if i%2 == 1 {
					inst = b
				}
				if k := oktatest.Decode(t, inst.hook(sms(phone, "771955").Body())).Kind(); k == "error:rate_limited_phone" {
					refused++
				}
			}
			if refused != 3 || a.fake.Count()+b.fake.Count() != 3 {
				t.Errorf("refused %d, delivered %d: want 3 and 3", refused, a.fake.Count()+b.fake.Count())
			}
		})
	}
	t.Run("redis down: the hook still delivers", func(t *testing.T) {
		mr := miniredis.RunT(t)
		h := newHarness(t, map[string]string{"REDIS_URL": "redis://" + mr.Addr() + "/0"})
		mr.Close()
		if k := oktatest.Decode(t, h.hook(sms("+14155550123", "482913").Body())).Kind(); k != "SUCCESSFUL" {
			t.Fatalf("answer %s with Redis down", k)
		}
		if !h.logged("WARNING") {
			t.Errorf("no warning logged:\n%s", h.logs)
		}
	})
}

// Redis stalled from the start: the function still answers each request
// within HOOK_DEADLINE, with the code delivered once per eventId (the guard
// falls back to this instance's memory after one Redis timeout), and a
// repeat gets the first answer.
func TestRedisStalledTheHookStillAnswers(t *testing.T) {
	h := newHarness(t, map[string]string{"REDIS_URL": "redis://" + proctest.BlackHole(t) + "/0", "RATE_LIMIT_PER_PHONE": "0"})
	deadline, err := time.ParseDuration(h.env["HOOK_DEADLINE"])
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		r := sms("+14155550123", "482913")
		r.EventID = fmt.Sprintf("evStalledRedis%06d", i)
		start := time.Now()
		first := h.hook(r.Body())
		took := time.Since(start)
		if k := oktatest.Decode(t, first).Kind(); k != "SUCCESSFUL" {
			t.Fatalf("request %d: %s, want SUCCESSFUL (%v)\n%s", i, k, took, h.logs)
		}
		if took >= deadline {
			t.Errorf("request %d answered after %v, past HOOK_DEADLINE %v", i, took, deadline)
		}
		if again := h.hook(r.Body()); again.Body.String() != first.Body.String() {
			t.Errorf("repeat %d answered %s, want the first answer %s", i, again.Body, first.Body)
		}
	}
	if h.fake.Count() != 3 {
		t.Errorf("8x8 received %d requests for 3 eventIds, want 3", h.fake.Count())
	}
}

// An answer this instance held only in memory while Redis refused writes
// is in Redis once the instance has shut down (the drain writes it back if
// nothing did before): a repeat on another instance gets the first answer,
// and 8x8 is asked once.
func TestAnswersHeldInMemoryReachRedisByShutdown(t *testing.T) {
	mr := miniredis.RunT(t)
	env := map[string]string{"REDIS_URL": "redis://" + mr.Addr() + "/0"}
	a, b := newHarness(t, env), newHarness(t, env)
	r := sms("+14155550123", "482913")
	r.EventID = oktatest.EventID()
	a.do("GET", "/healthz", nil, nil)
	mr.SetError("NOREPLICAS Not enough good replicas to write.")
	first := a.hook(r.Body())
	mr.SetError("")
	if err := a.f().Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	again := b.hook(r.Body())
	if sent := a.fake.Count() + b.fake.Count(); sent != 1 || again.Body.String() != first.Body.String() {
		t.Errorf("8x8 asked %d times; the repeat on the other instance answered %s, the first %s", sent, again.Body, first.Body)
	}
}
