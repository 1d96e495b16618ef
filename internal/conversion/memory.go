package conversion

import (
	"cmp"
	"container/heap"
	"context"
	"slices"
	"strconv"
	"sync"

	rs "github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// MemoryCaps bounds the memory store; a zero field takes its default.
type MemoryCaps struct {
	Pending int // sends held (pending, or settled and kept for late events): 100,000
	Seen    int // event uuids remembered: 100,000
	// destinations caps the countries and prefixes with counts: 20,000.
	// Only tests set it, to see the cap hold.
	destinations int
}

// CapsFor sizes the memory store so that its sends and event uuids fit in
// budget bytes (a share of the Go heap's soft limit), planning 960 bytes
// a send with its indexes and heap entries (about 820 in use) and 96 an
// event uuid, with room for the maps' growth. A budget of 0 or less gives
// the defaults.
func CapsFor(budget int64) MemoryCaps {
	if budget <= 0 {
		return MemoryCaps{}
	}
	return MemoryCaps{Pending: int(max(1000, budget*3/4/960)), Seen: int(max(1000, budget/4/96))}
}

// memoryStore is the store of a deployment without Redis: the same
// operations as the Redis scripts, under one mutex. When a cap is
// reached, the send that expires first goes (settled unverified now if
// still pending, its report dropped and logged), then empty destination
// windows and arbitrary prefixes (never a country), then expired and
// arbitrary event uuids.
type memoryStore struct {
	caps MemoryCaps

	mu       sync.Mutex
	seq      uint64
	sends    map[string]*memSend
	users    map[string][]string // user key (and number key) → its latest sends
	due      timeHeap            // work due: settlement, log line, report
	expiry   timeHeap            // when each send may be forgotten
	dests    map[string]*window  // "c:US", "p:+1415555", "*" for all
	suspects map[string]bool
	seen     map[string]int64 // event uuid → expiry
	last     rs.ConvView      // LastPost and LastSendEvent
	evicted  rs.ConvChanges   // reported by the next Take
}

type memSend struct {
	rs.ConvSend
	state, logged, report string
	verifiedAt, due       int64
	attempts              int
}

func newMemoryStore(caps MemoryCaps) *memoryStore {
	caps.Pending = cmp.Or(caps.Pending, 100_000)
	caps.destinations = cmp.Or(caps.destinations, 20_000)
	caps.Seen = cmp.Or(caps.Seen, 100_000)
	return &memoryStore{
		caps: caps, sends: map[string]*memSend{}, users: map[string][]string{},
		dests: map[string]*window{}, suspects: map[string]bool{}, seen: map[string]int64{},
	}
}

func (m *memoryStore) AddSend(_ context.Context, p rs.ConvParams, r rs.ConvSend) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forgetExpired(p)
	for len(m.sends) >= m.caps.Pending && m.expiry.Len() > 0 {
		m.evictFirst(p)
	}
	m.seq++
	s := &memSend{ConvSend: r, state: rs.ConvPending}
	s.ID = strconv.FormatUint(m.seq, 36)
	m.sends[s.ID] = s
	m.schedule(s, r.SettleAt)
	heap.Push(&m.expiry, timed{p.Expiry(r), s.ID})
	m.remember("u:"+r.User, s.ID)
	if r.Phone != "" {
		m.remember("n:"+r.Phone, s.ID)
	}
	return nil
}

// remember keeps id among the latest sends under k.
func (m *memoryStore) remember(k, id string) {
	ids := append(m.users[k], id)
	if len(ids) > rs.ConvUserSlots {
		ids = ids[len(ids)-rs.ConvUserSlots:]
	}
	m.users[k] = ids
}

func (m *memoryStore) schedule(s *memSend, at int64) {
	s.due = at
	heap.Push(&m.due, timed{at, s.ID})
}

func (m *memoryStore) Apply(_ context.Context, p rs.ConvParams, items []rs.ConvItem) ([]rs.ConvResult, rs.ConvChanges, error) {
	var ch rs.ConvChanges
	out := make([]rs.ConvResult, len(items))
	m.mu.Lock()
	defer m.mu.Unlock()
	m.last.LastPost = p.Now
	for i, it := range items {
		if exp, ok := m.seen[it.UUID]; ok && exp > p.Now {
			out[i].Outcome = rs.ConvDuplicate
			continue
		}
		if len(m.seen) >= m.caps.Seen {
			m.trimSeen(p)
		}
		m.seen[it.UUID] = p.Now + p.SeenTTL
		if it.Phone != "" {
			out[i] = m.applySendEvent(p, it)
		} else {
			out[i] = m.applyVerification(p, it, &ch)
		}
	}
	return out, ch, nil
}

// latest is the latest send under the keys that ok accepts.
func (m *memoryStore) latest(keys []string, ok func(*memSend) bool) *memSend {
	var best *memSend
	for _, k := range keys {
		for _, id := range m.users[k] {
			if s := m.sends[id]; s != nil && ok(s) && (best == nil || s.SentAt > best.SentAt) {
				best = s
			}
		}
	}
	return best
}

