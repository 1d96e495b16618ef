package conversion

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// Mode is CONVERSION_GUARD.
type Mode int

const (
	// Off: no judgement. Sends are still recorded when Feedback is on.
	Off Mode = iota
	// Record: measure and log suspect destinations; never refuse.
	Record
	// Enforce: also refuse new sends to a suspect destination.
	Enforce
)

// ParseMode reads "off", "record" or "enforce" (any case).
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "off":
		return Off, nil
	case "record":
		return Record, nil
	case "enforce":
		return Enforce, nil
	}
	return Off, fmt.Errorf("conversion: mode %q is not off, record or enforce", s)
}

func (m Mode) String() string {
	switch m {
	case Record:
		return "record"
	case Enforce:
		return "enforce"
	}
	return "off"
}

// Config is the conversion guard's and the SMS feedback's configuration.
// Start from DefaultConfig: Grace and MinRate are taken as given (zero is
// meaningful for both); zero Window, MinSends and caps take defaults.
type Config struct {
	Mode     Mode
	Window   time.Duration // CONVERSION_WINDOW: the sliding window of settled sends
	Grace    time.Duration // CONVERSION_GRACE: how late a verification may arrive after otpExpires
	MinSends int           // CONVERSION_MIN_SENDS: settled sends before a destination is judged
	MinRate  float64       // CONVERSION_MIN_RATE: verified ÷ settled below this is suspect
	Feedback bool          // EIGHTYEIGHTX_SMS_FEEDBACK: report SMS outcomes to 8x8
	// KeySecret keys the HMAC that names users in store keys
	// (redisstore.DeriveSecret, the guard's); every instance needs the same.
	KeySecret []byte

	// Memory caps the in-process store (the default, and the fallback
	// while Redis is down).
	Memory MemoryCaps
	// MaxSuspects caps the suspect prefixes held (countries always fit).
	MaxSuspects int
	// RedisTimeout bounds each store call (0: 250 ms).
	RedisTimeout time.Duration
	// SentTimeout bounds Sent's store call (0: 50 ms): it runs at the end
	// of a hook request, close to Okta's deadline.
	SentTimeout time.Duration
	// SettleEvery is Run's interval between Settles (0: 15 s).
	SettleEvery time.Duration
	// Refusals samples the log lines of refused event hook deliveries
	// (nil: every one), as for the hook's other routes.
	Refusals *logging.Sampler
}

// DefaultConfig is the configuration's defaults (DESIGN.md §1), mode off.
func DefaultConfig() Config {
	return Config{Window: time.Hour, Grace: time.Minute, MinSends: 20, MinRate: 0.2}
}

// Tuning constants; see the package documentation.
const (
	// FeedbackWindow is 8x8's limit: feedback later than this after the
	// send is not taken.
	FeedbackWindow = 15 * time.Minute
	// RefreshEvery is how often Run reloads the verdict cache from the
	// store. Check reads only the cache.
	RefreshEvery = 5 * time.Second
	// staleAfter: a verdict cache this old is not enforced (no Run loop
	// and no event POST to refresh it).
	staleAfter = time.Minute
	// defaultExpiry stands in for a missing otpExpires (Okta's phone
	// codes live five minutes).
	defaultExpiry = 5 * time.Minute
	// maxExpiry bounds a bad otpExpires.
	maxExpiry = 15 * time.Minute
	// maxSkew tolerates Okta's clock being behind ours when matching.
	maxSkew = 5 * time.Second
	// retain keeps a settled send this long for a late verification.
	retain = 15 * time.Minute
	// seenTTL is how long an event uuid is remembered (Okta retries once,
	// within seconds; a day covers a replay by hand).
	seenTTL = 24 * time.Hour
	// lease: a report taken by one Settle is not handed to another for
	// this long. It exceeds reportTimeout, so two instances never report
	// the same umid at once.
	lease              = 30 * time.Second
	reportTimeout      = 10 * time.Second
	defaultSentTimeout = 50 * time.Millisecond
	// PostSettleBudget bounds the Settle at the end of an event POST, so
	// Okta still gets its answer well within 3 s.
	PostSettleBudget = time.Second

	defaultRedisTimeout = redisstore.Timeout
	defaultSettleEvery  = 15 * time.Second
	pausedWarnEvery     = 15 * time.Minute
)

