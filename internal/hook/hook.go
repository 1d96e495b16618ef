// Package hook is the Okta telephony inline hook: it authenticates the
// caller, parses the request, applies the fraud guard, delivers the code
// through 8x8 and answers Okta within the deadline. Okta does not retry
// telephony hooks, and any slow, non-200 or malformed answer makes it fall
// back to its own rate-limited provider, so every path here ends in a
// well-formed answer.
package hook

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/conversion"
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/guard"
	"github.com/telephony-hooks/okta-8x8/internal/httpjson"
	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/message"
	"github.com/telephony-hooks/okta-8x8/internal/okta"
	"github.com/telephony-hooks/okta-8x8/internal/okta/oauth"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/redact"
	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
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
	Voices   *message.Voices // the 8x8 voice profile per locale; nil: the built-in table
	Logger   *slog.Logger
	Now      func() time.Time // nil: time.Now
}

// New returns the function's handler: the routes of DESIGN §1, each built
// from what it needs, behind one recover.
func New(opt Options, d Deps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Voices == nil {
		d.Voices = message.BuiltinVoices()
	}
	if opt.Repetitions < 1 || opt.Repetitions > 3 {
		opt.Repetitions = 2
	}
	if opt.Deadline <= 0 {
		opt.Deadline = 2500 * time.Millisecond
	}
	mux := http.NewServeMux()
	mux.Handle("POST /{$}", handleHook(opt, d.Auth, d.Phones, d.Guard, d.Sender, d.Conversion, d.Voices, d.Refusals, d.Logger, d.Now))
	mux.Handle("GET /{$}", handleHealth())
	mux.Handle("GET /healthz", handleHealth())
	if d.Receipts != nil {
		mux.Handle("POST /8x8/events", d.Receipts)
	}
	if d.Events != nil {
		mux.Handle("GET /okta/events", d.Events)
		mux.Handle("POST /okta/events", d.Events)
	}
	return recoverPanics(mux, d.Logger)
}

var (
	bodyHealthy      = []byte(`{"status":"ok"}`)
	bodyInternal     = []byte(`{"error":{"errorSummary":"internal error"}}`)
	bodyUnauthorized = []byte(`{"error":{"errorSummary":"unauthorized"}}`)
	bodyTooLarge     = []byte(`{"error":{"errorSummary":"request body too large"}}`)
)

func handleHealth() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		httpjson.Write(w, http.StatusOK, bodyHealthy)
	})
}

// recoverPanics answers 500 (Okta falls back) and logs the stack, never the
// body: a bug must not take the instance down or leak the request. The
// hook itself turns a panic after a send into PENDING (send).
func recoverPanics(next http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			logPanic(r.Context(), logger, v, false)
			httpjson.Write(w, http.StatusInternalServerError, bodyInternal)
		}()
		next.ServeHTTP(w, r)
	})
}

