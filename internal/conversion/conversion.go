package conversion

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/conversion/budget"
	"github.com/telephony-hooks/okta-8x8/internal/logging"
	rs "github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// Mode is CONVERSION_GUARD.
type Mode int

const (
	Off     Mode = iota // no judgement; sends are still recorded when Feedback is on
	Record              // measure and log suspect destinations; never refuse
	Enforce             // also refuse new sends to a suspect destination
)

var modeNames = [...]string{Off: "off", Record: "record", Enforce: "enforce"}

// ParseMode reads "off", "record" or "enforce" (any case).
func ParseMode(s string) (Mode, error) {
	for m, name := range modeNames {
		if strings.EqualFold(strings.TrimSpace(s), name) {
			return Mode(m), nil
		}
	}
	return Off, fmt.Errorf("conversion: mode %q is not off, record or enforce", s)
}

func (m Mode) String() string { return modeNames[m] }

// Config is the conversion guard's and the SMS feedback's configuration.
// Start from DefaultConfig: Grace and MinRate are taken as given (zero is
// meaningful for both); zero Window and MinSends take defaults.
type Config struct {
	Mode     Mode
	Window   time.Duration // CONVERSION_WINDOW: the sliding window of settled sends
	Grace    time.Duration // CONVERSION_GRACE: how late a verification may arrive after otpExpires
	MinSends int           // CONVERSION_MIN_SENDS: settled sends before a destination is judged
	MinRate  float64       // CONVERSION_MIN_RATE: verified ÷ settled below this is suspect
	Feedback bool          // EIGHTYEIGHTX_SMS_FEEDBACK: report SMS outcomes to 8x8
	// KeySecret keys the HMACs naming users and numbers in the store (the
	// guard's, from redisstore.DeriveSecret): every instance needs the same.
	KeySecret []byte
	Memory    MemoryCaps       // caps the store of a deployment without Redis
	Refusals  *logging.Sampler // samples refused event hook deliveries' lines (nil: every one)
}

// DefaultConfig is the configuration's defaults (DESIGN.md §1), mode off.
func DefaultConfig() Config {
	return Config{Window: time.Hour, Grace: time.Minute, MinSends: 20, MinRate: 0.2}
}

// Tuning constants; docs/operations.md explains them.
const (
	feedbackWindow   = 15 * time.Minute // 8x8 takes no feedback later after the send
	refreshEvery     = 5 * time.Second  // Run reloads the verdict cache; Check reads only the cache
	postSettleBudget = time.Second      // the Settle ending an event POST: Okta's answer stays within 3 s
	staleAfter       = time.Minute      // a verdict cache this old is not enforced
	defaultExpiry    = 5 * time.Minute  // for a missing otpExpires (Okta's codes live 5 minutes)
	maxExpiry        = 15 * time.Minute // bounds a bad otpExpires
	maxSkew          = 5 * time.Second  // Okta's clock behind ours, when matching
	matchWindow      = 2 * time.Minute  // a send event this close to our send to its number is for it
	retain           = 15 * time.Minute // a settled send is kept this long for a late verification
	seenTTL          = 24 * time.Hour   // an event uuid is remembered (Okta retries within seconds)
	// A report taken by one Settle is not handed to another for longer
	// than a report may take: no umid is reported twice.
	lease         = 30 * time.Second
	reportTimeout = 10 * time.Second
	// A store call is bounded as every Redis call on the hook's path; an
	// event POST's may take longer, within the 3 s Okta waits.
	storeTimeout    = rs.Timeout
	postTimeout     = time.Second
	settleInterval  = 15 * time.Second
	maxSuspects     = 1000 // suspect prefixes held (countries always fit)
	pausedWarnEvery = 15 * time.Minute
)