// Send is one code handed to 8x8, as the hook knows it after the send.
type Send struct {
	UserID  string // Okta's userProfile.userId (= the event's actor.id)
	Channel string // "sms" or "voice"
	Country string // ISO 3166 region of the number ("US")
	// Prefix is the E.164 number without its last four digits
	// ("+1415555"); see the package documentation.
	Prefix string
	// TxID is 8x8's umid (SMS) or sessionId (voice); "" when the outcome
	// is unknown (PENDING): counted, never reported.
	TxID    string
	SentAt  time.Time // zero: now
	Expires time.Time // Okta's otpExpires; zero: SentAt + 5 min
}

// Reporter sends one SMS outcome to 8x8's Feedback API. The 8x8 client
// implements it; it retries 429/5xx/transport errors itself within ctx.
type Reporter interface {
	Feedback(ctx context.Context, umid string, success bool, at time.Time) error
}

// Verdict is Check's answer for a suspect destination.
type Verdict struct {
	Destination string // the country ("LV") or the number prefix ("+3712000")
	Kind        string // "country" or "prefix"
	Settled     int    // settled sends in the window
	Verified    int    // of which verified
	Rate        float64
	Window      time.Duration
	// Refuse: enforce mode, and enforcement not paused. The hook answers
	// a policy error and Okta falls back to its own provider.
	Refuse bool
	// Paused: enforcement is paused because no verification arrives at
	// all (the event hook looks broken), or the verdicts are stale.
	Paused bool
}

// LogValue is the verdict in a log line (the hook's, which also carries
// the send's ids and the number's last two digits): a prefix is named as
// every log line names one, by LogPrefix.
func (v *Verdict) LogValue() slog.Value {
	dest := v.Destination
	if v.Kind == "prefix" {
		dest = LogPrefix(dest)
	}
	return slog.GroupValue(
		slog.String("destination", dest),
		slog.String("kind", v.Kind),
		slog.Int("settled", v.Settled),
		slog.Int("verified", v.Verified),
		slog.Float64("rate", v.Rate),
		slog.Float64("windowSeconds", v.Window.Seconds()),
		slog.Bool("refuse", v.Refuse),
		slog.Bool("paused", v.Paused),
	)
}

// LogPrefix is how a log line names a destination prefix (the E.164
// number without its last four digits): without its own last two either,
// "+3712000" as "+37120**". Joined with another line's redacted number
// (its last two digits) through the send's ids, the trace or a suspect
// verdict, four digits stay unknown, as with the prefix alone.
func LogPrefix(p string) string {
	if p == "" {
		return ""
	}
	if len(p) <= 4 {
		return "**"
	}
	return p[:len(p)-2] + "**"
}

// Stats are this instance's counters since start.
type Stats struct {
	Sent, SentWithoutUser                 int64
	Verified, Unmatched, Late, Duplicates int64
	Settled                               int64 // settled unverified
	Reports, ReportFailures               int64
	ReportsDropped                        int64 // not sent within 8x8's 15 minutes
	StoreFallbacks                        int64 // store calls answered by memory after a Redis error
}

type stats struct {
	sent, sentNoUser                       atomic.Int64
	verified, unmatched, late, duplicates  atomic.Int64
	settled, reports, reportFails, dropped atomic.Int64
	fallbacks                              atomic.Int64
}

