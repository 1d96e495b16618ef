package conversion

import (
	"context"
	"strconv"
	"sync"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
)

// Default caps of the memory store.
const (
	DefaultMaxPending      = 100_000 // sends held (pending, or finished and kept for late events)
	DefaultMaxDestinations = 20_000  // countries and prefixes with counts
	DefaultMaxSeen         = 100_000 // event uuids remembered
)

// DefaultMaxSuspects caps the suspect prefixes held (countries always
// fit): a flood of pumped ranges cannot grow the verdict cache without
// bound, and their countries are judged anyway.
const DefaultMaxSuspects = 1000

// userSlots are the sends a user has in flight on one channel. A user
// with more than four codes in flight cannot have the oldest matched any
// more; it settles unverified (Okta honours only the latest code anyway).
const userSlots = 4

// memoryStore is the in-process Store: the default without Redis and the
// fallback while Redis is unreachable. One mutex guards it; every
// operation under it is a few map updates (a batch of events takes and
// releases it per event), and Check never takes it.
//
// Memory is bounded by three caps. What goes first when one is reached:
//   - sends: finished sends kept for late events, then the pending send
//     due soonest, which is settled unverified on the spot (its 8x8
//     report dropped and counted): a flood of sends can hurry judgement,
//     never hide a send from it;
//   - destinations: those with nothing left in the window, then arbitrary
//     prefixes; countries are never evicted (there are about 250);
//   - event uuids: expired ones, then arbitrary ones.
type memoryStore struct {
	maxPending, maxDests, maxSeen int

	mu       sync.Mutex
	seq      uint64
	sends    map[uint64]memSend
	texts    map[uint64]string // transaction ids that are not UUIDs (rare)
	users    map[userKey][userSlots]uint64
	work     idHeap // settlements and reports, by due time
	forget   idHeap // finished sends, by the time they may be forgotten
	dests    map[destKey]counts
	global   counts
	suspects map[destKey]struct{}
	seen     map[seenKey]int64 // expiry, Unix ms
	lastPost int64
}

var _ Store = (*memoryStore)(nil)

// memSend is one send, pointer-free (the GC skips the map) and compact: a
// flood of pumped sends is what fills it. The 8x8 transaction id is kept
// as 16 bytes (PackID); one that is not a UUID goes to texts.
type memSend struct {
	user       userKey
	country    [2]byte
	prefix     destKey
	state      uint8
	fb         uint8
	late       bool
	shadow     bool // counted, never logged (Redis may hold the send too)
	attempts   uint8
	txKind     uint8 // txNone, txPacked, txText
	tx         [16]byte
	sentAt     int64
	settleAt   int64
	verifiedAt int64
	due        int64 // current entry in work; 0 when none
	forgetAt   int64 // current entry in forget; 0 when none
}

const (
	txNone uint8 = iota
	txPacked
	txText
)

func (s *memSend) fbBy() int64 { return feedbackBy(s.sentAt) }

// countryKey is the send's country as a destination.
func (s *memSend) countryKey() destKey {
	if s.country == [2]byte{} {
		return destKey{}
	}
	k, _ := newDestKey('c', string(s.country[:]))
	return k
}

// txOf is the send's 8x8 transaction id.
func (m *memoryStore) txOf(id uint64, s *memSend) string {
	switch s.txKind {
	case txPacked:
		return eightbyeight.UnpackID(s.tx)
	case txText:
		return m.texts[id]
	}
	return ""
}

// MemoryCaps bounds the memory store; a zero field takes its default.
type MemoryCaps struct {
	Pending      int // DefaultMaxPending
	Destinations int // DefaultMaxDestinations
	Seen         int // DefaultMaxSeen
}

// NewMemoryStore returns a Store private to this process.
func NewMemoryStore(caps MemoryCaps) Store { return newMemoryStore(caps) }

func newMemoryStore(caps MemoryCaps) *memoryStore {
	def := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	return &memoryStore{
		maxPending: def(caps.Pending, DefaultMaxPending),
		maxDests:   def(caps.Destinations, DefaultMaxDestinations),
		maxSeen:    def(caps.Seen, DefaultMaxSeen),
		sends:      make(map[uint64]memSend),
		texts:      make(map[uint64]string),
		users:      make(map[userKey][userSlots]uint64),
		dests:      make(map[destKey]counts),
		suspects:   make(map[destKey]struct{}),
		seen:       make(map[seenKey]int64),
	}
}