// Send is one code handed to 8x8, as the hook knows it after the send.
type Send struct {
	UserID  string // Okta's userProfile.userId (= the event's actor.id)
	Channel string // "sms" or "voice"
	Country string // ISO 3166 region of the number ("US")
	// Prefix is the E.164 number without its last four digits
	// ("+1415555"): the unit in which numbers are allocated and leased.
	Prefix string
	Phone  string // E.164, to match Okta's send event; the store keeps its HMAC
	// TxID is 8x8's umid (SMS) or sessionId (voice); "" when the outcome
	// is unknown (PENDING): counted, never reported.
	TxID    string
	SentAt  time.Time // zero: now
	Expires time.Time // Okta's otpExpires; zero: SentAt + 5 min
	// Until bounds the store's work on the record, before its own
	// timeout: the hook gives it only what is left of its answer's margin.
	Until time.Time
}

// Reporter sends one SMS outcome to 8x8's Feedback API. The 8x8 client
// implements it; it retries 429/5xx/transport errors itself within ctx.
type Reporter interface {
	Feedback(ctx context.Context, umid string, success bool, at time.Time) error
}

// store holds the sends, the destinations' windows, the due work and the
// event uuids seen: redisstore.Conversion, or memoryStore without Redis.
// The two are held to the same behaviour by the same tests.
type store interface {
	AddSend(ctx context.Context, p rs.ConvParams, r rs.ConvSend) error
	// Apply applies verifications and send events, each once per uuid.
	Apply(ctx context.Context, p rs.ConvParams, items []rs.ConvItem) ([]rs.ConvResult, rs.ConvChanges, error)
	// Take settles the sends due and leases up to max reports.
	Take(ctx context.Context, p rs.ConvParams, max int) ([]rs.ConvJob, rs.ConvChanges, error)
	Finish(ctx context.Context, p rs.ConvParams, id, action string, next int64) error
	Refresh(ctx context.Context, p rs.ConvParams) (rs.ConvView, rs.ConvChanges, error)
}

// Verdict is Check's answer for a suspect destination.
type Verdict struct {
	Reason      string // the refusal reason the hook answers and logs: ReasonSuspect or ReasonBudget
	Destination string // the country ("LV") or the number prefix ("+3712000")
	Kind        string // "country" or "prefix"
	Settled     int    // ReasonSuspect: settled sends in the window
	Verified    int    // of which verified
	Rate        float64
	Window      time.Duration
	// ReasonBudget: the destination's unverified sends and their limit,
	// the shared one of countries that never converted (NeverConverted).
	Unverified, Limit int
	NeverConverted    bool
	// Refuse: enforce mode, not paused. The hook answers a policy error
	// and Okta falls back to its own provider.
	Refuse bool
	Paused bool // enforcement paused: the event hook looks deaf, or the verdicts are stale
}

// Refusal reasons.
const (
	ReasonSuspect = "conversion_suspect" // the destination's conversion is too low
	ReasonBudget  = "conversion_budget"  // the destination's unverified budget is spent
)

// LogValue is the verdict in a log line: a prefix is named by logPrefix.
func (v *Verdict) LogValue() slog.Value {
	dest := v.Destination
	if v.Kind == "prefix" {
		dest = logPrefix(dest)
	}
	attrs := []slog.Attr{slog.String("reason", v.Reason), slog.String("destination", dest), slog.String("kind", v.Kind)}
	if v.Reason == ReasonBudget {
		attrs = append(attrs, slog.Int("unverified", v.Unverified), slog.Int("limit", v.Limit),
			slog.Bool("neverConverted", v.NeverConverted))
	} else {
		attrs = append(attrs, slog.Int("settled", v.Settled), slog.Int("verified", v.Verified),
			slog.Float64("rate", v.Rate), slog.Float64("windowSeconds", v.Window.Seconds()))
	}
	return slog.GroupValue(append(attrs, slog.Bool("refuse", v.Refuse), slog.Bool("paused", v.Paused))...)
}

