package guard

import (
	"math"
	"slices"
	"sync"
	"time"
)

// The memory store holds what this instance knows: every eventId it
// claimed or answered (whatever Redis says), and the rate windows while
// Redis is unreachable. It is built to stay small under a flood of
// distinct keys: answers and windows live in maps whose keys and values
// hold no pointers (the garbage collector skips them), times are seconds,
// and a window's sends are uint16 offsets in an arena sized to its limit.
//
// Costs, measured by BenchmarkMemoryPerEntry (map overhead included):
// 63–101 B per remembered answer of at most inlineAnswer bytes, 40–56 B
// per window of 5 sends and 50–64 B per window of 10; see bytesPerAnswer
// and bytesPerWindow for what CapsFor plans with.

const (
	// memShards splits each map so that requests for different keys rarely
	// wait for one another (BenchmarkGuardMemoryParallel).
	memShards = 64

	defaultMaxAnswers = 100_000
	defaultMaxWindows = 100_000

	// inlineAnswer is the longest answer kept inside the map entry; the
	// hook's compact answers fit. Longer ones go to a second map.
	inlineAnswer = 26

	// numKinds is the number of rate limits (phone, user, IP, country).
	numKinds = 4

	// refWindowN is the limit MaxWindows and CapsFor count windows in.
	refWindowN = 10

	// countryWindowsPerShard leaves room for every region (about 250)
	// however they fall into shards.
	countryWindowsPerShard = 32
)

type memStore struct {
	perAnswers int               // per shard: answers and remote markers
	perFlights int               // per shard: claims held by requests on this instance
	specs      [numKinds]winSpec // per limit, with its cap per shard
	shards     [memShards]memShard
}

type memShard struct {
	mu sync.Mutex
	// answers holds answered eventIds and remote markers. Pointer-free.
	answers map[mkey]memAnswer
	// spill holds the answers longer than inlineAnswer (strings: a
	// smaller header than a slice).
	spill map[mkey]string
	// flights holds the claims (and reservations) of requests on this
	// instance: few, and they need a token and a channel to wait on.
	flights map[mkey]memFlight
	tables  [numKinds]winTable
	_       [64]byte
}

type memAnswer struct {
	exp   uint32 // Unix seconds; gone once now >= exp
	n     uint8  // bytes used in data
	flags uint8
	data  [inlineAnswer]byte
}

const (
	// flagRemote marks an eventId that Redis said another instance holds:
	// no answer yet, and no claim in memory if Redis fails (ErrInFlight).
	flagRemote = 1 << iota
	// flagSpill: the answer is in memShard.spill.
	flagSpill
)

type memFlight struct {
	seq  uint64 // the holder's Begin
	exp  uint32 // Unix seconds
	done chan struct{}
}

func newMemStore(maxAnswers, maxWindows int, limits [numKinds]Limit) *memStore {
	if maxAnswers <= 0 {
		maxAnswers = defaultMaxAnswers
	}
	if maxWindows <= 0 {
		maxWindows = defaultMaxWindows
	}
	s := &memStore{perAnswers: (maxAnswers + memShards - 1) / memShards}
	// In-flight claims are as many as requests being served; the cap only
	// bounds claims a caller forgot to settle.
	s.perFlights = s.perAnswers
	// The windows are shared among the limits a flood can widen (phone,
	// user, IP), each with its own maps and cap: a flood of one kind never
	// evicts the windows of another, and each kind's memory is bounded by
	// its own cap. Countries are a few hundred at most.
	floodable := 0
	for i, l := range limits {
		if i != limitCountry && !l.Off() {
			floodable++
		}
	}
	for i, l := range limits {
		perShard := countryWindowsPerShard
		if i != limitCountry {
			perShard = (maxWindows/max(1, floodable) + memShards - 1) / memShards
			// A window logs up to N sends: MaxWindows counts windows of
			// up to refWindowN, and a larger limit holds fewer, so the
			// memory bound stays what CapsFor planned.
			if l.N > refWindowN {
				perShard = max(1, perShard*(2+refWindowN)/(2+l.N))
			}
		}
		s.specs[i] = newWinSpec(l, perShard)
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.answers = make(map[mkey]memAnswer)
		sh.spill = make(map[mkey]string)
		sh.flights = make(map[mkey]memFlight)
		for k := range sh.tables {
			sh.tables[k].idx = make(map[mkey]uint32)
		}
	}
	return s
}

