package hook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/conversion"
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/guard"
	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/message"
	"github.com/telephony-hooks/okta-8x8/internal/okta"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/redact"
	"github.com/telephony-hooks/okta-8x8/internal/redisstore"
)

// MaxBody is the largest request body read (Okta's are ~1.5 KiB).
const MaxBody = 64 << 10

// answerMargin is kept free at the end of the deadline for what follows
// an 8x8 call that ran to the end of its budget: telling the conversion
// guard of the send (its own bound, 50 ms), recording the answer for
// duplicates (guard.SettleTimeout, 50 ms), the log line (the bounded
// writer waits at most 20 ms), and writing the answer. With HOOK_DEADLINE
// at its 2.9 s maximum the answer still leaves before Okta's 3 s.
const answerMargin = 150 * time.Millisecond

// previewPlaceholder is the number Okta's Admin Console puts in a preview.
const previewPlaceholder = "9876543210"

// outcome is everything the request log line says about one hook call.
type outcome struct {
	status    int
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

func (s *Server) handleHook(w http.ResponseWriter, r *http.Request) {
	// Deadlines and latency run on the real clock from the request's
	// arrival (before a cold start's configuration load, if there was
	// one); s.Now (injectable) is for what the request says: otpExpires,
	// rate windows.
	start := arrival(r.Context())
	ctx := logging.WithTrace(r.Context(), r.Header)
	// Everything, 8x8 included, must finish before Okta's 3 s; the margin
	// leaves time to write the answer.
	ctx, cancel := context.WithDeadline(ctx, start.Add(s.opt.Deadline-answerMargin))
	defer cancel()

	o := &outcome{}
	body := s.serveHook(ctx, r, o)
	writeJSON(w, o.status, body)
	s.logRequest(ctx, r, o, start, len(body))
	if s.Flush != nil {
		s.flush(start.Add(s.opt.Deadline))
	}
}

// flush sends buffered logs (the Cloud Logging API sink) before the
// answer leaves, but never past the deadline: the answer matters more.
// At most one Flush runs, and one more is queued: a request arriving while
// one runs waits for the next (its line came after the running one
// began), which starts when the running one ends and serves every request
// that queued meanwhile. A stalled Logging API holds one goroutine, not
// one per request.
func (s *Server) flush(deadline time.Time) {
	s.flushMu.Lock()
	var done chan struct{}
	switch {
	case s.flushing == nil:
		done = make(chan struct{})
		s.flushing = done
		go s.flushLoop(done)
	case s.pending == nil:
		s.pending = make(chan struct{})
		done = s.pending
	default:
		done = s.pending
	}
	s.flushMu.Unlock()
	t := time.NewTimer(max(time.Until(deadline), 10*time.Millisecond))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// flushLoop runs Flush, then the one queued meanwhile, if any, until none
// is.
func (s *Server) flushLoop(done chan struct{}) {
	for done != nil {
		_ = s.Flush()
		s.flushMu.Lock()
		next := s.pending
		s.pending, s.flushing = nil, next
		s.flushMu.Unlock()
		close(done)
		done = next
	}
}

// serveHook decides the answer; it fills o for the log line.
func (s *Server) serveHook(ctx context.Context, r *http.Request, o *outcome) (body []byte) {
	how, reason, ok := s.Auth.Authenticate(ctx, r)
	if !ok {
		o.status, o.result = http.StatusUnauthorized, "unauthorized"
		o.err = errors.New(reason)
		return bodyUnauthorized
	}
	o.auth = how

	// Okta sends exactly "application/json": no need to parse it.
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/json" && mt != "application/cloudevents+json") {
			return o.badRequest("Content-Type", "must be application/json")
		}
	}
	// Refused before reading: with "Expect: 100-continue" the client then
	// never sends the body, and nobody waits for it.
	if r.ContentLength > MaxBody {
		o.status, o.result = http.StatusRequestEntityTooLarge, "too_large"
		return bodyTooLarge
	}
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			o.status, o.result = http.StatusRequestEntityTooLarge, "too_large"
			return bodyTooLarge
		}
		return o.badRequest("body", "could not be read")
	}
	req, err := okta.Parse(raw)
	if err != nil {
		var fe *okta.FieldError
		if errors.As(err, &fe) {
			return o.badRequest(fe.Field, fe.Problem)
		}
		return o.badRequest("body", "is not a telephony hook request")
	}
	o.req = req
	o.lang = message.Resolve(req.Locale)
	o.status = http.StatusOK
	refuse := func(c refusalCode) []byte {
		return o.decided(answer{kind: kindRefused, refusal: c, lang: o.lang, channel: req.Channel}, req.EventID)
	}

	// Okta's preview placeholder: in a preview it is never called, even
	// where it is a valid number (with DEFAULT_REGION=IN, an Indian
	// mobile); elsewhere it is refused like any invalid number, with a
	// sentence that tells the admin what happened.
	placeholder := strings.TrimPrefix(strings.TrimPrefix(req.Phone.Reveal(), "+"), "1") == previewPlaceholder
	num, err := s.Phones.Parse(req.Phone.Reveal())
	if placeholder && (req.Preview || err != nil) {
		if s.dryRun(req) {
			// What a dry run answers, as for any number: the Admin
			// Console's preview then shows success.
			o.dryRun, o.txID = true, "dry-run-"+req.EventID
			return o.decided(answer{kind: kindDryRun, channel: req.Channel}, req.EventID)
		}
		return refuse(refPreviewPlaceholder)
	}
	if err != nil {
		return refuse(refInvalidNumber)
	}
	o.num = num
	if !req.OTPExpires.IsZero() && !s.Now().Before(req.OTPExpires) {
		return refuse(refExpired)
	}
	if ref := s.opt.Policy.Screen(num); ref != nil {
		o.err = ref
		return refuse(refusalFor(ref.Reason))
	}

	// Exactly once per eventId: a repeat gets the first answer again.
	ticket, prior, err := s.Guard.Begin(ctx, req.EventID, ttl(req.OTPExpires, s.Now()))
	switch {
	case errors.Is(err, guard.ErrInFlight):
		o.duplicate = true
		return o.decided(answer{kind: kindPending, channel: req.Channel}, req.EventID)
	case errors.Is(err, guard.ErrNoBudget):
		// Nothing sent and nobody sending: as if 8x8 could not be reached,
		// and recorded, so a repeat gets this answer, not a delivery.
		o.err = err
		a := s.notSent(req, o.lang, eightbyeight.Unreachable, "")
		body = o.decided(a, req.EventID)
		if err := ticket.Finish(a.record()); err != nil {
			s.unrecorded(ctx, err)
		}
		return body
	case err != nil:
		// The guard falls back to memory by itself; an error here is a bug.
		o.err = err
	case prior != nil:
		o.duplicate = true
		if a, ok := parseRecord(prior); ok {
			body = a.render(req.EventID)
			o.result = "duplicate"
			return body
		}
		// Not a record of ours: the first request's outcome is unknown.
		o.err = errors.New("unreadable record of the first answer")
		return o.decided(answer{kind: kindPending, channel: req.Channel}, req.EventID)
	}
	sent, finished := false, false
	defer func() {
		// A panic between the claim and Finish (a bug). If the message may
		// be on its way, answer PENDING, and record it for repeats: a 500
		// would make Okta send a second code. If not, release the claim
		// and let the 500 tell Okta to fall back.
		if finished {
			return
		}
		v := recover()
		if v == nil {
			return
		}
		s.Logger.ErrorContext(ctx, "panic while handling request", "panic", panicString(v), "stack", stack(), "mayHaveSent", sent)
		if !sent {
			ticket.Abandon()
			o.status, o.result, body = http.StatusInternalServerError, "panic", bodyInternal
			return
		}
		o.result = ""
		a := answer{kind: kindPending, channel: req.Channel}
		body = o.decided(a, req.EventID)
		_ = ticket.Finish(a.record())
	}()
	a := s.decide(ctx, req, num, o, &sent)
	body = o.decided(a, req.EventID)
	if ticket != nil {
		finished = true
		if err := ticket.Finish(a.record()); err != nil {
			s.unrecorded(ctx, err)
		}
	}
	return body
}