// logPrefix is how a log line names a destination prefix: without its
// last two digits either, "+3712000" as "+37120**", so that joined with
// another line's redacted number (its last two digits) four stay unknown.
func logPrefix(p string) string {
	if p == "" {
		return ""
	}
	if len(p) <= 4 {
		return "**"
	}
	return p[:len(p)-2] + "**"
}

// Tracker measures conversion per destination, reports SMS outcomes to
// 8x8 and judges destinations. Safe for concurrent use.
type Tracker struct {
	cfg    Config
	store  store
	budget *budget.Budget
	rep    Reporter
	log    *slog.Logger
	now    func() time.Time
	keys   *rs.Keyer
	nonce  string
	seq    atomic.Uint64
	snap   atomic.Pointer[snapshot]
	// lost counts sends whose record the store refused (no report).
	lost atomic.Int64

	// The store calls' bounds (on the hook's path, of an event POST, in
	// the background) and Run's period: constants that tests change.
	sentTimeout, postTimeout, timeout, settleEvery time.Duration

	refreshLock                     sync.Mutex
	mu                              sync.Mutex // guards the warnings' state below
	paused                          bool
	pausedWarn, deafWarn, storeWarn time.Time
}

// New returns a Tracker. redisStore is the store shared in Redis
// (redisstore.NewConversion), or nil to keep the sends and the budget in
// this process; rep may be nil when Feedback is off; now is the clock
// (nil: time.Now).
func New(cfg Config, redisStore *rs.Conversion, rep Reporter, logger *slog.Logger, now func() time.Time) *Tracker {
	def := DefaultConfig()
	cfg.Window = cmp.Or(max(cfg.Window, 0), def.Window)
	cfg.MinSends = cmp.Or(max(cfg.MinSends, 0), def.MinSends)
	cfg.Grace = max(cfg.Grace, 0)
	if rep == nil {
		cfg.Feedback = false
	}
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	t := &Tracker{
		cfg: cfg, rep: rep, log: logger, now: now,
		keys:        rs.NewKeyer(cfg.KeySecret),
		nonce:       rand.Text()[:10] + ".",
		sentTimeout: storeTimeout, postTimeout: postTimeout, timeout: storeTimeout, settleEvery: settleInterval,
	}
	if redisStore != nil {
		t.store, t.budget = redisStore, budget.New(redisStore.Budget(), now)
	} else {
		t.store, t.budget = newMemoryStore(cfg.Memory), budget.New(budget.NewMemory(), now)
	}
	// Until the first refresh nothing is known of the event hook.
	t.snap.Store(&snapshot{deaf: true})
	return t
}

func (t *Tracker) params() rs.ConvParams {
	w := t.cfg.Window.Milliseconds()
	width := max(w/rs.ConvBuckets, 1)
	return rs.ConvParams{
		Now: t.now().UnixMilli(), Width: width,
		MinSends: int64(t.cfg.MinSends), MinRate: t.cfg.MinRate, MaxSuspects: maxSuspects,
		DestTTL: w + width, PostTTL: w + time.Minute.Milliseconds(),
		SeenTTL: seenTTL.Milliseconds(), Lease: lease.Milliseconds(), Skew: maxSkew.Milliseconds(),
		Retain: retain.Milliseconds(), MatchWindow: matchWindow.Milliseconds(),
	}
}

