package guard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// Config is the guard's part of the hook configuration.
type Config struct {
	PerPhone Limit // RATE_LIMIT_PER_PHONE, keyed on the E.164 number
	PerUser  Limit // RATE_LIMIT_PER_USER, keyed on Okta's userId
	// PerCountry (RATE_LIMIT_PER_COUNTRY, off by default) caps the sends
	// to one country in a window: a budget against SMS pumping spread over
	// many numbers and accounts, which the other two limits cannot see.
	PerCountry Limit
	// MemoryMaxKeys bounds each in-memory map (0: DefaultMemoryMaxKeys).
	MemoryMaxKeys int
	// RedisTimeout bounds each Redis operation (0: 250ms), within the
	// request's own deadline.
	RedisTimeout time.Duration
	// KeySecret, when set, keys the hash of phone numbers and user ids in
	// store key names (HMAC-SHA256), so a dump of Redis cannot be reversed
	// by hashing every number. Every instance must use the same secret.
	KeySecret []byte
}

const (
	// MaxEventTTL caps how long an eventId is remembered (otpExpires is
	// at most a few minutes out; this bounds a bad value).
	MaxEventTTL = 15 * time.Minute
	// minEventTTL keeps concurrent duplicates together even when
	// otpExpires has already passed or is missing.
	minEventTTL = 30 * time.Second

	defaultRedisTimeout = 250 * time.Millisecond
	// SettleTimeout bounds recording an eventId's answer (Finish, Abandon)
	// in Redis: it runs between the hook's deadline and its answer.
	SettleTimeout = 50 * time.Millisecond
	// redisRetryAfter is how long the Guard stays on memory after a Redis
	// failure before trying Redis again, so an outage costs one timeout
	// per second, not one per request.
	redisRetryAfter = time.Second
	warnEvery       = time.Minute
)

// ErrInFlight is returned by Begin when the first request with the same
// eventId has not answered before ctx ended (or ctx ended before Redis
// could say). Answer PENDING: Okta then sends no second code, and the
// first request's delivery stands.
var ErrInFlight = errors.New("guard: the first request with this eventId is still in flight")

// Guard applies the rate limits and the once-per-eventId rule, on the
// primary store (Redis) when it answers and in memory otherwise.
//
// Contract for the caller: Screen first (Policy), then Begin, then Allow
// only for a request that will really be delivered. Previews answered in
// dry-run, refusals, and repeated eventIds never call Allow, so they never
// count. A send counts once Allow says yes, whatever 8x8 answers.
type Guard struct {
	cfg     Config
	primary Store // nil: memory only
	mem     *MemoryStore
	log     *slog.Logger
	now     func() time.Time
	nonce   string // unique per Guard: claim tokens are nonce+counter
	seq     atomic.Uint64

	mu        sync.Mutex
	retryAt   time.Time // primary is skipped until then
	down      bool
	lastWarn  time.Time
	warnedYet bool
}

