// Package telephonyhook is the Okta telephony inline hook delivered through
// 8x8, as a Google Cloud Functions Framework function: OktaTelephonyHook
// serves POST / (the hook), GET / and /healthz, POST /8x8/events (8x8's
// receipts) and GET/POST /okta/events (Okta's event hook). Cloud Run's
// buildpack main and `go run ./cmd` serve it alike, and it drains on
// SIGTERM itself: the framework's server has no graceful shutdown.
package telephonyhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
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
)

// FunctionName is the name the function is registered and deployed under.
const FunctionName = "OktaTelephonyHook"

func init() {
	// Registration only: configuration and secrets are loaded by the first
	// request (no I/O in init).
	functions.HTTP(FunctionName, OktaTelephonyHook)
}

// registered is the instance behind the registered function, built from
// the process environment on first use (importing the package starts
// nothing). It owns the process: signals (see start), the standard streams
// and the Go heap's soft limit.
var registered = sync.OnceValue(func() *Function { return newFunction(Options{}, true) })

// OktaTelephonyHook is the registered function.
func OktaTelephonyHook(w http.ResponseWriter, r *http.Request) {
	registered().ServeHTTP(w, r)
}

// Ready loads the registered function's configuration now (cmd calls it
// before serving, to print how the hook runs) and returns it, or why it
// could not load.
func Ready(ctx context.Context) (*config.Config, error) { return registered().Ready(ctx) }

// Options build a Function. The zero value reads the process environment
// and logs to stdout.
type Options struct {
	Getenv      func(string) string // configuration (nil: os.Getenv)
	Stdout      io.Writer           // log lines (nil: os.Stdout)
	NewAccessor config.NewAccessor  // Secret Manager (nil: the real client)
	App         app.Options         // the 8x8 HTTP client and the clock, for tests
}

const (
	// startupBudget bounds one load: Secret Manager, the JWKS.
	startupBudget = 10 * time.Second
	// waitBudget is how long a request waits for a load in flight before
	// answering 503 (Okta falls back) while the load goes on.
	waitBudget = 2 * time.Second
	// reloadAfter: after a failed load, requests answer 503 at once for
	// this long: a broken configuration costs a load a second.
	reloadAfter = time.Second
	// The shutdown fits in Cloud Run's 10 s: the drain (every request
	// answers within HOOK_DEADLINE, at most 2.9 s), closing the app,
	// flushing the log lines.
	drainBudget = 7 * time.Second
	closeBudget = 2 * time.Second
	flushBudget = 500 * time.Millisecond
	// notLoadedBurst requests refused for want of a configuration are
	// logged in full per minute; Okta keeps calling.
	notLoadedBurst = 5
)

// Function is the hook as one http.Handler: a lazy cold start that keeps
// a failure only for reloadAfter (then a request loads again; one load at
// a time however many requests arrive), and a drain on shutdown.
type Function struct {
	opt         Options
	ownsProcess bool             // the registered instance
	now         func() time.Time // the reload backoff's clock: the app's
	stdout      *logging.Writer  // every log line, bounded
	boot        *slog.Logger     // the load and the shutdown, at LOG_LEVEL
	notLoaded   *logging.Sampler // boot's lines for requests refused unloaded
	ready       atomic.Pointer[app.App]

	mu       sync.Mutex
	loading  chan struct{} // closed when the load in flight ends
	lastErr  error
	failedAt time.Time // when lastErr was set

	drain   drainer
	signals sync.Once
}

// New returns a Function; nothing loads until the first request or Ready.
func New(opt Options) *Function { return newFunction(opt, false) }

func newFunction(opt Options, ownsProcess bool) *Function {
	if opt.Getenv == nil {
		opt.Getenv = os.Getenv
	}
	if opt.Stdout == nil {
		opt.Stdout = os.Stdout
	}
	// A stalled or closed stdout must never hold an answer back: every
	// line goes through one bounded writer.
	f := &Function{opt: opt, ownsProcess: ownsProcess, now: opt.App.Now, stdout: logging.NewWriter(opt.Stdout)}
	if f.now == nil {
		f.now = time.Now
	}
	level, err := logging.ParseLevel(opt.Getenv(config.LogLevel))
	if err != nil {
		level = slog.LevelInfo // the load says what is wrong with it
	}
	f.boot = slog.New(logging.NewHandler(f.stdout, logging.Options{Level: level}))
	f.notLoaded = logging.NewSampler(notLoadedBurst, time.Minute, f.now)
	return f
}

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
	ch := f.loading
	if ch == nil && f.ready.Load() == nil {
		if f.lastErr != nil && f.now().Sub(f.failedAt) < reloadAfter {
			defer f.mu.Unlock()
			return nil, f.lastErr
		}
		ch = make(chan struct{})
		f.loading = ch
		go f.load(ch)
	}
	f.mu.Unlock()
	if ch != nil {
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, errors.New("configuration is still loading")
		}
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
func (f *Function) load(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), startupBudget)
	defer cancel()
	start := time.Now()
	opts := f.opt.App
	opts.Stdout, opts.Terminal = f.stdout, isTerminal(f.opt.Stdout)
	if f.ownsProcess {
		opts.MemoryLimit = memlimit.Apply(f.opt.Getenv)
	}
	var a *app.App
	cfg, err := config.Load(ctx, f.opt.Getenv, config.Options{NewAccessor: f.opt.NewAccessor})
	if err == nil {
		a, err = app.Build(ctx, cfg, opts)
	}
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

