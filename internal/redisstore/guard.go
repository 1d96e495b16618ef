package redisstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// GuardStore holds the fraud guard's shared state: rate windows and
// eventId claims, each operation one Lua script, so checks and updates are
// atomic across instances. Key names are "okta8x8:rl:" or "okta8x8:ev:"
// and a Key's hex digits: they never hold a phone number, user id, IP or
// eventId. Values hold times, random tokens and the hook's answers.
//
// The rate script touches several keys at once: on a Redis Cluster they
// must share a slot; Memorystore for Redis (one primary) has no slots.
type GuardStore struct {
	client redis.UniversalClient
}

const guardPrefix = "okta8x8:"

// NewGuardStore uses client, opened by Open (ContextTimeoutEnabled: the
// caller's per-call timeouts apply).
func NewGuardStore(client redis.UniversalClient) *GuardStore {
	return &GuardStore{client: client}
}

// Window is a sliding rate window: at most N sends in any Window.
type Window struct {
	Key    Key
	N      int
	Window time.Duration
}

// ClaimState is what Claim found.
type ClaimState int

const (
	Claimed  ClaimState = iota // the caller holds the key and must Finish or Release it
	Answered                   // an earlier request's answer is in Claim.Answer
	InFlight                   // an earlier request holds the key and has not answered
)

// Claim is the outcome of GuardStore.Claim.
type Claim struct {
	State    ClaimState
	Answer   []byte    // Answered: the first answer
	Deadline time.Time // Answered, InFlight: when the record expires
}

// ErrClaimLost is returned by Finish and Release when the token no longer
// holds the key: the claim expired or was taken over.
var ErrClaimLost = errors.New("eventId claim expired or taken over")

// hitScript checks every window, then counts the send in all of them only
// if none is full. Each window is a sorted set of send times (ms); members
// are unique per send. KEYS: windows. ARGV: now, member, then N and window
// (ms) per key. Returns 0, or i for the first full window (1-based).
var hitScript = redis.NewScript(`
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local n = tonumber(ARGV[1 + 2*i])
  local w = tonumber(ARGV[2 + 2*i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - w)
  local c = redis.call('ZCARD', key)
  if c >= n then
    return i
  end
end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, ARGV[2 + 2*i])
end
return 0
`)

// claimScript: KEYS[1] event key; ARGV now ms, ttl ms, token, deadline.
// Claim values are a state byte ('P' pending, 'D' done), the deadline as 16
// digits of Unix ms (from the caller's clock, so instances agree on
// expiry), then the holder's token or the answer; PX only collects
// garbage. Returns nil when claimed, else the current value. A pending
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
// the answer instead of delivering again. go-redis retries a script whose
// reply was lost, and that retry finds its own first run's answer: a key
// answered with this answer and this claim's deadline counts as stored.
// An answered record keeps no token (the record's layout is shared with
// running instances of other revisions), but the deadline, to the
// millisecond, is the claim's own: another request's claim has its own.
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
local state, rest = string.sub(v, 1, 1), string.sub(v, 18)
if state == 'D' and string.sub(v, 2, 17) == ARGV[3] and rest == ARGV[2] then
  return 1
end
if state ~= 'P' or rest ~= ARGV[1] then
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

// Hit counts one send at now in every window, or none if one is full: it
// then returns that window's index (full is -1 when the send was counted).
func (s *GuardStore) Hit(ctx context.Context, now time.Time, windows []Window) (full int, err error) {
	keys := make([]string, len(windows))
	args := make([]any, 2, 2+2*len(windows))
	args[0] = now.UnixMilli()
	args[1] = rand.Text() // the send's member, unique to it
	for i, w := range windows {
		keys[i] = guardPrefix + "rl:" + w.Key.Hex()
		args = append(args, w.N, w.Window.Milliseconds())
	}
	i, err := hitScript.Run(ctx, s.client, keys, args...).Int()
	if err != nil {
		return 0, err
	}
	return i - 1, nil
}

func (s *GuardStore) eventKey(k Key) string { return guardPrefix + "ev:" + k.Hex() }

// Claim takes k for token until now+ttl unless it is held or answered and
// not yet expired (then it returns what it found).
func (s *GuardStore) Claim(ctx context.Context, now time.Time, k Key, token string, ttl time.Duration) (Claim, error) {
	v, err := claimScript.Run(ctx, s.client, []string{s.eventKey(k)}, now.UnixMilli(), ttl.Milliseconds(), token, deadlineField(now.Add(ttl))).Text()
	if errors.Is(err, redis.Nil) {
		return Claim{State: Claimed}, nil
	}
	if err != nil {
		return Claim{}, err
	}
	var ms int64
	if len(v) >= 17 {
		ms, err = strconv.ParseInt(v[1:17], 10, 64)
	}
	if len(v) < 17 || err != nil {
		return Claim{}, fmt.Errorf("guard: malformed eventId record: %w", errBadReply)
	}
	c := Claim{State: InFlight, Deadline: time.UnixMilli(ms)}
	if v[0] == 'D' {
		c.State, c.Answer = Answered, []byte(v[17:])
	}
	return c, nil
}

// Finish stores answer under k, keeping its expiry, if token still holds
// it, or until deadline if no one does. It also succeeds when k already
// holds this answer until deadline (Finish ran before and its reply was
// lost); otherwise it returns ErrClaimLost.
func (s *GuardStore) Finish(ctx context.Context, now time.Time, k Key, token string, deadline time.Time, answer []byte) error {
	return owned(finishScript.Run(ctx, s.client, []string{s.eventKey(k)}, token, answer, deadlineField(deadline), now.UnixMilli()).Int64())
}

// Release drops token's claim on k so a later request may claim it.
func (s *GuardStore) Release(ctx context.Context, k Key, token string) error {
	return owned(releaseScript.Run(ctx, s.client, []string{s.eventKey(k)}, token).Int64())
}

// deadlineField is t as a record's deadline: Unix ms in 16 digits, zero
// padded, so the answer or token after it starts at a fixed offset.
func deadlineField(t time.Time) string {
	ms := strconv.FormatInt(t.UnixMilli(), 10)
	return strings.Repeat("0", max(0, 16-len(ms))) + ms
}

func owned(n int64, err error) error {
	if err != nil {
		return err
	}
	if n != 1 {
		return ErrClaimLost
	}
	return nil
}