// unrecorded logs an answer Finish could not record for repeats: by its
// class (a Redis error can quote its arguments), or claim_lost when
// another request took the eventId over (a second send is possible).
func (s *Server) unrecorded(ctx context.Context, err error) {
	class := redisstore.ErrorClass(err)
	if errors.Is(err, guard.ErrClaimLost) {
		class = "claim_lost"
	}
	s.Logger.WarnContext(ctx, "could not record the answer for duplicate eventIds", "error_class", class)
}

// decide runs the rate limit and the delivery.
func (s *Server) decide(ctx context.Context, req *okta.Request, num phone.Number, o *outcome, sent *bool) answer {
	if s.dryRun(req) {
		// Dry runs are not deliveries: they do not count against limits.
		o.dryRun = true
		o.txID = "dry-run-" + req.EventID
		s.logDryRun(ctx, req, num, o.lang)
		return answer{kind: kindDryRun, channel: req.Channel}
	}
	// Conversion first: a paused destination's refusals must not count
	// against anyone's rate windows.
	if s.Conversion != nil {
		if v := s.Conversion.Check(ctx, num.Region(), num.Prefix()); v != nil {
			o.suspect = v
			if v.Refuse {
				return answer{kind: kindRefused, refusal: refConversion, lang: o.lang, channel: req.Channel}
			}
		}
	}
	if ref := s.Guard.Allow(ctx, guard.Subject{Phone: num.E164(), User: req.UserID, Country: num.Region(), IP: req.ClientIP}); ref != nil {
		o.err = ref
		return answer{kind: kindRefused, refusal: refusalFor(ref.Reason), lang: o.lang, channel: req.Channel}
	}
	*sent = true
	rec, err := s.send(ctx, req, num, o.lang)
	o.txID, o.attempts, o.code = rec.TransactionID, rec.Attempts, rec.Code
	if rec.Code == "" {
		o.code = rec.Status
	}
	if err == nil {
		s.sent(ctx, req, num, rec.TransactionID)
		return answer{kind: kindSuccessful, channel: req.Channel, txID: rec.TransactionID}
	}
	o.err = err
	var e *eightbyeight.Error
	if !errors.As(err, &e) {
		e = &eightbyeight.Error{Kind: eightbyeight.Unknown, Err: err}
	}
	o.attempts = e.Attempts
	if e.Code != "" {
		o.code = e.Code
	}
	switch e.Kind {
	case eightbyeight.Unknown:
		// The request may have reached 8x8: never FAILED, or Okta would
		// send a second code. It counts as a send, with no umid to report.
		s.sent(ctx, req, num, "")
		return answer{kind: kindPending, channel: req.Channel}
	default: // Refused, Unreachable: no code is coming from us.
		return s.notSent(req, o.lang, e.Kind, rec.TransactionID)
	}
}