func logPanic(ctx context.Context, logger *slog.Logger, v any, mayHaveSent bool) {
	msg := fmt.Sprint(v)
	if err, ok := v.(error); ok {
		msg = err.Error()
	}
	logger.ErrorContext(ctx, "panic while handling request",
		"panic", msg, "stack", string(debug.Stack()), "mayHaveSent", mayHaveSent)
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

// Auth accepts a request that passes the static header check or carries a
// valid OAuth 2.0 access token. Both may be configured during a migration
// from one to the other: either passing is enough.
type Auth struct {
	Header *okta.HeaderAuth // nil: header mode off
	OAuth  *oauth.Verifier  // nil: OAuth mode off
	// Open accepts everyone: only for a local dry run with nothing
	// configured, where nothing is ever sent.
	Open bool
}

// Authenticate implements Authenticator.
func (a Auth) Authenticate(ctx context.Context, r *http.Request) (how, reason string, ok bool) {
	if a.Open {
		return "open", "", true
	}
	if a.Header.Check(r.Header) {
		return "header", "", true
	}
	authz := r.Header.Get("Authorization")
	bearer := len(authz) > 7 && strings.EqualFold(authz[:7], "bearer ")
	switch {
	case bearer && a.OAuth != nil:
		err := a.OAuth.Verify(ctx, authz)
		var oe *oauth.Error
		switch {
		case err == nil:
			return "oauth", "", true
		case errors.As(err, &oe):
			return "", "oauth: " + string(oe.Reason), false
		}
		return "", "oauth: token refused", false
	case bearer:
		return "", "bearer token, but OAuth is not configured (OKTA_OAUTH_ISSUER)", false
	case a.Header != nil && r.Header.Get(a.Header.Name()) != "":
		return "", "wrong " + a.Header.Name() + " header", false
	}
	return "", "no credentials", false
}

// MaxBody is the largest request body read (Okta's are ~1.5 KiB).
const MaxBody = 64 << 10

// answerMargin is kept free at the end of the deadline for what follows
// an 8x8 call that ran to the end of its budget: telling the conversion
// guard of the send (until afterRecord before the deadline), recording the
// answer for duplicates (guard.SettleTimeout, 50 ms), the log line, and
// writing the answer. With HOOK_DEADLINE at its 2.9 s maximum the answer
// still leaves before Okta's 3 s.
const (
	answerMargin = 150 * time.Millisecond
	afterRecord  = 60 * time.Millisecond
)

// previewPlaceholder is the number Okta's Admin Console puts in a preview.
const previewPlaceholder = "9876543210"

// outcome is Okta's answer to one hook call and what its log line says.
type outcome struct {
	status    int
	body      []byte
	result    string // SUCCESSFUL, PENDING, FAILED, or a refusal / error reason
	req       *okta.Request
	num       phone.Number
	lang      message.Lang
	auth      string
	txID      string
	code      string // 8x8's status code
	attempts  int
	duplicate bool
	dryRun    bool
	suspect   *conversion.Verdict // the conversion guard's view of the destination, when suspect
	err       error
}

// hookHandler serves Okta's telephony hook (POST /).
type hookHandler struct {
	opt      Options
	auth     Authenticator
	phones   *phone.Parser
	guard    Guard
	sender   Sender
	conv     Conversion // nil: conversion off
	voices   *message.Voices
	refusals *logging.Sampler
	log      *slog.Logger
	now      func() time.Time // what the request says runs on it: otpExpires, rate windows
}

func handleHook(opt Options, auth Authenticator, phones *phone.Parser, g Guard, sender Sender, conv Conversion,
	voices *message.Voices, refusals *logging.Sampler, logger *slog.Logger, now func() time.Time) http.Handler {
	return &hookHandler{opt: opt, auth: auth, phones: phones, guard: g, sender: sender, conv: conv,
		voices: voices, refusals: refusals, log: logger, now: now}
}

func (h *hookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The budget runs on the real clock from the request's arrival (before
	// a cold start's configuration load, if there was one). Everything, 8x8
	// included, must finish before Okta's 3 s; the margin leaves time to
	// write the answer.
	start := arrival(r.Context())
	ctx := logging.WithTrace(r.Context(), r.Header)
	ctx, cancel := context.WithDeadline(ctx, start.Add(h.opt.Deadline-answerMargin))
	defer cancel()
	o := h.serve(ctx, r)
	httpjson.Write(w, o.status, o.body)
	h.logRequest(ctx, r, o, start)
}

func (h *hookHandler) serve(ctx context.Context, r *http.Request) outcome {
	how, reason, ok := h.auth.Authenticate(ctx, r)
	if !ok {
		return outcome{status: http.StatusUnauthorized, body: bodyUnauthorized, result: "unauthorized", err: errors.New(reason)}
	}
	req, refused := readRequest(r)
	if refused != nil {
		refused.auth = how
		return *refused
	}
	o := h.decide(ctx, outcome{req: req, lang: message.Resolve(req.Locale), auth: how})
	return o
}

// readRequest reads and parses the body, or says why not (400, 413).
func readRequest(r *http.Request) (*okta.Request, *outcome) {
	// Okta sends exactly "application/json": no need to parse it.
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && mt != "application/cloudevents+json") {
			return nil, badRequest("header", "Content-Type", "must be application/json")
		}
	}
	tooLarge := &outcome{status: http.StatusRequestEntityTooLarge, body: bodyTooLarge, result: "too_large"}
	// Refused before reading: with "Expect: 100-continue" the client then
	// never sends the body, and nobody waits for it.
	if r.ContentLength > MaxBody {
		return nil, tooLarge
	}
	// Sized from Content-Length (bounded above): one allocation.
	buf := bytes.NewBuffer(make([]byte, 0, max(r.ContentLength, 0)+bytes.MinRead))
	if _, err := buf.ReadFrom(http.MaxBytesReader(nil, r.Body, MaxBody)); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, tooLarge
		}
		return nil, badRequest("body", "body", "could not be read")
	}
	req, err := okta.Parse(buf.Bytes())
	if err != nil {
		var fe *okta.FieldError
		if errors.As(err, &fe) {
			return nil, badRequest("body", fe.Field, fe.Problem)
		}
		return nil, badRequest("body", "body", "is not a telephony hook request")
	}
	return req, nil
}

