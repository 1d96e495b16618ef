package redisstore

import (
	"fmt"

	"github.com/redis/go-redis/v9"
)

// convPrelude names the state codes in Lua, from the Go constants.
var convPrelude = fmt.Sprintf(`
local PENDING, VERIFIED, UNVERIFIED = %q, %q, %q
local DONE, RETRY, DROP, HOLD = %q, %q, %q, %q
local DUPLICATE, UNMATCHED, MATCHED, LATE = %q, %q, %q, %q
local N, SLOTS = %d, %d
-- reply is t in JSON without its empty lists: cjson spells an empty table
-- {} (miniredis: []), and a Go slice takes neither
local function reply(t)
  for k, v in pairs(t) do if type(v) == 'table' and #v == 0 then t[k] = nil end end
  if next(t) == nil then return '{}' end
  return cjson.encode(t)
end
`, ConvPending, ConvVerified, ConvUnverified,
	ConvDone, ConvRetry, ConvDrop, ConvHold,
	ConvDuplicate, ConvUnmatched, ConvMatched, ConvLate,
	ConvBuckets, ConvUserSlots)

// convLib is shared by the scripts that count: ARGV[1..7] are now, bucket
// width, min sends, min rate, max suspects, window TTL, key prefix.
const convLib = `
local now, W, minSends = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local minRate, maxSus, dttl, P = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local cur = math.floor(now / W)
local trans = {}

-- a window's hash holds, per slot, e<slot> its bucket index and s<slot>,
-- v<slot> the settled and verified sends of that bucket
local function sums(dest)
  local h = redis.call('HGETALL', P .. 'd:' .. dest)
  local f = {}
  for i = 1, #h, 2 do f[h[i]] = tonumber(h[i + 1]) end
  local ts, tv = 0, 0
  for slot = 0, N - 1 do
    if (f['e' .. slot] or cur - N) > cur - N then
      ts, tv = ts + (f['s' .. slot] or 0), tv + (f['v' .. slot] or 0)
    end
  end
  return ts, tv
end

local function judge(dest)
  local s, v = sums(dest)
  local bad = s >= minSends and v < minRate * s
  local was = redis.call('HEXISTS', P .. 'sus', dest) == 1
  if bad and not was and (string.sub(dest, 1, 2) == 'c:' or redis.call('HLEN', P .. 'sus') < maxSus) then
    redis.call('HSET', P .. 'sus', dest, now)
  elseif was and not bad then
    redis.call('HDEL', P .. 'sus', dest)
  else
    return bad, s, v
  end
  trans[#trans + 1] = {Dest = dest, Suspect = bad, Settled = s, Verified = v}
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
    redis.call('HINCRBY', key, 's' .. slot, ds)
    redis.call('HINCRBY', key, 'v' .. slot, dv)
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

// convAdd: KEYS[1] due. ARGV prefix, id, user key, number key, channel,
// country, prefix, umid, sent, settle, feedback-by, feedback wanted, ttl.
var convAdd = redis.NewScript(convPrelude + `
local P, id, ttl = ARGV[1], ARGV[2], ARGV[13]
local rk = P .. 'p:' .. id
redis.call('HSET', rk, 'ch', ARGV[5], 'c', ARGV[6], 'x', ARGV[7], 'tx', ARGV[8], 'sa', ARGV[9],
  'sd', ARGV[10], 'fd', ARGV[11], 'fb', ARGV[12], 'st', PENDING)
redis.call('PEXPIRE', rk, ttl)
local function remember(k)
  redis.call('ZADD', k, ARGV[9], id)
  redis.call('ZREMRANGEBYRANK', k, 0, -(SLOTS + 1))
  redis.call('PEXPIRE', k, ttl)
