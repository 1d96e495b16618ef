package guard

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// Config is the guard's part of the hook configuration.
type Config struct {
	PerPhone Limit // RATE_LIMIT_PER_PHONE, keyed on the E.164 number
	PerUser  Limit // RATE_LIMIT_PER_USER, keyed on Okta's userId
	// PerIP (RATE_LIMIT_PER_IP, off by default) caps the sends asked for
	// from one end-user IP (an IPv6 /64): a company's users often share
	// one egress address, so it suits a generous limit.
	PerIP Limit
	// PerCountry (RATE_LIMIT_PER_COUNTRY, off by default) caps the sends
	// to one country in a window: a budget against SMS pumping spread over
	// many numbers and accounts, which the other limits cannot see.
	PerCountry Limit
	// MaxAnswers bounds the eventIds remembered in memory, MaxWindows the
	// rate windows (0: 100,000 each), shared evenly by the phone, user
	// and IP limits that are on, each kind evicting only its own; a limit
	// of more than 10 sends holds proportionally fewer windows. Countries
	// have room of their own. CapsFor sizes both caps for a memory budget.
	MaxAnswers, MaxWindows int
	// RedisTimeout bounds each Redis operation (0: 250ms), within the
	// request's own deadline.
	RedisTimeout time.Duration
	// KeySecret keys the hashes that name phone numbers, user ids, IPs and
	// eventIds in the stores (HMAC-SHA256), so a dump of Redis cannot be
	// reversed by hashing every number. Required (at least 16 bytes, see
	// redisstore.DeriveSecret); every instance must use the same one.
	KeySecret []byte
}

const (
	// MaxEventTTL caps how long an eventId is remembered (otpExpires is
	// at most a few minutes out; this bounds a bad value).
	MaxEventTTL = 15 * time.Minute
	// minEventTTL keeps concurrent duplicates together even when
	// otpExpires has already passed or is missing.
	minEventTTL = 30 * time.Second

	defaultRedisTimeout = redisstore.Timeout
	// SettleTimeout bounds recording an eventId's answer (Finish, Abandon)
	// in Redis: it runs between the hook's deadline and its answer.
	SettleTimeout = 50 * time.Millisecond
	// redisRetryAfter is how long the Guard stays on memory after a Redis
	// failure before trying Redis again (redisfail's rule).
	redisRetryAfter = redisstore.RetryAfter
)

// The rate limits, in the order Allow checks them; also the memory
// store's window tables.
const (
	limitPhone = iota
	limitUser
	limitIP
	limitCountry
)

// ErrInFlight is returned by Begin when the first request with the same
// eventId has not answered before ctx ended, or when another instance
// holds it and ctx ended or Redis stopped answering. Answer PENDING: Okta
// then sends no second code, and the first request's delivery stands.
var ErrInFlight = errors.New("guard: the first request with this eventId is still in flight")

// ErrNoBudget is returned by Begin, with a Ticket, when ctx ended before
// the claim could be made in Redis and nobody else is known to hold the
// eventId: nothing was sent, so answer as for an 8x8 that could not be
// reached (FAILED, and Okta falls back) and Finish the Ticket with that
// answer, for repeats. PENDING here would leave the user waiting for a
// code nobody sends.
var ErrNoBudget = errors.New("guard: out of time before the eventId could be claimed")

// Guard applies the rate limits and the once-per-eventId rule, on the
// primary store (Redis) when it answers and in memory otherwise. Memory
// always holds the eventIds this instance claimed or answered, and is
// asked first: an answer known here is never delivered again because Redis
// stalled, restarted or forgot.
//
// Contract for the caller: Screen first (Policy), then Begin, then Allow
// only for a request that will really be delivered. Previews answered in
// dry-run, refusals, and repeated eventIds never call Allow, so they never
// count. A send counts once Allow says yes, whatever 8x8 answers.
type Guard struct {
	cfg     Config
	limits  [numKinds]Limit
	primary store // nil: memory only
	mem     *memStore
	keys    *redisstore.Keyer
	log     *slog.Logger
	now     func() time.Time
	nonce   string // unique per Guard: claim tokens are nonce+seq
	seq     atomic.Uint64

	fo *redisstore.Failover // whether Redis is worth trying now

	// backlog holds the answers recorded in memory only while Redis did
	// not answer; they are written to Redis once it answers again, so
	// other instances find them instead of delivering again.
	backlogMu  sync.Mutex
	backlog    []unsettled
	backlogCap int
	flushing   bool
	flushes    sync.WaitGroup // tests wait for a flush
}