// badRequest answers 400 with an error object naming the field (never its
// value: the body holds a code and a phone number).
// badRequest names the field at fault; where is its locationType ("body"
// or "header").
func badRequest(where, field, problem string) *outcome {
	return &outcome{status: http.StatusBadRequest, result: "bad_request", err: fmt.Errorf("%s %s", field, problem),
		body: okta.Marshal(okta.Error("Invalid telephony hook request: "+field+" "+problem, okta.ErrorCause{
			ErrorSummary: field + " " + problem, Reason: "INVALID_REQUEST", LocationType: where, Location: field, Domain: "telephony-hook",
		}))}
}

// decide screens the request, claims its eventId, and delivers it once.
func (h *hookHandler) decide(ctx context.Context, o outcome) outcome {
	req := o.req
	// Okta's preview placeholder: in a preview it is never called, even
	// where it is a valid number (with DEFAULT_REGION=IN, an Indian
	// mobile); elsewhere it is refused like any invalid number, with a
	// sentence that tells the admin what happened.
	placeholder := strings.TrimPrefix(strings.TrimPrefix(req.Phone.Reveal(), "+"), "1") == previewPlaceholder
	num, err := h.phones.Parse(req.Phone.Reveal())
	switch {
	case placeholder && (req.Preview || err != nil) && h.dryRun(req):
		// What a dry run answers, as for any number: the Admin Console's
		// preview then shows success.
		o.dryRun, o.txID = true, "dry-run-"+req.EventID
		return o.command(okta.Successful, o.txID)
	case placeholder && (req.Preview || err != nil):
		return o.refused(reasonPreviewPlaceholder)
	case err != nil:
		return o.refused(string(guard.ReasonInvalidNumber))
	}
	o.num = num
	if !req.OTPExpires.IsZero() && !h.now().Before(req.OTPExpires) {
		return o.refused(reasonExpired)
	}
	if ref := h.opt.Policy.Screen(num); ref != nil {
		o.err = ref
		return o.refused(string(ref.Reason))
	}

	// Exactly once per eventId: a repeat gets the first answer again.
	ticket, prior, err := h.guard.Begin(ctx, req.EventID, ttl(req.OTPExpires, h.now()))
	// Releases the eventId if a panic comes before Finish; a no-op after it.
	defer ticket.Abandon()
	switch {
	case errors.Is(err, guard.ErrInFlight):
		o.duplicate = true
		return o.command(okta.Pending, "")
	case errors.Is(err, guard.ErrNoBudget):
		// Nothing sent and nobody sending: as if 8x8 could not be reached,
		// and recorded, so a repeat gets this answer, not a delivery.
		o.err = err
		o = o.notSent(h.opt.OnFailure, eightbyeight.Unreachable, "")
	case err != nil:
		// Begin returns no other error. Were it to, whether another
		// request holds the eventId is unknown: fail closed with PENDING,
		// which never makes Okta send a second code.
		o.err = err
		return o.command(okta.Pending, "")
	case prior != nil:
		o.duplicate = true
		return o.answer("duplicate", prior)
	default:
		o = h.deliver(ctx, o, num)
	}
	if err := ticket.Finish(o.body); err != nil {
		class := redisstore.ErrorClass(err) // a Redis error can quote its arguments
		if errors.Is(err, guard.ErrClaimLost) {
			class = "claim_lost" // another request took the eventId over: a second send is possible
		}
		h.log.WarnContext(ctx, "could not record the answer for duplicate eventIds", "error_class", class)
	}
	return o
}