end
remember(P .. 'u:' .. ARGV[3])
if ARGV[4] ~= '' then remember(P .. 'n:' .. ARGV[4]) end
redis.call('ZADD', KEYS[1], ARGV[10], id)
return 1
`)

// convApply: lib, then ARGV[8..12] seen TTL, skew, lastpost TTL, match
// window, count, then per item: uuid, published, user key, other user key
// or "", number key or "".
var convApply = redis.NewScript(convPrelude + convLib + `
local seenTTL, skew, postTTL, win, K = ARGV[8], tonumber(ARGV[9]), ARGV[10], tonumber(ARGV[11]), tonumber(ARGV[12])
redis.call('SET', P .. 'lastpost', now, 'PX', postTTL)
local out = {}
for i = 0, K - 1 do
  local b = 13 + 5 * i
  local pub, phone = tonumber(ARGV[b + 1]), ARGV[b + 4]
  local res = {Outcome = UNMATCHED, Tx = ''}
  if not redis.call('SET', P .. 's:' .. ARGV[b], '1', 'NX', 'PX', seenTTL) then
    res.Outcome = DUPLICATE
  elseif phone ~= '' then
    local ids = redis.call('ZREVRANGEBYSCORE', P .. 'n:' .. phone, pub + win, pub - win, 'LIMIT', 0, 1)
    if #ids > 0 then
      redis.call('SET', P .. 'lastsend', now, 'PX', postTTL)
      res = {Outcome = MATCHED, Tx = redis.call('HGET', P .. 'p:' .. ids[1], 'tx') or ''}
    end
  else
    local best, bestAt = nil, -1
    for j = 2, 3 do
      local u = ARGV[b + j]
      if u ~= '' then
        for _, id in ipairs(redis.call('ZREVRANGEBYSCORE', P .. 'u:' .. u, pub + skew, '-inf')) do
          local r = redis.call('HMGET', P .. 'p:' .. id, 'st', 'sa', 'sd')
          local sa, sd = tonumber(r[2]), tonumber(r[3])
          if r[1] and r[1] ~= VERIFIED and sa and sd and pub <= sd and sa > bestAt then
            best, bestAt = id, sa
          end
        end
      end
    end
    if best then
      local rk = P .. 'p:' .. best
      local r = redis.call('HMGET', rk, 'st', 'c', 'x', 'sd', 'tx')
      redis.call('HSET', rk, 'st', VERIFIED, 'va', pub)
      res = {Outcome = MATCHED, Tx = r[5] or ''}
      if r[1] == UNVERIFIED then
        res.Outcome = LATE
        count(r[2], r[3], math.floor(tonumber(r[4]) / W), 0, 1)
        -- a failure report leased or waiting keeps its time: the next
        -- take reads the new outcome, and moving it could report twice
        redis.call('ZADD', KEYS[1], 'NX', now, best)
      else
        count(r[2], r[3], math.floor(pub / W), 1, 1)
        redis.call('ZADD', KEYS[1], now, best)
      end
    end
  end
  out[#out + 1] = res
end
return reply({Results = out, Transitions = trans})
`)

// convTake: lib, then ARGV[8..9] batch, lease. A send's line is owed
// while its state differs from lg, the state last logged.
var convTake = redis.NewScript(convPrelude + convLib + `
local batch, lease = tonumber(ARGV[8]), tonumber(ARGV[9])
local due = KEYS[1]
local jobs, settled, dropped = {}, {}, {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, batch)) do
  local rk = P .. 'p:' .. id
  local r = redis.call('HMGET', rk, 'st', 'c', 'x', 'ch', 'tx', 'sa', 'sd', 'fd', 'fb', 'rs', 'va', 'at', 'lg')
  local st = r[1]
  if not st then
    redis.call('ZREM', due, id)
  elseif st == PENDING and now < tonumber(r[7]) then
    redis.call('ZADD', due, r[7], id)
  else
    if st == PENDING then
      st = UNVERIFIED
      redis.call('HSET', rk, 'st', st)
      count(r[2], r[3], math.floor(tonumber(r[7]) / W), 1, 0)
    end
    local verified, va = st == VERIFIED, tonumber(r[11] or 0)
    if st ~= r[13] then
      redis.call('HSET', rk, 'lg', st)
      settled[#settled + 1] = {Country = r[2], Prefix = r[3], Channel = r[4], Tx = r[5], SentAt = tonumber(r[6]),
        Verified = verified, Late = r[13] == UNVERIFIED, VerifiedAt = va}
    end
    if r[9] == '1' and not r[10] then
      if now >= tonumber(r[8]) then
        redis.call('HSET', rk, 'rs', DROP)
        redis.call('ZREM', due, id)
        dropped[#dropped + 1] = {Tx = r[5], Success = verified}
      else
        redis.call('ZADD', due, now + lease, id)
        jobs[#jobs + 1] = {ID = id, Tx = r[5], Success = verified, VerifiedAt = va,
          Attempts = tonumber(r[12] or 0), Deadline = tonumber(r[8])}
      end
    else
      redis.call('ZREM', due, id)
    end
  end
end
return reply({Jobs = jobs, Settled = settled, Dropped = dropped, Transitions = trans})
`)

// convFinish: KEYS[1] due; ARGV prefix, id, action, next, now. A report
// done or dropped is due again now, for take to log a late verification
// that came meanwhile and to forget the rest.
var convFinish = redis.NewScript(convPrelude + `
local P, id, a = ARGV[1], ARGV[2], ARGV[3]
local rk = P .. 'p:' .. id
local r = redis.call('HMGET', rk, 'fb', 'rs')
if r[1] == '1' and not r[2] then
  if a == RETRY then redis.call('HINCRBY', rk, 'at', 1) end
  if a == RETRY or a == HOLD then
    redis.call('ZADD', KEYS[1], ARGV[4], id)
    return 1
  end
  if a == DONE or a == DROP then redis.call('HSET', rk, 'rs', a) end
end
redis.call('ZADD', KEYS[1], ARGV[5], id)
return 1
`)

// convRefresh: lib.
var convRefresh = redis.NewScript(convPrelude + convLib + `
local sus = {}
for _, d in ipairs(redis.call('HKEYS', P .. 'sus')) do
  local bad, s, v = judge(d)
  if bad then sus[#sus + 1] = {Dest = d, Suspect = true, Settled = s, Verified = v} end
end
local gs, gv = sums('*')
local lastpost, lastsend = redis.call('GET', P .. 'lastpost'), redis.call('GET', P .. 'lastsend')
return reply({Suspects = sus, Settled = gs, Verified = gv, Transitions = trans,
  LastPost = tonumber(lastpost or 0), LastSendEvent = tonumber(lastsend or 0)})
`)