// Check is the hook's question before a send: nil, or a Verdict naming
// the destination and why (the hook refuses only when Verdict.Refuse is
// set). Suspects come from the verdict cache; the budget costs one store
// read, bounded by 250 ms, allowing when the store fails.
func (t *Tracker) Check(ctx context.Context, country, prefix string) *Verdict {
	if t.cfg.Mode == Off {
		return nil
	}
	country = budget.Country(country) // as the store names it
	s := t.snap.Load()
	paused := s.paused || t.now().Sub(s.at) > staleAfter
	kind, dest := "country", country
	f, ok := s.suspects["c:"+country]
	if !ok && prefix != "" {
		kind, dest = "prefix", prefix
		f, ok = s.suspects["p:"+prefix]
	}
	if ok {
		return &Verdict{
			Reason: ReasonSuspect, Destination: dest, Kind: kind,
			Settled: int(f.Settled), Verified: int(f.Verified), Rate: rate(f.Settled, f.Verified),
			Window: t.cfg.Window, Refuse: t.cfg.Mode == Enforce && !paused, Paused: paused,
		}
	}
	// Within the request's deadline: a stalled Redis costs this send its
	// budget check (allowed), never Okta's answer.
	bctx, cancel := context.WithTimeout(ctx, t.timeout)
	d, err := t.budget.Allow(bctx, country)
	cancel()
	if err != nil || d.Allowed {
		return nil
	}
	return &Verdict{
		Reason: ReasonBudget, Destination: country, Kind: "country",
		Unverified: d.Unverified, Limit: d.Limit, NeverConverted: d.NeverConverted,
		Window: time.Hour, Refuse: t.cfg.Mode == Enforce && !paused, Paused: paused,
	}
}

func rate(settled, verified int64) float64 {
	if settled == 0 {
		return 0
	}
	return float64(verified) / float64(settled)
}

// Sent records a code 8x8 accepted (or may have: PENDING) for the join
// with Okta's events, then counts it in its country's budget, in store
// calls bounded together by 250 ms even when ctx is over. A store failure
// loses this record only, and a WARNING says so.
func (t *Tracker) Sent(ctx context.Context, s Send) {
	if t.idle() || s.UserID == "" { // no user: nothing to join a verification on
		return
	}
	if s.SentAt.IsZero() {
		s.SentAt = t.now()
	}
	exp := s.Expires
	if exp.Before(s.SentAt) { // missing, or nonsense
		exp = s.SentAt.Add(defaultExpiry)
	}
	if limit := s.SentAt.Add(maxExpiry); exp.After(limit) {
		exp = limit
	}
	ch := chVoice
	if strings.EqualFold(s.Channel, "sms") {
		ch = chSMS
	}
	r := rs.ConvSend{
		ID:      t.nonce + strconv.FormatUint(t.seq.Add(1), 36),
		User:    t.userKey(s.UserID, ch),
		Channel: ch, Country: budget.Country(s.Country), Prefix: s.Prefix,
		Tx:       logging.Clip(s.TxID, 128),
		SentAt:   s.SentAt.UnixMilli(),
		SettleAt: exp.Add(t.cfg.Grace).UnixMilli(),
		Feedback: t.cfg.Feedback && ch == chSMS && s.TxID != "",
	}
	r.FeedbackBy = r.SentAt + feedbackWindow.Milliseconds()
	if s.Phone != "" {
		r.Phone = t.keys.Key(rs.Phone, s.Phone).Hex()
	}
	until := time.Now().Add(t.sentTimeout)
	if !s.Until.IsZero() && s.Until.Before(until) {
		until = s.Until
	}
	sctx, cancel := context.WithDeadline(ctx, until)
	defer cancel()
	// The record first: it is what joins Okta's verification, and what
	// takes the send back from the budget once verified.
	if err := t.store.AddSend(sctx, t.params(), r); err != nil {
		class, why := rs.ErrorClass(err), "the store refused the record: this code gets no 8x8 report and is not counted"
		if class == "timeout" {
			why = "the store did not answer in time: if the record is lost, this code gets no 8x8 report"
		}
		t.log.LogAttrs(ctx, slog.LevelWarn, msgSendLost,
			slog.String("transactionId", r.Tx), slog.String("channel", channelName(ch)),
			slog.String("reason", why), slog.String("error_class", class), slog.Int64("lost", t.lost.Add(1)))
		// Not counted in the budget either: without its record, its
		// verification could never take it back.
		return
	}
	if t.cfg.Mode != Off {
		// Lost, the budget undercounts one send: no code is held up.
		_ = t.budget.Sent(sctx, r.Country)
	}
}