// lens reports the sizes of the bounded maps (tests, benchmarks).
func (m *memoryStore) lens() (sends, dests, seen int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sends), len(m.dests), len(m.seen)
}

func (m *memoryStore) hasSends() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sends) > 0
}

func (m *memoryStore) addSend(_ context.Context, p params, r sendRecord) (changes, error) {
	var ch changes
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.sends) >= m.maxPending {
		m.evictSend(p, &ch)
	}
	m.seq++
	id := m.seq
	s := memSend{
		user:     r.user,
		state:    statePending,
		sentAt:   r.sentAt,
		settleAt: r.settleAt,
		due:      r.settleAt,
		shadow:   r.shadow,
	}
	if len(r.country) == 2 {
		s.country = [2]byte{r.country[0], r.country[1]}
	}
	s.prefix, _ = newDestKey('p', r.prefix)
	switch b, ok := eightbyeight.PackID(r.tx); {
	case ok:
		s.txKind, s.tx = txPacked, b
	case r.tx != "":
		s.txKind = txText
		m.texts[id] = r.tx
	}
	if r.feedback {
		s.fb = fbWanted
	}
	m.sends[id] = s
	m.work.push(item{at: s.due, id: id})
	m.maybeRebuild()

	slots := m.users[r.user]
	free := -1
	for i, o := range slots {
		if o == 0 {
			free = i
			break
		}
		if _, ok := m.sends[o]; !ok {
			free = i
			break
		}
	}
	if free < 0 {
		// Replace the oldest: Okta accepts only the latest code.
		free = 0
		for i, o := range slots {
			if m.sends[o].sentAt < m.sends[slots[free]].sentAt {
				free = i
			}
		}
	}
	slots[free] = id
	m.users[r.user] = slots
	return ch, nil
}

func (m *memoryStore) verify(_ context.Context, p params, vs []verification) ([]verifyResult, changes, error) {
	var ch changes
	out := make([]verifyResult, len(vs))
	m.mu.Lock()
	m.lastPost = max(m.lastPost, p.now)
	m.mu.Unlock()
	for i := range vs {
		// One event at a time: a large batch does not hold up Sent.
		m.mu.Lock()
		out[i] = m.verifyOne(p, &vs[i], &ch)
		m.mu.Unlock()
	}
	return out, ch, nil
}

func (m *memoryStore) verifyOne(p params, v *verification, ch *changes) verifyResult {
	if exp, ok := m.seen[v.seen]; ok && exp > p.now {
		return verifyResult{outcome: vDuplicate}
	}
	if len(m.seen) >= m.maxSeen {
		m.evictSeen(p)
	}
	m.seen[v.seen] = p.now + p.seenTTL

	var best uint64
	var bestAt int64 = -1
	for _, u := range v.users {
		if u.ch == 0 {
			continue
		}
		for _, id := range m.users[u] {
			s, ok := m.sends[id]
			if !ok || s.state == stateVerified {
				continue
			}
			if s.sentAt-p.skew <= v.published && v.published <= s.settleAt && s.sentAt > bestAt {
				best, bestAt = id, s.sentAt
			}
		}
	}
	if best == 0 {
		return verifyResult{outcome: vUnmatched}
	}
	s := m.sends[best]
	late := s.state == stateUnverified
	s.state, s.verifiedAt, s.late = stateVerified, v.published, late
	if late {
		// Counted unverified when it settled: correct that bucket.
		m.count(p, &s, p.bucket(s.settleAt), 0, 1, ch)
	} else {
		m.count(p, &s, p.bucket(v.published), 1, 1, ch)
	}
	switch {
	case s.fb == fbWanted && late && s.due != 0:
		// Its failure report is leased or waiting to retry: the next take
		// reads the new outcome; moving it now could report it twice.
	case s.fb == fbWanted:
		s.due = p.now
		m.work.push(item{at: s.due, id: best})
	case !late:
		s.due = 0
		m.scheduleForget(p, best, &s)
	}
	m.sends[best] = s
	r := verifyResult{outcome: vMatched, settled: m.settledOf(best, &s)}
	if late {
		r.outcome = vLate
	}
	return r
}

