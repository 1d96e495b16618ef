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
	"sync"
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
	Stdout      io.Writer        // the process's log writer, which outlives every App
	Terminal    bool             // Stdout is a terminal: text lines, locally, unless LOG_FORMAT says
	MemoryLimit int64            // the Go heap's soft limit (0: none), which sizes the in-memory state
	HTTPClient  *http.Client     // for 8x8; nil: eightbyeight.NewHTTPClient()
	Now         func() time.Time // nil: time.Now
}

const (
	// failCloseBudget bounds closing what a failed start opened: a stalled
	// close (the Logging API's, for minutes) must not hold the next load.
	failCloseBudget = 2 * time.Second
	profileBudget   = 2 * time.Second         // the read of the account's speech profiles
	warmBudget      = 10 * time.Second        // the background warm-up of 8x8's connections
	closeTracker    = 1500 * time.Millisecond // the conversion tracker's last settle
	refusalBurst    = 5                       // refusals logged in full per reason and minute
	// The parts of the Go heap's soft limit the guard's state and the
	// conversion tracker's may fill at their caps; with the garbage
	// collector's room they stay within it, the rest is the request path's.
	guardMemoryShare      = 0.2
	conversionMemoryShare = 0.15
)

// Build assembles the hook. ctx bounds start-up work (the first JWKS
// fetch, the speech profiles); the 8x8 connection warm-up runs in the
// background. A failed start closes what it opened within failCloseBudget.
func Build(ctx context.Context, cfg *config.Config, opt Options) (_ *App, err error) {
	a := &App{Config: cfg}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), failCloseBudget)
			defer cancel()
			_ = a.Close(cctx)
		}
	}()
	logger, err := a.newLogger(ctx, cfg, opt)
	if err != nil {
		return nil, err
	}
	a.Logger = logger
	phones, err := phone.NewParser(cfg.DefaultRegion)
	if err != nil {
		return nil, err
	}
	// Compile the number patterns of the regions users are expected in
	// now, not during the first sign-in from each (at most 20).
	phones.Warm(slices.Sorted(maps.Keys(cfg.Policy.Allowed))[:min(len(cfg.Policy.Allowed), 20)]...)
	var rdb *redis.Client // one pool for the guard and the conversion tracker
	var primary guard.Store
	if cfg.RedisURL != "" {
		redisLoggerOnce.Do(func() {
			redis.SetLogger(redisLogger{slog.New(logging.NewHandler(opt.Stdout, logging.Options{Level: cfg.LogLevel}))})
		})
		if rdb, err = redisstore.Open(cfg.RedisURL, cfg.RedisCACert); err != nil {
			return nil, err
		}
		primary = redisstore.NewGuardStore(rdb)
		a.closers = append(a.closers, func(context.Context) error { return rdb.Close() })
	}
	secret := keySecret(cfg)
	answers, windows := guard.CapsFor(int64(float64(opt.MemoryLimit) * guardMemoryShare))
	g, err := guard.New(guard.Config{
		PerPhone: cfg.PerPhone, PerUser: cfg.PerUser, PerCountry: cfg.PerCountry, PerIP: cfg.PerIP,
		MaxAnswers: answers, MaxWindows: windows, KeySecret: secret,
	}, primary, logger, opt.Now)
	if err != nil {
		return nil, err
	}
	// At shutdown, before Redis closes: answers held only in memory go back.
	a.closers = append(a.closers, g.Close)

	var sender hook.Sender
	voices := message.BuiltinVoices()
	if !cfg.DryRun {
		client, err := eightbyeight.New(eightbyeight.Config{VoiceURL: cfg.VoiceURL, SMSURL: cfg.SMSURL,
			SubaccountID: cfg.SubaccountID, APIKey: cfg.APIKey, HTTPClient: opt.HTTPClient})
		if err != nil {
			return nil, err
		}
		sender = client
		// The read is the voice host's first request: its connection is
		// the one the calls reuse; Warm opens the SMS host's.
		voices = readVoices(ctx, client, logger)
		warmCtx, stop := context.WithTimeout(context.WithoutCancel(ctx), warmBudget)
		go client.Warm(warmCtx)
		a.closers = append(a.closers, func(context.Context) error { stop(); client.CloseIdleConnections(); return nil })
		if p := cfg.VoiceProfile; p != "" && voices.FromAccount() && !voices.Has(p) {
			return nil, fmt.Errorf("%s %q is not one of this 8x8 account's speech profiles", config.VoiceProfile, p)
		}
	}

	auth := hook.Auth{Header: okta.NewHeaderAuth(cfg.AuthHeader, cfg.Secret), Open: cfg.OpenAuth}
	if o := cfg.OAuth; o.Issuer != "" {
		v, err := oauth.New(oauth.Config{Issuer: o.Issuer, Audience: o.Audience, Scope: o.Scope, ClientID: o.ClientID, Now: opt.Now}, logger)
		if err != nil {
			return nil, err
		}
		auth.OAuth = v
		a.closers = append(a.closers, func(context.Context) error { v.Close(); return nil })
	}

	failure := hook.Fallback
	if cfg.ErrorOnFailure {
		failure = hook.ErrorObject
	}
	// A flood of wrong secrets costs a line a minute, not one a request.
	refusals := logging.NewSampler(refusalBurst, time.Minute, opt.Now)
	a.closers = append(a.closers, func(context.Context) error { refusals.Flush(logger); return nil })
	tracker := newTracker(cfg, opt, secret, rdb, sender, refusals, logger)
	// Without the event hook's secret the route refuses every delivery.
	events := tracker.Handler(okta.NewHeaderAuth(cfg.EventHookHeader, cfg.EventHookSecret))
	var conv hook.Conversion
	if cfg.EventHookSecret != "" {
		// The loop settles due work (8x8 failure reports, expired codes)
		// and refreshes the verdicts; Close does the last of it.
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
	a.Handler = hook.New(hook.Options{
		Deadline: cfg.Deadline, OnFailure: failure, DryRun: cfg.DryRun, PreviewDryRun: cfg.PreviewDryRun,
		CallerID: cfg.CallerID, SMSSource: cfg.SMSSource, VoiceProfile: cfg.VoiceProfile,
		Repetitions: cfg.Repetitions, Policy: cfg.Policy, TrackSMS: cfg.Conversion.Feedback,
	}, hook.Deps{
		Voices: voices, Events: events, Conversion: conv, Auth: auth, Phones: phones, Guard: g, Sender: sender,
		Receipts: receipts.NewHandler(cfg.WebhookSecret, logger, refusals), Refusals: refusals, Logger: logger, Now: opt.Now,
	})
	return a, nil
}

