// Package budget bounds the unverified code sends per destination country,
// the conversion guard's backstop where conversion cannot judge (a country
// too new, too small, or quiet at night). A send is unverified from when it
// is made (Sent) until its code is entered (Verified): a healthy country
// takes its sends back within minutes, a pumped one never does. Countries
// are judged, never prefixes: every new user brings a new prefix.
//
//   - Countries with no verified code in 30 days share one pool:
//     newCountryPerHour unverified sends in the last hour (30) and
//     newCountryPerDay in the last 24 h (100). A traveller's or a new
//     office's country leaves the pool with its first code entered, and
//     entered codes are taken back, so the pool holds minutes of their
//     traffic; a ring over 50 countries gets 30 codes through in its first
//     hour and 100 in a day, all countries together.
//   - A country with history may have max(floorPerHour, ratio × its busiest
//     hour of verified codes in 30 days) unverified in the last hour (10, 1),
//     and max(floorPerDay, ratio × its busiest day) in the last 24 h (50), as
//     Authgear's fraud protection does. A country whose codes are mostly
//     entered is never refused, even at its busiest.
//
// The last hour slides: this clock hour plus the previous one, weighted by
// its share still within the hour. Allow does not reserve: requests deciding
// at once may overshoot a budget by their number.
//
// State per country (redisstore.BudgetState): 24 hour and 30 day slots. A
// region that is not two letters ("001", none) counts as "ZZ", so there
// are at most 26² countries and the pool. NewMemory keeps the states in
// this process, redisstore.BudgetStore in Redis, shared by every instance
// and kept 31 days after a state's last change; each changes a state
// atomically.
package budget

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// The budgets, sized for a typical company (the package doc gives the
// reasons).
const (
	newCountryPerHour = 30  // the pool's, in the last hour
	newCountryPerDay  = 100 // the pool's, in the last 24 h
	floorPerHour      = 10  // a country's with history, at least, in the last hour
	floorPerDay       = 50  // and in the last 24 h
	ratio             = 1.0 // × a country's verified peak: its budget
)

// Decision is Allow's answer. Unverified and Limit are those of the window
// that decided (the last 24 h when it refused, else the last hour); the
// pool's when NeverConverted.
type Decision struct {
	Allowed           bool
	Unverified, Limit int
	NeverConverted    bool
}

// Store keeps the states of the countries and of the pool.
type Store interface {
	// Load returns the states of country and of the pool, in one read.
	Load(ctx context.Context, country string) (c, pool redisstore.BudgetState, err error)
	// Sent and Verified record a send made, and a code entered for a send
	// made in sentHour, atomically (hours and days since the Unix epoch).
	Sent(ctx context.Context, country string, hour, day int64) error
	Verified(ctx context.Context, country string, hour, day, sentHour int64) error
}

type state = redisstore.BudgetState

const (
	hourSlots = redisstore.BudgetHours
	daySlots  = redisstore.BudgetDays
	pool      = redisstore.BudgetPool
)

// Budget decides and records sends against the budgets.
type Budget struct {
	st  Store
	now func() time.Time
}

// New returns a Budget keeping its history in st.
func New(st Store, now func() time.Time) *Budget {
	return &Budget{st: st, now: now}
}

// Allow decides whether a send to country is within budget. With an error
// the Decision allows: the budget is a backstop, never the reason a code
// fails to arrive.
func (b *Budget) Allow(ctx context.Context, country string) (Decision, error) {
	c, p, err := b.st.Load(ctx, Country(country))
	if err != nil {
		return Decision{Allowed: true}, err
	}
	now := b.now()
	hourLimit, dayLimit := newCountryPerHour, newCountryPerDay
	judged := &p // the pool, unless the country has history of its own
	peakHour, peakDay, history := peaks(&c, hourOf(now), dayOf(now))
	if history {
		judged = &c
		hourLimit = max(floorPerHour, int(ratio*float64(peakHour)))
		dayLimit = max(floorPerDay, int(ratio*float64(peakDay)))
	}
	hour := lastHour(judged, now)
	day, _ := lastDay(judged, hourOf(now))
	if hour < hourLimit && day >= dayLimit {
		return Decision{Unverified: day, Limit: dayLimit, NeverConverted: !history}, nil
	}
	return Decision{Allowed: hour < hourLimit, Unverified: hour, Limit: hourLimit, NeverConverted: !history}, nil
}

// Sent counts a send made to country as unverified, in the pool too while
// the country has no history.
func (b *Budget) Sent(ctx context.Context, country string) error {
	now := b.now()
	return b.st.Sent(ctx, Country(country), hourOf(now), dayOf(now))
}

