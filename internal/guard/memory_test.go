package guard

import (
	"strconv"
	"testing"
	"time"
)

func TestMemoryStoreStaysBounded(t *testing.T) {
	const maxKeys = 640
	ctx := t.Context()
	clock := newClock()
	cases := []struct {
		name  string
		flood func(s *MemoryStore, i int)
	}{
		{"a flood of distinct live rate keys", func(s *MemoryStore, i int) {
			_, _, _ = s.Hit(ctx, clock.Now(), []Window{{Key: "phone:" + strconv.Itoa(i), Limit: Limit{5, time.Hour}}})
		}},
		{"a flood of distinct unanswered eventIds", func(s *MemoryStore, i int) {
			_, _ = s.Claim(ctx, clock.Now(), "ev"+strconv.Itoa(i), "tok", time.Minute)
		}},
		{"a flood of distinct answered eventIds", func(s *MemoryStore, i int) {
			k := "ev" + strconv.Itoa(i)
			_, _ = s.Claim(ctx, clock.Now(), k, "tok", time.Minute)
			_ = s.Finish(ctx, k, "tok", []byte("answer"))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewMemoryStore(maxKeys)
			for i := range 50_000 {
				tc.flood(s, i)
			}
			w, e := s.Len()
			if w > maxKeys || e > maxKeys {
				t.Fatalf("Len = %d windows, %d events; want at most %d each", w, e, maxKeys)
			}
		})
	}
}

// Expired entries go before live ones: a flood of short-lived keys does not
// wipe out the windows of real users while there is expired room.
func TestMemoryStoreEvictsExpiredFirst(t *testing.T) {
	ctx := t.Context()
	clock := newClock()
	s := NewMemoryStore(6400)
	live := Limit{1, time.Hour}
	for i := range 640 {
		if full, _, _ := s.Hit(ctx, clock.Now(), []Window{{Key: "live" + strconv.Itoa(i), Limit: live}}); full != -1 {
			t.Fatalf("live key %d refused on first send", i)
		}
	}
	for i := range 50_000 {
		clock.Advance(2 * time.Millisecond)
		_, _, _ = s.Hit(ctx, clock.Now(), []Window{{Key: "flood" + strconv.Itoa(i), Limit: Limit{1, time.Millisecond}}})
	}
	for i := range 640 {
		if full, _, _ := s.Hit(ctx, clock.Now(), []Window{{Key: "live" + strconv.Itoa(i), Limit: live}}); full != 0 {
			t.Fatalf("live key %d forgotten by the flood", i)
		}
	}
}

// A waiter on an in-flight eventId that is evicted looks again instead of
// waiting for an answer that will never be recorded.
func TestMemoryStoreEvictionWakesWaiters(t *testing.T) {
	ctx := t.Context()
	clock := newClock()
	s := NewMemoryStore(1) // one entry per shard
	if c, _ := s.Claim(ctx, clock.Now(), "first", "t1", time.Minute); c.State != Claimed {
		t.Fatalf("first claim: %v", c.State)
	}
	c, _ := s.Claim(ctx, clock.Now(), "first", "t2", time.Minute)
	if c.State != InFlight || c.Wait == nil {
		t.Fatalf("duplicate: %+v, want InFlight with a wait channel", c)
	}
	for i := 0; ; i++ {
		_, _ = s.Claim(ctx, clock.Now(), "other"+strconv.Itoa(i), "t", time.Minute)
		select {
		case <-c.Wait:
			if c, _ := s.Claim(ctx, clock.Now(), "first", "t2", time.Minute); c.State != Claimed {
				t.Fatalf("after eviction: %v, want Claimed", c.State)
			}
			return
		default:
		}
	}
}

// Under a flood of answered eventIds, claims still in flight are kept:
// dropping one would let its duplicate claim and send a second code.
func TestMemoryStoreEvictsAnsweredBeforeInFlight(t *testing.T) {
	ctx := t.Context()
	clock := newClock()
	s := NewMemoryStore(1024) // ~16 per shard
	for k := range 10 {
		if c, _ := s.Claim(ctx, clock.Now(), "inflight"+strconv.Itoa(k), "holder", time.Minute); c.State != Claimed {
			t.Fatalf("claim %d: %v", k, c.State)
		}
	}
	for i := range 20_000 {
		key := "done" + strconv.Itoa(i)
		_, _ = s.Claim(ctx, clock.Now(), key, "t", time.Minute)
		_ = s.Finish(ctx, key, "t", []byte(`{}`))
	}
	for k := range 10 {
		if c, _ := s.Claim(ctx, clock.Now(), "inflight"+strconv.Itoa(k), "duplicate", time.Minute); c.State != InFlight {
			t.Fatalf("in-flight claim %d was evicted: a duplicate got %v", k, c.State)
		}
	}
}
