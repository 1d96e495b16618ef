// Package telephonyhook is the Okta telephony inline hook delivered through
// 8x8, as a Google Cloud Functions Framework function. The registered
// function OktaTelephonyHook serves every route of DESIGN.md §1: POST /
// (the hook), GET / and /healthz, POST /8x8/events (8x8 delivery receipts)
// and GET/POST /okta/events (Okta's event hook).
//
// Every entry point, Cloud Run's buildpack main (funcframework.Start) and
// `go run ./cmd` alike, serves the same registered function, and the
// function itself drains on SIGTERM: the framework's server has no
// graceful shutdown of its own.
package telephonyhook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/GoogleCloudPlatform/functions-framework-go/functions"

	"github.com/telephony-hooks/okta-8x8/internal/app"
	"github.com/telephony-hooks/okta-8x8/internal/config"
	"github.com/telephony-hooks/okta-8x8/internal/hook"
	"github.com/telephony-hooks/okta-8x8/internal/httpjson"
	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/memlimit"
	"github.com/telephony-hooks/okta-8x8/internal/okta/oauth"
)

// FunctionName is the name the function is registered and deployed under.
const FunctionName = "OktaTelephonyHook"

func init() {
	// Registration only: configuration and secrets are loaded by the first
	// request (no I/O in init).
	functions.HTTP(FunctionName, OktaTelephonyHook)
}

// registered is the instance behind the registered function: built from
// the process environment once, never reconfigured. Its state (the loaded
// configuration, requests in flight) lives inside it.
var registered = New(Options{OwnsProcess: true})

// OktaTelephonyHook is the registered function.
func OktaTelephonyHook(w http.ResponseWriter, r *http.Request) {
	registered.ServeHTTP(w, r)
}

// Ready loads the registered function's configuration now (cmd calls it
// before serving, to print how the hook runs) and returns it, or why it
// could not load.
func Ready(ctx context.Context) (*config.Config, error) { return registered.Ready(ctx) }

// Options build a Function. The zero value reads the process environment
// and logs to stdout.
type Options struct {
	Getenv      func(string) string // configuration (nil: os.Getenv)
	Stdout      io.Writer           // log lines (nil: os.Stdout)
	NewAccessor config.NewAccessor  // Secret Manager (nil: the real client)
	App         app.Options         // clients and clock, for tests
	// OwnsProcess makes the Function own what is the process's: on
	// SIGTERM (Cloud Run scale-in, a new revision: 10 s of grace) or
	// SIGINT it finishes every request in flight, flushes the logs, closes
	// Redis and exits 0; a closed stdout does not kill it (SIGPIPE); and
	// without GOMEMLIMIT the Go heap gets a soft limit from the
	// container's memory limit. Only the registered instance sets it: a
	// process has one.
	OwnsProcess bool
	// Exit ends the process after a drain (nil: os.Exit).
	Exit func(code int)
}

const (
	// startupBudget bounds one load: Secret Manager, the JWKS.
	startupBudget = 10 * time.Second
	// waitBudget is how long a request waits for a load in flight before
	// answering 503 (Okta falls back) while the load goes on.
	waitBudget = 2 * time.Second
	// reloadAfter: after a failed load (its transient errors already
	// retried), requests answer 503 with its error at once for this long
	// before one loads again: a configuration error under steady traffic
	// costs a load a second, not one per request.
	reloadAfter = time.Second
	// drainBudget bounds the drain after SIGTERM: every request answers
	// within HOOK_DEADLINE (at most 2.9 s). With closing and the last log
	// flush (below) the whole shutdown fits in Cloud Run's 10 s.
	drainBudget = 7 * time.Second
	// closeBudget and flushBudget bound closing the app and flushing the
	// log lines after the drain.
	closeBudget = 2 * time.Second
	flushBudget = 500 * time.Millisecond
)

// Function is the hook as one http.Handler: a lazy cold start that keeps
// a failure only for reloadAfter (then a request loads again; one load at
// a time however many requests arrive), and a drain on shutdown.
type Function struct {
	opt    Options
	out    *outputSwitch   // where stdout lines go: opt.Stdout, then the real stdout
	stdout *logging.Writer // every log line, bounded
	boot   *slog.Logger    // logs load failures, before the configured logger exists

	ready atomic.Pointer[app.App]

	mu       sync.Mutex
	loading  chan struct{} // closed when the load in flight ends
	lastErr  error
	failedAt time.Time // when lastErr was set

	drain   drainer
	signals sync.Once
}