// dryRun: nothing is sent for req (DRY_RUN, or a preview with
// PREVIEW_MODE=dry-run).
func (s *Server) dryRun(req *okta.Request) bool {
	return s.opt.DryRun || (req.Preview && s.opt.PreviewDryRun)
}

// notSent is the answer when no code is coming from us: FAILED, so Okta
// falls back to its own provider, or an error object with
// ON_DELIVERY_FAILURE=error.
func (s *Server) notSent(req *okta.Request, lang message.Lang, kind eightbyeight.Kind, txID string) answer {
	if s.opt.OnFailure == ErrorObject {
		return answer{kind: kindDeliveryFailed, failure: kind, lang: lang, channel: req.Channel}
	}
	return answer{kind: kindFailed, channel: req.Channel, txID: txID}
}

// sent tells the conversion guard of a code on its way, for the event hook
// to match with the user's verification.
func (s *Server) sent(ctx context.Context, req *okta.Request, num phone.Number, txID string) {
	if s.Conversion == nil {
		return
	}
	s.Conversion.Sent(ctx, conversion.Send{
		UserID: req.UserID, Channel: req.Channel.String(),
		Country: num.Region(), Prefix: num.Prefix(),
		TxID: txID, SentAt: s.Now(), Expires: req.OTPExpires,
	})
}

func (s *Server) send(ctx context.Context, req *okta.Request, num phone.Number, lang message.Lang) (eightbyeight.Receipt, error) {
	otp := req.OTP.Reveal()
	if req.Channel == okta.SMS {
		return s.Sender.SendSMS(ctx, eightbyeight.Message{
			Destination:     num,
			Source:          s.opt.SMSSource,
			Text:            redact.New(message.SMSBody(req.Template.Reveal(), otp, lang)),
			ClientMessageID: req.EventID,
			ClientIP:        req.ClientIP,
			Track:           s.opt.TrackSMS,
		})
	}
	return s.Sender.Call(ctx, s.call(req, num, lang))
}

func (s *Server) call(req *okta.Request, num phone.Number, lang message.Lang) eightbyeight.Call {
	profile := s.opt.VoiceProfile
	if profile == "" {
		profile = s.voices.Load().For(lang)
	}
	return eightbyeight.Call{
		Destination:  num,
		Source:       s.opt.CallerID,
		Text:         redact.New(lang.VoiceText(req.OTP.Reveal())),
		VoiceProfile: profile,
		Repetition:   s.opt.Repetitions,
		ValidUntil:   req.OTPExpires,
	}
}

// ttl is how long an eventId is remembered: until the code expires.
func ttl(expires, now time.Time) time.Duration {
	if expires.IsZero() {
		return guard.MaxEventTTL
	}
	return min(expires.Sub(now), guard.MaxEventTTL)
}

