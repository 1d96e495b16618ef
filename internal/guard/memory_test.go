package guard

import (
	"bytes"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// memKey names test entries in the memory store as the Guard would.
func memKey(id string) key { return redisstore.NewKeyer(testSecret).Key(kindEvent, id) }

func memWindowOf(id string, l Limit) window {
	return window{key: redisstore.NewKeyer(testSecret).Key(kindPhone, id), kind: limitPhone, limit: l}
}

// memClaim reserves id as a Begin numbered seq would.
func memClaim(s *memStore, now time.Time, id string, seq uint64, ttl time.Duration) (memLook, []byte, <-chan struct{}) {
	look, ans, wait, _ := s.begin(memKey(id), seq, now, ceilSecs(now.Add(ttl)))
	return look, ans, wait
}

func TestMemoryStoreStaysBounded(t *testing.T) {
	const maxKeys = 640
	clock := newClock()
	live := Limit{5, time.Hour}
	long := bytes.Repeat([]byte("x"), 300)
	cases := []struct {
		name  string
		flood func(s *memStore, i int)
	}{
		{"a flood of distinct live rate keys", func(s *memStore, i int) {
			s.hit(clock.Now(), []window{memWindowOf(strconv.Itoa(i), live)})
		}},
		{"a flood of distinct claims never settled", func(s *memStore, i int) {
			memClaim(s, clock.Now(), "ev"+strconv.Itoa(i), uint64(i+1), time.Minute)
		}},
		{"a flood of distinct answered eventIds", func(s *memStore, i int) {
			memClaim(s, clock.Now(), "ev"+strconv.Itoa(i), uint64(i+1), time.Minute)
			_ = s.finish(memKey("ev"+strconv.Itoa(i)), uint64(i+1), []byte("answer"), clock.Now(), ceilSecs(clock.Now().Add(time.Minute)))
		}},
		{"a flood of distinct long answers", func(s *memStore, i int) {
			memClaim(s, clock.Now(), "ev"+strconv.Itoa(i), uint64(i+1), time.Minute)
			_ = s.finish(memKey("ev"+strconv.Itoa(i)), uint64(i+1), long, clock.Now(), ceilSecs(clock.Now().Add(time.Minute)))
		}},
		{"a flood of remote markers", func(s *memStore, i int) {
			k := memKey("ev" + strconv.Itoa(i))
			s.begin(k, uint64(i+1), clock.Now(), ceilSecs(clock.Now().Add(time.Minute)))
			s.remote(k, uint64(i+1), clock.Now(), ceilSecs(clock.Now().Add(time.Minute)))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newMemStore(maxKeys, maxKeys, [numKinds]Limit{limitPhone: live})
			for i := range 50_000 {
				tc.flood(s, i)
			}
			a, f, w := s.size()
			spill := 0
			for i := range s.shards {
				spill += len(s.shards[i].spill)
			}
			if a > maxKeys || f > maxKeys || w > maxKeys || spill > a {
				t.Fatalf("holds %d answers (%d long), %d claims, %d windows; want at most %d each", a, spill, f, w, maxKeys)
			}
		})
	}
}

// Expired windows go before live ones: a flood of short-lived keys does
// not wipe out the windows of real users while there is expired room. And
// a flood of one kind (phones) never evicts another's (users).
func TestMemoryStoreEvictsExpiredFirst(t *testing.T) {
	clock := newClock()
	l := Limit{2, 10 * time.Second}
	s := newMemStore(0, 2*6400, [numKinds]Limit{limitPhone: l, limitUser: l}) // 100 per shard per kind
	phone := func(id string) window {
		return window{key: redisstore.NewKeyer(testSecret).Key(kindPhone, id), kind: limitPhone, limit: l}
	}
	user := window{key: redisstore.NewKeyer(testSecret).Key(kindUser, "u1"), kind: limitUser, limit: l}
	s.hit(clock.Now(), []window{user})
	s.hit(clock.Now(), []window{user})
	// 640 live phones are sent to every 6 s, so each always has a send in
	// its window; 50,000 others once each, one every 20 ms, so about 500
	// are live at any time: far fewer than the cap, if expired ones go
	// first.
	for i := range 50_000 {
		if i%300 == 0 {
			for k := range 640 {
				s.hit(clock.Now(), []window{phone("live" + strconv.Itoa(k))})
			}
		}
		clock.Advance(20 * time.Millisecond)
		s.hit(clock.Now(), []window{phone("flood" + strconv.Itoa(i))})
	}
	clock.Advance(5980 * time.Millisecond) // to the next 6 s
	for k := range 640 {
		s.hit(clock.Now(), []window{phone("live" + strconv.Itoa(k))})
	}
	for k := range 640 {
		// Two sends in the last 10 s: full, unless forgotten.
		if full, _ := s.hit(clock.Now(), []window{phone("live" + strconv.Itoa(k))}); full != 0 {
			t.Fatalf("live phone %d forgotten by the flood", k)
		}
	}
	if _, _, w := s.size(); w > 6400+1 {
		t.Fatalf("%d windows held", w)
	}
	clock.Advance(-1000 * time.Second) // u1's sends are in its window again
	if full, _ := s.hit(clock.Now(), []window{user}); full != 0 {
		t.Fatal("the user's window was evicted by a flood of phones")
	}
}

// A waiter on an in-flight eventId that is evicted looks again instead of
// waiting for an answer that will never be recorded.
func TestMemoryStoreEvictionWakesWaiters(t *testing.T) {
	clock := newClock()
	s := newMemStore(1, 1, [numKinds]Limit{}) // one entry per shard
	if look, _, _ := memClaim(s, clock.Now(), "first", 1, time.Minute); look != lookReserved {
		t.Fatalf("first claim: %v", look)
	}
	look, _, wait := memClaim(s, clock.Now(), "first", 2, time.Minute)
	if look != lookWait || wait == nil {
		t.Fatalf("duplicate: %v, want to wait on the first", look)
	}
	for i := 0; ; i++ {
		memClaim(s, clock.Now(), "other"+strconv.Itoa(i), uint64(3+i), time.Minute)
		select {
		case <-wait:
			if look, _, _ := memClaim(s, clock.Now(), "first", 2, time.Minute); look != lookReserved {
				t.Fatalf("after eviction: %v, want a claim", look)
			}
			return
		default:
		}
	}
}

// Under a flood of answered eventIds, claims still in flight are kept:
// dropping one would let its duplicate claim and send a second code.
func TestMemoryStoreEvictsAnsweredBeforeInFlight(t *testing.T) {
	clock := newClock()
	s := newMemStore(1024, 0, [numKinds]Limit{}) // ~16 per shard
	for k := range 10 {
		if look, _, _ := memClaim(s, clock.Now(), "inflight"+strconv.Itoa(k), uint64(1+k), time.Minute); look != lookReserved {
			t.Fatalf("claim %d: %v", k, look)
		}
	}
	for i := range 20_000 {
		id := "done" + strconv.Itoa(i)
		memClaim(s, clock.Now(), id, uint64(100+i), time.Minute)
		if err := s.finish(memKey(id), uint64(100+i), []byte(`{}`), clock.Now(), ceilSecs(clock.Now().Add(time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	for k := range 10 {
		if look, _, _ := memClaim(s, clock.Now(), "inflight"+strconv.Itoa(k), 99_999, time.Minute); look != lookWait {
			t.Fatalf("in-flight claim %d was evicted: a duplicate got %v", k, look)
		}
	}
}

// Answers of every length come back byte for byte: inline up to
// inlineAnswer bytes, from the second map beyond, and an overwrite of a
// long answer by a short one leaves nothing behind.
func TestMemoryStoreAnswerLengths(t *testing.T) {
	clock := newClock()
	s := newMemStore(0, 0, [numKinds]Limit{})
	exp := ceilSecs(clock.Now().Add(time.Minute))
	for _, n := range []int{0, 1, inlineAnswer - 1, inlineAnswer, inlineAnswer + 1, 200, 5000} {
		id := "len" + strconv.Itoa(n)
		want := make([]byte, n)
		for i := range want {
			want[i] = byte(i*7 + n)
		}
		memClaim(s, clock.Now(), id, 1, time.Minute)
		if err := s.finish(memKey(id), 1, want, clock.Now(), exp); err != nil {
			t.Fatal(err)
		}
		look, got, _ := memClaim(s, clock.Now(), id, 2, time.Minute)
		if look != lookAnswered || got == nil || !bytes.Equal(got, want) {
			t.Fatalf("%d bytes: %v %q", n, look, got)
		}
		s.cache(memKey(id), 3, []byte("short"), clock.Now(), exp)
		if _, got, _ := memClaim(s, clock.Now(), id, 4, time.Minute); string(got) != "short" {
			t.Fatalf("%d bytes overwritten: %q", n, got)
		}
	}
	for i := range s.shards {
		if n := len(s.shards[i].spill); n != 0 {
			t.Fatalf("shard %d keeps %d long answers no entry points to", i, n)
		}
	}
}

// A clock that steps back counts the send as the newest one: the window
// never frees a slot early.
func TestMemoryWindowClockStepsBack(t *testing.T) {
	clock := newClock()
	l := Limit{2, time.Minute}
	s := newMemStore(0, 0, [numKinds]Limit{limitPhone: l})
	w := []window{memWindowOf(phoneA, l)}
	hit := func() (int, time.Duration) { return s.hit(clock.Now(), w) }
	hit()
	clock.Advance(-30 * time.Second)
	if full, _ := hit(); full != -1 {
		t.Fatal("second send refused")
	}
	clock.Advance(30*time.Second + 59*time.Second)
	if full, retry := hit(); full != 0 || retry != time.Second {
		t.Fatalf("59s after the newest send: %d, %v; want refused for 1s", full, retry)
	}
	clock.Advance(time.Second)
	if full, _ := hit(); full != -1 {
		t.Fatal("refused once both sends left the window")
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
			answer := []byte(`{"s":"SUCCESSFUL","t":"SM1a2b3c4d5e6f"}`[:24])
			for i := range 2 * answers {
				tk, _, _ := g.Begin(t.Context(), "evt-"+strconv.Itoa(i), 5*time.Minute)
				_ = tk.Finish(answer)
			}
			for i := range windows { // two windows each
				g.Allow(t.Context(), Subject{Phone: "+1" + strconv.Itoa(2000000000+i), User: "00u" + strconv.Itoa(i)})
			}
			used := int64(heapInUse()) - int64(before)
			a, _, w := g.mem.size()
			t.Logf("caps %d answers, %d windows: holds %d, %d in %d KiB of %d", answers, windows, a, w, used>>10, budget>>10)
			if used > budget {
				t.Fatalf("%d bytes in use, budget %d", used, budget)
			}
			if a < answers*3/4 || w < windows*3/4 {
				t.Fatalf("holds %d answers, %d windows: the caps are not used", a, w)
			}
		})
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