// newLogger builds the configured logger: JSON lines (text on a local
// terminal) to opt.Stdout, or to the Cloud Logging API with
// LOG_SINK=cloudlogging.
func (a *App) newLogger(ctx context.Context, cfg *config.Config, opt Options) (*slog.Logger, error) {
	format := logging.JSON
	// The Cloud Logging sink reads JSON lines: text would be lost.
	if cfg.LogSink != "cloudlogging" && (cfg.LogFormat == "text" || (cfg.LogFormat == "" && opt.Terminal && !cfg.Deployed)) {
		format = logging.Text
	}
	project := cfg.ProjectID
	if project == "" {
		project = logging.ProjectID(ctx)
	}
	out := opt.Stdout
	if cfg.LogSink == "cloudlogging" {
		if project == "" {
			return nil, errors.New("LOG_SINK=cloudlogging needs GOOGLE_CLOUD_PROJECT or the metadata server")
		}
		sink, err := logging.NewCloudSink(ctx, project, "okta-telephony-hook")
		if err != nil {
			return nil, err
		}
		a.closers = append(a.closers, sink.Close)
		out = sink
	}
	return slog.New(logging.NewHandler(out, logging.Options{Level: cfg.LogLevel, Format: format, ProjectID: project})), nil
}

// keySecret keys the hashes that name phone numbers, users, IPs and
// eventIds in the stores: REDIS_KEY_SECRET, required with REDIS_URL;
// without Redis nothing is shared, and a random one per instance will do.
func keySecret(cfg *config.Config) []byte {
	if cfg.RedisKeySecret != "" {
		return redisstore.DeriveSecret(cfg.RedisKeySecret)
	}
	return []byte(rand.Text())
}

