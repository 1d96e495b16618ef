package guard

import (
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// answerJSON stands for the rendered answer the hook records.
var answerJSON = []byte(`{"commands":[{"type":"com.okta.telephony.action","value":[{"status":"SUCCESSFUL","provider":"8x8","transactionId":"SM1a2b3c4d5e6f7a8b9c"}]}]}`)

// A flood of distinct keys of any kind stays within the caps, and a flood
// of one kind of window (phones) never evicts another's (a user's).
func TestMemoryStaysBounded(t *testing.T) {
	const maxKeys = 640
	clock := newClock()
	keys := redisstore.NewKeyer(testSecret)
	l := Limit{2, time.Hour}
	user := redisstore.Window{Key: keys.Key(redisstore.User, "u1"), N: l.N, Window: l.Window}
	cases := []struct {
		name  string
		flood func(s *memStore, id string)
	}{
		{"rate windows", func(s *memStore, id string) {
			s.hit(clock.Now(), []redisstore.Window{{Key: keys.Key(redisstore.Phone, id), N: l.N, Window: l.Window}}, []int{limitPhone})
		}},
		{"claims never settled", func(s *memStore, id string) {
			s.begin(keys.Key(redisstore.Event, id), id, clock.Now(), clock.Now().Add(time.Minute))
		}},
		{"answered eventIds", func(s *memStore, id string) {
			k := keys.Key(redisstore.Event, id)
			s.begin(k, id, clock.Now(), clock.Now().Add(time.Minute))
			_ = s.finish(k, id, answerJSON, clock.Now(), clock.Now().Add(time.Minute))
		}},
		{"remote markers", func(s *memStore, id string) {
			k := keys.Key(redisstore.Event, id)
			s.begin(k, id, clock.Now(), clock.Now().Add(time.Minute))
			s.learned(k, id, redisstore.Claim{State: redisstore.InFlight, Deadline: clock.Now().Add(time.Minute)}, clock.Now())
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore(maxKeys, 2*maxKeys, [numKinds]Limit{limitPhone: l, limitUser: l})
			s.hit(clock.Now(), []redisstore.Window{user}, []int{limitUser})
			for i := range 10_000 {
				tc.flood(s, strconv.Itoa(i))
			}
			if a, f, w := len(s.answers), len(s.flights), len(s.windows[limitPhone]); a > maxKeys || f > maxKeys || w > maxKeys {
				t.Fatalf("holds %d answers, %d claims, %d phone windows; want at most %d each", a, f, w, maxKeys)
			}
			s.hit(clock.Now(), []redisstore.Window{user}, []int{limitUser})
			if full := s.hit(clock.Now(), []redisstore.Window{user}, []int{limitUser}); full != 0 {
				t.Fatal("the user's window was evicted by the flood")
			}
		})
	}
}

// A waiter on an in-flight eventId that is evicted looks again instead of
// waiting for an answer that will never be recorded.
func TestMemoryEvictionWakesWaiters(t *testing.T) {
	clock := newClock()
	exp := clock.Now().Add(time.Minute)
	s := newMemStore(16, 0, [numKinds]Limit{})
	first := redisstore.NewKeyer(testSecret).Key(redisstore.Event, "first")
	s.begin(first, "a", clock.Now(), exp)
	_, wait, _ := s.begin(first, "b", clock.Now(), exp)
	for i := 0; ; i++ {
		s.begin(redisstore.NewKeyer(testSecret).Key(redisstore.Event, strconv.Itoa(i)), "c", clock.Now(), exp)
		select {
		case <-wait:
			if _, wait, _ := s.begin(first, "b", clock.Now(), exp); wait != nil {
				t.Fatal("after eviction the duplicate still waits")
			}
			return
		default:
		}
	}
}

// CapsFor's caps hold: a Guard flooded with twice as many answers and
// windows as its caps allow stays within the budget it was sized for.
func TestCapsForFitsBudget(t *testing.T) {
	for _, budget := range []int64{2 << 20, 16 << 20} {
		t.Run(strconv.FormatInt(budget>>20, 10)+"MiB", func(t *testing.T) {
			answers, windows := CapsFor(budget)
			before := heapInUse()
			clock := newClock()
			g, err := New(Config{
				PerPhone: Limit{5, 15 * time.Minute}, PerUser: Limit{10, time.Hour},
				MaxAnswers: answers, MaxWindows: windows, KeySecret: testSecret,
			}, nil, nil, clock.Now)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 2 * answers {
				tk, _, _ := g.Begin(t.Context(), "evt-"+strconv.Itoa(i), 5*time.Minute)
				_ = tk.Finish(answerJSON)
			}
			for i := range windows { // two windows each, five sends in each phone's
				for range 5 {
					g.Allow(t.Context(), Subject{Phone: "+1" + strconv.Itoa(2000000000+i), User: "00u" + strconv.Itoa(i)})
				}
			}
			used := int64(heapInUse()) - int64(before)
			a, w := len(g.mem.answers), len(g.mem.windows[limitPhone])+len(g.mem.windows[limitUser])
			t.Logf("caps %d answers, %d windows: holds %d, %d in %d KiB of %d", answers, windows, a, w, used>>10, budget>>10)
			if used > budget {
				t.Fatalf("%d bytes in use, budget %d", used, budget)
			}
			if a < answers*3/4 || w < windows*3/4 {
				t.Fatalf("holds %d answers, %d windows: the caps are not used", a, w)
			}
			runtime.KeepAlive(g)
		})
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