// New returns a Function; nothing is loaded until the first request (or
// Ready).
func New(opt Options) *Function {
	if opt.Getenv == nil {
		opt.Getenv = os.Getenv
	}
	if opt.Stdout == nil {
		opt.Stdout = os.Stdout
	}
	if opt.Exit == nil {
		opt.Exit = os.Exit
	}
	// A stalled or closed stdout must never hold an answer back: every
	// line goes through one bounded writer.
	out := &outputSwitch{}
	out.set(opt.Stdout)
	stdout := logging.NewWriter(out, logging.WriterOptions{})
	return &Function{
		opt:    opt,
		out:    out,
		stdout: stdout,
		boot:   slog.New(logging.NewHandler(stdout, logging.Options{Level: slog.LevelInfo})),
	}
}

// outputSwitch is an io.Writer whose target can change while it is used.
type outputSwitch struct{ w atomic.Pointer[io.Writer] }

func (s *outputSwitch) set(w io.Writer)             { s.w.Store(&w) }
func (s *outputSwitch) Write(p []byte) (int, error) { return (*s.w.Load()).Write(p) }

// Ready loads the configuration if it is not loaded yet.
func (f *Function) Ready(ctx context.Context) (*config.Config, error) {
	f.start()
	a, err := f.get(ctx)
	if err != nil {
		return nil, err
	}
	return a.Config, nil
}

// get returns the loaded app, starting a load if none is running and
// waiting for it at most until ctx ends.
func (f *Function) get(ctx context.Context) (*app.App, error) {
	if a := f.ready.Load(); a != nil {
		return a, nil
	}
	f.mu.Lock()
	if a := f.ready.Load(); a != nil {
		f.mu.Unlock()
		return a, nil
	}
	if f.loading == nil {
		if f.lastErr != nil && f.now().Sub(f.failedAt) < reloadAfter {
			err := f.lastErr
			f.mu.Unlock()
			return nil, err
		}
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

// now is the clock of the reload backoff: the app's (tests set it).
func (f *Function) now() time.Time {
	if f.opt.App.Now != nil {
		return f.opt.App.Now()
	}
	return time.Now()
}

// load runs detached from any one request, so a short request does not
// cancel a load that the next one can use.
func (f *Function) load(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), startupBudget)
	defer cancel()
	start := time.Now()
	a, err := f.build(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loading = nil
	f.lastErr, f.failedAt = err, f.now()
	if err == nil {
		f.ready.Store(a)
		a.Started(time.Since(start))
	} else {
		f.boot.Error("configuration not loaded: every request answers 503 until it is", "error", err.Error())
	}
	close(done)
}

func (f *Function) build(ctx context.Context) (*app.App, error) {
	opts := f.opt.App
	opts.Stdout = f.stdout
	opts.Terminal = isTerminal(f.opt.Stdout)
	if f.opt.OwnsProcess {
		opts.MemoryLimit, opts.MemoryLimitSource = memlimit.Apply(f.opt.Getenv, nil)
	}
	// Fetch the OAuth issuer's keys while Secret Manager is read: the
	// cold start waits for the slower of the two, not for both in turn.
	type started struct {
		v   *oauth.Verifier
		o   config.OAuth
		err error
	}
	var early chan started
	if o, ok := config.OAuthFromEnv(f.opt.Getenv); ok {
		early = make(chan started, 1)
		go func() {
			v, err := app.NewVerifier(ctx, o, opts, f.boot)
			early <- started{v, o, err}
		}()
	}
	cfg, err := config.Load(ctx, f.opt.Getenv, config.Options{NewAccessor: f.opt.NewAccessor})
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

var (
	bodyStarting    = []byte(`{"status":"unavailable"}`)
	bodyUnavailable = []byte(`{"error":{"errorSummary":"service unavailable"}}`)
	bodyStopping    = []byte(`{"error":{"errorSummary":"shutting down"}}`)
)

// ServeHTTP serves every route; see the package documentation.
func (f *Function) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	f.start()
	if !f.drain.enter(r) {
		// Past the drain: nothing was sent, so Okta's fallback is safe.
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusServiceUnavailable, bodyStopping)
		return
	}
	defer f.drain.leave(w)
	if a := f.ready.Load(); a != nil {
		a.Handler.ServeHTTP(w, r)
		return
	}
	// A cold start: the time spent loading comes out of this request's
	// budget, not on top of it.
	ctx, cancel := context.WithTimeout(r.Context(), waitBudget)
	defer cancel()
	a, err := f.get(ctx)
	if err == nil {
		a.Handler.ServeHTTP(w, r.WithContext(hook.WithArrival(r.Context(), arrived)))
		return
	}
	// Not loaded: 503 on our routes makes Okta fall back to its own
	// provider; a request reloadAfter later tries to load again.
	w.Header().Set("Retry-After", "1")
	switch r.URL.Path {
	case "/", "/healthz":
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			writeJSON(w, http.StatusServiceUnavailable, bodyStarting)
			return
		}
		fallthrough
	case "/8x8/events", "/okta/events":
		writeJSON(w, http.StatusServiceUnavailable, bodyUnavailable)
		f.boot.Error("request refused: configuration not loaded", "path", r.URL.Path, "error", err.Error())
	default:
		http.NotFound(w, r)
	}
}