// unsettled is an answer Redis has not heard of.
type unsettled struct {
	key      key
	token    string
	deadline time.Time
}

// New returns a Guard. primary is the shared store, or nil for memory
// only; now is the clock (nil: time.Now). It refuses a KeySecret shorter
// than 16 bytes and limits beyond what ParseLimit accepts.
func New(cfg Config, primary *RedisStore, logger *slog.Logger, now func() time.Time) (*Guard, error) {
	var st store
	if primary != nil {
		st = primary
	}
	return newGuard(cfg, st, logger, now)
}

func newGuard(cfg Config, primary store, logger *slog.Logger, now func() time.Time) (*Guard, error) {
	if len(cfg.KeySecret) < redisstore.MinSecret {
		return nil, errors.New("guard: Config.KeySecret must hold at least 16 bytes (use redisstore.DeriveSecret): without it store keys can be reversed into phone numbers")
	}
	limits := [numKinds]Limit{limitPhone: cfg.PerPhone, limitUser: cfg.PerUser, limitIP: cfg.PerIP, limitCountry: cfg.PerCountry}
	for _, l := range limits {
		if !l.Off() && (l.N > maxLimitN || l.Window <= 0) {
			return nil, fmt.Errorf("guard: rate limit %s: N must be at most %d and the window positive", l, maxLimitN)
		}
	}
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
		// An outage of a few minutes at a few hundred sign-ins a second
		// fits; beyond, answers stay in this instance's memory only.
		backlogCap: max(64, cmp.Or(cfg.MaxAnswers, defaultMaxAnswers)/16),
		cfg:        cfg,
		limits:     limits,
		primary:    primary,
		mem:        newMemStore(cfg.MaxAnswers, cfg.MaxWindows, limits),
		keys:       redisstore.NewKeyer(cfg.KeySecret),
		log:        logger,
		now:        now,
		nonce:      hex.EncodeToString(b[:]) + ":",
		// The class only in its warning: go-redis errors can quote
		// arguments, and ours hold tokens and answers.
		fo: redisstore.NewFailover(now, logger, "redis unavailable, using in-memory guard", "redis available again, using shared guard"),
	}, nil
}

// Ticket is the claim on an eventId. Exactly one of Finish or Abandon
// must be called; later calls do nothing. A nil Ticket is valid and does
// nothing.
type Ticket struct {
	g        *Guard
	ctx      context.Context
	key      key
	seq      uint64    // the claim in memory
	token    string    // the claim in Redis
	deadline time.Time // the claim's expiry
	shared   bool      // claimed in Redis too
	done     atomic.Bool
}

