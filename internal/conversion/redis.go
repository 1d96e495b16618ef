package conversion

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// redisStore is the Store shared by every instance. Each operation is one
// Lua script, so matching, counting, judging and leasing are atomic across
// instances. Keys (all under one hash tag, so a cluster keeps them in one
// slot; the scripts compute keys from record contents, which needs a
// single-primary Redis such as Memorystore, as the guard does):
//
//	p:<id>          HASH  one send: channel, country, prefix, umid, times, state, report state
//	u:<hmac>:<s|v>  ZSET  a user's last four sends on a channel, by send time
//	due             ZSET  sends with work due (settlement, report), by due time
//	d:<dest>        HASH  a destination's window: 12 buckets of settled/verified
//	sus             HASH  the suspect destinations
//	s:<uuid>        STR   an event uuid already applied (24 h)
//	lastpost        STR   time of the last authenticated event POST
//
// Sends, windows and uuids expire by TTL; due and sus are emptied by the
// scripts. No key holds a user id (HMAC) or a whole phone number.
type redisStore struct {
	client redis.UniversalClient
	prefix string
}

var _ Store = (*redisStore)(nil)

// NewRedisStore returns a Store in Redis, shared by every instance that
// uses the same Redis. The client should have ContextTimeoutEnabled set so
// that the Tracker's per-operation timeouts apply (guard.OpenRedis sets
// it); the Tracker falls back to memory whenever it fails.
func NewRedisStore(client redis.UniversalClient) Store {
	return &redisStore{client: client, prefix: "okta8x8:{conv}:"}
}

// lib is shared by the scripts that count: ARGV[1..7] are now, bucket
// width, min sends, min rate, max suspects, window TTL, key prefix.
const lib = `
local now = tonumber(ARGV[1])
local W = tonumber(ARGV[2])
local minSends = tonumber(ARGV[3])
local minRate = tonumber(ARGV[4])
local maxSus = tonumber(ARGV[5])
local dttl = tonumber(ARGV[6])
local P = ARGV[7]
local N = 12
local cur = math.floor(now / W)
local trans = {}

local function sums(dest)
  local h = redis.call('HGETALL', P .. 'd:' .. dest)
  local e, s, v = {}, {}, {}
  for i = 1, #h, 2 do
    local kind, slot, n = string.sub(h[i], 1, 1), string.sub(h[i], 2), tonumber(h[i + 1])
    if kind == 'e' then e[slot] = n elseif kind == 's' then s[slot] = n elseif kind == 'v' then v[slot] = n end
  end
  local ts, tv = 0, 0
  for slot, idx in pairs(e) do
    if idx > cur - N then
      ts = ts + (s[slot] or 0)
      tv = tv + (v[slot] or 0)
    end
  end
  return ts, tv
end

local function judge(dest)
  local s, v = sums(dest)
  local bad = s >= minSends and v < minRate * s
  local was = redis.call('HEXISTS', P .. 'sus', dest) == 1
  if bad and not was then
    if string.sub(dest, 1, 2) == 'c:' or redis.call('HLEN', P .. 'sus') < maxSus then
      redis.call('HSET', P .. 'sus', dest, now)
      trans[#trans + 1] = {dest, 1, s, v}
    end
  elseif was and not bad then
    redis.call('HDEL', P .. 'sus', dest)
    trans[#trans + 1] = {dest, 0, s, v}
  end
  return bad, s, v
end

local function bump(dest, idx, ds, dv)
  if idx <= cur - N then return end
  local key = P .. 'd:' .. dest
  local slot = tostring(idx % N)
  local e = tonumber(redis.call('HGET', key, 'e' .. slot))
  if e == nil or e < idx then
    redis.call('HSET', key, 'e' .. slot, idx, 's' .. slot, ds, 'v' .. slot, dv)
  elseif e == idx then
    if ds ~= 0 then redis.call('HINCRBY', key, 's' .. slot, ds) end
    if dv ~= 0 then redis.call('HINCRBY', key, 'v' .. slot, dv) end
  else
    return
  end
  redis.call('PEXPIRE', key, dttl)
  if dest ~= '*' then judge(dest) end
end

local function count(c, x, idx, ds, dv)
  if c ~= '' then bump('c:' .. c, idx, ds, dv) end
  if x ~= '' then bump('p:' .. x, idx, ds, dv) end
  bump('*', idx, ds, dv)
end
`

