package guard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// RedisStore is the store shared by every instance (Memorystore). Each
// operation is one Lua script, so checks and updates are atomic across
// instances. Key names are "okta8x8:rl:" or "okta8x8:ev:" and 32 hex
// digits of HMAC-SHA256(Config.KeySecret, kind‖id): they never hold a phone
// number, user id, IP or eventId, and cannot be reversed without the
// secret. Values hold times, random tokens and the hook's answers.
//
// The rate script touches the phone, user, IP and country keys together,
// so on a Redis Cluster they must live in one slot; Memorystore for Redis
// (one primary) has no such constraint.
type RedisStore struct {
	client redis.UniversalClient
	prefix string
	// Window members are member+counter: unique per process by the
	// counter, across processes by the random member prefix.
	member string
	seq    atomic.Uint64
}

var _ store = (*RedisStore)(nil)

// NewRedisStore uses client, which should have ContextTimeoutEnabled set
// so that the Guard's per-operation timeouts apply (OpenRedis does this).
func NewRedisStore(client redis.UniversalClient) *RedisStore {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return &RedisStore{client: client, prefix: "okta8x8:", member: hex.EncodeToString(b[:]) + ":"}
}

// OpenRedis connects lazily to url (redis:// or rediss://, as REDIS_URL
// holds it) with settings for a hook that must answer in seconds: short
// timeouts and one retry. The error never repeats the URL, which may carry
// a password.
func OpenRedis(url string) (*RedisStore, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, errors.New("REDIS_URL is not a valid redis:// or rediss:// URL")
	}
	opt.ContextTimeoutEnabled = true
	opt.DialTimeout = 500 * time.Millisecond
	opt.ReadTimeout = 500 * time.Millisecond
	opt.WriteTimeout = 500 * time.Millisecond
	opt.PoolTimeout = 500 * time.Millisecond
	opt.MaxRetries = 1
	// The Guard has its own retry (redisRetryAfter); go-redis would
	// otherwise dial five times with backoff inside one request.
	opt.DialerRetries = 1
	// A Cloud Run instance serves up to ~80 requests at once, each with
	// three Redis round trips: go-redis's default pool (10 per CPU) would
	// queue them. Keep a couple of connections open between bursts.
	if opt.PoolSize == 0 {
		opt.PoolSize = 64
	}
	if opt.MinIdleConns == 0 {
		opt.MinIdleConns = 2
	}
	return NewRedisStore(redis.NewClient(opt)), nil
}

// Warm opens a connection now (start-up), so the first sign-in does not
// pay the dial and TLS handshake. Errors are ignored: the Guard handles an
// unreachable Redis on every call anyway.
func (s *RedisStore) Warm(ctx context.Context) { _ = s.client.Ping(ctx).Err() }

// Client is the connection pool, for others that share this Redis (the
// conversion tracker): one pool per instance.
func (s *RedisStore) Client() redis.UniversalClient { return s.client }

// Close closes the client.
func (s *RedisStore) Close() error { return s.client.Close() }

// hitScript checks every window, then counts the send in all of them only
// if none is full. Each window is a sorted set of send times (ms); members
// are unique per send. KEYS: windows. ARGV: now, member, then N and window
// (ms) per key. Returns {0,0}, or {i, retry-after ms} for the first full
// window i (1-based).
var hitScript = redis.NewScript(`
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local n = tonumber(ARGV[1 + 2*i])
  local w = tonumber(ARGV[2 + 2*i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - w)
  local c = redis.call('ZCARD', key)
  if c >= n then
    local s = redis.call('ZRANGE', key, c - n, c - n, 'WITHSCORES')
    return {i, tonumber(s[2]) + w - now}
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, ARGV[2 + 2*i])
end
return {0, 0}
`)

// Claim values are a state byte ('P' pending, 'D' done), the deadline as 16
// digits of Unix ms (from the Guard's clock, so tests and instances agree on
// expiry), then the holder's token or the answer. PX only collects garbage.

// claimScript: KEYS[1] event key; ARGV now ms, ttl ms, token, deadline
// (16 digits). Returns nil when claimed, else the current value. A pending
// claim holding our own token is ours: go-redis retries a script whose
// reply was lost, and that retry must not see our claim as someone else's
// (we would wait for ourselves, and no code would be sent).
var claimScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, 1) == 'P' and string.sub(v, 18) == ARGV[3] then
  return false