func (m *memoryStore) settledOf(id uint64, s *memSend) settledSend {
	return settledSend{
		country: string(s.country[:]), prefix: s.prefix.value(), tx: m.txOf(id, s),
		channel: s.user.ch, sentAt: s.sentAt,
		verified: s.state == stateVerified, late: s.late, verifiedAt: s.verifiedAt,
	}
}

func (m *memoryStore) take(_ context.Context, p params, maxJobs int) ([]job, changes, error) {
	var ch changes
	var jobs []job
	m.mu.Lock()
	defer m.mu.Unlock()
	for m.forget.len() > 0 && m.forget.top().at <= p.now {
		m.forgetTop()
	}
	for len(jobs) < maxJobs && m.work.len() > 0 && m.work.top().at <= p.now {
		it := m.work.pop()
		s, ok := m.sends[it.id]
		if !ok || s.due != it.at {
			continue // superseded
		}
		if s.state == statePending {
			if p.now < s.settleAt {
				s.due = s.settleAt
				m.work.push(item{at: s.due, id: it.id})
				m.sends[it.id] = s
				continue
			}
			m.settleUnverified(p, it.id, &s, p.bucket(s.settleAt), &ch)
		}
		if s.fb == fbWanted {
			if p.now >= s.fbBy() {
				s.fb = fbDropped
				ch.dropped = append(ch.dropped, dropped{tx: m.txOf(it.id, &s), success: s.state == stateVerified})
				s.due = 0
				m.scheduleForget(p, it.id, &s)
			} else {
				s.due = p.now + p.lease
				m.work.push(item{at: s.due, id: it.id})
				jobs = append(jobs, job{
					id: memID(it.id), tx: m.txOf(it.id, &s), success: s.state == stateVerified,
					verifiedAt: s.verifiedAt, attempts: int(s.attempts), deadline: s.fbBy(),
				})
			}
		} else {
			s.due = 0
			m.scheduleForget(p, it.id, &s)
		}
		m.sends[it.id] = s
	}
	return jobs, ch, nil
}