// addScript: KEYS[1] due. ARGV prefix, id, user key, channel, country,
// prefix, umid, sent, settle, feedback-by, feedback wanted, ttl, slots.
var addScript = redis.NewScript(`
local P, id = ARGV[1], ARGV[2]
local rk = P .. 'p:' .. id
redis.call('HSET', rk, 'ch', ARGV[4], 'c', ARGV[5], 'x', ARGV[6], 'tx', ARGV[7], 'sa', ARGV[8],
  'sd', ARGV[9], 'fd', ARGV[10], 'fb', ARGV[11], 'st', 'p')
redis.call('PEXPIRE', rk, ARGV[12])
local uk = P .. ARGV[3]
redis.call('ZADD', uk, ARGV[8], id)
redis.call('ZREMRANGEBYRANK', uk, 0, -(tonumber(ARGV[13]) + 1))
redis.call('PEXPIRE', uk, ARGV[12])
redis.call('ZADD', KEYS[1], ARGV[9], id)
return 1
`)

// verifyScript: lib, then ARGV[8..11] seen TTL, skew, lastpost TTL, count,
// then per verification: uuid, published, user key, other user key or "".
// Replies {results, transitions}; a result is {'D'} duplicate, {'U'}
// unmatched, or {'M'|'L', country, prefix, channel, umid, sent}.
var verifyScript = redis.NewScript(lib + `
local seenTTL, skew, postTTL, K = ARGV[8], tonumber(ARGV[9]), ARGV[10], tonumber(ARGV[11])
redis.call('SET', P .. 'lastpost', now, 'PX', postTTL)
local out = {}
for i = 0, K - 1 do
  local b = 12 + 4 * i
  local pub = tonumber(ARGV[b + 1])
  if not redis.call('SET', P .. 's:' .. ARGV[b], '1', 'NX', 'PX', seenTTL) then
    out[#out + 1] = {'D'}
  else
    local best, bestAt = nil, -1
    for j = 2, 3 do
      local u = ARGV[b + j]
      if u ~= '' then
        for _, id in ipairs(redis.call('ZREVRANGEBYSCORE', P .. u, pub + skew, '-inf')) do
          local r = redis.call('HMGET', P .. 'p:' .. id, 'st', 'sa', 'sd')
          local sa, sd = tonumber(r[2]), tonumber(r[3])
          if r[1] and r[1] ~= 'v' and sa and sd and pub <= sd and sa > bestAt then
            best, bestAt = id, sa
          end
        end
      end
    end
    if not best then
      out[#out + 1] = {'U'}
    else
      local rk = P .. 'p:' .. best
      local r = redis.call('HMGET', rk, 'st', 'c', 'x', 'ch', 'tx', 'sa', 'sd', 'fb', 'rs')
      local late = r[1] == 'u'
      redis.call('HSET', rk, 'st', 'v', 'va', pub, 'lt', late and '1' or '0')
      if late then
        count(r[2], r[3], math.floor(tonumber(r[7]) / W), 0, 1)
      else
        count(r[2], r[3], math.floor(pub / W), 1, 1)
      end
      if r[8] == '1' and not r[9] and late then
        -- its failure report is leased or waiting to retry: the next take
        -- reads the new outcome; moving it now could report it twice
        redis.call('ZADD', KEYS[1], 'NX', now, best)
      elseif r[8] == '1' and not r[9] then
        redis.call('ZADD', KEYS[1], now, best)
      elseif not late then
        redis.call('ZREM', KEYS[1], best)
      end
      out[#out + 1] = {late and 'L' or 'M', r[2], r[3], r[4], r[5], r[6]}
    end
  end
end
return {out, trans}
`)