// decided notes the answer for the log line and renders it.
func (o *outcome) decided(a answer, eventID string) []byte {
	o.status = http.StatusOK
	if o.result == "" {
		o.result = a.result()
	}
	return a.render(eventID)
}

// badRequest answers 400 with an error object naming the field (never its
// value: the body holds a code and a phone number).
func (o *outcome) badRequest(field, problem string) []byte {
	o.status, o.result = http.StatusBadRequest, "bad_request"
	o.err = fmt.Errorf("%s %s", field, problem)
	return okta.Marshal(okta.Error("Invalid telephony hook request: "+field+" "+problem, okta.ErrorCause{
		ErrorSummary: field + " " + problem,
		Reason:       "INVALID_REQUEST",
		LocationType: "body",
		Location:     field,
		Domain:       "telephony-hook",
	}))
}

func (s *Server) logDryRun(ctx context.Context, req *okta.Request, num phone.Number, lang message.Lang) {
	if req.Channel == okta.SMS {
		s.Logger.InfoContext(ctx, "dry run: would send SMS", "eventId", req.EventID, "to", num,
			"source", s.opt.SMSSource, "textLength", len(message.SMSBody(req.Template.Reveal(), req.OTP.Reveal(), lang)))
		return
	}
	c := s.call(req, num, lang)
	s.Logger.InfoContext(ctx, "dry run: would place voice call", "eventId", req.EventID, "to", num,
		"callerId", c.Source, "voiceProfile", c.VoiceProfile, "repetition", c.Repetition, "textLength", c.Text.Len())
}

// logRequest writes the one request log line per hook call: enough for
// log-based metrics on delivery rate and latency per channel and country.
func (s *Server) logRequest(ctx context.Context, r *http.Request, o *outcome, start time.Time, size int) {
	// Callers that are not Okta: the first few per reason and minute in
	// full, then one line with the count.
	if o.status == http.StatusUnauthorized && !s.Refusals.Allow(s.Logger, "unauthorized: "+errorText(o.err)) {
		return
	}
	latency := time.Since(start)
	attrs := make([]slog.Attr, 0, 20)
	attrs = append(attrs,
		slog.String("outcome", o.result),
		slog.Int("status", o.status),
	)
	if o.req != nil {
		attrs = append(attrs,
			slog.String("eventId", o.req.EventID),
			slog.String("requestType", o.req.ShortRequestType()),
			slog.String("channel", o.req.Channel.String()),
			slog.String("locale", o.lang.Tag()),
			slog.Bool("preview", o.req.Preview),
		)
		if o.req.UserID != "" {
			attrs = append(attrs, slog.String("userId", o.req.UserID))
		}
	}
	if !o.num.IsZero() {
		attrs = append(attrs, slog.Any("phone", o.num), slog.String("country", o.num.Region()), slog.String("numberType", o.num.Type().String()))
	}
	if o.auth != "" {
		attrs = append(attrs, slog.String("auth", o.auth))
	}
	if o.txID != "" {
		attrs = append(attrs, slog.String("transactionId", o.txID))
	}
	if o.code != "" {
		attrs = append(attrs, slog.String("providerCode", o.code))
	}
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
		attrs = append(attrs, slog.String("error", o.err.Error()), slog.String("errorKind", errorKind(o.err)))
	}
	attrs = append(attrs,
		slog.Float64("latencyMs", float64(latency.Microseconds())/1000),
		slog.Float64("budgetLeftMs", float64((s.opt.Deadline-latency).Microseconds())/1000),
		slog.Any("httpRequest", logging.HTTPRequest{
			Method: r.Method, URL: r.URL.Path, UserAgent: r.UserAgent(), RemoteIP: clientIP(r),
			Protocol: r.Proto, Status: o.status, RequestSize: max(r.ContentLength, 0), ResponseSize: int64(size), Latency: latency,
		}),
	)
	level := slog.LevelInfo
	switch {
	case o.status >= 500 || o.result == string(okta.Failed) || o.result == string(message.DeliveryFailed):
		level = slog.LevelError
	case o.status != http.StatusOK || o.result == string(okta.Pending):
		level = slog.LevelWarn
	}
	s.Logger.LogAttrs(ctx, level, "okta telephony hook", attrs...)
}

// clientIP is the caller's address: Cloud Run's front end puts it first in
// X-Forwarded-For; RemoteAddr is then the front end.
func clientIP(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		ip, _, _ := strings.Cut(xff, ",")
		return strings.TrimSpace(ip)
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func panicString(v any) string {
	if err, ok := v.(error); ok {
		return err.Error()
	}
	return fmt.Sprint(v)
}

func stack() string { return string(debug.Stack()) }
