package guard

import (
	"sync"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

const (
	defaultCap = 100_000 // MaxAnswers and MaxWindows

	// refWindowN is the limit MaxWindows and CapsFor count windows in: a
	// window logs up to N sends, so a larger limit holds fewer windows.
	refWindowN = 10

	// countryWindows leaves room for every region (about 250).
	countryWindows = 512

	// What CapsFor plans with per entry, map slot included, generous on
	// purpose: an answer's key, expiry, rendered bytes and share of the
	// backlog; a window's key and up to refWindowN send times, in a log
	// that may have grown to twice its length.
	answerCost = 512
	windowCost = 640
)

// CapsFor returns MaxAnswers and MaxWindows such that the guard's memory
// stays within budget bytes: a quarter for answers, kept for minutes, and
// three quarters for windows, up to four per send and kept for up to an
// hour. A budget of 0 or less returns 0, 0: the defaults.
func CapsFor(budget int64) (answers, windows int) {
	if budget <= 0 {
		return 0, 0
	}
	return int(max(64, budget/4/answerCost)), int(max(64, budget*3/4/windowCost))
}

// memStore holds what this instance knows: every eventId it claimed or
// answered (whatever Redis says), and the rate windows while Redis is
// unreachable. Plain maps under one lock, each with a size cap.
type memStore struct {
	mu         sync.Mutex
	answers    map[key]memAnswer // answered eventIds and remote markers
	maxAnswers int
	// flights holds the claims (and reservations) of requests here: the
	// cap only bounds claims a caller forgot to settle.
	flights map[key]flight
	// One log of send times per limit and key, oldest first.
	windows    [numKinds]map[key][]time.Time
	maxWindows [numKinds]int
}

type memAnswer struct {
	answer []byte // read-only; never nil for an answer
	exp    time.Time
	// remote marks an eventId that Redis said another instance holds: no
	// answer yet, and no claim in memory if Redis fails (ErrInFlight).
	remote bool
}

type flight struct {
	token string // the holder's Begin
	exp   time.Time
	done  chan struct{} // closed when the holder settles or is dropped
}

func newMemStore(maxAnswers, maxWindows int, limits [numKinds]Limit) *memStore {
	if maxAnswers <= 0 {
		maxAnswers = defaultCap
	}
	if maxWindows <= 0 {
		maxWindows = defaultCap
	}
	s := &memStore{answers: map[key]memAnswer{}, maxAnswers: maxAnswers, flights: map[key]flight{}}
	// The windows are shared among the limits a flood can widen (phone,
	// user, IP), each with its own map and cap: a flood of one kind never
	// evicts the windows of another. Countries are a few hundred at most.
	floodable := 0
	for kind, l := range limits {
		if kind != limitCountry && l.N > 0 {
			floodable++
		}
	}
	for kind, l := range limits {
		s.windows[kind] = map[key][]time.Time{}
		s.maxWindows[kind] = countryWindows
		if kind != limitCountry {
			s.maxWindows[kind] = max(1, maxWindows/max(1, floodable)*refWindowN/max(refWindowN, l.N))
		}
	}
	return s
}

// begin looks k up for the Begin holding token. An answer wins; a live
// claim by another request here is to be waited for; otherwise token now
// holds a reservation until exp. remote: Redis last said another instance
// holds k.
func (s *memStore) begin(k key, token string, now, exp time.Time) (answer []byte, wait <-chan struct{}, remote bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.answers[k]; ok && now.Before(a.exp) {
		if !a.remote {
			return a.answer, nil, false
		}
		remote = true
	}
	if f, ok := s.flights[k]; ok {
		if now.Before(f.exp) {
			return nil, f.done, remote
		}
		s.dropFlight(k, f.token) // its waiters look again
	} else if len(s.flights) >= s.maxAnswers {
		s.flights = evict(s.flights, s.maxAnswers, func(f flight) bool { return now.Before(f.exp) }, func(f flight) { close(f.done) })
	}
	s.flights[k] = flight{token: token, exp: exp, done: make(chan struct{})}
	return nil, nil, remote
}

// finish records token's answer until exp, unless another request now
// holds k or answered it; a claim evicted from memory still records it.
func (s *memStore) finish(k key, token string, answer []byte, now, exp time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, held := s.flights[k]
	if held && f.token != token {
		return ErrClaimLost
	}
	if a, ok := s.answers[k]; !held && ok && !a.remote && now.Before(a.exp) {
		return ErrClaimLost
	}
	s.put(k, memAnswer{answer: append([]byte{}, answer...), exp: exp}, now)
	s.dropFlight(k, token)
	return nil
}

// learned records what Redis said when token claimed k. Claimed: token's
// reservation is now a shared claim, and a remote marker (from a holder
// that since released or expired) goes. Otherwise the reservation goes,
// and the answer or a remote marker (which never replaces an answer) is
// recorded.
func (s *memStore) learned(k key, token string, c redisstore.Claim, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.answers[k]
	switch {
	case c.State == redisstore.Claimed:
		if ok && old.remote {
			delete(s.answers, k)
		}
		return
	case c.State == redisstore.Answered:
		s.put(k, memAnswer{answer: c.Answer, exp: c.Deadline}, now)
	case !ok || old.remote || !now.Before(old.exp):
		s.put(k, memAnswer{exp: c.Deadline, remote: true}, now)
	}
	s.dropFlight(k, token)
}

// release drops token's claim or reservation, if it still holds k; its
// waiters look again.
func (s *memStore) release(k key, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropFlight(k, token)
}

func (s *memStore) dropFlight(k key, token string) {
	if f, ok := s.flights[k]; ok && f.token == token {
		delete(s.flights, k)
		close(f.done)
	}
}

// put stores a, evicting at the cap.
func (s *memStore) put(k key, a memAnswer, now time.Time) {
	if _, ok := s.answers[k]; !ok && len(s.answers) >= s.maxAnswers {
		s.answers = evict(s.answers, s.maxAnswers, func(a memAnswer) bool { return now.Before(a.exp) }, nil)
	}
	s.answers[k] = a
}

// hit checks every window, then counts one send at now in all of them
// only if none is full; otherwise it returns the index of the first full
// window. kinds[i] is ws[i]'s limit.
func (s *memStore) hit(now time.Time, ws []redisstore.Window, kinds []int) (full int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, w := range ws {
		if len(inWindow(s.windows[kinds[i]][w.Key], now, w.Window)) >= w.N {
			return i
		}
	}
	for i, w := range ws {
		kind := kinds[i]
		m := s.windows[kind]
		log, ok := m[w.Key]
		if !ok && len(m) >= s.maxWindows[kind] {
			m = evict(m, s.maxWindows[kind], func(log []time.Time) bool { return len(inWindow(log, now, w.Window)) > 0 }, nil)
			s.windows[kind] = m
		}
		log = inWindow(log, now, w.Window)
		at := now
		if n := len(log); n > 0 && at.Before(log[n-1]) {
			// A clock that stepped back counts the send as the newest one:
			// it leaves the window later, never earlier.
			at = log[n-1]
		}
		m[w.Key] = append(log, at)
	}
	return -1
}

// inWindow is the part of log still inside a window of length w at now.
func inWindow(log []time.Time, now time.Time, w time.Duration) []time.Time {
	i := 0
	for i < len(log) && !now.Before(log[i].Add(w)) {
		i++
	}
	return log[i:]
}

// evict makes room in a full map: entries no longer live go first, then
// arbitrary ones, down to 15/16 of the cap, so one sweep serves the next
// cap/16 inserts. The survivors move to a fresh map: a map churned by
// deletes in place can grow beyond its entries. drop, if not nil, sees
// each entry dropped.
func evict[V any](m map[key]V, limit int, live func(V) bool, drop func(V)) map[key]V {
	keep := limit - max(1, limit/16)
	out := make(map[key]V, limit)
	for k, v := range m {
		if len(out) < keep && live(v) {
			out[k] = v
		} else if drop != nil {
			drop(v)
		}
	}
	return out
}