// deliver runs the conversion guard, the rate limits and the send.
func (h *hookHandler) deliver(ctx context.Context, o outcome, num phone.Number) outcome {
	req := o.req
	if h.dryRun(req) {
		// Dry runs are not deliveries: they do not count against limits.
		o.dryRun, o.txID = true, "dry-run-"+req.EventID
		h.logDryRun(ctx, req, num, o.lang)
		return o.command(okta.Successful, o.txID)
	}
	// Conversion first: a paused destination's refusals must not count
	// against anyone's rate windows.
	if h.conv != nil {
		if v := h.conv.Check(ctx, num.Region(), num.Prefix()); v != nil {
			o.suspect = v
			if v.Refuse {
				return o.refused(v.Reason)
			}
		}
	}
	if ref := h.guard.Allow(ctx, guard.Subject{Phone: num.E164(), User: req.UserID, Country: num.Region(), IP: req.ClientIP}); ref != nil {
		o.err = ref
		return o.refused(string(ref.Reason))
	}
	rec, err := h.send(ctx, req, num, o.lang)
	o.txID, o.attempts, o.code = rec.TransactionID, rec.Attempts, cmp.Or(rec.Code, rec.Status)
	if err == nil {
		return o.command(okta.Successful, rec.TransactionID)
	}
	o.err = err
	var e *eightbyeight.Error
	if !errors.As(err, &e) {
		e = &eightbyeight.Error{Kind: eightbyeight.Unknown, Err: err}
	}
	o.attempts, o.code = e.Attempts, cmp.Or(e.Code, o.code)
	if e.Kind == eightbyeight.Unknown {
		// The request may have reached 8x8: never FAILED, or Okta would
		// send a second code.
		return o.command(okta.Pending, "")
	}
	// Refused, Unreachable: no code is coming from us.
	return o.notSent(h.opt.OnFailure, e.Kind, rec.TransactionID)
}

// send delivers the code and tells the conversion guard of a code that
// may be on its way (with no umid to report when the outcome is unknown).
// From here on a panic (a bug) reads as an unknown outcome: a 500 would
// make Okta send a second code.
func (h *hookHandler) send(ctx context.Context, req *okta.Request, num phone.Number, lang message.Lang) (rec eightbyeight.Receipt, err error) {
	defer func() {
		if v := recover(); v != nil {
			logPanic(ctx, h.log, v, true)
			err = &eightbyeight.Error{Kind: eightbyeight.Unknown, Err: errors.New("panic while sending")}
		}
	}()
	if req.Channel == okta.SMS {
		rec, err = h.sender.SendSMS(ctx, eightbyeight.Message{
			Destination:     num,
			Source:          h.opt.SMSSource,
			Text:            redact.New(message.SMSBody(req.Template.Reveal(), req.OTP.Reveal(), lang)),
			ClientMessageID: req.EventID,
			ClientIP:        req.ClientIP,
			Track:           h.opt.TrackSMS,
		})
	} else {
		rec, err = h.sender.Call(ctx, h.call(req, num, lang))
	}
	var e *eightbyeight.Error
	switch {
	case err == nil:
		h.sent(ctx, req, num, rec.TransactionID)
	case !errors.As(err, &e) || e.Kind == eightbyeight.Unknown:
		h.sent(ctx, req, num, "")
	}
	return rec, err
}

// sent tells the conversion guard of a code on its way, for the event hook
// to match with the user's verification.
func (h *hookHandler) sent(ctx context.Context, req *okta.Request, num phone.Number, txID string) {
	if h.conv == nil {
		return
	}
	// The request's own deadline has passed when 8x8 took its whole
	// budget: the record gets what is left of the margin, no more.
	dl, _ := ctx.Deadline()
	h.conv.Sent(context.WithoutCancel(ctx), conversion.Send{
		UserID: req.UserID, Channel: req.Channel.String(),
		Country: num.Region(), Prefix: num.Prefix(), Phone: num.E164(),
		TxID: txID, SentAt: h.now(), Expires: req.OTPExpires, Until: dl.Add(answerMargin - afterRecord),
	})
}

func (h *hookHandler) call(req *okta.Request, num phone.Number, lang message.Lang) eightbyeight.Call {
	return eightbyeight.Call{
		Destination:  num,
		Source:       h.opt.CallerID,
		Text:         redact.New(lang.VoiceText(req.OTP.Reveal())),
		VoiceProfile: cmp.Or(h.opt.VoiceProfile, h.voices.For(lang)),
		Repetition:   h.opt.Repetitions,
		ValidUntil:   req.OTPExpires,
	}
}