// takeScript: lib, then ARGV[8..9] batch, lease. Replies {jobs, settled,
// dropped, transitions}.
var takeScript = redis.NewScript(lib + `
local batch, lease = tonumber(ARGV[8]), tonumber(ARGV[9])
local due = KEYS[1]
local jobs, settled, dropped = {}, {}, {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, batch)) do
  local rk = P .. 'p:' .. id
  local r = redis.call('HMGET', rk, 'st', 'c', 'x', 'ch', 'tx', 'sa', 'sd', 'fd', 'fb', 'rs', 'va', 'at')
  local st = r[1]
  if not st then
    redis.call('ZREM', due, id)
  else
    local sd, fd = tonumber(r[7]), tonumber(r[8])
    local wait = false
    if st == 'p' then
      if now < sd then
        redis.call('ZADD', due, sd, id)
        wait = true
      else
        st = 'u'
        redis.call('HSET', rk, 'st', 'u')
        count(r[2], r[3], math.floor(sd / W), 1, 0)
        settled[#settled + 1] = {r[2], r[3], r[4], r[5], r[6]}
      end
    end
    if not wait then
      local verified = 0
      if st == 'v' then verified = 1 end
      if r[9] == '1' and not r[10] then
        if now >= fd then
          redis.call('HSET', rk, 'rs', 'x')
          redis.call('ZREM', due, id)
          dropped[#dropped + 1] = {r[5], verified}
        else
          redis.call('ZADD', due, now + lease, id)
          jobs[#jobs + 1] = {id, r[5], verified, r[11] or '0', r[12] or '0', r[8]}
        end
      else
        redis.call('ZREM', due, id)
      end
    end
  end
end
return {jobs, settled, dropped, trans}
`)

// finishScript: KEYS[1] due; ARGV prefix, id, action, next, now. A report
// already done or dropped (by another instance) is left as it is.
var finishScript = redis.NewScript(`
local P, id, a = ARGV[1], ARGV[2], ARGV[3]
local rk = P .. 'p:' .. id
local r = redis.call('HMGET', rk, 'fb', 'rs')
if r[1] ~= '1' or r[2] then
  redis.call('ZREM', KEYS[1], id)
  return 0
end
if a == 'l' then
  redis.call('ZADD', KEYS[1], ARGV[5], id)
elseif a == 'h' then
  redis.call('ZADD', KEYS[1], ARGV[4], id)
elseif a == 'r' then
  redis.call('HINCRBY', rk, 'at', 1)
  redis.call('ZADD', KEYS[1], ARGV[4], id)
else
  redis.call('HSET', rk, 'rs', a)
  redis.call('ZREM', KEYS[1], id)
end
return 1
`)

// refreshScript: lib. Replies {suspects, settled, verified, lastpost,
// transitions}.
var refreshScript = redis.NewScript(lib + `
local sus = {}
for _, d in ipairs(redis.call('HKEYS', P .. 'sus')) do
  local bad, s, v = judge(d)
  if bad then sus[#sus + 1] = {d, s, v} end
end
local gs, gv = sums('*')
return {sus, gs, gv, redis.call('GET', P .. 'lastpost') or '', trans}
`)

func (s *redisStore) due() []string { return []string{s.prefix + "due"} }

func (s *redisStore) libArgs(p params, extra int) []any {
	a := make([]any, 7, 7+extra)
	a[0], a[1], a[2] = p.now, p.width, p.minSends
	a[3] = strconv.FormatFloat(p.minRate, 'g', -1, 64)
	a[4], a[5], a[6] = p.maxSuspects, p.destTTL, s.prefix
	return a
}

func (s *redisStore) addSend(ctx context.Context, p params, r sendRecord) (changes, error) {
	fb := "0"
	if r.feedback {
		fb = "1"
	}
	ttl := max(r.settleAt, feedbackBy(r.sentAt)) + p.retain + p.lease - p.now
	err := addScript.Run(ctx, s.client, s.due(),
		s.prefix, r.id, r.user.redisKey(), string(rune(r.user.ch)), r.country, r.prefix, r.tx,
		r.sentAt, r.settleAt, feedbackBy(r.sentAt), fb, max(ttl, 1000), userSlots).Err()
	return changes{}, err
}

func (s *redisStore) verify(ctx context.Context, p params, vs []verification) ([]verifyResult, changes, error) {
	args := s.libArgs(p, 4+4*len(vs))
	args = append(args, p.seenTTL, p.skew, p.postTTL, len(vs))
	for i := range vs {
		v := &vs[i]
		other := ""
		if v.users[1].ch != 0 {
			other = v.users[1].redisKey()
		}
		args = append(args, v.seen.String(), v.published, v.users[0].redisKey(), other)
	}
	res, ch, err := s.run(ctx, verifyScript, 2, args)
	if err != nil {
		return nil, changes{}, err
	}
	rows, ok := res[0].([]any)
	if !ok || len(rows) != len(vs) {
		return nil, changes{}, errReply
	}
	out := make([]verifyResult, len(vs))
	for i, row := range rows {
		f, ok := row.([]any)
		if !ok || len(f) == 0 {
			return nil, changes{}, errReply
		}
		switch str(f[0]) {
		case "D":
			out[i].outcome = vDuplicate
		case "U":
			out[i].outcome = vUnmatched
		case "M", "L":
			if len(f) != 6 {
				return nil, changes{}, errReply
			}
			out[i].outcome = vMatched
			late := str(f[0]) == "L"
			if late {
				out[i].outcome = vLate
			}
			out[i].settled = settledSend{
				country: str(f[1]), prefix: str(f[2]), channel: chByte(str(f[3])), tx: str(f[4]),
				sentAt: num(f[5]), verified: true, late: late, verifiedAt: vs[i].published,
			}
		default:
			return nil, changes{}, errReply
		}
	}
	return out, ch, nil
}

