// Package app builds a running hook from a loaded configuration: logger,
// phone parser, guard, 8x8 client, authentication and routes.
package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/telephony-hooks/okta-8x8/internal/config"
	"github.com/telephony-hooks/okta-8x8/internal/conversion"
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/guard"
	"github.com/telephony-hooks/okta-8x8/internal/hook"
	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/message"
	"github.com/telephony-hooks/okta-8x8/internal/okta"
	"github.com/telephony-hooks/okta-8x8/internal/okta/oauth"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/receipts"
	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// App is one instance's hook.
type App struct {
	Config  *config.Config
	Handler http.Handler
	Logger  *slog.Logger
	closers []func(context.Context) error
}

// Options are process-level choices the configuration does not carry.
type Options struct {
	Stdout io.Writer
	// Terminal: Stdout is a terminal. The local run then logs readable
	// text unless LOG_FORMAT says otherwise; anywhere else it is JSON.
	Terminal bool
	// RedisTimeout bounds each Redis call of the guard and the conversion
	// tracker (0: their default, 250 ms). Tests under the race detector
	// on a loaded machine raise it: past it, an instance falls back to
	// its memory, which is the outage behaviour, not what they test.
	RedisTimeout time.Duration
	// MemoryLimit is the Go heap's soft limit in bytes (0: none), which
	// sizes the in-memory state; MemoryLimitSource says where it came from.
	MemoryLimit       int64
	MemoryLimitSource string
	HTTPClient        *http.Client     // for 8x8; nil: eightbyeight.NewHTTPClient()
	JWKSClient        *http.Client     // for the issuer's keys; nil: default
	Now               func() time.Time // nil: time.Now
	ProjectID         func() string    // nil: logging.ProjectID with cfg's project
	// Verifier, when set, is an OAuth verifier already started for
	// cfg.OAuth (its key set fetched while the secrets were read); Build
	// uses it instead of starting another.
	Verifier *oauth.Verifier
}

// NewLogger builds the configured logger.
// The CloudSink, when LOG_SINK=cloudlogging, must be flushed before each
// answer.
func NewLogger(ctx context.Context, cfg *config.Config, opt Options) (*slog.Logger, *logging.CloudSink, error) {
	format := logging.JSON
	if cfg.LogFormat == "text" || (cfg.LogFormat == "" && opt.Terminal && !cfg.Deployed) {
		format = logging.Text
	}
	project := cfg.ProjectID
	if project == "" && opt.ProjectID != nil {
		project = opt.ProjectID()
	} else if project == "" {
		project = logging.ProjectID(ctx, func(string) string { return "" })
	}
	lo := logging.Options{Level: cfg.LogLevel, Format: format, ProjectID: project}
	if cfg.LogSink == "cloudlogging" {
		if project == "" {
			return nil, nil, errors.New("LOG_SINK=cloudlogging needs GOOGLE_CLOUD_PROJECT or the metadata server")
		}
		sink, err := logging.NewCloudSink(ctx, project, "okta-telephony-hook")
		if err != nil {
			return nil, nil, err
		}
		lo.Sink = sink
		return slog.New(logging.NewHandler(opt.Stdout, lo)), sink, nil
	}
	return slog.New(logging.NewHandler(opt.Stdout, lo)), nil, nil
}