end
if v and tonumber(string.sub(v, 2, 17)) > tonumber(ARGV[1]) then
  return v
end
redis.call('SET', KEYS[1], 'P' .. ARGV[4] .. ARGV[3], 'PX', ARGV[2])
return false
`)

// finishScript: KEYS[1]; ARGV token, answer, deadline (16 digits), now ms.
// 1 if stored, 0 if lost. A key that is gone (Redis restarted, or the claim
// was made in memory while Redis did not answer) gets the answer until the
// claim's deadline: no one else holds it, and other instances then find
// the answer instead of delivering again.
var finishScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v then
  local ttl = tonumber(ARGV[3]) - tonumber(ARGV[4])
  if ttl <= 0 then
    return 0
  end
  redis.call('SET', KEYS[1], 'D' .. ARGV[3] .. ARGV[2], 'PX', ttl)
  return 1
end
if string.sub(v, 1, 1) ~= 'P' or string.sub(v, 18) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], 'D' .. string.sub(v, 2, 17) .. ARGV[2], 'KEEPTTL')
return 1
`)

// releaseScript: KEYS[1]; ARGV token. 1 if released, 0 if lost.
var releaseScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, 1) ~= 'P' or string.sub(v, 18) ~= ARGV[1] then
  return 0
end
redis.call('DEL', KEYS[1])
return 1
`)

// hit implements store. Each send is a sorted-set member unique to this
// call, so two sends in one millisecond still count twice.
func (s *RedisStore) hit(ctx context.Context, now time.Time, windows []window) (int, time.Duration, error) {
	keys := make([]string, len(windows))
	args := make([]any, 2, 2+2*len(windows))
	args[0] = now.UnixMilli()
	args[1] = s.member + strconv.FormatUint(s.seq.Add(1), 36)
	for i, w := range windows {
		keys[i] = s.prefix + "rl:" + w.key.Hex()
		args = append(args, w.limit.N, w.limit.Window.Milliseconds())
	}
	res, err := hitScript.Run(ctx, s.client, keys, args...).Int64Slice()
	if err != nil {
		return 0, 0, err
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("guard: rate script answered %d values: %w", len(res), redisstore.ErrBadReply)
	}
	if res[0] == 0 {
		return -1, 0, nil
	}
	return int(res[0] - 1), time.Duration(res[1]) * time.Millisecond, nil
}

func (s *RedisStore) eventKey(k key) string { return s.prefix + "ev:" + k.Hex() }

// claim implements store. It may be called again while waiting: it takes
// over a claim that was released or has expired.
func (s *RedisStore) claim(ctx context.Context, now time.Time, k key, token string, ttl time.Duration) (claim, error) {
	t := now.UnixMilli()
	deadline := fmt.Sprintf("%016d", now.Add(ttl).UnixMilli())
	v, err := claimScript.Run(ctx, s.client, []string{s.eventKey(k)}, t, ttl.Milliseconds(), token, deadline).Text()
	if errors.Is(err, redis.Nil) {
		return claim{state: claimed}, nil
	}
	if err != nil {
		return claim{}, err
	}
	var ms int64
	if len(v) >= 17 {
		ms, err = strconv.ParseInt(v[1:17], 10, 64)
	}
	if len(v) < 17 || err != nil {
		return claim{}, fmt.Errorf("guard: malformed eventId record: %w", redisstore.ErrBadReply)
	}
	c := claim{state: inFlight, deadline: time.UnixMilli(ms)}
	if v[0] == 'D' {
		c.state, c.answer = answered, []byte(v[17:])
	}
	return c, nil
}

// finish implements store.
func (s *RedisStore) finish(ctx context.Context, now time.Time, k key, token string, deadline time.Time, answer []byte) error {
	return s.own(finishScript.Run(ctx, s.client, []string{s.eventKey(k)}, token, answer, fmt.Sprintf("%016d", deadline.UnixMilli()), now.UnixMilli()).Int64())
}

// release implements store.
func (s *RedisStore) release(ctx context.Context, k key, token string) error {
	return s.own(releaseScript.Run(ctx, s.client, []string{s.eventKey(k)}, token).Int64())
}

func (s *RedisStore) own(n int64, err error) error {
	if err != nil {
		return err
	}
	if n != 1 {
		return ErrClaimLost
	}
	return nil
}
