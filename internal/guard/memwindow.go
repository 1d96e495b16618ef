package guard

import (
	"math"
	"math/bits"
	"slices"
	"time"
)

// A rate window in memory is a sliding log of its last sends, at most the
// limit's N: a record in an arena of uint16, laid out as
//
//	base (2 × uint16, a time in units) | N offsets from base
//
// with the live sends' offsets first, oldest first, and the rest empty.
// Times are in units of whole seconds: one second unless the window is
// longer than 65,534 s, then as many seconds as it takes for the window to
// fit in an offset.

// winSpec is the shape of one limit's records.
type winSpec struct {
	n        int   // sends allowed; 0: the limit is off
	perShard int   // windows per shard
	unit     int64 // seconds per time unit
	life     int64 // units a send stays in the window
	stride   int   // uint16 per record
	perChunk int   // records per arena chunk
}

const (
	// emptyOff marks an unused slot; live offsets are at most maxOff.
	emptyOff = math.MaxUint16
	maxOff   = emptyOff - 1
	// arenaChunk is the size of one arena allocation in uint16: small
	// enough that growing never copies much under the shard's lock.
	arenaChunk = 8192
)

func newWinSpec(l Limit, perShard int) winSpec {
	if l.Off() {
		return winSpec{}
	}
	// Windows are kept to the second, rounded up: never shorter than asked.
	secs := max(1, int64((l.Window+time.Second-1)/time.Second))
	unit := (secs + maxOff - 1) / maxOff
	life := (secs + unit - 1) / unit
	if unit > 1 {
		// A send at any point of its unit must stay for the whole window:
		// one more unit, so a coarse window is never shorter than asked.
		life++
	}
	stride := 2 + l.N
	perShard = max(1, perShard)
	// Chunks of about an eighth of the cap at most, so a partly used last
	// chunk wastes little whatever the cap, and of a power of two bytes,
	// which the allocator's size classes hold without waste.
	elems := min(arenaChunk, 1<<bits.Len(uint((perShard+7)/8*stride-1)))
	perChunk := max(1, elems/stride)
	return winSpec{n: l.N, perShard: perShard, unit: unit, life: life, stride: stride, perChunk: perChunk}
}

type winTable struct {
	idx    map[mkey]uint32 // record number; pointer-free
	chunks [][]uint16
	free   []uint32
	next   uint32 // records handed out from chunks
}

func (t *winTable) rec(sp *winSpec, i uint32) []uint16 {
	c, o := int(i)/sp.perChunk, int(i)%sp.perChunk*sp.stride
	return t.chunks[c][o : o+sp.stride : o+sp.stride]
}

// alloc returns an empty record.
func (t *winTable) alloc(sp *winSpec) uint32 {
	var i uint32
	if n := len(t.free); n > 0 {
		i = t.free[n-1]
		t.free = t.free[:n-1]
	} else {
		if int(t.next)%sp.perChunk == 0 {
			t.chunks = append(t.chunks, make([]uint16, sp.perChunk*sp.stride))
		}
		i = t.next
		t.next++
	}
	r := t.rec(sp, i)
	for j := range r[2:] {
		r[2+j] = emptyOff
	}
	return i
}

func recBase(r []uint16) int64       { return int64(r[0]) | int64(r[1])<<16 }
func setRecBase(r []uint16, b int64) { r[0], r[1] = uint16(b), uint16(b>>16) }

// recLen is the number of sends logged: the live offsets come first.
func recLen(r []uint16) int {
	offs := r[2:]
	lo, hi := 0, len(offs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if offs[m] != emptyOff {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// trim drops the sends that have left the window at now (in units) and
// returns how many are left.
func (sp *winSpec) trim(r []uint16, now int64) int {
	n := recLen(r)
	offs := r[2:]
	base := recBase(r)
	i := 0
	for i < n && now-(base+int64(offs[i])) >= sp.life {
		i++
	}
	if i > 0 {
		copy(offs, offs[i:n])
		for j := n - i; j < n; j++ {
			offs[j] = emptyOff
		}
	}
	return n - i
}

// push records a send at now (in units) in a trimmed record holding n
// sends, with room for one more.
func (sp *winSpec) push(r []uint16, n int, now int64) {
	offs := r[2:]
	if n == 0 {
		setRecBase(r, now)
		offs[0] = 0
		return
	}
	base := recBase(r)
	// A clock that stepped back counts the send as the newest one: it
	// leaves the window later, never earlier.
	now = max(now, base+int64(offs[n-1]))
	if now-base > maxOff {
		// Every send left is younger than the window (life ≤ maxOff+1
		// units), so rebasing on the oldest makes room.
		shift := offs[0]
		for i := range n {
			offs[i] -= shift
		}
		base += int64(shift)
		setRecBase(r, base)
	}
	offs[n] = uint16(now - base)
}

// expired reports whether every send has left the window at now.
func (sp *winSpec) expired(r []uint16, now int64) bool {
	n := recLen(r)
	return n == 0 || now-(recBase(r)+int64(r[1+n])) >= sp.life
}

// hit implements store.hit for memory. It locks the shards of all windows in
// index order, so checking and counting every window is one step.
func (s *memStore) hit(now time.Time, ws []window) (int, time.Duration) {
	var idx [numKinds]int
	locked := idx[:0]
	for _, w := range ws {
		if i := shardIndex(w.key); !slices.Contains(locked, i) {
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

	secs := now.Unix()
	var held [numKinds]int // sends left in each window after trimming
	for i, w := range ws {
		sp := &s.specs[w.kind]
		t := &s.shard(w.key).tables[w.kind]
		ri, ok := t.idx[mkeyOf(w.key)]
		if !ok {
			continue
		}
		r := t.rec(sp, ri)
		n := sp.trim(r, secs/sp.unit)
		if n >= sp.n {
			// Room appears when the send that made the window full leaves it.
			oldest := recBase(r) + int64(r[2+n-sp.n])
			return i, time.Unix((oldest+sp.life)*sp.unit, 0).Sub(now)
		}
		held[i] = n
	}
	for i, w := range ws {
		sp := &s.specs[w.kind]
		sh := s.shard(w.key)
		t := &sh.tables[w.kind]
		mk := mkeyOf(w.key)
		ri, ok := t.idx[mk]
		if !ok {
			if len(t.idx) >= sp.perShard {
				sp.evict(t, secs/sp.unit)
			}
			ri = t.alloc(sp)
			t.idx[mk] = ri
			held[i] = 0
		}
		sp.push(t.rec(sp, ri), held[i], secs/sp.unit)
	}
	return -1, 0
}

// evict makes room in a full table: expired windows first, then arbitrary
// ones, down to 15/16 of capacity. A window forgotten here starts again
// from zero. The survivors move to a fresh map (see evictAnswers).
func (sp *winSpec) evict(t *winTable, now int64) {
	n := keep(sp.perShard)
	idx := make(map[mkey]uint32, sp.perShard)
	for k, ri := range t.idx {
		if len(idx) < n && !sp.expired(t.rec(sp, ri), now) {
			idx[k] = ri
		} else {
			t.free = append(t.free, ri)
		}
	}
	t.idx = idx
}