// newTracker builds the conversion tracker on the guard's Redis pool; it
// reports SMS outcomes through the 8x8 client (none in a dry run).
func newTracker(cfg *config.Config, opt Options, secret []byte, rdb *redis.Client, sender hook.Sender,
	refusals *logging.Sampler, logger *slog.Logger) *conversion.Tracker {
	cc := conversion.DefaultConfig()
	cc.Mode, cc.Window, cc.Grace = cfg.Conversion.Mode, cfg.Conversion.Window, cfg.Conversion.Grace
	cc.MinSends, cc.MinRate, cc.Feedback = cfg.Conversion.MinSends, cfg.Conversion.MinRate, cfg.Conversion.Feedback
	cc.KeySecret, cc.Refusals = secret, refusals
	cc.Memory = conversion.CapsFor(int64(float64(opt.MemoryLimit) * conversionMemoryShare))
	var store *redisstore.Conversion
	if rdb != nil && cfg.EventHookSecret != "" {
		store = redisstore.NewConversion(rdb)
	}
	var rep conversion.Reporter
	if c, ok := sender.(*eightbyeight.Client); ok && cfg.Conversion.Feedback {
		rep = c
	}
	return conversion.New(cc, store, rep, logger, opt.Now)
}

// readVoices reads the account's speech profiles, within profileBudget,
// into the voice chooser; the built-in table serves when the read fails.
func readVoices(ctx context.Context, c *eightbyeight.Client, logger *slog.Logger) *message.Voices {
	rctx, cancel := context.WithTimeout(ctx, profileBudget)
	defer cancel()
	ps, err := c.SpeechProfiles(rctx)
	if err != nil {
		logger.Warn("could not read this 8x8 account's speech profiles: using the built-in voice per locale", "error", err.Error())
		return message.BuiltinVoices()
	}
	vs := make([]message.Voice, 0, len(ps))
	for _, p := range ps {
		vs = append(vs, message.Voice{Code: p.Code, Locale: p.Locale})
	}
	v := message.NewVoices(vs)
	logger.Info("voice profiles chosen", "fromAccount", v.FromAccount(), "voices", v.Choices())
	return v
}

// go-redis's logger is process-wide and outlives any one App: it is set
// once, to the process's log writer, which no reload closes (never to an
// App's sink), at debug: the guard warns about Redis once a minute. The
// environment, LOG_LEVEL included, is the process's: a reload reads the same.
var redisLoggerOnce sync.Once

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
	auth, store := "header", "memory"
	switch {
	case c.OpenAuth:
		auth = "none (local dry run)"
	case c.OAuth.Issuer != "" && c.Secret != "":
		auth = "header or oauth"
	case c.OAuth.Issuer != "":
		auth = "oauth"
	}
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

// Close writes back what the conversion tracker and the guard hold and
// releases what the App opened (Redis, the log sink, the JWKS refresher),
// in the reverse order of their opening. It returns when ctx ends even if
// a close has not: that one finishes, or not, in the background.
func (a *App) Close(ctx context.Context) error {
	closers := a.closers
	a.closers = nil
	done := make(chan error, 1)
	go func() {
		var errs []error
		for i := len(closers) - 1; i >= 0; i-- {
			errs = append(errs, closers[i](ctx))
		}
		done <- errors.Join(errs...)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