func (m *memoryStore) finish(_ context.Context, p params, id string, a action, next int64) error {
	n, err := strconv.ParseUint(id, 36, 64)
	if err != nil {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sends[n]
	if !ok {
		return nil
	}
	switch {
	case s.fb != fbWanted:
		// Reported or dropped meanwhile.
	case a == actRelease:
		s.due = p.now
		m.work.push(item{at: s.due, id: n})
	case a == actHold:
		s.due = next
		m.work.push(item{at: s.due, id: n})
	case a == actRetry:
		s.attempts++
		s.due = next
		m.work.push(item{at: s.due, id: n})
	case a == actDone:
		s.fb = fbDone
	case a == actDrop:
		s.fb = fbDropped
	}
	if s.fb != fbWanted {
		s.due = 0
		m.scheduleForget(p, n, &s)
	}
	m.sends[n] = s
	return nil
}

func (m *memoryStore) refresh(_ context.Context, p params) (view, changes, error) {
	var ch changes
	m.mu.Lock()
	defer m.mu.Unlock()
	v := view{lastPost: m.lastPost}
	v.settled, v.verify = m.global.sums(p)
	for k := range m.suspects {
		s, ver := m.judge(p, k, &ch)
		if _, still := m.suspects[k]; still {
			v.suspects = append(v.suspects, figure{dest: k.String(), settled: s, verified: ver})
		}
	}
	return v, ch, nil
}

// count adds one send's conclusion to its destinations and judges them.
func (m *memoryStore) count(p params, s *memSend, idx, ds, dv int64, ch *changes) {
	for _, k := range [2]destKey{s.countryKey(), s.prefix} {
		if k.empty() {
			continue
		}
		c, ok := m.dests[k]
		if !ok && len(m.dests) >= m.maxDests {
			m.evictDests(p)
		}
		c.add(p, idx, ds, dv)
		m.dests[k] = c
		m.judge(p, k, ch)
	}
	m.global.add(p, idx, ds, dv)
}

func (m *memoryStore) judge(p params, k destKey, ch *changes) (settled, verified int64) {
	c := m.dests[k]
	settled, verified = c.sums(p)
	bad := p.suspect(settled, verified)
	_, was := m.suspects[k]
	switch {
	case bad && !was && (k[0] == 'c' || len(m.suspects) < p.maxSuspects):
		m.suspects[k] = struct{}{}
		ch.transitions = append(ch.transitions, transition{dest: k.String(), suspect: true, settled: settled, verified: verified})
	case !bad && was:
		delete(m.suspects, k)
		ch.transitions = append(ch.transitions, transition{dest: k.String(), settled: settled, verified: verified})
	}
	return settled, verified
}

func (m *memoryStore) scheduleForget(p params, id uint64, s *memSend) {
	s.forgetAt = max(s.settleAt, s.fbBy()) + p.retain
	m.forget.push(item{at: s.forgetAt, id: id})
}

func (m *memoryStore) deleteSend(id uint64, s *memSend) {
	delete(m.sends, id)
	if s.txKind == txText {
		delete(m.texts, id)
	}
	slots, ok := m.users[s.user]
	if !ok {
		return
	}
	empty := true
	for i := range slots {
		if slots[i] == id {
			slots[i] = 0
		}
		empty = empty && slots[i] == 0
	}
	if empty {
		delete(m.users, s.user)
	} else {
		m.users[s.user] = slots
	}
}

// forgetTop pops the first send due to be forgotten and deletes it,
// unless a late verification reopened a report for it since (its entry
// is then superseded). It reports whether a send was deleted.
func (m *memoryStore) forgetTop() bool {
	it := m.forget.pop()
	if s, ok := m.sends[it.id]; ok && s.forgetAt == it.at && s.due == 0 {
		m.deleteSend(it.id, &s)
		return true
	}
	return false
}

// settleUnverified settles a pending send as not entered, counted in
// bucket; a shadow (Redis may hold the send too) is counted, never logged.
func (m *memoryStore) settleUnverified(p params, id uint64, s *memSend, bucket int64, ch *changes) {
	s.state = stateUnverified
	m.count(p, s, bucket, 1, 0, ch)
	if !s.shadow {
		ch.settled = append(ch.settled, m.settledOf(id, s))
	}
}

// evictSend makes room for one send: a finished send first, else the send
// due soonest, settled now as if its code had expired.
func (m *memoryStore) evictSend(p params, ch *changes) {
	for m.forget.len() > 0 {
		if m.forgetTop() {
			return
		}
	}
	for m.work.len() > 0 {
		it := m.work.pop()
		s, ok := m.sends[it.id]
		if !ok || s.due != it.at {
			continue
		}
		if s.state == statePending {
			m.settleUnverified(p, it.id, &s, p.cur(), ch)
		}
		if s.fb == fbWanted {
			ch.dropped = append(ch.dropped, dropped{tx: m.txOf(it.id, &s), success: s.state == stateVerified, reason: dropEvicted})
		}
		m.deleteSend(it.id, &s)
		return
	}
	for id, s := range m.sends {
		m.deleteSend(id, &s)
		return
	}
}

// evictSeen and evictDests make room: what has expired or emptied first,
// then arbitrary entries (never a country), down to 15/16 of the cap, so
// the sweep's cost is spread over the next cap/16 inserts. The survivors
// move to a fresh map, as the guard's do: a map churned by deletes in
// place keeps its tombstones and grows.
func (m *memoryStore) evictSeen(p params) {
	n := trimmed(m.maxSeen)
	seen := make(map[seenKey]int64, m.maxSeen)
	for k, exp := range m.seen {
		if exp > p.now && len(seen) < n {
			seen[k] = exp
		}
	}
	m.seen = seen
}

func (m *memoryStore) evictDests(p params) {
	n := trimmed(m.maxDests)
	dests := make(map[destKey]counts, m.maxDests)
	live := func(c counts) bool { s, v := c.sums(p); return s != 0 || v != 0 }
	// Countries first (always kept), then prefixes while there is room.
	for k, c := range m.dests {
		if k[0] == 'c' && live(c) {
			dests[k] = c
		}
	}
	for k, c := range m.dests {
		if k[0] != 'c' && live(c) && len(dests) < n {
			dests[k] = c
		}
	}
	for k := range m.dests {
		if _, ok := dests[k]; !ok {
			delete(m.suspects, k)
		}
	}
	m.dests = dests
}

// trimmed is the size a full map is cut to.
func trimmed(limit int) int { return limit - max(1, limit/16) }

// maybeRebuild drops superseded heap entries once they outnumber the
// sends: each retry or lease leaves one behind until its time comes.
func (m *memoryStore) maybeRebuild() {
	if m.work.len()+m.forget.len() <= 4*len(m.sends)+1024 {
		return
	}
	m.work.items, m.forget.items = m.work.items[:0], m.forget.items[:0]
	for id, s := range m.sends {
		if s.due != 0 {
			m.work.push(item{at: s.due, id: id})
		}
		if s.forgetAt != 0 {
			m.forget.push(item{at: s.forgetAt, id: id})
		}
	}
}

func memID(id uint64) string { return strconv.FormatUint(id, 36) }

// destKey is a destination held inline: a kind byte ('c' country, 'p'
// prefix) and up to 15 bytes of value, zero padded. No pointer, no hash:
// an E.164 prefix is at most 12 bytes.
type destKey [16]byte

func newDestKey(kind byte, v string) (destKey, bool) {
	var k destKey
	if v == "" || len(v) > len(k)-1 {
		return k, false
	}
	k[0] = kind
	copy(k[1:], v)
	return k, true
}

func (k destKey) empty() bool { return k[0] == 0 }

func (k destKey) value() string {
	if k.empty() {
		return ""
	}
	n := 1
	for n < len(k) && k[n] != 0 {
		n++
	}
	return string(k[1:n])
}

// String is the destination's name in both stores: "c:US", "p:+1415555".
func (k destKey) String() string { return string(k[0]) + ":" + k.value() }

// counts is a destination's sliding window: settled and verified sends
// per bucket. A slot is reused once its bucket has left the window.
type counts [buckets]slot

type slot struct {
	idx      int64
	settled  uint32
	verified uint32
}

func (c *counts) add(p params, idx, ds, dv int64) {
	if !p.inWindow(idx) {
		return
	}
	sl := &c[idx%buckets]
	switch {
	case sl.idx < idx:
		*sl = slot{idx: idx}
	case sl.idx > idx:
		return // the slot holds a newer bucket: this one has left the window
	}
	sl.settled += uint32(ds)
	sl.verified += uint32(dv)
}

func (c *counts) sums(p params) (settled, verified int64) {
	for _, sl := range c {
		if (sl.settled != 0 || sl.verified != 0) && p.inWindow(sl.idx) {
			settled += int64(sl.settled)
			verified += int64(sl.verified)
		}
	}
	return settled, verified
}

// idHeap is a min-heap of (time, send) without container/heap's boxing.
type idHeap struct{ items []item }

type item struct {
	at int64
	id uint64
}

func (h *idHeap) len() int  { return len(h.items) }
func (h *idHeap) top() item { return h.items[0] }
func (h *idHeap) push(x item) {
	h.items = append(h.items, x)
	i := len(h.items) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if h.items[parent].at <= h.items[i].at {
			break
		}
		h.items[parent], h.items[i] = h.items[i], h.items[parent]
		i = parent
	}
}