// Build assembles the hook. ctx bounds start-up work (the first JWKS
// fetch); the 8x8 connection warm-up runs in the background.
func Build(ctx context.Context, cfg *config.Config, opt Options) (*App, error) {
	a := &App{Config: cfg}
	logger, sink, err := NewLogger(ctx, cfg, opt)
	if err != nil {
		return nil, err
	}
	a.Logger = logger
	var flush func() error
	if sink != nil {
		flush = sink.Flush
		// The Logging client's Close can wait on a stalled API for
		// minutes: it gets what is left of the close budget.
		a.closers = append(a.closers, func(ctx context.Context) error { return closeWithin(ctx, sink.Close) })
	}
	fail := func(err error) (*App, error) { _ = a.Close(context.WithoutCancel(ctx)); return nil, err }

	phones, err := phone.NewParser(cfg.DefaultRegion, 10000)
	if err != nil {
		return fail(err)
	}
	// Compile the number patterns of the regions users are expected in
	// now, not during the first sign-in from each (at most 20: a long
	// allow-list should not slow the start-up down).
	phones.Warm(slices.Sorted(maps.Keys(cfg.Policy.Allowed))[:min(len(cfg.Policy.Allowed), 20)]...)
	var primary *guard.RedisStore
	if cfg.RedisURL != "" {
		// go-redis prints its own unstructured lines to stderr; the guard
		// already warns once a minute, so keep the client's at debug.
		redis.SetLogger(redisLogger{logger})
		rs, err := guard.OpenRedis(cfg.RedisURL)
		if err != nil {
			return fail(err)
		}
		primary = rs
		a.closers = append(a.closers, func(context.Context) error { return rs.Close() })
		go rs.Warm(context.WithoutCancel(ctx))
	}
	secret := keySecret(cfg)
	answers, windows := guard.CapsFor(int64(float64(opt.MemoryLimit) * guardMemoryShare))
	g, err := guard.New(guard.Config{
		PerPhone: cfg.PerPhone, PerUser: cfg.PerUser, PerCountry: cfg.PerCountry, PerIP: cfg.PerIP,
		MaxAnswers: answers, MaxWindows: windows, RedisTimeout: opt.RedisTimeout,
		KeySecret: secret,
	}, primary, logger, opt.Now)
	if err != nil {
		return fail(err)
	}

	var sender hook.Sender
	var profiles <-chan profileRead
	if !cfg.DryRun {
		client, err := eightbyeight.New(eightbyeight.Config{
			VoiceURL: cfg.VoiceURL, SMSURL: cfg.SMSURL,
			SubaccountID: cfg.SubaccountID, APIKey: cfg.APIKey,
			HTTPClient: opt.HTTPClient,
		})
		if err != nil {
			return fail(err)
		}
		sender = client
		var stop context.CancelFunc
		profiles, stop = readProfiles(ctx, client)
		// A start that fails below, or a shutdown, leaves no read in
		// flight and no idle connection behind.
		a.closers = append(a.closers, func(context.Context) error {
			stop()
			client.CloseIdleConnections()
			return nil
		})
	}

	auth := hook.Auth{Header: okta.NewHeaderAuth(cfg.AuthHeader, cfg.Secret), Open: cfg.OpenAuth}
	if v := opt.Verifier; v != nil {
		auth.OAuth = v
		a.closers = append(a.closers, func(context.Context) error { v.Close(); return nil })
	} else if cfg.OAuth.Issuer != "" {
		v, err := NewVerifier(ctx, cfg.OAuth, opt, logger)
		if err != nil {
			return fail(err)
		}
		auth.OAuth = v
		a.closers = append(a.closers, func(context.Context) error { v.Close(); return nil })
	}

	failure := hook.Fallback
	if cfg.ErrorOnFailure {
		failure = hook.ErrorObject
	}
	// Refused callers are logged in full for the first few per reason and
	// minute, then counted: a flood of wrong secrets costs a line a minute.
	refusals := logging.NewSampler(refusalBurst, time.Minute, opt.Now)
	a.closers = append(a.closers, func(context.Context) error { refusals.Flush(logger); return nil })
	voices, late, err := waitProfiles(ctx, profiles, cfg.VoiceProfile, logger)
	if err != nil {
		return fail(err)
	}
	tracker := newTracker(cfg, opt, secret, primary, sender, refusals, logger)
	// The route always answers: without the event hook's secret it
	// refuses every delivery (401) and nothing is tracked.
	events := tracker.Handler(okta.NewHeaderAuth(cfg.EventHookHeader, cfg.EventHookSecret))
	var conv hook.Conversion
	if cfg.EventHookSecret != "" {
		// The background loop settles due work (8x8 failure reports,
		// expired codes) and refreshes the verdicts; Close does the last
		// of it on SIGTERM.
		runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
		done := make(chan struct{})
		go func() { tracker.Run(runCtx); close(done) }()
		a.closers = append(a.closers, func(ctx context.Context) error {
			stop()
			<-done
			cctx, cancel := context.WithTimeout(ctx, closeTracker)
			defer cancel()
			return tracker.Close(cctx)
		})
		conv = tracker
	}
	srv := hook.New(hook.Options{
		Deadline:      cfg.Deadline,
		OnFailure:     failure,
		DryRun:        cfg.DryRun,
		PreviewDryRun: cfg.PreviewDryRun,
		CallerID:      cfg.CallerID,
		SMSSource:     cfg.SMSSource,
		VoiceProfile:  cfg.VoiceProfile,
		Repetitions:   cfg.Repetitions,
		Policy:        cfg.Policy,
		TrackSMS:      cfg.Conversion.Feedback,
	}, hook.Deps{
		Voices:     voices,
		Events:     events,
		Conversion: conv,
		Auth:       auth,
		Phones:     phones,
		Guard:      g,
		Sender:     sender,
		Receipts:   receipts.NewHandler(cfg.WebhookSecret, logger, refusals),
		Refusals:   refusals,
		Logger:     logger,
		Now:        opt.Now,
		Flush:      flush,
	})
	a.Handler = srv
	if late != nil {
		// The start-up did not wait for the account's list: use it once
		// it arrives.
		go func() {
			r, ok := <-late
			if !ok || errors.Is(r.err, context.Canceled) { // a shutdown stopped the read
				return
			}
			if v := accountVoices(r, logger); v != nil {
				if lacks(v, cfg.VoiceProfile) {
					logger.Error("VOICE_PROFILE is not one of this 8x8 account's speech profiles: every voice call with it fails; set one the account has", "voiceProfile", cfg.VoiceProfile)
				}
				srv.SetVoices(v)
				logVoices(logger, v)
			}
		}()
	}
	return a, nil
}