// Channels, as a store names them.
const (
	chSMS   = "s"
	chVoice = "v"
)

func channelName(ch string) string {
	if ch == chSMS {
		return "sms"
	}
	return "voice"
}

// userKey names a user and channel in the store, as the guard names a
// user: by HMAC, never the id itself.
func (t *Tracker) userKey(userID, ch string) string {
	return t.keys.Key(rs.User, userID).Hex() + ":" + ch
}

// snapshot is the verdict cache: the suspect destinations with their
// figures, swapped whole by refresh and read lock-free by Check.
type snapshot struct {
	at       time.Time
	suspects map[string]rs.ConvFigure // by store name: "c:US", "p:+1415555"
	paused   bool
	// deaf: no delivery in the window and no send event for one of our
	// sends: nothing shows that the event hook hears every outcome.
	deaf bool
}

// refresh reloads the verdict cache from the store, logs what changed and
// decides whether enforcement pauses. A store error keeps the cache,
// which goes stale (and unenforced) after a minute.
func (t *Tracker) refresh(ctx context.Context) {
	if t.idle() || !t.refreshLock.TryLock() {
		return // one refresh at a time per instance
	}
	defer t.refreshLock.Unlock()
	p := t.params()
	rctx, cancel := context.WithTimeout(ctx, t.timeout)
	v, c, err := t.store.Refresh(rctx, p)
	cancel()
	if err != nil {
		t.warnStore(ctx, "refresh", err)
		return
	}
	t.logChanges(ctx, c)
	s := &snapshot{at: msTime(p.Now), suspects: map[string]rs.ConvFigure{}}
	for _, f := range v.Suspects {
		s.suspects[f.Dest] = f
	}
	window := t.cfg.Window.Milliseconds()
	// Okta's send events for our sends prove the hook hears us: nothing
	// verified then means nobody entered a code, not a deaf hook.
	live := v.LastSendEvent != 0 && p.Now-v.LastSendEvent <= window
	noPost := v.LastPost == 0 || p.Now-v.LastPost > window
	silent := v.Settled >= int64(t.cfg.MinSends) && v.Verified == 0
	s.paused = !live && (noPost || silent)
	s.deaf = !live && noPost
	t.snap.Store(s)
	if t.cfg.Mode != Off {
		t.notePause(ctx, s.paused && v.Settled >= int64(t.cfg.MinSends), noPost, v, s.at)
	}
}

// notePause warns when enforcement pauses because the feedback channel
// looks dead (and again every 15 minutes while it stays so), and says so
// when it resumes.
func (t *Tracker) notePause(ctx context.Context, paused, noPost bool, v rs.ConvView, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case paused && (!t.paused || now.Sub(t.pausedWarn) >= pausedWarnEvery):
		t.paused, t.pausedWarn = true, now
		reason := "no verification at all in the window, and no Okta send event for our sends"
		if noPost {
			reason = "no authenticated Okta event hook delivery in the window"
		}
		t.log.LogAttrs(ctx, slog.LevelWarn, msgPaused, slog.String("reason", reason),
			slog.Int64("settled", v.Settled), slog.Int64("verified", v.Verified),
			slog.Float64("windowSeconds", t.cfg.Window.Seconds()), slog.String("mode", t.cfg.Mode.String()))
	case !paused && t.paused:
		t.paused = false
		t.log.LogAttrs(ctx, slog.LevelInfo, msgResumed,
			slog.Int64("settled", v.Settled), slog.Int64("verified", v.Verified))
	}
}

// idle: neither judging nor reporting, the tracker records nothing.
func (t *Tracker) idle() bool { return t.cfg.Mode == Off && !t.cfg.Feedback }

func msTime(ms int64) time.Time { return time.UnixMilli(ms).UTC() }