// Tracker measures conversion per destination, reports SMS outcomes to
// 8x8 and judges destinations. Safe for concurrent use.
type Tracker struct {
	cfg     Config
	primary Store // nil: memory only
	mem     *memoryStore
	rep     Reporter
	log     *slog.Logger
	now     func() time.Time
	nonce   string
	seq     atomic.Uint64

	snap atomic.Pointer[snapshot]

	fo *redisstore.Failover

	mu          sync.Mutex // guards paused, pausedWarn, deafWarn
	paused      bool
	pausedWarn  time.Time
	deafWarn    time.Time // the last WARNING about failure reports held for a silent event hook
	refreshLock sync.Mutex
	keys        *redisstore.Keyer

	st stats
}

// New returns a Tracker. store is the shared store (NewRedisStore) or nil
// for memory only; rep may be nil when Feedback is off; now is the clock
// (nil: time.Now).
func New(cfg Config, store Store, rep Reporter, logger *slog.Logger, now func() time.Time) *Tracker {
	def := DefaultConfig()
	if cfg.Window <= 0 {
		cfg.Window = def.Window
	}
	if cfg.MinSends <= 0 {
		cfg.MinSends = def.MinSends
	}
	cfg.Grace = max(cfg.Grace, 0)
	if cfg.MaxSuspects <= 0 {
		cfg.MaxSuspects = DefaultMaxSuspects
	}
	if cfg.RedisTimeout <= 0 {
		cfg.RedisTimeout = defaultRedisTimeout
	}
	if cfg.SentTimeout <= 0 {
		cfg.SentTimeout = defaultSentTimeout
	}
	if cfg.SettleEvery <= 0 {
		cfg.SettleEvery = defaultSettleEvery
	}
	if rep == nil {
		cfg.Feedback = false
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	t := &Tracker{
		cfg:     cfg,
		primary: store,
		mem:     newMemoryStore(cfg.Memory),
		rep:     rep,
		log:     logger,
		now:     now,
		nonce:   hex.EncodeToString(b[:]) + ".",
		fo:      redisstore.NewFailover(now, logger, msgRedisDown, msgRedisBack),
	}
	if m, ok := store.(*memoryStore); ok && m != nil {
		// NewMemoryStore given as the store: it is the memory store.
		t.mem, t.primary = m, nil
	}
	t.keys = redisstore.NewKeyer(cfg.KeySecret)
	// Until the first refresh nothing is known of the event hook.
	t.snap.Store(&snapshot{deaf: true})
	return t
}

// Stats returns this instance's counters.
func (t *Tracker) Stats() Stats {
	return Stats{
		Sent: t.st.sent.Load(), SentWithoutUser: t.st.sentNoUser.Load(),
		Verified: t.st.verified.Load(), Unmatched: t.st.unmatched.Load(), Late: t.st.late.Load(),
		Duplicates: t.st.duplicates.Load(), Settled: t.st.settled.Load(),
		Reports: t.st.reports.Load(), ReportFailures: t.st.reportFails.Load(),
		ReportsDropped: t.st.dropped.Load(), StoreFallbacks: t.st.fallbacks.Load(),
	}
}

func (t *Tracker) params() params {
	w := t.cfg.Window.Milliseconds()
	return params{
		now:         t.now().UnixMilli(),
		width:       max(w/buckets, 1),
		minSends:    int64(t.cfg.MinSends),
		minRate:     t.cfg.MinRate,
		maxSuspects: t.cfg.MaxSuspects,
		seenTTL:     seenTTL.Milliseconds(),
		lease:       lease.Milliseconds(),
		skew:        maxSkew.Milliseconds(),
		retain:      retain.Milliseconds(),
		destTTL:     w + max(w/buckets, 1),
		postTTL:     w + time.Minute.Milliseconds(),
	}
}

// Check is the hook's question before a send: nil means the destination is
// not suspect. A non-nil Verdict names the suspect destination; the hook
// refuses the send only when Verdict.Refuse is set (enforce mode, and
// enforcement not paused). It reads the in-memory verdict cache only: no
// store round trip, no lock, no allocation unless suspect.
func (t *Tracker) Check(_ context.Context, country, prefix string) *Verdict {
	if t.cfg.Mode == Off {
		return nil
	}
	s := t.snap.Load()
	if len(s.countries) == 0 && len(s.prefixes) == 0 {
		return nil
	}
	kind, dest := "country", country
	f, ok := s.countries[country]
	if !ok && prefix != "" {
		kind, dest = "prefix", prefix
		f, ok = s.prefixes[prefix]
	}
	if !ok {
		return nil
	}
	paused := s.paused || t.now().Sub(s.at) > staleAfter
	return &Verdict{
		Destination: dest, Kind: kind,
		Settled: int(f.settled), Verified: int(f.verified), Rate: rate(f.settled, f.verified),
		Window: t.cfg.Window, Refuse: t.cfg.Mode == Enforce && !paused, Paused: paused,
	}
}

func rate(settled, verified int64) float64 {
	if settled == 0 {
		return 0
	}
	return float64(verified) / float64(settled)
}

// Sent records a code 8x8 accepted (or may have: PENDING) for the join
// with Okta's verification event. Call it before answering Okta: it costs
// one store call bounded by SentTimeout (50 ms; then memory), even when
// ctx is over.
func (t *Tracker) Sent(ctx context.Context, s Send) {
	if t.cfg.Mode == Off && !t.cfg.Feedback {
		return
	}
	if s.UserID == "" {
		// Nothing to join a verification on.
		t.st.sentNoUser.Add(1)
		return
	}
	now := t.now()
	if s.SentAt.IsZero() {
		s.SentAt = now
	}
	exp := s.Expires
	if exp.IsZero() || exp.Before(s.SentAt) {
		exp = s.SentAt.Add(defaultExpiry)
	}
	if limit := s.SentAt.Add(maxExpiry); exp.After(limit) {
		exp = limit
	}
	ch := chVoice
	if strings.EqualFold(s.Channel, "sms") {
		ch = chSMS
	}
	r := sendRecord{
		id:       t.nonce + strconv.FormatUint(t.seq.Add(1), 36),
		user:     t.userKey(s.UserID, ch),
		country:  cleanCountry(s.Country),
		prefix:   cleanPrefix(s.Prefix),
		tx:       clip(s.TxID, 128),
		sentAt:   s.SentAt.UnixMilli(),
		settleAt: exp.Add(t.cfg.Grace).UnixMilli(),
		feedback: t.cfg.Feedback && ch == chSMS && s.TxID != "",
	}
	t.st.sent.Add(1)
	p := t.params()
	if st := t.pick(); st != nil {
		bg := context.WithoutCancel(ctx)
		sctx, cancel := context.WithTimeout(bg, t.cfg.SentTimeout)
		c, err := st.addSend(sctx, p, r)
		cancel()
		if err == nil {
			t.fo.Up()
			t.logChanges(ctx, c)
			return
		}
		t.fo.Failed(bg, err)
		t.st.fallbacks.Add(1)
		if redisstore.MaybeApplied(err) {
			// Redis may have it (a slow answer, not a refusal): keep a
			// shadow in memory for the counts during the outage, but
			// never a second report or log line for it.
			r.feedback, r.shadow = false, true
		}
	}
	c, _ := t.mem.addSend(ctx, p, r)
	t.logChanges(ctx, c)
}

// cleanCountry accepts an ISO 3166-1 alpha-2 code.
func cleanCountry(c string) string {
	if len(c) != 2 {
		return ""
	}
	u := strings.ToUpper(c)
	if u[0] < 'A' || u[0] > 'Z' || u[1] < 'A' || u[1] > 'Z' {
		return ""
	}
	return u
}

// cleanPrefix accepts "+" and 1 to 11 digits (E.164's 15 less the last
// four); anything else is no prefix.
func cleanPrefix(p string) string {
	if len(p) < 2 || len(p) > 12 || p[0] != '+' {
		return ""
	}
	for i := 1; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return ""
		}
	}
	return p
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// userKey names a user and channel in a store, as the guard names a user
// (storekey).
func (t *Tracker) userKey(userID string, ch uint8) userKey {
	return userKey{h: t.userHash(userID), ch: ch}
}

