// Package telephonyhook is the Okta telephony inline hook delivered through
// 8x8, as a Google Cloud Functions Framework function. The function
// OktaTelephonyHook serves every route: POST / (the hook), GET / and
// /healthz, and POST /8x8/events (8x8 delivery receipts).
package telephonyhook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/telephony-hooks/okta-8x8/internal/app"
	"github.com/telephony-hooks/okta-8x8/internal/config"
	"github.com/telephony-hooks/okta-8x8/internal/hook"
	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/okta/oauth"
)

// FunctionName is the name the function is registered and deployed under.
const FunctionName = "OktaTelephonyHook"

func init() {
	// Registration only: configuration and secrets are loaded by the first
	// request (no I/O in init).
	functions.HTTP(FunctionName, OktaTelephonyHook)
}

var instance = newFunction(os.Getenv, os.Stdout)

// OktaTelephonyHook is the registered function.
func OktaTelephonyHook(w http.ResponseWriter, r *http.Request) {
	instance.ServeHTTP(w, r)
}

// LocalRun marks this process as the local run (`go run ./cmd`): without
// 8x8 credentials it then starts in dry run instead of refusing requests.
// Call it before the first request.
func LocalRun() { instance.local.Store(true) }

// Ready loads the configuration now (cmd calls it before listening) and
// returns the loaded configuration, or why it could not load.
func Ready(ctx context.Context) (*config.Config, error) {
	a, err := instance.get(ctx)
	if err != nil {
		return nil, err
	}
	return a.Config, nil
}

const (
	// startupBudget bounds one load: Secret Manager, the JWKS.
	startupBudget = 10 * time.Second
	// waitBudget is how long a request waits for a load in flight before
	// answering 503 (Okta falls back) while the load goes on.
	waitBudget = 2 * time.Second
)

// function is the lazily loaded hook. A failed load is not kept: the next
// request tries again (never a sync.Once around something that can fail),
// and one load at a time runs however many requests arrive.
type function struct {
	getenv      func(string) string
	stdout      io.Writer
	newAccessor config.NewAccessor
	opts        app.Options
	local       atomic.Bool // the local run (cmd): see config.Options.Local

	ready atomic.Pointer[app.App]

	mu      sync.Mutex
	loading chan struct{} // closed when the load in flight ends
	lastErr error
	boot    *slog.Logger // logs load failures, before the configured logger exists
}

func newFunction(getenv func(string) string, stdout io.Writer) *function {
	return &function{
		getenv: getenv,
		stdout: stdout,
		boot:   slog.New(logging.NewHandler(stdout, logging.Options{Level: slog.LevelInfo})),
	}
}

// get returns the loaded app, starting a load if none is running and
// waiting for it at most until ctx ends.
func (f *function) get(ctx context.Context) (*app.App, error) {
	if a := f.ready.Load(); a != nil {
		return a, nil
	}
	f.mu.Lock()
	if a := f.ready.Load(); a != nil {
		f.mu.Unlock()
		return a, nil
	}
	if f.loading == nil {
		f.loading = make(chan struct{})
		go f.load(f.loading)
	}
	ch := f.loading
	f.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		return nil, errors.New("configuration is still loading")
	}
	if a := f.ready.Load(); a != nil {
		return a, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return nil, f.lastErr
}

// load runs detached from any one request, so a short request does not
// cancel a load that the next one can use.
func (f *function) load(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), startupBudget)
	defer cancel()
	start := time.Now()
	a, err := f.build(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loading = nil
	f.lastErr = err
	if err == nil {
		f.ready.Store(a)
		msg := "configuration loaded: delivering through 8x8"
		if a.Config.DryRun {
			msg = "configuration loaded: DRY RUN, nothing is sent (" + a.Config.DryRunReason + ")"
		}
		a.Logger.Info(msg, startupAttrs(a.Config, time.Since(start))...)
		if a.Config.Deployed && len(a.Config.Policy.Allowed) == 0 {
			a.Logger.Warn("ALLOWED_COUNTRIES is not set: codes may be sent to any country; set it to the countries your users are in (toll fraud)")
		}
	} else {
		f.boot.Error("configuration not loaded: every request answers 503 until it is", "error", err.Error())
	}
	close(done)
}

func (f *function) build(ctx context.Context) (*app.App, error) {
	opts := f.opts
	opts.Stdout = f.stdout
	// Fetch the OAuth issuer's keys while Secret Manager is read: the
	// cold start waits for the slower of the two, not for both in turn.
	type started struct {
		v   *oauth.Verifier
		o   config.OAuth
		err error
	}
	var early chan started
	if o, ok := config.OAuthFromEnv(f.getenv); ok {
		early = make(chan started, 1)
		go func() {
			v, err := app.NewVerifier(ctx, o, opts, f.boot)
			early <- started{v, o, err}
		}()
	}
	cfg, err := config.Load(ctx, f.getenv, config.Options{NewAccessor: f.newAccessor, Local: f.local.Load()})
	if early != nil {
		s := <-early
		if err == nil && s.err == nil && s.o == cfg.OAuth {
			opts.Verifier = s.v
		} else if s.v != nil {
			s.v.Close()
		}
	}
	if err != nil {
		return nil, err
	}
	a, err := app.Build(ctx, cfg, opts)
	if err != nil && opts.Verifier != nil {
		opts.Verifier.Close()
	}
	return a, err
}

func startupAttrs(c *config.Config, took time.Duration) []any {
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
	return []any{"dryRun", c.DryRun, "dryRunReason", c.DryRunReason, "auth", auth, "guardStore", store,
		"secretReferences", c.SecretRefs, "deadline", c.Deadline.String(), "startupMs", took.Milliseconds()}
}

var (
	bodyStarting    = []byte(`{"status":"unavailable"}`)
	bodyUnavailable = []byte(`{"error":{"errorSummary":"service unavailable"}}`)
)

func (f *function) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a := f.ready.Load(); a != nil {
		a.Handler.ServeHTTP(w, r)
		return
	}
	// A cold start: the time spent loading comes out of this request's
	// budget, not on top of it.
	arrived := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), waitBudget)
	defer cancel()
	a, err := f.get(ctx)
	if err == nil {
		a.Handler.ServeHTTP(w, r.WithContext(hook.WithArrival(r.Context(), arrived)))
		return
	}
	// Not loaded: 503 on our routes makes Okta fall back to its own
	// provider; the next request tries to load again.
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Retry-After", "1")
	switch r.URL.Path {
	case "/", "/healthz":
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write(bodyStarting)
			return
		}
		fallthrough
	case "/8x8/events":
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(bodyUnavailable)
		f.boot.Error("request refused: configuration not loaded", "path", r.URL.Path, "error", err.Error())
	default:
		http.NotFound(w, r)
	}
}
