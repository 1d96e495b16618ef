package guard

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// Config is the guard's part of the hook configuration.
type Config struct {
	PerPhone   Limit // RATE_LIMIT_PER_PHONE, keyed on the E.164 number
	PerUser    Limit // RATE_LIMIT_PER_USER, keyed on Okta's userId
	PerIP      Limit // RATE_LIMIT_PER_IP; users often share an egress address
	PerCountry Limit // RATE_LIMIT_PER_COUNTRY, against pumping spread thin
	// MaxAnswers bounds the eventIds remembered in memory, MaxWindows the
	// rate windows (0: 100,000 each); CapsFor sizes both for a memory budget.
	MaxAnswers, MaxWindows int
	// KeySecret (redisstore.DeriveSecret, at least 16 bytes) keys the store
	// names of phones, users, IPs and eventIds; every instance shares it.
	KeySecret []byte
}

const (
	// MaxEventTTL caps how long an eventId is remembered, whatever
	// otpExpires says.
	MaxEventTTL = 15 * time.Minute
	// minEventTTL keeps concurrent duplicates together even when
	// otpExpires has already passed or is missing.
	minEventTTL = 30 * time.Second

	// SettleTimeout bounds recording an eventId's answer (Finish, Abandon)
	// in Redis: it runs between the hook's deadline and its answer.
	SettleTimeout = 50 * time.Millisecond
)

// The rate limits, in the order Allow checks them.
const (
	limitPhone = iota
	limitUser
	limitIP
	limitCountry
	numKinds
)

// Per rate limit: the kind its keys are named under, a refusal's reason.
var (
	kindNames    = [numKinds]string{redisstore.Phone, redisstore.User, redisstore.IP, redisstore.Country}
	limitReasons = [numKinds]Reason{ReasonRatePhone, ReasonRateUser, ReasonRateIP, ReasonRateCountry}
)

// key names a phone, user, IP, country or eventId in a store.
type key = redisstore.Key

// Store is what the Guard needs of Redis: *redisstore.GuardStore (tests
// wrap it to inject faults). The Guard passes the time into every call, so
// one clock drives memory and Redis alike.
type Store interface {
	Hit(ctx context.Context, now time.Time, windows []redisstore.Window) (full int, err error)
	Claim(ctx context.Context, now time.Time, k key, token string, ttl time.Duration) (redisstore.Claim, error)
	Finish(ctx context.Context, now time.Time, k key, token string, deadline time.Time, answer []byte) error
	Release(ctx context.Context, k key, token string) error
}

// ErrClaimLost is returned by Ticket.Finish when the claim expired or was
// taken over before the holder answered.
var ErrClaimLost = redisstore.ErrClaimLost

// ErrInFlight is returned by Begin when the first request with the same
// eventId has not answered before ctx ended, or when another instance
// holds it and ctx ended or Redis stopped answering. Answer PENDING: Okta
// then sends no second code, and the first request's delivery stands.
var ErrInFlight = errors.New("guard: the first request with this eventId is still in flight")

// ErrNoBudget is returned by Begin, with a Ticket, when ctx ended before
// the claim could be made in Redis and nobody else is known to hold the
// eventId: answer as for an unreachable 8x8 (FAILED: Okta falls back) and
// Finish the Ticket with it. PENDING would wait for a code nobody sends.
var ErrNoBudget = errors.New("guard: out of time before the eventId could be claimed")

// Guard applies the rate limits and the once-per-eventId rule, in the
// order the package comment gives. Close it at shutdown.
type Guard struct {
	limits  [numKinds]Limit
	primary Store // nil: memory only
	mem     *memStore
	keys    *redisstore.Keyer
	now     func() time.Time
	fo      *redisstore.Failover // whether Redis is worth trying now
	// redisstore.Timeout and SettleTimeout, longer in tests that run
	// miniredis under the race detector.
	timeout, settleTimeout time.Duration

	// backlog holds the answers recorded in memory only while Redis did
	// not answer. A loop writes them to Redis as soon as it answers again,
	// whatever the traffic, so other instances find them instead of
	// delivering again; Close writes what is left.
	backlog chan unsettled
	wakeup  chan struct{}      // a request found Redis back: write now
	stop    context.CancelFunc // ends the loop
	done    chan struct{}      // closed when the loop has returned
	written chan struct{}      // for tests: a pass wrote something
}