// Begin claims eventID until ttl from now (ttl is otpExpires minus now,
// kept between 30s and 15 min). The first caller gets a Ticket. A later
// caller gets prior, the first caller's answer, to send again without
// delivering; if the first is still in flight it waits for it, and returns
// ErrInFlight if ctx ends first. If ctx ends before the claim is made in
// Redis and nobody else is known to hold the eventId, it returns a Ticket
// and ErrNoBudget. An empty eventID gets a Ticket that guards nothing.
//
// Memory is asked first: an answer or a claim this instance knows wins
// whatever Redis says or fails to say. Only when memory knows nothing and
// Redis fails does the claim fall back to memory; once Redis has said that
// another instance holds the eventId, Begin never claims it in memory.
func (g *Guard) Begin(ctx context.Context, eventID string, ttl time.Duration) (t *Ticket, prior []byte, err error) {
	if eventID == "" {
		return &Ticket{}, nil, nil
	}
	ttl = min(max(ttl, minEventTTL), MaxEventTTL)
	k := g.keys.Key(kindEvent, eventID)
	seq := g.seq.Add(1)
	token := g.nonce + strconv.FormatUint(seq, 36)
	elsewhere := false
	backoff := 5 * time.Millisecond
	for {
		now := g.now()
		deadline := now.Add(ttl)
		look, prior, wait, remote := g.mem.begin(k, seq, now, ceilSecs(deadline))
		elsewhere = elsewhere || remote
		switch look {
		case lookAnswered:
			return nil, prior, nil
		case lookWait:
			select {
			case <-ctx.Done():
				return nil, nil, ErrInFlight
			case <-wait:
				continue
			}
		}
		// This request holds the eventId in memory; now Redis.
		tk := &Ticket{g: g, ctx: context.WithoutCancel(ctx), key: k, seq: seq, token: token, deadline: deadline}
		st := g.pick()
		if st == nil {
			if elsewhere {
				_ = g.mem.release(k, seq)
				return nil, nil, ErrInFlight
			}
			return tk, nil, nil
		}
		// Out of time before Redis could say: only another holder makes
		// it PENDING. Otherwise nothing was sent and nobody is sending:
		// ErrNoBudget, with the claim in memory for the caller to Finish
		// with its not-sent answer, which then goes to Redis under this
		// token (overwriting a claim Redis applied late), so a repeat
		// anywhere gets that answer, not a second code.
		if ctx.Err() != nil {
			if elsewhere {
				_ = g.mem.release(k, seq)
				return nil, nil, ErrInFlight
			}
			return tk, nil, ErrNoBudget
		}
		octx, cancel := context.WithTimeout(ctx, g.cfg.RedisTimeout)
		c, err := st.claim(octx, now, k, token, ttl)
		cancel()
		if err != nil {
			g.failed(ctx, err)
			if elsewhere {
				_ = g.mem.release(k, seq)
				return nil, nil, ErrInFlight
			}
			if ctx.Err() != nil {
				return tk, nil, ErrNoBudget
			}
			// Redis's first answer failed and memory knew nothing: claim
			// in memory, sign-in availability beats the rule.
			return tk, nil, nil
		}
		g.up()
		switch c.state {
		case claimed:
			g.mem.claimed(k)
			tk.shared = true
			return tk, nil, nil
		case answered:
			g.mem.cache(k, seq, c.answer, now, ceilSecs(c.deadline))
			return nil, c.answer, nil
		}
		elsewhere = true
		g.mem.remote(k, seq, now, ceilSecs(c.deadline))
		// Redis has no cheap notification for one key; the first answer
		// comes within the hook deadline, so short polls do.
		timer := time.NewTimer(backoff)
		backoff = min(2*backoff, 50*time.Millisecond)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, nil, ErrInFlight
		case <-timer.C:
		}
	}
}

// Finish records answer, the exact bytes sent to Okta, for duplicates of
// this eventId: in memory first, then in Redis. Call it before the answer
// is written: Cloud Run throttles the CPU once the response is sent.
func (t *Ticket) Finish(answer []byte) error {
	if t == nil || t.g == nil || t.done.Swap(true) {
		return nil
	}
	g := t.g
	err := g.mem.finish(t.key, t.seq, answer, g.now(), ceilSecs(t.deadline))
	if g.primary == nil || (!t.shared && err != nil) {
		return err
	}
	// A claim made in memory while Redis did not answer is recorded there
	// too, unless someone else holds the eventId meanwhile: other instances
	// then find the answer instead of delivering again.
	var rerr error
	tried := t.shared || g.pick() != nil
	if tried {
		rerr = g.settle(t, func(ctx context.Context) error {
			return g.primary.finish(ctx, g.now(), t.key, t.token, t.deadline, answer)
		})
	}
	if !tried || (rerr != nil && !errors.Is(rerr, ErrClaimLost)) {
		g.later(unsettled{key: t.key, token: t.token, deadline: t.deadline})
	}
	if t.shared {
		return rerr
	}
	return err
}

// Abandon releases the claim without an answer (a 503 or a panic path), so
// a later request with this eventId may deliver.
func (t *Ticket) Abandon() {
	if t == nil || t.g == nil || t.done.Swap(true) {
		return
	}
	g := t.g
	if t.shared || g.pick() != nil {
		// Redis first, so a duplicate here woken by the release in memory
		// finds Redis free too. A claim made in memory may have reached
		// Redis after all (a stalled Redis runs what it was sent once it
		// resumes): the token matches it, and nothing else.
		_ = g.settle(t, func(ctx context.Context) error { return g.primary.release(ctx, t.key, t.token) })
	}
	_ = g.mem.release(t.key, t.seq)
}