func (m *memoryStore) applySendEvent(p rs.ConvParams, it rs.ConvItem) rs.ConvResult {
	best := m.latest([]string{"n:" + it.Phone}, func(s *memSend) bool {
		return s.SentAt >= it.Published-p.MatchWindow && s.SentAt <= it.Published+p.MatchWindow
	})
	if best == nil {
		return rs.ConvResult{Outcome: rs.ConvUnmatched}
	}
	m.last.LastSendEvent = p.Now
	return rs.ConvResult{Outcome: rs.ConvMatched, Tx: best.Tx}
}

func (m *memoryStore) applyVerification(p rs.ConvParams, it rs.ConvItem, ch *rs.ConvChanges) rs.ConvResult {
	keys := make([]string, len(it.Users))
	for i, u := range it.Users {
		keys[i] = "u:" + u
	}
	best := m.latest(keys, func(s *memSend) bool {
		return s.state != rs.ConvVerified && s.SentAt <= it.Published+p.Skew && it.Published <= s.SettleAt
	})
	if best == nil {
		return rs.ConvResult{Outcome: rs.ConvUnmatched}
	}
	late := best.state == rs.ConvUnverified
	best.state, best.verifiedAt = rs.ConvVerified, it.Published
	if late {
		m.count(p, best, best.SettleAt/p.Width, 0, 1, ch)
		if best.due == 0 {
			// Its failure report, if leased or waiting, keeps its time:
			// the next Take reads the new outcome.
			m.schedule(best, p.Now)
		}
		return rs.ConvResult{Outcome: rs.ConvLate, Tx: best.Tx}
	}
	m.count(p, best, it.Published/p.Width, 1, 1, ch)
	m.schedule(best, p.Now)
	return rs.ConvResult{Outcome: rs.ConvMatched, Tx: best.Tx}
}

func (m *memoryStore) Take(_ context.Context, p rs.ConvParams, maxJobs int) ([]rs.ConvJob, rs.ConvChanges, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forgetExpired(p)
	ch := m.evicted
	m.evicted = rs.ConvChanges{}
	var jobs []rs.ConvJob
	for n := 0; n < maxJobs && m.due.Len() > 0 && m.due[0].at <= p.Now; {
		e := heap.Pop(&m.due).(timed)
		s := m.sends[e.id]
		if s == nil || s.due != e.at {
			continue // superseded
		}
		n++
		s.due = 0
		m.conclude(p, s, &ch)
		if !s.Feedback || s.report != "" {
			continue
		}
		verified := s.state == rs.ConvVerified
		if p.Now >= s.FeedbackBy {
			s.report = rs.ConvDrop
			ch.Dropped = append(ch.Dropped, rs.ConvJob{Tx: s.Tx, Success: verified})
			continue
		}
		m.schedule(s, p.Now+p.Lease)
		jobs = append(jobs, rs.ConvJob{ID: s.ID, Tx: s.Tx, Success: verified, VerifiedAt: s.verifiedAt,
			Attempts: s.attempts, Deadline: s.FeedbackBy})
	}
	return jobs, ch, nil
}

// conclude settles a pending send unverified, and owes its log line
// until written: one when it settles, one more for a late verification.
func (m *memoryStore) conclude(p rs.ConvParams, s *memSend, ch *rs.ConvChanges) {
	if s.state == rs.ConvPending {
		s.state = rs.ConvUnverified
		m.count(p, s, s.SettleAt/p.Width, 1, 0, ch)
	}
	if s.state != s.logged {
		ch.Settled = append(ch.Settled, rs.ConvSettled{Country: s.Country, Prefix: s.Prefix, Channel: s.Channel,
			Tx: s.Tx, SentAt: s.SentAt, VerifiedAt: s.verifiedAt,
			Verified: s.state == rs.ConvVerified, Late: s.logged == rs.ConvUnverified})
		s.logged = s.state
	}
}

func (m *memoryStore) Finish(_ context.Context, p rs.ConvParams, id, action string, next int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.sends[id]
	if s == nil {
		return nil
	}
	if s.Feedback && s.report == "" {
		switch action {
		case rs.ConvRetry:
			s.attempts++
			fallthrough
		case rs.ConvHold:
			m.schedule(s, next)
			return nil
		case rs.ConvDone, rs.ConvDrop:
			s.report = action
		}
	}
	m.schedule(s, p.Now)
	return nil
}

func (m *memoryStore) Refresh(_ context.Context, p rs.ConvParams) (rs.ConvView, rs.ConvChanges, error) {
	var ch rs.ConvChanges
	m.mu.Lock()
	defer m.mu.Unlock()
	v := m.last
	if w := m.dests["*"]; w != nil {
		v.Settled, v.Verified = w.sums(p)
	}
	for d := range m.suspects {
		if bad, s, ver := m.judge(p, d, &ch); bad {
			v.Suspects = append(v.Suspects, rs.ConvFigure{Dest: d, Settled: s, Verified: ver})
		}
	}
	return v, ch, nil
}