// shardIndex spreads keys by their first byte: keys are HMAC outputs, so
// an attacker cannot aim at one shard.
func shardIndex(k key) int { return int(k[0]) % memShards }

// mkey is how the memory maps name a key: 96 of its bits, apart from the
// byte that picks the shard. Four bytes less per entry; two keys among a
// million collide with odds of about 1 in 10^17.
type mkey [12]byte

func mkeyOf(k key) mkey { return mkey(k[4:]) }

func (s *memStore) shard(k key) *memShard { return &s.shards[shardIndex(k)] }

// size reports what the store holds, expired or not.
func (s *memStore) size() (answers, flights, windows int) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		answers += len(sh.answers)
		flights += len(sh.flights)
		for k := range sh.tables {
			windows += len(sh.tables[k].idx)
		}
		sh.mu.Unlock()
	}
	return answers, flights, windows
}

// unixSecs is t in whole seconds, floored, within uint32.
func unixSecs(t time.Time) uint32 {
	return uint32(min(max(t.Unix(), 0), math.MaxUint32))
}

// ceilSecs is t rounded up to a whole second: an eventId is remembered up
// to a second longer, never shorter.
func ceilSecs(t time.Time) uint32 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return uint32(min(max(s, 0), math.MaxUint32))
}

// memLook is what begin found.
type memLook int

const (
	// lookReserved: nothing live was known; the caller now holds a
	// reservation (a flight with its seq) and must settle it.
	lookReserved memLook = iota
	// lookAnswered: an answer is known.
	lookAnswered
	// lookWait: another request on this instance holds the eventId.
	lookWait
)

// begin looks k up for the Begin numbered seq. An answer wins; a live
// claim by another request here is waited for; otherwise the caller
// reserves k until exp. remote reports that Redis last said another
// instance holds k.
func (s *memStore) begin(k key, seq uint64, now time.Time, exp uint32) (look memLook, answer []byte, wait <-chan struct{}, remote bool) {
	sh, mk := s.shard(k), mkeyOf(k)
	t := unixSecs(now)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if a, ok := sh.answers[mk]; ok {
		switch {
		case a.exp <= t:
			s.dropAnswer(sh, mk, a)
		case a.flags&flagRemote != 0:
			remote = true
		case a.flags&flagSpill != 0:
			return lookAnswered, []byte(sh.spill[mk]), nil, false
		default:
			return lookAnswered, slices.Clone(a.data[:a.n:a.n]), nil, false
		}
	}
	if f, ok := sh.flights[mk]; ok {
		if f.exp > t {
			return lookWait, nil, f.done, remote
		}
		delete(sh.flights, mk)
		close(f.done) // its waiters look again
	} else if len(sh.flights) >= s.perFlights {
		s.evictFlights(sh, t)
	}
	sh.flights[mk] = memFlight{seq: seq, exp: exp, done: make(chan struct{})}
	return lookReserved, nil, nil, remote
}

