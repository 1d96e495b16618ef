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
)

// RedisStore is the Store shared by every instance (Memorystore). Each
// operation is one Lua script, so checks and updates are atomic across
// instances. Key names never hold a phone number or user id: the Guard
// hashes them first.
//
// The rate script touches the phone and the user key together, so on a
// Redis Cluster both must live in one slot; Memorystore for Redis (one
// primary) has no such constraint.
type RedisStore struct {
	client redis.UniversalClient
	prefix string
	// Window members are member+counter: unique per process by the
	// counter, across processes by the random member prefix.
	member string
	seq    atomic.Uint64
}

var _ Store = (*RedisStore)(nil)

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

// finishScript: KEYS[1]; ARGV token, answer. 1 if stored, 0 if lost.
var finishScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, 1) ~= 'P' or string.sub(v, 18) ~= ARGV[1] then
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

// Hit implements Store. Each send is a sorted-set member unique to this
// call, so two sends in one millisecond still count twice.
func (s *RedisStore) Hit(ctx context.Context, now time.Time, windows []Window) (int, time.Duration, error) {
	keys := make([]string, len(windows))
	args := make([]any, 2, 2+2*len(windows))
	args[0] = now.UnixMilli()
	args[1] = s.member + strconv.FormatUint(s.seq.Add(1), 36)
	for i, w := range windows {
		keys[i] = s.prefix + "rl:" + w.Key
		args = append(args, w.Limit.N, w.Limit.Window.Milliseconds())
	}
	res, err := hitScript.Run(ctx, s.client, keys, args...).Int64Slice()
	if err != nil {
		return 0, 0, err
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("guard: rate script answered %d values", len(res))
	}
	if res[0] == 0 {
		return -1, 0, nil
	}
	return int(res[0] - 1), time.Duration(res[1]) * time.Millisecond, nil
}

// Claim implements Store. It may be called again while waiting: it takes
// over a claim that was released or has expired.
func (s *RedisStore) Claim(ctx context.Context, now time.Time, key, token string, ttl time.Duration) (Claim, error) {
	t := now.UnixMilli()
	deadline := fmt.Sprintf("%016d", t+ttl.Milliseconds())
	v, err := claimScript.Run(ctx, s.client, []string{s.prefix + "ev:" + key}, t, ttl.Milliseconds(), token, deadline).Text()
	switch {
	case errors.Is(err, redis.Nil):
		return Claim{State: Claimed}, nil
	case err != nil:
		return Claim{}, err
	case len(v) < 17:
		return Claim{}, errors.New("guard: malformed eventId record in redis")
	case v[0] == 'D':
		return Claim{State: Answered, Answer: []byte(v[17:])}, nil
	default:
		return Claim{State: InFlight}, nil
	}
}

// Finish implements Store.
func (s *RedisStore) Finish(ctx context.Context, key, token string, answer []byte) error {
	return s.own(finishScript.Run(ctx, s.client, []string{s.prefix + "ev:" + key}, token, answer).Int64())
}

// Release implements Store.
func (s *RedisStore) Release(ctx context.Context, key, token string) error {
	return s.own(releaseScript.Run(ctx, s.client, []string{s.prefix + "ev:" + key}, token).Int64())
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