// New returns a Guard. primary is the shared store (a *RedisStore) or nil
// for memory only; now is the clock (nil: time.Now).
func New(cfg Config, primary Store, logger *slog.Logger, now func() time.Time) *Guard {
	if cfg.RedisTimeout <= 0 {
		cfg.RedisTimeout = defaultRedisTimeout
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &Guard{
		cfg:     cfg,
		primary: primary,
		mem:     NewMemoryStore(cfg.MemoryMaxKeys),
		log:     logger,
		now:     now,
		nonce:   hex.EncodeToString(b[:]) + ":",
	}
}

// Ticket is the claim on an eventId. Exactly one of Finish or Abandon
// must be called; later calls do nothing. A nil Ticket is valid and does
// nothing.
type Ticket struct {
	g     *Guard
	st    Store
	ctx   context.Context
	key   string
	token string
	done  atomic.Bool
}

// Begin claims eventID until ttl from now (ttl is otpExpires minus now,
// kept between 30s and 15 min). The first caller gets a Ticket. A later
// caller gets prior, the first caller's answer, to send again without
// delivering; if the first is still in flight it waits for it, and returns
// ErrInFlight if ctx ends first. An empty eventID gets a Ticket that
// guards nothing.
func (g *Guard) Begin(ctx context.Context, eventID string, ttl time.Duration) (t *Ticket, prior []byte, err error) {
	if eventID == "" {
		return &Ticket{}, nil, nil
	}
	ttl = min(max(ttl, minEventTTL), MaxEventTTL)
	key := eventKey(eventID)
	token := g.nonce + strconv.FormatUint(g.seq.Add(1), 36)
	backoff := 5 * time.Millisecond
	for {
		st, c, err := g.claim(ctx, key, token, ttl)
		if err != nil {
			return nil, nil, err
		}
		switch c.State {
		case Claimed:
			return &Ticket{g: g, st: st, ctx: context.WithoutCancel(ctx), key: key, token: token}, nil, nil
		case Answered:
			return nil, c.Answer, nil
		}
		// A nil channel never fires, so exactly one of these is live.
		var poll <-chan time.Time
		var timer *time.Timer
		if c.Wait == nil {
			// Redis has no cheap notification for one key; the first
			// answer comes within the hook deadline, so short polls do.
			timer = time.NewTimer(backoff)
			poll = timer.C
			backoff = min(2*backoff, 50*time.Millisecond)
		}
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil, nil, ErrInFlight
		case <-c.Wait:
		case <-poll:
		}
	}
}

func (g *Guard) claim(ctx context.Context, key, token string, ttl time.Duration) (Store, Claim, error) {
	if st := g.pick(); st != nil {
		// Out of time with Redis healthy: a claim in memory could send a
		// second code, so the request answers PENDING instead.
		if ctx.Err() != nil {
			return nil, Claim{}, ErrInFlight
		}
		octx, cancel := context.WithTimeout(ctx, g.cfg.RedisTimeout)
		c, err := st.Claim(octx, g.now(), key, token, ttl)
		cancel()
		if err == nil {
			g.up()
			return st, c, nil
		}
		if ctx.Err() != nil {
			return nil, Claim{}, ErrInFlight
		}
		g.failed(ctx, err)
	}
	// The memory store cannot fail.
	c, _ := g.mem.Claim(ctx, g.now(), key, token, ttl)
	return g.mem, c, nil
}

// Finish records answer, the exact bytes sent to Okta, for duplicates of
// this eventId. Call it before the answer is written: Cloud Run throttles
// the CPU once the response is sent.
func (t *Ticket) Finish(answer []byte) error {
	if t == nil || t.g == nil || t.done.Swap(true) {
		return nil
	}
	return t.g.settle(t, func(ctx context.Context) error { return t.st.Finish(ctx, t.key, t.token, answer) })
}

// Abandon releases the claim without an answer (a 503 or a panic path), so
// a later request with this eventId may deliver.
func (t *Ticket) Abandon() {
	if t == nil || t.g == nil || t.done.Swap(true) {
		return
	}
	_ = t.g.settle(t, func(ctx context.Context) error { return t.st.Release(ctx, t.key, t.token) })
}

func (g *Guard) settle(t *Ticket, op func(context.Context) error) error {
	if t.st == Store(g.mem) {
		return op(t.ctx)
	}
	// The request's deadline may have passed (we answered PENDING): the
	// record still matters, so it gets its own timeout, short enough to
	// fit in the margin the hook keeps for writing its answer.
	ctx, cancel := context.WithTimeout(t.ctx, min(g.cfg.RedisTimeout, SettleTimeout))
	defer cancel()
	err := op(ctx)
	if err != nil && !errors.Is(err, ErrClaimLost) {
		g.failed(t.ctx, err)
	}
	return err
}