var writeJSON = httpjson.Write

// start installs the signal handling of a Function that owns the process,
// once, on its first use (not in init: a test binary importing the
// package keeps Go's default signal behaviour).
func (f *Function) start() {
	if !f.opt.OwnsProcess {
		return
	}
	f.signals.Do(func() {
		// A reader that left (a closed pipe on stdout) must not kill the
		// process with SIGPIPE: the write fails, the logging writer counts
		// the line as dropped, and the answers keep going.
		signal.Ignore(syscall.SIGPIPE)
		// On Cloud Run the framework writes to both streams after every
		// request (see guardStdio); elsewhere it does not, and what the
		// local run prints on stderr must reach it before an exit.
		if f.opt.Getenv(config.KService) != "" {
			guardStdio(f.boot, f.out)
		}
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, os.Interrupt)
		go func() {
			sig := <-c
			f.boot.Info("shutting down: finishing the requests in flight", "signal", sig.String(), "inFlight", f.drain.inFlight())
			ctx, cancel := context.WithTimeout(context.Background(), drainBudget)
			err := f.Shutdown(ctx)
			cancel()
			code := 0
			if err != nil {
				f.boot.Error("shutdown incomplete", "error", err.Error())
				code = 1
			}
			f.opt.Exit(code)
		}()
	})
}

// Shutdown stops taking new work once every request in flight has been
// answered (requests arriving meanwhile are served too), then closes the
// app (the conversion tracker's last reports, the log sink, Redis) and
// flushes the log lines, each within a short bound. After it, requests
// get 503. Its error says whether requests were still in flight when ctx
// ended; what could not be flushed is reported, if the logs still can be.
func (f *Function) Shutdown(ctx context.Context) error {
	err := f.drain.wait(ctx)
	if a := f.ready.Load(); a != nil {
		// Its own budget: a drain that used all of ctx must not skip
		// the tracker's last reports or the log sink's flush.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeBudget)
		if err := a.Close(cctx); err != nil {
			f.boot.Warn("shutdown: closing left work undone", "error", err.Error())
		}
		cancel()
	}
	// A stalled stdout cannot hold the exit: what is not out by then is
	// dropped.
	lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), flushBudget)
	defer cancel()
	_ = f.stdout.Close(lctx)
	return err
}

// drainer counts requests in flight and, once draining, closes the door
// after the last one.
type drainer struct {
	mu       sync.Mutex
	n        int
	draining bool
	closed   bool
	idle     chan struct{} // closed when n reaches 0 while draining
	srv      *http.Server  // the framework's server, to stop keep-alives
}

func (d *drainer) enter(r *http.Request) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	if d.srv == nil {
		// funcframework owns the server; the request carries it.
		if s, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok {
			d.srv = s
		}
	}
	d.n++
	return true
}

// leave flushes the answer to the connection before the request stops
// counting: the process may exit as soon as the count reaches zero, and
// net/http only writes a buffered answer after the handler returns.
func (d *drainer) leave(w http.ResponseWriter) {
	_ = http.NewResponseController(w).Flush()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n--
	if d.n == 0 && d.draining {
		d.closed = true
		close(d.idle)
	}
}

func (d *drainer) inFlight() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}

func (d *drainer) wait(ctx context.Context) error {
	d.mu.Lock()
	if !d.draining {
		d.draining = true
		d.idle = make(chan struct{})
		if d.n == 0 {
			d.closed = true
			close(d.idle)
		}
		if d.srv != nil {
			// Idle keep-alive connections close; clients reconnect to
			// another instance.
			d.srv.SetKeepAlivesEnabled(false)
		}
	}
	idle := d.idle
	d.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		d.mu.Lock()
		n := d.n
		d.closed = true
		d.mu.Unlock()
		return errors.New(strconv.Itoa(n) + " requests still in flight when the drain budget ran out")
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
