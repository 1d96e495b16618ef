package guard

import (
	"context"
	"hash/maphash"
	"slices"
	"sync"
	"time"
)

// DefaultMemoryMaxKeys bounds each of the memory store's two maps (rate
// windows and eventIds).
const DefaultMemoryMaxKeys = 100_000

const memShards = 64

// MemoryStore is the in-process Store: the default with no Redis, and the
// fallback while Redis is unreachable. Each map holds at most about maxKeys
// entries: when a shard is full it drops expired entries first, then
// arbitrary ones, so a flood of distinct keys costs bounded memory (at the
// price of forgetting some live windows, which is the flood's only gain).
type MemoryStore struct {
	seed   maphash.Seed
	perCap int // entries per shard per map
	shards [memShards]memShard
}

type memShard struct {
	mu      sync.Mutex
	windows map[string]memWindow
	events  map[string]*memEvent
}

// memWindow is a sliding log of send times (Unix ms), oldest first.
type memWindow struct {
	ts  []int64
	exp int64 // Unix ms after which every send has left the window
}

type memEvent struct {
	token    string
	answer   []byte
	answered bool
	deadline int64         // Unix ms
	done     chan struct{} // closed when answered, released or evicted
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns a store holding up to about maxKeys rate windows
// and maxKeys eventIds (rounded up to a multiple of 64); maxKeys <= 0 means
// DefaultMemoryMaxKeys. Time comes from the Guard with each call.
func NewMemoryStore(maxKeys int) *MemoryStore {
	if maxKeys <= 0 {
		maxKeys = DefaultMemoryMaxKeys
	}
	s := &MemoryStore{seed: maphash.MakeSeed(), perCap: (maxKeys + memShards - 1) / memShards}
	for i := range s.shards {
		s.shards[i].windows = make(map[string]memWindow)
		s.shards[i].events = make(map[string]*memEvent)
	}
	return s
}

func (s *MemoryStore) shard(key string) int {
	return int(maphash.String(s.seed, key) % memShards)
}

// Len reports how many rate windows and eventIds are held, expired or not.
func (s *MemoryStore) Len() (windows, events int) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		windows += len(sh.windows)
		events += len(sh.events)
		sh.mu.Unlock()
	}
	return windows, events
}

// Hit implements Store. It locks the shards of all windows in index order,
// so checking and counting both windows is one step.
func (s *MemoryStore) Hit(_ context.Context, now time.Time, windows []Window) (int, time.Duration, error) {
	var idx [4]int
	locked := idx[:0]
	for _, w := range windows {
		if i := s.shard(w.Key); !slices.Contains(locked, i) {
			locked = append(locked, i)
		}
	}
	slices.Sort(locked)
	for _, i := range locked {
		s.shards[i].mu.Lock()
	}
	defer func() {
		for _, i := range locked {
			s.shards[i].mu.Unlock()
		}
	}()

	t := now.UnixMilli()
	for i, w := range windows {
		sh := &s.shards[s.shard(w.Key)]
		win, ok := sh.windows[w.Key]
		if !ok {
			continue
		}
		win.ts = trim(win.ts, t-w.Limit.Window.Milliseconds())
		sh.windows[w.Key] = win
		if len(win.ts) >= w.Limit.N {
			// Room appears when the send that made the window full leaves it.
			oldest := win.ts[len(win.ts)-w.Limit.N]
			return i, time.Duration(oldest+w.Limit.Window.Milliseconds()-t) * time.Millisecond, nil
		}
	}
	for _, w := range windows {
		sh := &s.shards[s.shard(w.Key)]
		win, ok := sh.windows[w.Key]
		if !ok && len(sh.windows) >= s.perCap {
			s.evictWindows(sh, t)
		}
		win.ts = append(win.ts, t)
		win.exp = t + w.Limit.Window.Milliseconds()
		sh.windows[w.Key] = win
	}
	return -1, 0, nil
}

// trim drops the sends at or before cutoff, reusing the slice.
func trim(ts []int64, cutoff int64) []int64 {
	i := 0
	for i < len(ts) && ts[i] <= cutoff {
		i++
	}
	if i == 0 {
		return ts
	}
	return append(ts[:0], ts[i:]...)
}

// evictWindows makes room in a full shard: expired entries first, then
// arbitrary ones down to 15/16 of capacity, so the sweep's cost is spread
// over the next perCap/16 inserts.
func (s *MemoryStore) evictWindows(sh *memShard, t int64) {
	for k, w := range sh.windows {
		if w.exp <= t {
			delete(sh.windows, k)
		}
	}
	for k := range sh.windows {
		if len(sh.windows) < s.low() {
			break
		}
		delete(sh.windows, k)
	}
}

func (s *MemoryStore) low() int { return s.perCap - max(1, s.perCap/16) + 1 }

func (s *MemoryStore) evictEvents(sh *memShard, t int64) {
	for k, e := range sh.events {
		if e.deadline <= t {
			dropEvent(sh, k, e)
		}
	}
	// Answered entries go before claims still in flight: dropping an
	// in-flight claim lets its waiting duplicate claim and send again.
	// In-flight claims are few (one per request being served), so the
	// second pass is a last resort.
	for _, answered := range []bool{true, false} {
		for k, e := range sh.events {
			if len(sh.events) < s.low() {
				return
			}
			if e.answered == answered {
				dropEvent(sh, k, e)
			}
		}
	}
}

func dropEvent(sh *memShard, k string, e *memEvent) {
	delete(sh.events, k)
	if !e.answered {
		close(e.done) // waiters look again, and may claim
	}
}

// Claim implements Store.
func (s *MemoryStore) Claim(_ context.Context, now time.Time, key, token string, ttl time.Duration) (Claim, error) {
	sh := &s.shards[s.shard(key)]
	t := now.UnixMilli()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.events[key]; ok {
		if e.deadline > t {
			if e.answered {
				return Claim{State: Answered, Answer: e.answer}, nil
			}
			return Claim{State: InFlight, Wait: e.done}, nil
		}
		dropEvent(sh, key, e)
	} else if len(sh.events) >= s.perCap {
		s.evictEvents(sh, t)
	}
	sh.events[key] = &memEvent{token: token, deadline: t + ttl.Milliseconds(), done: make(chan struct{})}
	return Claim{State: Claimed}, nil
}

// Finish implements Store.
func (s *MemoryStore) Finish(_ context.Context, key, token string, answer []byte) error {
	sh := &s.shards[s.shard(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.events[key]
	if !ok || e.answered || e.token != token {
		return ErrClaimLost
	}
	e.answer = slices.Clone(answer)
	if e.answer == nil {
		e.answer = []byte{}
	}
	e.answered = true
	close(e.done)
	// Waiters hold their own reference; an answered entry needs neither.
	e.done, e.token = nil, ""
	return nil
}

// Release implements Store.
func (s *MemoryStore) Release(_ context.Context, key, token string) error {
	sh := &s.shards[s.shard(key)]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e, ok := sh.events[key]
	if !ok || e.answered || e.token != token {
		return ErrClaimLost
	}
	dropEvent(sh, key, e)
	return nil
}