func (t *Tracker) userHash(userID string) [16]byte {
	return t.keys.Key(redisstore.User, userID)
}

// use runs op on the primary store, or on memory when there is none, it is
// marked down, or it fails. It reports whether the primary answered.
func (t *Tracker) use(ctx context.Context, op func(context.Context, Store) error) bool {
	if st := t.pick(); st != nil && ctx.Err() == nil {
		octx, cancel := context.WithTimeout(ctx, t.cfg.RedisTimeout)
		err := op(octx, st)
		cancel()
		if err == nil {
			t.fo.Up()
			return true
		}
		t.fo.Failed(ctx, err)
		t.st.fallbacks.Add(1)
	}
	_ = op(ctx, t.mem) // the memory store cannot fail
	return false
}

func (t *Tracker) pick() Store {
	if t.primary == nil || !t.fo.Usable() {
		return nil
	}
	return t.primary
}

// snapshot is the verdict cache: the suspect destinations with their
// figures, swapped whole by refresh and read lock-free by Check.
type snapshot struct {
	at        time.Time
	countries map[string]figure
	prefixes  map[string]figure
	paused    bool
	// deaf: no authenticated event hook delivery in the window. A code
	// may have been verified without this service hearing of it, so
	// failure reports wait (settle.go).
	deaf bool
}