func (s *redisStore) take(ctx context.Context, p params, maxJobs int) ([]job, changes, error) {
	args := append(s.libArgs(p, 2), maxJobs, p.lease)
	res, ch, err := s.run(ctx, takeScript, 4, args)
	if err != nil {
		return nil, changes{}, err
	}
	jobs := make([]job, 0, len(list(res[0])))
	for _, row := range list(res[0]) {
		f := list(row)
		if len(f) != 6 {
			return nil, changes{}, errReply
		}
		jobs = append(jobs, job{
			id: str(f[0]), tx: str(f[1]), success: num(f[2]) == 1,
			verifiedAt: num(f[3]), attempts: int(num(f[4])), deadline: num(f[5]),
		})
	}
	for _, row := range list(res[1]) {
		f := list(row)
		if len(f) != 5 {
			return nil, changes{}, errReply
		}
		ch.settled = append(ch.settled, settledSend{
			country: str(f[0]), prefix: str(f[1]), channel: chByte(str(f[2])), tx: str(f[3]), sentAt: num(f[4]),
		})
	}
	for _, row := range list(res[2]) {
		f := list(row)
		if len(f) != 2 {
			return nil, changes{}, errReply
		}
		ch.dropped = append(ch.dropped, dropped{tx: str(f[0]), success: num(f[1]) == 1})
	}
	return jobs, ch, nil
}

func (s *redisStore) finish(ctx context.Context, p params, id string, a action, next int64) error {
	return finishScript.Run(ctx, s.client, s.due(), s.prefix, id, string(rune(a)), next, p.now).Err()
}

func (s *redisStore) refresh(ctx context.Context, p params) (view, changes, error) {
	res, ch, err := s.run(ctx, refreshScript, 5, s.libArgs(p, 0))
	if err != nil {
		return view{}, changes{}, err
	}
	v := view{settled: num(res[1]), verify: num(res[2]), lastPost: num(res[3])}
	for _, row := range list(res[0]) {
		f := list(row)
		if len(f) != 3 {
			return view{}, changes{}, errReply
		}
		v.suspects = append(v.suspects, figure{dest: str(f[0]), settled: num(f[1]), verified: num(f[2])})
	}
	return v, ch, nil
}

var errReply = fmt.Errorf("conversion: %w", redisstore.ErrBadReply)

// run runs a script whose reply is a list of n values, the last of them
// the destinations' transitions.
func (s *redisStore) run(ctx context.Context, sc *redis.Script, n int, args []any) ([]any, changes, error) {
	res, err := sc.Run(ctx, s.client, s.due(), args...).Slice()
	if err != nil {
		return nil, changes{}, err
	}
	if len(res) != n {
		return nil, changes{}, errReply
	}
	var ch changes
	if ch.transitions, err = parseTransitions(res[n-1]); err != nil {
		return nil, changes{}, err
	}
	return res, ch, nil
}

func parseTransitions(x any) ([]transition, error) {
	rows := list(x)
	if len(rows) == 0 {
		return nil, nil
	}
	out := make([]transition, 0, len(rows))
	for _, row := range rows {
		f := list(row)
		if len(f) != 4 {
			return nil, fmt.Errorf("%w: transition of %d fields", errReply, len(f))
		}
		out = append(out, transition{dest: str(f[0]), suspect: num(f[1]) == 1, settled: num(f[2]), verified: num(f[3])})
	}
	return out, nil
}

func list(x any) []any {
	l, _ := x.([]any)
	return l
}

func str(x any) string {
	switch v := x.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return ""
}

func num(x any) int64 {
	switch v := x.(type) {
	case int64:
		return v
	case string:
		n, _ := strconv.ParseInt(v, 10, 64)
		return n
	}
	return 0
}

func chByte(s string) uint8 {
	if s == "s" {
		return chSMS
	}
	return chVoice
}