// answerOf returns k's answer, if one is known.
func (s *memStore) answerOf(k key, now time.Time) ([]byte, bool) {
	sh, mk := s.shard(k), mkeyOf(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	a, ok := sh.answers[mk]
	switch {
	case !ok || a.exp <= unixSecs(now) || a.flags&flagRemote != 0:
		return nil, false
	case a.flags&flagSpill != 0:
		return []byte(sh.spill[mk]), true
	default:
		return slices.Clone(a.data[:a.n:a.n]), true
	}
}

// finish records seq's answer until exp. It fails only if another request
// now holds k or k was answered meanwhile; a claim evicted from memory
// still records its answer, since no one else claimed.
func (s *memStore) finish(k key, seq uint64, answer []byte, now time.Time, exp uint32) error {
	sh, mk := s.shard(k), mkeyOf(k)
	t := unixSecs(now)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	f, held := sh.flights[mk]
	if held && f.seq != seq {
		return ErrClaimLost
	}
	if a, ok := sh.answers[mk]; !held && ok && a.exp > t && a.flags&flagRemote == 0 {
		return ErrClaimLost
	}
	s.putAnswer(sh, mk, answer, exp, 0, t)
	if held {
		delete(sh.flights, mk)
		close(f.done)
	}
	return nil
}

// cache records an answer read from Redis and drops seq's reservation.
func (s *memStore) cache(k key, seq uint64, answer []byte, now time.Time, exp uint32) {
	sh, mk := s.shard(k), mkeyOf(k)
	t := unixSecs(now)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	s.putAnswer(sh, mk, answer, exp, 0, t)
	s.dropFlight(sh, mk, seq)
}

// remote notes that another instance holds k until exp, and drops seq's
// reservation.
func (s *memStore) remote(k key, seq uint64, now time.Time, exp uint32) {
	sh, mk := s.shard(k), mkeyOf(k)
	t := unixSecs(now)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if a, ok := sh.answers[mk]; !ok || a.flags&flagRemote != 0 || a.exp <= t {
		s.putAnswer(sh, mk, nil, exp, flagRemote, t)
	}
	s.dropFlight(sh, mk, seq)
}

// claimed notes that seq's reservation is now a claim in Redis too: a
// remote marker, from a holder that since released or expired, goes.
func (s *memStore) claimed(k key) {
	sh, mk := s.shard(k), mkeyOf(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if a, ok := sh.answers[mk]; ok && a.flags&flagRemote != 0 {
		delete(sh.answers, mk)
	}
}

// release drops seq's claim or reservation, if it still holds k.
func (s *memStore) release(k key, seq uint64) error {
	sh, mk := s.shard(k), mkeyOf(k)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if !s.dropFlight(sh, mk, seq) {
		return ErrClaimLost
	}
	return nil
}

func (s *memStore) dropFlight(sh *memShard, k mkey, seq uint64) bool {
	f, ok := sh.flights[k]
	if !ok || f.seq != seq {
		return false
	}
	delete(sh.flights, k)
	close(f.done)
	return true
}

func (s *memStore) putAnswer(sh *memShard, k mkey, answer []byte, exp uint32, flags uint8, t uint32) {
	old, ok := sh.answers[k]
	if ok && old.flags&flagSpill != 0 {
		delete(sh.spill, k)
	}
	if !ok && len(sh.answers) >= s.perAnswers {
		s.evictAnswers(sh, t)
	}
	a := memAnswer{exp: exp, flags: flags}
	if len(answer) <= inlineAnswer {
		a.n = uint8(copy(a.data[:], answer))
	} else {
		a.flags |= flagSpill
		sh.spill[k] = string(answer)
	}
	sh.answers[k] = a
}

func (s *memStore) dropAnswer(sh *memShard, k mkey, a memAnswer) {
	delete(sh.answers, k)
	if a.flags&flagSpill != 0 {
		delete(sh.spill, k)
	}
}

// keep is the size a full map is trimmed to: 15/16 of capacity, so the
// sweep's cost is spread over the next cap/16 inserts.
func keep(perCap int) int { return perCap - max(1, perCap/16) }

// evictAnswers makes room: expired entries first, then arbitrary ones,
// down to 15/16 of capacity. An answer forgotten here makes a repeat of
// that eventId on this instance ask Redis again, and deliver again if
// Redis does not have it. The survivors move to fresh maps: deleting in
// place leaves tombstones, and a map churned that way grows to twice its
// entries and more.
func (s *memStore) evictAnswers(sh *memShard, t uint32) {
	n := keep(s.perAnswers)
	answers := make(map[mkey]memAnswer, s.perAnswers)
	spill := make(map[mkey]string)
	for k, a := range sh.answers {
		if len(answers) >= n {
			break
		}
		if a.exp <= t {
			continue
		}
		answers[k] = a
		if a.flags&flagSpill != 0 {
			spill[k] = sh.spill[k]
		}
	}
	sh.answers, sh.spill = answers, spill
}

// evictFlights makes room among claims in flight: expired ones first, then
// arbitrary ones, whose waiters look again (and may claim and send: only a
// flood of claims never settled gets here).
func (s *memStore) evictFlights(sh *memShard, t uint32) {
	for k, f := range sh.flights {
		if f.exp <= t {
			delete(sh.flights, k)
			close(f.done)
		}
	}
	n := keep(s.perFlights)
	for k, f := range sh.flights {
		if len(sh.flights) <= n {
			return
		}
		delete(sh.flights, k)
		close(f.done)
	}
}