// refresh reloads the verdict cache from the store (primary if it
// answers, else memory), logs what changed, and decides whether
// enforcement is paused.
func (t *Tracker) refresh(ctx context.Context) {
	if t.cfg.Mode == Off && !t.cfg.Feedback {
		return
	}
	// One refresh at a time per instance; a caller arriving meanwhile
	// gets the result of the one running.
	if !t.refreshLock.TryLock() {
		return
	}
	defer t.refreshLock.Unlock()
	p := t.params()
	var v view
	t.use(ctx, func(ctx context.Context, st Store) error {
		var c changes
		var err error
		v, c, err = st.refresh(ctx, p)
		if err == nil && t.cfg.Mode != Off { // off: feedback only, no verdicts
			t.logChanges(ctx, c)
		}
		return err
	})
	now := msTime(p.now)
	s := &snapshot{at: now, countries: map[string]figure{}, prefixes: map[string]figure{}}
	for _, f := range v.suspects {
		switch {
		case strings.HasPrefix(f.dest, "c:"):
			s.countries[f.dest[2:]] = f
		case strings.HasPrefix(f.dest, "p:"):
			s.prefixes[f.dest[2:]] = f
		}
	}
	noPost := v.lastPost == 0 || p.now-v.lastPost > t.cfg.Window.Milliseconds()
	silent := v.settled >= int64(t.cfg.MinSends) && v.verify == 0
	s.paused = noPost || silent
	s.deaf = noPost
	t.snap.Store(s)
	if t.cfg.Mode != Off {
		t.notePause(ctx, s.paused && v.settled >= int64(t.cfg.MinSends), noPost, v, now)
	}
}

// notePause warns when enforcement pauses because the feedback channel
// looks dead (and again every 15 minutes while it stays so), and says so
// when it resumes.
func (t *Tracker) notePause(ctx context.Context, paused, noPost bool, v view, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case paused && (!t.paused || now.Sub(t.pausedWarn) >= pausedWarnEvery):
		t.paused, t.pausedWarn = true, now
		reason := "no verification at all in the window"
		if noPost {
			reason = "no authenticated Okta event hook delivery in the window"
		}
		t.log.LogAttrs(ctx, slog.LevelWarn, msgPaused,
			slog.String("reason", reason),
			slog.Int64("settled", v.settled), slog.Int64("verified", v.verify),
			slog.Float64("windowSeconds", t.cfg.Window.Seconds()),
			slog.String("mode", t.cfg.Mode.String()))
	case !paused && t.paused:
		t.paused = false
		t.log.LogAttrs(ctx, slog.LevelInfo, msgResumed,
			slog.Int64("settled", v.settled), slog.Int64("verified", v.verify))
	}
}
