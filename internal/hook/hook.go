// Package hook is the Okta telephony inline hook: it authenticates the
// caller, parses the request, applies the fraud guard, delivers the code
// through 8x8 and answers Okta within the deadline. Okta does not retry
// telephony hooks, and any slow, non-200 or malformed answer makes it fall
// back to its own rate-limited provider, so every path here ends in a
// well-formed answer.
package hook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/conversion"
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/guard"
	"github.com/telephony-hooks/okta-8x8/internal/httpjson"
	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/message"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
)

// Sender delivers codes (the 8x8 client, or a dry run).
type Sender interface {
	Call(ctx context.Context, c eightbyeight.Call) (eightbyeight.Receipt, error)
	SendSMS(ctx context.Context, m eightbyeight.Message) (eightbyeight.Receipt, error)
}

// Guard is the fraud guard and exactly-once rule (*guard.Guard).
type Guard interface {
	Begin(ctx context.Context, eventID string, ttl time.Duration) (*guard.Ticket, []byte, error)
	Allow(ctx context.Context, s guard.Subject) *guard.Refusal
}

// Conversion is the conversion guard (*conversion.Tracker): it judges a
// destination before a send and learns of each send after it.
type Conversion interface {
	Check(ctx context.Context, country, prefix string) *conversion.Verdict
	Sent(ctx context.Context, s conversion.Send)
}

// Authenticator says whether a request comes from Okta, and how ("header",
// "oauth"); reason explains a refusal for the log (never a secret).
type Authenticator interface {
	Authenticate(ctx context.Context, r *http.Request) (how string, reason string, ok bool)
}

// FailureMode is what Okta is told when 8x8 refused the message.
type FailureMode int

const (
	// Fallback answers FAILED: Okta sends the code through its own provider.
	Fallback FailureMode = iota
	// ErrorObject answers an error object: Okta shows errorSummary to the
	// user (and still falls back).
	ErrorObject
)

// Options are the hook's settings from the configuration.
type Options struct {
	Deadline      time.Duration // HOOK_DEADLINE: the whole answer leaves within it
	OnFailure     FailureMode
	DryRun        bool // place no calls at all
	PreviewDryRun bool // answer Admin Console previews without sending
	CallerID      string
	SMSSource     string
	VoiceProfile  string // overrides the per-locale profile when set
	Repetitions   int    // 1–3
	// TrackSMS sends every SMS with track "Outcome", so that 8x8's
	// conversion monitoring counts it (EIGHTYEIGHTX_SMS_FEEDBACK).
	TrackSMS bool
	Policy   guard.Policy
}

// Deps are the parts the hook is built from.
type Deps struct {
	Auth     Authenticator
	Phones   *phone.Parser
	Guard    Guard
	Sender   Sender
	Receipts http.Handler // POST /8x8/events; nil: 404
	Events   http.Handler // GET and POST /okta/events (Okta's event hook); nil: 404
	// Conversion, when set, judges destinations before sends and records
	// each send for the event hook to match.
	Conversion Conversion
	// Refusals samples the log lines of refused callers (nil: every
	// one): a flood of wrong secrets must not flood the logs.
	Refusals *logging.Sampler
	// Voices chooses the 8x8 voice profile per locale (nil: the built-in
	// table); SetVoices replaces it once the account's list is read.
	Voices *message.Voices
	Logger *slog.Logger
	Now    func() time.Time // nil: time.Now
	// Flush, when set, sends buffered logs before the answer leaves (the
	// Cloud Logging API sink): Cloud Run throttles the CPU after it.
	Flush func() error
}

// Server serves the hook's routes.
type Server struct {
	opt Options
	Deps
	mux    *http.ServeMux
	voices atomic.Pointer[message.Voices]

	flushMu  sync.Mutex
	flushing chan struct{} // closed when the Flush in flight ends; nil: none
	pending  chan struct{} // closed when the Flush after it ends; nil: none asked
}

// New returns the hook's HTTP handler with all routes of DESIGN §1.
func New(opt Options, deps Deps) *Server {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Repetitions < 1 || opt.Repetitions > 3 {
		opt.Repetitions = 2
	}
	if opt.Deadline <= 0 {
		opt.Deadline = 2500 * time.Millisecond
	}
	s := &Server{opt: opt, Deps: deps}
	if deps.Voices == nil {
		deps.Voices = message.BuiltinVoices()
	}
	s.voices.Store(deps.Voices)
	s.mux = http.NewServeMux()
	s.routes()
	return s
}

// SetVoices replaces the voice chooser (the account's list arrived after
// the start-up stopped waiting for it).
func (s *Server) SetVoices(v *message.Voices) { s.voices.Store(v) }

// routes is the one place that lists what the function serves.
func (s *Server) routes() {
	s.mux.HandleFunc("POST /{$}", s.handleHook)
	s.mux.HandleFunc("GET /{$}", handleHealth)
	s.mux.HandleFunc("GET /healthz", handleHealth)
	if s.Receipts != nil {
		s.mux.Handle("POST /8x8/events", s.Receipts)
	}
	if s.Events != nil {
		s.mux.Handle("GET /okta/events", s.Events)
		s.mux.Handle("POST /okta/events", s.Events)
	}
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer s.recoverPanic(w, r)
	s.mux.ServeHTTP(w, r)
}

// recoverPanic answers 500 (Okta falls back) and logs the stack, never the
// body: a bug must not take the instance down or leak the request.
func (s *Server) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	s.Logger.ErrorContext(r.Context(), "panic while handling request",
		"path", r.URL.Path, "panic", panicString(v), "stack", stack())
	writeJSON(w, http.StatusInternalServerError, bodyInternal)
}

var (
	bodyHealthy      = []byte(`{"status":"ok"}`)
	bodyInternal     = []byte(`{"error":{"errorSummary":"internal error"}}`)
	bodyUnauthorized = []byte(`{"error":{"errorSummary":"unauthorized"}}`)
	bodyTooLarge     = []byte(`{"error":{"errorSummary":"request body too large"}}`)
)

func handleHealth(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, bodyHealthy)
}

var writeJSON = httpjson.Write

// errorKind is used to classify an error for logs.
func errorKind(err error) string {
	var e *eightbyeight.Error
	if errors.As(err, &e) {
		return e.Kind.String()
	}
	return "other"
}

type arrivalKey struct{}

// WithArrival records when the request arrived. A request that waited for
// a cold start's configuration load keeps its original budget: Okta's 3 s
// started when it was sent, not when the hook was ready.
func WithArrival(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, arrivalKey{}, t)
}

func arrival(ctx context.Context) time.Time {
	if t, ok := ctx.Value(arrivalKey{}).(time.Time); ok {
		return t
	}
	return time.Now()
}