// count adds one send's conclusion to its destinations' windows and
// judges them. As the Lua bump, a bucket the window does not take (out of
// the window, or its slot holds a newer one) changes nothing, and nothing
// is judged.
func (m *memoryStore) count(p rs.ConvParams, s *memSend, idx, ds, dv int64, ch *rs.ConvChanges) {
	if !inWindow(p, idx) {
		return
	}
	for _, d := range [3]string{"c:" + s.Country, "p:" + s.Prefix, "*"} {
		if len(d) == 2 {
			continue // no country or no prefix
		}
		w := m.dests[d]
		if w == nil {
			if len(m.dests) >= m.caps.destinations {
				m.trimDests(p)
			}
			w = new(window)
			m.dests[d] = w
		}
		if w.add(p, idx, ds, dv) && d != "*" {
			m.judge(p, d, ch)
		}
	}
}

func (m *memoryStore) judge(p rs.ConvParams, d string, ch *rs.ConvChanges) (bad bool, settled, verified int64) {
	if w := m.dests[d]; w != nil {
		settled, verified = w.sums(p)
	}
	// The judgement: enough settled sends, too few verified.
	bad = settled >= p.MinSends && float64(verified) < p.MinRate*float64(settled)
	switch was := m.suspects[d]; {
	case bad && !was && (d[0] == 'c' || len(m.suspects) < p.MaxSuspects):
		m.suspects[d] = true
	case !bad && was:
		delete(m.suspects, d)
	default:
		return bad, settled, verified
	}
	ch.Transitions = append(ch.Transitions, rs.ConvFigure{Dest: d, Suspect: bad, Settled: settled, Verified: verified})
	return bad, settled, verified
}

// forgetExpired forgets the sends past their expiry. One whose settled
// line or report is still owed (no Take since, the clock jumped) is
// concluded on the way, as when evicted.
func (m *memoryStore) forgetExpired(p rs.ConvParams) {
	for m.expiry.Len() > 0 && m.expiry[0].at <= p.Now {
		m.evictFirst(p)
	}
}

// evictFirst makes room for a send: the one that expires first goes,
// concluded now if it was pending, its report dropped if one was owed.
// What it owed is reported by the next Take.
func (m *memoryStore) evictFirst(p rs.ConvParams) {
	s := m.sends[heap.Pop(&m.expiry).(timed).id]
	if s == nil {
		return
	}
	if s.state == rs.ConvPending {
		s.SettleAt = min(s.SettleAt, p.Now)
	}
	m.conclude(p, s, &m.evicted)
	if s.Feedback && s.report == "" {
		m.evicted.Dropped = append(m.evicted.Dropped, rs.ConvJob{Tx: s.Tx, Success: s.state == rs.ConvVerified})
	}
	delete(m.sends, s.ID)
	for _, k := range [2]string{"u:" + s.User, "n:" + s.Phone} {
		m.users[k] = slices.DeleteFunc(m.users[k], func(o string) bool { return o == s.ID })
		if len(m.users[k]) == 0 {
			delete(m.users, k)
		}
	}
}

// trimSeen and trimDests cut a full map to 15/16 of its cap: what has
// expired or emptied first, then arbitrary entries (never a country or
// the total).
func (m *memoryStore) trimSeen(p rs.ConvParams) {
	for k, exp := range m.seen {
		if exp <= p.Now || len(m.seen) > m.caps.Seen-max(1, m.caps.Seen/16) {
			delete(m.seen, k)
		}
	}
}

func (m *memoryStore) trimDests(p rs.ConvParams) {
	for d, w := range m.dests {
		if s, v := w.sums(p); s == 0 && v == 0 && !m.suspects[d] && d != "*" {
			delete(m.dests, d)
		}
	}
	for d := range m.dests {
		if len(m.dests) <= m.caps.destinations-max(1, m.caps.destinations/16) {
			return
		}
		if d[0] == 'p' {
			delete(m.dests, d)
			delete(m.suspects, d)
		}
	}
}

// window is a destination's sliding window: settled and verified sends
// per bucket. A slot is reused once its bucket has left the window.
type window [rs.ConvBuckets]struct{ idx, settled, verified int64 }

func inWindow(p rs.ConvParams, idx int64) bool { return idx > p.Now/p.Width-rs.ConvBuckets }

// add counts a bucket's sends, and reports false when the window does not
// take them: out of the window, or the slot holds a newer bucket.
func (w *window) add(p rs.ConvParams, idx, ds, dv int64) bool {
	sl := &w[idx%rs.ConvBuckets]
	if !inWindow(p, idx) || sl.idx > idx {
		return false
	}
	if sl.idx < idx {
		sl.idx, sl.settled, sl.verified = idx, 0, 0
	}
	sl.settled += ds
	sl.verified += dv
	return true
}

func (w *window) sums(p rs.ConvParams) (settled, verified int64) {
	for _, sl := range w {
		if inWindow(p, sl.idx) {
			settled, verified = settled+sl.settled, verified+sl.verified
		}
	}
	return settled, verified
}

// timeHeap orders sends by a time (container/heap).
type timeHeap []timed

type timed struct {
	at int64
	id string
}

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].at < h[j].at }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(timed)) }
func (h *timeHeap) Pop() any {
	x := (*h)[len(*h)-1]
	*h = (*h)[:len(*h)-1]
	return x
}
