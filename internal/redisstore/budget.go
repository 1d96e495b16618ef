package redisstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// The per-country send budget's state (internal/conversion/budget), shared
// by its two stores: the memory one in package budget and the Redis one
// here. Slots are rings indexed by hours (days) since the Unix epoch
// modulo their length; a slot whose At is another hour (day) is empty.
type (
	BudgetState struct {
		Hours [BudgetHours]BudgetHour `json:"h"`
		Days  [BudgetDays]BudgetDay   `json:"d"`
	}
	BudgetHour struct {
		At         int64 `json:"at"`
		Unverified int64 `json:"u"` // sends made in that hour, not verified yet
		Pooled     int64 `json:"p"` // of which counted in the pool
		Verified   int64 `json:"v"` // codes entered in that hour
	}
	BudgetDay struct {
		At       int64 `json:"at"`
		Verified int64 `json:"v"`
		PeakHour int64 `json:"pk"` // the most Verified of one of its hours
	}
)

const (
	BudgetHours = 24 // the last 24 h
	BudgetDays  = 30 // a country's history
	// BudgetPool names the pool's state; a country is two letters.
	BudgetPool = "pool"
)

// BudgetStore keeps the budget's states in Redis, shared by every instance
// and kept across restarts: one JSON string per country and the pool, each
// kept 31 days after its last change. A country code is no personal data,
// so keys name it plainly. The hash tag puts every key in one cluster slot,
// as the scripts, which touch a country and the pool, need.
type BudgetStore struct {
	client redis.UniversalClient
}

// NewBudgetStore returns a BudgetStore on client.
func NewBudgetStore(client redis.UniversalClient) *BudgetStore {
	return &BudgetStore{client: client}
}

const budgetPrefix = "okta8x8:{budget}:"

func (s *BudgetStore) keys(country string) []string {
	return []string{budgetPrefix + country, budgetPrefix + BudgetPool}
}

// Load reads the states of country and of the pool in one MGET.
func (s *BudgetStore) Load(ctx context.Context, country string) (c, pool BudgetState, err error) {
	vals, err := s.client.MGet(ctx, s.keys(country)...).Result()
	if err == nil && len(vals) != 2 {
		err = errBadReply
	}
	if err != nil {
		return c, pool, err
	}
	for i, st := range []*BudgetState{&c, &pool} {
		if raw, ok := vals[i].(string); ok && json.Unmarshal([]byte(raw), st) != nil {
			return c, pool, errBadReply
		}
	}
	return c, pool, nil
}

// Sent records a send to country in hour; see budgetScript.
func (s *BudgetStore) Sent(ctx context.Context, country string, hour, day int64) error {
	return budgetScript.Run(ctx, s.client, s.keys(country), "sent", hour, day, 0).Err()
}

// Verified records a code entered in hour for a send made in sentHour.
func (s *BudgetStore) Verified(ctx context.Context, country string, hour, day, sentHour int64) error {
	return budgetScript.Run(ctx, s.client, s.keys(country), "verified", hour, day, sentHour).Err()
}

// budgetScript is package budget's memory store in Lua: the same rings,
// the same rules. KEYS: the country's state, the pool's. ARGV: "sent" or
// "verified", the hour and day now, the send's hour.
var budgetScript = redis.NewScript(fmt.Sprintf(`
local HOURS, DAYS = %d, %d
local function load(key)
  local raw = redis.call('GET', key)
  if raw then return cjson.decode(raw) end
  local s = {h = {}, d = {}}
  for i = 1, HOURS do s.h[i] = {at = 0, u = 0, p = 0, v = 0} end
  for i = 1, DAYS do s.d[i] = {at = 0, v = 0, pk = 0} end
  return s
end
-- slot returns the ring's slot for at, emptied if it held an older one.
local function slot(ring, at)
  local sl = ring[at %% #ring + 1]
  if sl.at ~= at then
    for k in pairs(sl) do sl[k] = 0 end
    sl.at = at
  end
  return sl
end
local c, p = load(KEYS[1]), load(KEYS[2])
local h, d, hs = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local pooled = false
if ARGV[1] == 'sent' then
  local sl = slot(c.h, h)
  sl.u = sl.u + 1
  local history = false
  for _, day in ipairs(c.d) do
    history = history or (day.at > d - DAYS and day.at <= d and day.v > 0)
  end
  if not history then
    sl.p = sl.p + 1
    local ps = slot(p.h, h)
    ps.u = ps.u + 1
    pooled = true
  end
else
  if hs > h - HOURS and hs <= h then
    local sl = slot(c.h, hs)
    sl.u = math.max(0, sl.u - 1)
    if sl.p > 0 then
      sl.p = sl.p - 1
      local ps = slot(p.h, hs)
      ps.u = math.max(0, ps.u - 1)
      pooled = true
    end
  end
  local v, day = slot(c.h, h), slot(c.d, d)
  v.v = v.v + 1
  day.v = day.v + 1
  day.pk = math.max(day.pk, v.v)
end
local ttl = (DAYS + 1) * 86400
redis.call('SET', KEYS[1], cjson.encode(c), 'EX', ttl)
if pooled then redis.call('SET', KEYS[2], cjson.encode(p), 'EX', ttl) end
return 1
`, BudgetHours, BudgetDays))