// guardMemoryShare and conversionMemoryShare are the parts of the Go
// heap's soft limit the guard's state (remembered answers, rate windows)
// and the conversion tracker's (pending sends, event uuids) may fill at
// their caps. With the garbage collector's room (GOGC) they stay well
// within the limit; the rest is the request path's.
const (
	guardMemoryShare      = 0.2
	conversionMemoryShare = 0.15
)

// keySecret keys the hashes that name phone numbers, users, IPs and
// eventIds in the guard's stores: REDIS_KEY_SECRET, else derived from the
// 8x8 API key (every instance has it), else (a dry run without Redis, where
// nothing is shared) a random one.
func keySecret(cfg *config.Config) []byte {
	material := cfg.RedisKeySecret
	if material == "" {
		material = cfg.APIKey
	}
	if material == "" {
		var b [32]byte
		_, _ = rand.Read(b[:])
		return b[:]
	}
	return redisstore.DeriveSecret(material)
}

// closeTracker bounds the conversion tracker's last settle at shutdown.
const closeTracker = 1500 * time.Millisecond

// newTracker builds the conversion tracker. It shares the guard's Redis
// connection pool, and reports SMS outcomes through the 8x8 client (none
// in a dry run).
func newTracker(cfg *config.Config, opt Options, secret []byte, redisStore *guard.RedisStore, sender hook.Sender,
	refusals *logging.Sampler, logger *slog.Logger) *conversion.Tracker {
	cc := conversion.DefaultConfig()
	cc.Mode, cc.Window, cc.Grace = cfg.Conversion.Mode, cfg.Conversion.Window, cfg.Conversion.Grace
	cc.MinSends, cc.MinRate, cc.Feedback = cfg.Conversion.MinSends, cfg.Conversion.MinRate, cfg.Conversion.Feedback
	cc.KeySecret, cc.Refusals = secret, refusals
	cc.Memory = conversion.CapsFor(int64(float64(opt.MemoryLimit) * conversionMemoryShare))
	cc.RedisTimeout = opt.RedisTimeout
	var store conversion.Store
	if redisStore != nil && cfg.EventHookSecret != "" {
		store = conversion.NewRedisStore(redisStore.Client())
	}
	var rep conversion.Reporter
	if c, ok := sender.(*eightbyeight.Client); ok && cfg.Conversion.Feedback {
		rep = c
	}
	return conversion.New(cc, store, rep, logger, opt.Now)
}

// refusalBurst is how many refusals per reason and minute are logged in
// full.
const refusalBurst = 5

// profileWait bounds how long the start-up waits for the account's speech
// profiles when VOICE_PROFILE is set (refusing it at start needs the
// list). Without it the start-up does not wait: the built-in table serves
// until the list arrives, a fraction of a second later.
const profileWait = 2 * time.Second

// profileReadBudget bounds the read of the account's speech profiles.
const profileReadBudget = 10 * time.Second

type profileRead struct {
	voices []message.Voice
	err    error
}

// readProfiles reads the account's speech profiles in the background,
// within the start-up's budget, then opens (and TLS-handshakes) the
// connections to both 8x8 hosts, so the first Okta call does not pay for
// them: the read is the voice host's first request, and its connection is
// the one the calls reuse.
func readProfiles(ctx context.Context, c *eightbyeight.Client) (<-chan profileRead, context.CancelFunc) {
	ch := make(chan profileRead, 1)
	// The read may outlive the start-up, which does not always wait for
	// it: its own bound, not the start-up's.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), profileReadBudget)
	go func() {
		defer cancel()
		defer c.Warm(rctx)
		ps, err := c.SpeechProfiles(rctx)
		var vs []message.Voice
		for _, p := range ps {
			vs = append(vs, message.Voice{Code: p.Code, Locale: p.Locale})
		}
		ch <- profileRead{vs, err}
		close(ch)
	}()
	return ch, cancel
}