// dryRun: nothing is sent for req (DRY_RUN, or a preview with
// PREVIEW_MODE=dry-run).
func (h *hookHandler) dryRun(req *okta.Request) bool {
	return h.opt.DryRun || (req.Preview && h.opt.PreviewDryRun)
}

// ttl is how long an eventId is remembered: until the code expires.
func ttl(expires, now time.Time) time.Duration {
	if expires.IsZero() {
		return guard.MaxEventTTL
	}
	return min(expires.Sub(now), guard.MaxEventTTL)
}

// refusal is how one policy refusal reads: the end user's sentence (in
// their language) and, for the admin in Okta's System Log, the cause.
type refusal struct {
	message message.Reason // the end user's sentence
	admin   string         // errorCauses[0].errorSummary
	atPhone bool           // the cause points at data.messageProfile.phoneNumber
}

// Refusal reasons the hook adds to the guard's: errorCauses[0].reason,
// and the log line's outcome.
const (
	reasonPreviewPlaceholder = "preview_placeholder"
	reasonExpired            = "otp_expired"
	reasonPolicy             = "refused_by_policy" // a guard reason this table does not know yet
)

var refusals = map[string]refusal{
	string(guard.ReasonInvalidNumber): {message.InvalidNumber, "the phone number is not a valid number", true},
	reasonPreviewPlaceholder:          {message.PreviewPlaceholder, "the phone number is Okta's preview placeholder", true},
	reasonExpired:                     {message.Expired, "the code expired before it could be sent", false},
	string(guard.ReasonNumberType):    {message.NumberType, "numbers of this type cannot receive codes", true},
	string(guard.ReasonCountry):       {message.Country, "codes are not sent to this country", true},
	string(guard.ReasonRatePhone):     {message.RateLimited, "too many codes sent to this phone number", false},
	string(guard.ReasonRateUser):      {message.RateLimited, "too many codes sent to this user", false},
	string(guard.ReasonRateCountry):   {message.RateLimited, "the budget of codes for this country is spent", false},
	string(guard.ReasonRateIP):        {message.RateLimited, "too many codes requested from this IP address", false},
	// The user is not told why: a pump's operator must not learn which
	// destinations are paused.
	conversion.ReasonSuspect: {message.Unavailable, "codes to this destination are rarely entered: paused by the conversion guard", false},
	conversion.ReasonBudget:  {message.Unavailable, "too many codes to this country are not entered: its budget is spent", false},
	reasonPolicy:             {message.Unavailable, "refused by policy", false},
}

// answer sets Okta's 200 answer and the log line's outcome. The body is
// what a repeat of the eventId gets again, byte for byte.
func (o outcome) answer(result string, body []byte) outcome {
	o.status, o.result, o.body = http.StatusOK, result, body
	return o
}

// command answers with a delivery status; PENDING carries no transaction
// id, since none may exist.
func (o outcome) command(status okta.Status, txID string) outcome {
	if status == okta.Pending {
		txID = ""
	}
	return o.answer(string(status), okta.Marshal(okta.Command(okta.Result{
		Status: status, Provider: okta.Provider, TransactionID: txID, TransactionMetadata: o.req.Channel.String(),
	})))
}

// refused answers a policy refusal with an error object: the sentence in
// the user's language, the reason for the admin.
func (o outcome) refused(reason string) outcome {
	ref, ok := refusals[reason]
	if !ok {
		reason, ref = reasonPolicy, refusals[reasonPolicy]
	}
	cause := okta.ErrorCause{ErrorSummary: ref.admin, Reason: reason, Domain: "telephony-hook"}
	if ref.atPhone {
		cause.LocationType, cause.Location = "body", "data.messageProfile.phoneNumber"
	}
	return o.answer(reason, okta.Marshal(okta.Error(o.lang.Refusal(ref.message), cause)))
}

// notSent answers when no code is coming from us: FAILED, so Okta falls
// back to its own provider, or an error object with
// ON_DELIVERY_FAILURE=error.
func (o outcome) notSent(mode FailureMode, kind eightbyeight.Kind, txID string) outcome {
	if mode == Fallback {
		return o.command(okta.Failed, txID)
	}
	return o.answer(string(message.DeliveryFailed), okta.Marshal(okta.Error(o.lang.Refusal(message.DeliveryFailed), okta.ErrorCause{
		ErrorSummary: "The telephony provider did not accept the message",
		Reason:       "delivery_" + kind.String(),
		Domain:       "telephony-hook",
	})))
}