func (g *Guard) settle(t *Ticket, op func(context.Context) error) error {
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

// Subject is what one send is counted against. Empty fields (and limits
// that are off) count nothing.
type Subject struct {
	Phone   string // the E.164 number
	User    string // Okta's userId
	Country string // the number's ISO region
	IP      string // the end user's IP (Okta's data.context.request.ipAddress)
}

// Allow checks the per-phone, per-user, per-IP and per-country windows and
// counts one send in each only if all allow it; a refusal counts nothing.
// Each identity is keyed (HMAC) before it reaches a store.
func (g *Guard) Allow(ctx context.Context, s Subject) *Refusal {
	var buf [numKinds]window
	ws := buf[:0]
	for kind := range numKinds {
		if g.limits[kind].Off() {
			continue
		}
		var name, id string
		switch kind {
		case limitPhone:
			name, id = kindPhone, s.Phone
		case limitUser:
			name, id = kindUser, s.User
		case limitIP:
			name, id = kindIP, ipID(s.IP)
		case limitCountry:
			name, id = kindCountry, s.Country
		}
		if id != "" {
			ws = append(ws, window{key: g.keys.Key(name, id), kind: kind, limit: g.limits[kind]})
		}
	}
	if len(ws) == 0 {
		return nil
	}
	full, retry := g.hit(ctx, ws)
	if full < 0 {
		return nil
	}
	w := ws[full]
	return &Refusal{Reason: limitReason(w.kind), Detail: w.limit.String(), RetryAfter: retry}
}

func limitReason(kind int) Reason {
	switch kind {
	case limitPhone:
		return ReasonRatePhone
	case limitUser:
		return ReasonRateUser
	case limitIP:
		return ReasonRateIP
	default:
		return ReasonRateCountry
	}
}

func (g *Guard) hit(ctx context.Context, ws []window) (int, time.Duration) {
	// With ctx over, only memory can still answer, and Redis is not to blame.
	if st := g.pick(); st != nil && ctx.Err() == nil {
		octx, cancel := context.WithTimeout(ctx, g.cfg.RedisTimeout)
		full, retry, err := st.hit(octx, g.now(), ws)
		cancel()
		if err == nil {
			g.up()
			return full, retry
		}
		g.failed(ctx, err)
	}
	return g.mem.hit(g.now(), ws)
}

// pick returns the primary store unless there is none or it failed less
// than a second ago.
func (g *Guard) pick() store {
	if g.primary == nil || !g.fo.Usable() {
		return nil
	}
	return g.primary
}

// up notes a Redis call that worked; the answers kept in memory while it
// was down go to Redis now.
func (g *Guard) up() {
	if g.fo.Up() {
		g.flush()
	}
}

// failed notes a Redis error. If the request's own ctx ended, the caller
// ran out of time and Redis is not marked down.
func (g *Guard) failed(ctx context.Context, err error) { g.fo.Failed(ctx, err) }

// later keeps an answer for Redis until it answers again.
func (g *Guard) later(u unsettled) {
	g.backlogMu.Lock()
	defer g.backlogMu.Unlock()
	if len(g.backlog) < g.backlogCap {
		g.backlog = append(g.backlog, u)
	}
}

// flush writes the backlog to Redis in the background (the request that
// found Redis back does not wait for it), and stops at the first failure:
// the next recovery starts it again.
func (g *Guard) flush() {
	g.backlogMu.Lock()
	defer g.backlogMu.Unlock()
	if g.flushing || len(g.backlog) == 0 {
		return
	}
	g.flushing = true
	g.flushes.Go(func() {
		for {
			g.backlogMu.Lock()
			n := len(g.backlog)
			if n == 0 {
				g.flushing = false
				g.backlogMu.Unlock()
				return
			}
			u := g.backlog[n-1]
			g.backlog = g.backlog[:n-1]
			g.backlogMu.Unlock()

			now := g.now()
			answer, ok := g.mem.answerOf(u.key, now)
			if !ok || !u.deadline.After(now) {
				continue // forgotten or expired: nothing to tell
			}
			ctx, cancel := context.WithTimeout(context.Background(), g.cfg.RedisTimeout)
			err := g.primary.finish(ctx, now, u.key, u.token, u.deadline, answer)
			cancel()
			if err != nil && !errors.Is(err, ErrClaimLost) {
				g.failed(context.Background(), err)
				g.backlogMu.Lock()
				g.backlog = append(g.backlog, u)
				g.flushing = false
				g.backlogMu.Unlock()
				return
			}
		}
	})
}