// ServeHTTP serves every route; see the package documentation.
func (f *Function) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	f.start()
	if !f.drain.enter(r) {
		// Past the drain: nothing was sent, so Okta's fallback is safe.
		w.Header().Set("Connection", "close")
		httpjson.Write(w, http.StatusServiceUnavailable, []byte(`{"error":{"errorSummary":"shutting down"}}`))
		return
	}
	defer f.drain.leave(w)
	if a := f.ready.Load(); a != nil {
		a.Handler.ServeHTTP(w, r)
		return
	}
	// A cold start: loading comes out of this request's budget.
	ctx, cancel := context.WithTimeout(r.Context(), waitBudget)
	defer cancel()
	a, err := f.get(ctx)
	if err == nil {
		a.Handler.ServeHTTP(w, r.WithContext(hook.WithArrival(r.Context(), arrived)))
		return
	}
	// Not loaded: a 503 makes Okta fall back to its own provider; other
	// methods get the 405 they get once loaded.
	path, read := r.URL.Path, r.Method == http.MethodGet || r.Method == http.MethodHead
	w.Header().Set("Retry-After", "1")
	switch {
	case (path == "/" || path == "/healthz") && read:
		httpjson.Write(w, http.StatusServiceUnavailable, []byte(`{"status":"unavailable"}`))
	case path == "/" && r.Method == http.MethodPost, path == "/8x8/events", path == "/okta/events":
		httpjson.Write(w, http.StatusServiceUnavailable, []byte(`{"error":{"errorSummary":"service unavailable"}}`))
		f.notLoaded.Log(r.Context(), f.boot, slog.LevelError, "configuration_not_loaded", "request refused: configuration not loaded",
			slog.String("path", path), slog.String("error", err.Error()))
	case path == "/" || path == "/healthz":
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
	default:
		http.NotFound(w, r)
	}
}

// start takes over the process for the registered Function, once, on its
// first use (not in init: a test binary importing the package keeps Go's
// default signal behaviour). On SIGTERM (Cloud Run scale-in, a new
// revision: 10 s of grace) or SIGINT it shuts down and exits 0.
func (f *Function) start() {
	if !f.ownsProcess {
		return
	}
	f.signals.Do(func() {
		// A reader that left (a closed stdout pipe) must not kill the
		// process: the write fails and the logging writer counts a drop.
		signal.Ignore(syscall.SIGPIPE)
		if f.opt.Getenv(config.KService) != "" {
			discardFrameworkOutput()
		}
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM, os.Interrupt)
		go func() {
			sig := <-c
			signal.Reset(syscall.SIGTERM, os.Interrupt) // a second one ends the process at once
			f.boot.Info("shutting down: finishing the requests in flight", "signal", sig.String(), "inFlight", f.drain.inFlight())
			ctx, cancel := context.WithTimeout(context.Background(), drainBudget)
			defer cancel()
			if f.Shutdown(ctx) != nil {
				os.Exit(1)
			}
			os.Exit(0)
		}()
	})
}

// discardFrameworkOutput sets the os.Stdout and os.Stderr variables to
// nil. On Cloud Run the Functions Framework prints a blank line to each
// after every request (fmt.Println reads the variable then): with the log
// reader stalled, that write would hold the connection after its answer.
// A method on a nil *os.File returns os.ErrInvalid without a system call,
// so those writes cost nothing. Discarded: those blank lines and the
// framework's panic reports (the hook recovers and logs its own). Our log
// lines keep the real stdout through the bounded writer; the log package
// and Go's crash reports keep the real stderr.
func discardFrameworkOutput() {
	os.Stdout, os.Stderr = nil, nil
}

// Shutdown stops taking new work once every request in flight has been
// answered (requests arriving meanwhile are served too), then closes the
// app and flushes the log lines, each within its budget; requests then get
// 503. Its error says whether requests were still in flight when ctx ended.
func (f *Function) Shutdown(ctx context.Context) error {
	err := f.drain.wait(ctx)
	if a := f.ready.Load(); a != nil {
		// Its own budget: a drain that used all of ctx must not skip
		// the tracker's last reports, the guard's write-back of answers
		// held only in memory, or the log sink's flush.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeBudget)
		if err := a.Close(cctx); err != nil {
			f.boot.Warn("shutdown: closing left work undone", "error", err.Error())
		}
		cancel()
	}
	if err != nil {
		f.boot.Error("shutdown incomplete", "error", err.Error())
	}
	f.notLoaded.Flush(f.boot)
	// A stalled stdout cannot hold the exit: what is not out is dropped.
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
			// Idle keep-alive connections close: clients go elsewhere.
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
		return fmt.Errorf("%d requests still in flight when the drain budget ran out", n)
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