// Allow checks the per-phone, per-user and per-country windows and counts
// one send in each only if all allow it; a refusal counts nothing.
// phoneKey is the E.164 number; userKey is Okta's userId or "" (then no
// user limit); country is the number's ISO region. The phone and the user
// are hashed before they reach a store.
func (g *Guard) Allow(ctx context.Context, phoneKey, userKey, country string) *Refusal {
	var buf [3]Window
	var reasons [3]Reason
	ws := buf[:0]
	if !g.cfg.PerPhone.Off() && phoneKey != "" {
		ws = append(ws, Window{Key: g.hashKey("phone:", phoneKey), Limit: g.cfg.PerPhone})
		reasons[len(ws)-1] = ReasonRatePhone
	}
	if !g.cfg.PerUser.Off() && userKey != "" {
		ws = append(ws, Window{Key: g.hashKey("user:", userKey), Limit: g.cfg.PerUser})
		reasons[len(ws)-1] = ReasonRateUser
	}
	if !g.cfg.PerCountry.Off() && country != "" {
		ws = append(ws, Window{Key: "country:" + country, Limit: g.cfg.PerCountry})
		reasons[len(ws)-1] = ReasonRateCountry
	}
	if len(ws) == 0 {
		return nil
	}
	full, retry := g.hit(ctx, ws)
	if full < 0 {
		return nil
	}
	return &Refusal{Reason: reasons[full], Detail: ws[full].Limit.String(), RetryAfter: retry}
}

func (g *Guard) hit(ctx context.Context, ws []Window) (int, time.Duration) {
	// With ctx over, only memory can still answer, and Redis is not to blame.
	if st := g.pick(); st != nil && ctx.Err() == nil {
		octx, cancel := context.WithTimeout(ctx, g.cfg.RedisTimeout)
		full, retry, err := st.Hit(octx, g.now(), ws)
		cancel()
		if err == nil {
			g.up()
			return full, retry
		}
		g.failed(ctx, err)
	}
	full, retry, _ := g.mem.Hit(ctx, g.now(), ws)
	return full, retry
}

// pick returns the primary store unless there is none or it failed less
// than redisRetryAfter ago.
func (g *Guard) pick() Store {
	if g.primary == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down && g.now().Before(g.retryAt) {
		return nil
	}
	return g.primary
}

func (g *Guard) up() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down {
		g.down = false
		g.log.Info("redis available again, using shared guard")
	}
}

// failed notes a primary-store error. If the request's own ctx ended, the
// caller ran out of time and Redis is not marked down.
func (g *Guard) failed(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = true
	g.retryAt = now.Add(redisRetryAfter)
	if g.warnedYet && now.Sub(g.lastWarn) < warnEvery {
		return
	}
	g.warnedYet = true
	g.lastWarn = now
	// The class only: go-redis errors can quote arguments, and ours hold
	// tokens and answers.
	g.log.Warn("redis unavailable, using in-memory guard", "error_class", errorClass(err))
}

func errorClass(err error) string {
	var re redis.Error
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return "connection_lost"
	case errors.Is(err, redis.ErrClosed):
		return "client_closed"
	case errors.As(err, &re):
		// The first word of a Redis error is its code: READONLY, OOM,
		// NOAUTH, LOADING…
		code, _, _ := strings.Cut(re.Error(), " ")
		if code == "" || len(code) > 20 || strings.ToUpper(code) != code {
			code = "ERR"
		}
		return "server_" + strings.ToLower(code)
	case errors.As(err, &ne):
		return "network"
	default:
		return "unknown"
	}
}

// hashKey names a phone or user in a store without holding it: 128 bits
// of SHA-256 (or HMAC-SHA256 with Config.KeySecret).
func (g *Guard) hashKey(kind, id string) string {
	var sum [sha256.Size]byte
	if len(g.cfg.KeySecret) > 0 {
		m := hmac.New(sha256.New, g.cfg.KeySecret)
		m.Write([]byte(kind))
		m.Write([]byte(id))
		m.Sum(sum[:0])
	} else {
		sum = sha256.Sum256([]byte(kind + id))
	}
	var out [48]byte
	n := copy(out[:], kind)
	hex.Encode(out[n:], sum[:16])
	return string(out[:n+32])
}

// eventKey keeps Okta's eventId readable in Redis (it is not personal
// data) but bounds its length.
func eventKey(id string) string {
	if len(id) <= 128 {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "h:" + hex.EncodeToString(sum[:16])
}