// logRequest writes the one request log line per hook call: enough for
// log-based metrics on delivery rate and latency per channel and country.
func (h *hookHandler) logRequest(ctx context.Context, r *http.Request, o outcome, start time.Time) {
	// Callers that are not Okta: the first few per reason and minute in
	// full, then one line with the count.
	if o.status == http.StatusUnauthorized && !h.refusals.Allow(h.log, "unauthorized: "+o.err.Error()) {
		return
	}
	latency := time.Since(start)
	attrs := make([]slog.Attr, 0, 20)
	attrs = append(attrs, slog.String("outcome", o.result), slog.Int("status", o.status))
	if o.req != nil {
		attrs = append(attrs,
			slog.String("eventId", o.req.EventID),
			slog.String("requestType", logging.Clip(o.req.RequestType, 128)),
			slog.String("channel", o.req.Channel.String()),
			slog.String("locale", o.lang.Tag()),
			slog.Bool("preview", o.req.Preview),
		)
		if o.req.UserID != "" {
			attrs = append(attrs, slog.String("userId", logging.Clip(o.req.UserID, 128)))
		}
	}
	if !o.num.IsZero() {
		attrs = append(attrs, slog.String("phone", o.num.Redacted()), slog.String("country", o.num.Region()), slog.String("numberType", o.num.Type().String()))
	}
	str := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	str("auth", o.auth)
	str("transactionId", o.txID)
	str("providerCode", o.code)
	if o.attempts > 0 {
		attrs = append(attrs, slog.Int("attempts", o.attempts))
	}
	if o.duplicate {
		attrs = append(attrs, slog.Bool("duplicate", true))
	}
	if o.dryRun {
		attrs = append(attrs, slog.Bool("dryRun", true))
	}
	if o.suspect != nil {
		attrs = append(attrs, slog.Any("conversion", o.suspect))
	}
	if o.err != nil {
		kind := "other"
		var e *eightbyeight.Error
		if errors.As(o.err, &e) {
			kind = e.Kind.String()
		}
		attrs = append(attrs, slog.String("error", o.err.Error()), slog.String("errorKind", kind))
	}
	attrs = append(attrs,
		slog.Float64("latencyMs", float64(latency.Microseconds())/1000),
		slog.Float64("budgetLeftMs", float64((h.opt.Deadline-latency).Microseconds())/1000),
		// remoteIp is the address Google's front end saw, never the
		// caller's own X-Forwarded-For text; RATE_LIMIT_PER_IP uses Okta's
		// authenticated ipAddress instead.
		slog.Any("httpRequest", logging.HTTPRequest{
			Method: r.Method, URL: r.URL.Path, UserAgent: r.UserAgent(), RemoteIP: logging.ClientIP(r),
			Protocol: r.Proto, Status: o.status, RequestSize: max(r.ContentLength, 0), ResponseSize: int64(len(o.body)), Latency: latency,
		}),
	)
	level := slog.LevelInfo
	switch {
	case o.status >= 500 || o.result == string(okta.Failed) || o.result == string(message.DeliveryFailed):
		level = slog.LevelError
	case o.status != http.StatusOK || o.result == string(okta.Pending):
		level = slog.LevelWarn
	}
	h.log.LogAttrs(ctx, level, "okta telephony hook", attrs...)
}

func (h *hookHandler) logDryRun(ctx context.Context, req *okta.Request, num phone.Number, lang message.Lang) {
	if req.Channel == okta.SMS {
		h.log.InfoContext(ctx, "dry run: would send SMS", "eventId", req.EventID, "to", num,
			"source", h.opt.SMSSource, "textLength", len(message.SMSBody(req.Template.Reveal(), req.OTP.Reveal(), lang)))
		return
	}
	c := h.call(req, num, lang)
	h.log.InfoContext(ctx, "dry run: would place voice call", "eventId", req.EventID, "to", num,
		"callerId", c.Source, "voiceProfile", c.VoiceProfile, "repetition", c.Repetition, "textLength", c.Text.Len())
}