// unsettled is an answer Redis has not heard of (not its Ticket, which
// would keep the request's context alive).
type unsettled struct {
	key      key
	token    string
	deadline time.Time
	answer   []byte
}

// New returns a Guard on primary, or in memory only if it is nil; now is
// the clock (nil: time.Now). It refuses a KeySecret shorter than 16 bytes
// and limits beyond what ParseLimit accepts.
func New(cfg Config, primary Store, logger *slog.Logger, now func() time.Time) (*Guard, error) {
	return newGuard(cfg, primary, logger, now, redisstore.Timeout, SettleTimeout)
}

func newGuard(cfg Config, primary Store, logger *slog.Logger, now func() time.Time, timeout, settleTimeout time.Duration) (*Guard, error) {
	if len(cfg.KeySecret) < redisstore.MinSecret {
		return nil, errors.New("guard: Config.KeySecret must hold at least 16 bytes (use redisstore.DeriveSecret): without it store keys can be reversed into phone numbers")
	}
	limits := [numKinds]Limit{limitPhone: cfg.PerPhone, limitUser: cfg.PerUser, limitIP: cfg.PerIP, limitCountry: cfg.PerCountry}
	for _, l := range limits {
		if l.N > 0 && (l.N > maxLimitN || l.Window <= 0) {
			return nil, fmt.Errorf("guard: rate limit %s: N must be at most %d and the window positive", l, maxLimitN)
		}
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := &Guard{
		limits:        limits,
		primary:       primary,
		mem:           newMemStore(cfg.MaxAnswers, cfg.MaxWindows, limits),
		keys:          redisstore.NewKeyer(cfg.KeySecret),
		now:           now,
		fo:            redisstore.NewFailover(now, logger, "redis unavailable, using in-memory guard", "redis available again, using shared guard"),
		timeout:       timeout,
		settleTimeout: settleTimeout,
		wakeup:        make(chan struct{}, 1),
		done:          make(chan struct{}),
		written:       make(chan struct{}, 1),
	}
	if primary != nil {
		// An outage of minutes at hundreds of sign-ins a second fits.
		g.backlog = make(chan unsettled, max(64, g.mem.maxAnswers/16))
		var ctx context.Context
		ctx, g.stop = context.WithCancel(context.Background())
		go g.writeBackLoop(ctx)
	}
	return g, nil
}

// Ticket is the claim on an eventId. Exactly one of Finish or Abandon
// must be called; later calls do nothing. A nil Ticket does nothing.
type Ticket struct {
	g *Guard
	// ctx is the request's without its deadline: the record matters even
	// once it passed, and settleTimeout fits the hook's margin to answer.
	ctx      context.Context
	key      key
	token    string    // the claim, in memory and in Redis
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
func (g *Guard) Begin(ctx context.Context, eventID string, ttl time.Duration) (t *Ticket, prior []byte, err error) {
	if eventID == "" {
		return &Ticket{}, nil, nil
	}
	ttl = min(max(ttl, minEventTTL), MaxEventTTL)
	k := g.keys.Key(redisstore.Event, eventID)
	token := rand.Text() // names this claim in memory and in Redis
	elsewhere := false
	backoff := 5 * time.Millisecond
	for {
		now := g.now()
		deadline := now.Add(ttl)
		prior, wait, remote := g.mem.begin(k, token, now, deadline)
		elsewhere = elsewhere || remote
		if prior != nil {
			return nil, prior, nil
		}
		if wait != nil {
			select {
			case <-ctx.Done():
				return nil, nil, ErrInFlight
			case <-wait:
				continue
			}
		}
		// This request holds the eventId in memory; now Redis.
		tk := &Ticket{g: g, ctx: context.WithoutCancel(ctx), key: k, token: token, deadline: deadline}
		tried := g.redisUsable()
		var c redisstore.Claim
		err := ctx.Err()
		if tried && err == nil {
			err = g.call(ctx, g.timeout, func(ctx context.Context) (err error) {
				c, err = g.primary.Claim(ctx, now, k, token, ttl)
				return err
			})
		}
		switch {
		case (!tried || err != nil) && elsewhere:
			// Redis said another instance holds it: never a claim here.
			g.mem.release(k, token)
			return nil, nil, ErrInFlight
		case tried && err != nil && ctx.Err() != nil:
			// Out of time, and nobody known to hold it: nothing was sent.
			// The not-sent answer Finish records replaces even a claim
			// Redis ran late, so a repeat anywhere gets it, not a code.
			return tk, nil, ErrNoBudget
		case !tried || err != nil:
			// Redis is down and memory knew nothing: claim in memory,
			// sign-in availability beats the rule.
			return tk, nil, nil
		}
		g.mem.learned(k, token, c, now)
		switch c.State {
		case redisstore.Claimed:
			tk.shared = true
			return tk, nil, nil
		case redisstore.Answered:
			return nil, c.Answer, nil
		}
		elsewhere = true
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
	err := g.mem.finish(t.key, t.token, answer, g.now(), t.deadline)
	if g.primary == nil || (!t.shared && err != nil) {
		return err
	}
	// A claim made in memory while Redis did not answer is recorded there
	// too, unless someone else holds the eventId meanwhile: other instances
	// then find the answer instead of delivering again.
	tried := t.shared || g.redisUsable()
	if tried {
		err = g.call(t.ctx, g.settleTimeout, func(ctx context.Context) error {
			return g.primary.Finish(ctx, g.now(), t.key, t.token, t.deadline, answer)
		})
	}
	if !tried || (err != nil && !errors.Is(err, ErrClaimLost)) {
		g.keep(unsettled{t.key, t.token, t.deadline, bytes.Clone(answer)})
	}
	if !t.shared {
		return nil // recorded in memory, where the claim was made
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
	if t.shared || g.redisUsable() {
		// Redis first, so a duplicate here woken by the release in memory
		// finds Redis free too. A claim made in memory may have reached
		// Redis after all (a stalled Redis runs what it was sent once it
		// resumes): the token matches it, and nothing else.
		_ = g.call(t.ctx, g.settleTimeout, func(ctx context.Context) error { return g.primary.Release(ctx, t.key, t.token) })
	}
	g.mem.release(t.key, t.token)
}

// Subject is what one send is counted against; empty fields count nothing.
type Subject struct {
	Phone   string // the E.164 number
	User    string // Okta's userId
	Country string // the number's ISO region
	IP      string // the end user's IP (Okta's data.context.request.ipAddress)
}

// Allow counts one send in the windows of s only if all have room; a
// refusal counts nothing.
func (g *Guard) Allow(ctx context.Context, s Subject) *Refusal {
	ids := [numKinds]string{limitPhone: s.Phone, limitUser: s.User, limitCountry: s.Country}
	var (
		windows [numKinds]redisstore.Window
		kinds   [numKinds]int
		n       int
	)
	for kind, l := range g.limits {
		if l.N <= 0 {
			continue // off: no IP to parse, no key to derive
		}
		id := ids[kind]
		if kind == limitIP {
			id = ipID(s.IP)
		}
		if id != "" {
			windows[n] = redisstore.Window{Key: g.keys.Key(kindNames[kind], id), N: l.N, Window: l.Window}
			kinds[n] = kind
			n++
		}
	}
	if n == 0 {
		return nil
	}
	ws := windows[:n]
	full, counted := -1, false
	// With ctx over, only memory can still answer, and Redis is not to blame.
	if g.redisUsable() && ctx.Err() == nil {
		counted = g.call(ctx, g.timeout, func(ctx context.Context) (err error) {
			full, err = g.primary.Hit(ctx, g.now(), ws)
			return err
		}) == nil
	}
	if !counted {
		full = g.mem.hit(g.now(), ws, kinds[:n])
	}
	if full < 0 {
		return nil
	}
	kind := kinds[full]
	return &Refusal{Reason: limitReasons[kind], Detail: g.limits[kind].String()}
}

// redisUsable reports whether there is a primary store that did not fail
// in the last redisstore.RetryAfter.
func (g *Guard) redisUsable() bool { return g.primary != nil && g.fo.Usable() }

// call runs op against Redis within timeout. An answer (a lost claim is
// one) marks Redis up, and the backlog goes to Redis now; a failure marks
// it down, unless ctx had ended: the caller ran out of time, Redis is not
// to blame. Nor is it when a bound shorter than a Redis call's (Finish's
// and Abandon's settleTimeout) runs out: a Redis slower than that but
// within redisstore.Timeout is not stalled, and taken for down it would
// be skipped for a second, every eventId and limit in memory only.
func (g *Guard) call(ctx context.Context, timeout time.Duration, op func(context.Context) error) error {
	octx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := op(octx)
	switch {
	case err == nil || errors.Is(err, ErrClaimLost):
		if g.fo.Up() {
			signal(g.wakeup)
		}
	case timeout < g.timeout && octx.Err() != nil:
	default:
		g.fo.Failed(ctx, err)
	}
	return err
}

// keep adds u to the backlog if it has room.
func (g *Guard) keep(u unsettled) {
	select {
	case g.backlog <- u:
	default:
	}
}

// writeBackLoop writes the backlog every redisstore.RetryAfter (an outage
// costs one Redis call a second, as the requests' own retry does) and
// whenever a request finds Redis back.
func (g *Guard) writeBackLoop(ctx context.Context) {
	defer close(g.done)
	tick := time.NewTicker(redisstore.RetryAfter)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-g.wakeup:
		}
		if n, _ := g.writeBack(ctx); n > 0 {
			signal(g.written)
		}
	}
}

// writeBack writes the backlog to Redis. It stops at the first failure and
// keeps what is left for the next pass. It returns how many it wrote.
func (g *Guard) writeBack(ctx context.Context) (wrote int, err error) {
	for range len(g.backlog) { // the loop and Close never run it at once
		u := <-g.backlog
		now := g.now()
		if !now.Before(u.deadline) {
			continue // expired: nothing to tell
		}
		err = g.call(ctx, g.timeout, func(ctx context.Context) error {
			return g.primary.Finish(ctx, now, u.key, u.token, u.deadline, u.answer)
		})
		if err != nil && !errors.Is(err, ErrClaimLost) { // lost: another answer stands
			g.keep(u)
			return wrote, err
		}
		wrote++
	}
	return wrote, nil
}

// Close stops the write-back loop, then writes what is left of the
// backlog to Redis within ctx (at SIGTERM, the drain budget). Call it once
// no request is in flight.
func (g *Guard) Close(ctx context.Context) error {
	if g.primary == nil {
		return nil
	}
	g.stop()
	<-g.done // within one Redis call's timeout
	if _, err := g.writeBack(ctx); err != nil {
		return fmt.Errorf("guard: answers not written to Redis, other instances may deliver them again: %w", err)
	}
	return nil
}

// signal wakes c's reader, unless a wake-up is already pending.
func signal(c chan<- struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// ipID is the identity a per-IP window counts: an IPv4 address, or the /64
// of an IPv6 address (one subscriber gets at least a /64). "" when the
// address does not parse: no IP window then.
func ipID(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	if a = a.Unmap().WithZone(""); a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}