func (h *idHeap) pop() item {
	top := h.items[0]
	last := len(h.items) - 1
	h.items[0] = h.items[last]
	h.items = h.items[:last]
	i := 0
	for {
		l, r, small := 2*i+1, 2*i+2, i
		if l < last && h.items[l].at < h.items[small].at {
			small = l
		}
		if r < last && h.items[r].at < h.items[small].at {
			small = r
		}
		if small == i {
			break
		}
		h.items[i], h.items[small] = h.items[small], h.items[i]
		i = small
	}
	return top
}

// Planned bytes per entry of the memory store, from BenchmarkMemoryPerSend
// (260 heap bytes per pending send, its user index and work queue
// included) with room for a map's growth steps; a remembered event uuid
// is a 16-byte key and an 8-byte expiry.
const (
	bytesPerSend = 320
	bytesPerSeen = 48
)

// CapsFor sizes the memory store so that its pending sends and remembered
// event uuids fit in budget bytes (a share of the Go heap's soft limit);
// destinations keep their default cap. A budget of 0 or less gives the
// defaults.
func CapsFor(budget int64) MemoryCaps {
	if budget <= 0 {
		return MemoryCaps{}
	}
	return MemoryCaps{
		Pending: int(max(1000, budget*3/4/bytesPerSend)),
		Seen:    int(max(1000, budget/4/bytesPerSeen)),
	}
}