// waitProfiles turns the account's speech profiles into the voice chooser.
// It holds the start-up only to check a VOICE_PROFILE, and then briefly:
// otherwise, or past the wait, the built-in table serves and late
// delivers the list when it comes. A VOICE_PROFILE the account's list
// lacks is a configuration error.
func waitProfiles(ctx context.Context, ch <-chan profileRead, override string, logger *slog.Logger) (v *message.Voices, late <-chan profileRead, err error) {
	if ch == nil { // dry run: no 8x8 account to ask
		return message.BuiltinVoices(), nil, nil
	}
	if override == "" {
		return message.BuiltinVoices(), ch, nil
	}
	t := time.NewTimer(profileWait)
	defer t.Stop()
	select {
	case r := <-ch:
		v = accountVoices(r, logger)
		if v == nil {
			return message.BuiltinVoices(), nil, nil
		}
		if lacks(v, override) {
			return nil, nil, fmt.Errorf("%s %q is not one of this 8x8 account's speech profiles", config.VoiceProfile, override)
		}
		logVoices(logger, v)
		return v, nil, nil
	case <-t.C:
	case <-ctx.Done():
	}
	logger.Warn("this 8x8 account's speech profiles did not arrive in time: using the built-in voice per locale until they do")
	return message.BuiltinVoices(), ch, nil
}

// accountVoices is the voice chooser for the account's list, or nil, with
// a warning, when the list could not be read (the built-in table serves).
func accountVoices(r profileRead, logger *slog.Logger) *message.Voices {
	if r.err != nil {
		logger.Warn("could not read this 8x8 account's speech profiles: using the built-in voice per locale", "error", r.err.Error())
		return nil
	}
	return message.NewVoices(r.voices)
}

// lacks says whether profile (VOICE_PROFILE, if set) is missing from the
// account's own list.
func lacks(v *message.Voices, profile string) bool {
	return profile != "" && v.FromAccount() && !v.Has(profile)
}

// logVoices says, once, which voice each locale speaks with.
func logVoices(logger *slog.Logger, v *message.Voices) {
	logger.Info("voice profiles chosen", "fromAccount", v.FromAccount(), "voices", v.Choices())
}

// NewVerifier starts the OAuth verifier for o: the first fetch of the
// issuer's key set happens here, bounded by ctx.
func NewVerifier(ctx context.Context, o config.OAuth, opt Options, logger *slog.Logger) (*oauth.Verifier, error) {
	return oauth.New(ctx, oauth.Config{
		Issuer: o.Issuer, Audience: o.Audience, Scope: o.Scope,
		ClientID: o.ClientID, HTTPClient: opt.JWKSClient, Now: opt.Now,
	}, logger)
}

type redisLogger struct{ l *slog.Logger }

func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	r.l.DebugContext(ctx, "redis client", "detail", fmt.Sprintf(format, v...))
}

// Started logs how the instance runs, once its configuration loaded.
func (a *App) Started(took time.Duration) {
	c := a.Config
	msg := "configuration loaded: delivering through 8x8"
	if c.DryRun {
		msg = "configuration loaded: DRY RUN, nothing is sent (" + c.DryRunReason + ")"
	}
	auth := "header"
	switch {
	case c.OpenAuth:
		auth = "none (local dry run)"
	case c.Secret != "" && c.OAuth.Issuer != "":
		auth = "header or oauth"
	case c.OAuth.Issuer != "":
		auth = "oauth"
	}
	store := "memory"
	if c.RedisURL != "" {
		store = "redis"
	}
	a.Logger.Info(msg, "dryRun", c.DryRun, "dryRunReason", c.DryRunReason, "auth", auth, "guardStore", store,
		"secretReferences", c.SecretRefs, "deadline", c.Deadline.String(), "startupMs", took.Milliseconds())
	if c.Deployed && c.RedisURL == "" && (c.Conversion.Mode != conversion.Off || c.Conversion.Feedback) {
		a.Logger.Warn("the conversion guard's state is per instance without REDIS_URL: correct only with one instance (--max-instances=1); with more, verified codes are reported to 8x8 as failures",
			"conversionGuard", c.Conversion.Mode.String(), "smsFeedback", c.Conversion.Feedback)
	}
	if c.Deployed && len(c.Policy.Allowed) == 0 {
		a.Logger.Warn("ALLOWED_COUNTRIES is not set: codes may be sent to any country; set it to the countries your users are in (toll fraud)")
	}
}

// closeWithin runs close, waiting for it only until ctx ends (it then
// finishes, or not, in the background: the process is exiting).
func closeWithin(ctx context.Context, close func() error) error {
	done := make(chan error, 1)
	go func() { done <- close() }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close releases connections (Redis, the log client, the JWKS refresher),
// in the reverse order of their opening, within ctx.
func (a *App) Close(ctx context.Context) error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		errs = append(errs, a.closers[i](ctx))
	}
	a.closers = nil
	return errors.Join(errs...)
}