// Verified takes back the send made at sentAt to country, whose code was
// entered, and adds the verification to the country's history.
func (b *Budget) Verified(ctx context.Context, country string, sentAt time.Time) error {
	now := b.now()
	return b.st.Verified(ctx, Country(country), hourOf(now), dayOf(now), hourOf(sentAt))
}

// Country is the name a region is budgeted under: its ISO 3166 alpha-2
// code in capitals, "ZZ" (unknown) for anything else.
func Country(region string) string {
	u := strings.ToUpper(region)
	if len(u) != 2 || u[0] < 'A' || u[0] > 'Z' || u[1] < 'A' || u[1] > 'Z' {
		return "ZZ"
	}
	return u
}

func hourOf(t time.Time) int64 { return t.Unix() / 3600 }
func dayOf(t time.Time) int64  { return t.Unix() / 86400 }

// lastHour is the unverified sends of the sliding last hour.
func lastHour(s *state, now time.Time) int {
	h := hourOf(now)
	cur, prev := s.Hours[h%hourSlots], s.Hours[(h-1)%hourSlots]
	n := 0.0
	if cur.At == h {
		n = float64(cur.Unverified)
	}
	if prev.At == h-1 {
		n += float64(prev.Unverified) * (1 - float64(now.Unix()%3600)/3600)
	}
	return int(n)
}

// lastDay is the unverified and verified sends of the last 24 hour slots.
func lastDay(s *state, h int64) (unverified, verified int) {
	for _, sl := range s.Hours {
		if sl.At > h-hourSlots && sl.At <= h {
			unverified, verified = unverified+int(sl.Unverified), verified+int(sl.Verified)
		}
	}
	return unverified, verified
}

// peaks are the busiest hour and day of verified codes in the history (the
// last 24 h counting as a day too); history says whether there were any.
func peaks(s *state, h, d int64) (hour, day int, history bool) {
	for _, sl := range s.Days {
		if sl.At > d-daySlots && sl.At <= d && sl.Verified > 0 {
			hour, day, history = max(hour, int(sl.PeakHour)), max(day, int(sl.Verified)), true
		}
	}
	_, v := lastDay(s, h)
	return hour, max(day, v), history
}

// memory is the Store of an instance without Redis; redisstore's
// budgetScript is the same, in Lua.
type memory struct {
	mu     sync.Mutex
	states map[string]*state
}

// NewMemory returns a Store in this process. Its states die with it and
// number 26² + 1 at most, so none needs to expire.
func NewMemory() Store { return &memory{states: map[string]*state{}} }

func (m *memory) Load(_ context.Context, country string) (c, p state, _ error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return *m.get(country), *m.get(pool), nil
}

func (m *memory) get(name string) *state {
	if m.states[name] == nil {
		m.states[name] = new(state)
	}
	return m.states[name]
}

func (m *memory) Sent(_ context.Context, country string, hour, day int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.get(country)
	sl := hourSlot(c, hour)
	sl.Unverified++
	if _, _, history := peaks(c, hour, day); !history {
		sl.Pooled++
		hourSlot(m.get(pool), hour).Unverified++
	}
	return nil
}

func (m *memory) Verified(_ context.Context, country string, hour, day, sentHour int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.get(country)
	if sentHour > hour-hourSlots && sentHour <= hour { // an older send counts nowhere now
		sl := hourSlot(c, sentHour)
		sl.Unverified = max(0, sl.Unverified-1)
		if sl.Pooled > 0 {
			sl.Pooled--
			ps := hourSlot(m.get(pool), sentHour)
			ps.Unverified = max(0, ps.Unverified-1)
		}
	}
	v, d := hourSlot(c, hour), daySlot(c, day)
	v.Verified++
	d.Verified++
	d.PeakHour = max(d.PeakHour, v.Verified)
	return nil
}

// hourSlot and daySlot return a slot to change, emptied if it held an
// older hour (day).
func hourSlot(s *state, h int64) *redisstore.BudgetHour {
	if sl := &s.Hours[h%hourSlots]; sl.At != h {
		*sl = redisstore.BudgetHour{At: h}
	}
	return &s.Hours[h%hourSlots]
}

func daySlot(s *state, d int64) *redisstore.BudgetDay {
	if sl := &s.Days[d%daySlots]; sl.At != d {
		*sl = redisstore.BudgetDay{At: d}
	}
	return &s.Days[d%daySlots]
}
