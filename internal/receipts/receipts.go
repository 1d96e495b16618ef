// Package receipts serves 8x8's delivery webhooks (voice session summaries
// and SMS delivery receipts) and turns each final outcome into one log line
// keyed by the transaction id the hook gave Okta, so a sign-in can be
// joined to whether its code reached the phone. The payload shapes are
// 8x8's public developer docs' (copies and sources in testdata/): SMS
// receipts (namespace SMS, outbound_message_status_changed) and voice
// session summaries (namespace VOICE, SESSION_SUMMARY).
package receipts

import (
	"cmp"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/telephony-hooks/okta-8x8/internal/httpjson"
	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/okta"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

const (
	// maxBody bounds a webhook body; 8x8's largest (a two-leg VSS) is ~3 KiB.
	maxBody = 64 << 10
	// seenSize bounds the duplicate memory: 8x8 retries within ~2 minutes
	// (1, 10, 30, 90 s), so a few thousand recent outcomes are plenty.
	seenSize = 5000
	maxText  = 256 // 8x8's free text in a log line
)

// Log messages, stable so Logs Explorer queries and log-based metrics can
// match on them.
const (
	msgOutcome   = "8x8 delivery receipt"
	msgDuplicate = "8x8 delivery receipt (duplicate)"
	msgProgress  = "8x8 delivery status update"
	msgIgnored   = "8x8 event ignored"
	msgRefused   = "8x8 webhook refused"
)

// NewHandler returns the handler for POST /8x8/events. secret is the exact
// Authorization header value 8x8 is configured to send; when it is empty
// every request is refused, so an unconfigured deployment cannot be fed
// fake receipts.
//
// Refused requests are logged through refusals (nil: every one): anyone
// can post wrong secrets as fast as they like, and each line costs.
func NewHandler(secret string, logger *slog.Logger, refusals *logging.Sampler) http.Handler {
	return &handler{
		auth:     okta.NewHeaderAuth("Authorization", secret), // nil when secret is empty
		log:      logger,
		refusals: refusals,
		seen:     newSeenSet(seenSize),
	}
}

type handler struct {
	auth     *okta.HeaderAuth
	log      *slog.Logger
	refusals *logging.Sampler
	seen     *seenSet
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.authorized(r) {
		httpjson.Write(w, http.StatusUnauthorized, []byte(`{"error":"unauthorized"}`))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		httpjson.Write(w, http.StatusRequestEntityTooLarge, []byte(`{"error":"body too large"}`))
	case err != nil:
		httpjson.Write(w, http.StatusBadRequest, []byte(`{"error":"unreadable body"}`))
	case !json.Valid(body):
		httpjson.Write(w, http.StatusBadRequest, []byte(`{"error":"body is not JSON"}`))
	default:
		// 200 from here on: 8x8 retries 4xx/5xx, and a retry of a JSON
		// body we cannot use will not become usable.
		h.handle(r, body)
		httpjson.Write(w, http.StatusOK, []byte(`{"status":"ok"}`))
	}
}

// authorized checks the header in constant time (okta.HeaderAuth: the same
// check as Okta's static secret). A refusal's line names the address
// Google's front end saw, never text the caller wrote.
func (h *handler) authorized(r *http.Request) bool {
	reason := ""
	switch {
	case h.auth == nil:
		reason = "no webhook secret configured"
	case !h.auth.Check(r.Header):
		reason = "Authorization header does not match"
	default:
		return true
	}
	h.refusals.Log(r.Context(), h.log, slog.LevelWarn, "8x8 webhook: "+reason, msgRefused,
		slog.String("reason", reason),
		slog.Bool("headerPresent", r.Header.Get("Authorization") != ""),
		slog.Any("httpRequest", logging.HTTPRequest{Method: r.Method, URL: r.URL.Path, UserAgent: r.UserAgent(),
			RemoteIP: logging.ClientIP(r), Protocol: r.Proto, Status: http.StatusUnauthorized}))
	return false
}

// envelope is the part common to every 8x8 webhook. encoding/json matches
// keys case-insensitively, which absorbs 8x8's own inconsistencies
// ("CallA" vs "callA", "SourceRefId" vs "sourceRefId"); the tests pin it.
type envelope struct {
	Namespace string          `json:"namespace"`
	EventType string          `json:"eventType"`
	Payload   json.RawMessage `json:"payload"`
}

func (h *handler) handle(r *http.Request, body []byte) {
	var env envelope
	var o outcome
	err := json.Unmarshal(body, &env)
	switch {
	case err != nil:
	case strings.EqualFold(env.Namespace, "VOICE") && strings.EqualFold(env.EventType, "SESSION_SUMMARY"):
		o, err = voiceOutcome(env.Payload)
	case strings.EqualFold(env.Namespace, "SMS") && strings.EqualFold(env.EventType, "outbound_message_status_changed"):
		o, err = smsOutcome(env.Payload)
	default:
		// CALL_STATUS, call actions, inbound SMS…: acknowledged so 8x8
		// does not retry, but not ours to report.
		h.log.LogAttrs(r.Context(), slog.LevelDebug, msgIgnored,
			slog.String("namespace", clip(env.Namespace, 64)), slog.String("eventType", clip(env.EventType, 64)))
		return
	}
	if err != nil {
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "8x8 event not understood",
			slog.String("namespace", clip(env.Namespace, 64)), slog.String("eventType", clip(env.EventType, 64)),
			slog.String("error", clip(redact.Text(err.Error()), maxText)))
		return
	}
	h.record(r, o)
}

// outcome is what one webhook says about one delivery, already redacted.
type outcome struct {
	channel         string // "voice" or "sms"
	transactionID   string // VSS sessionId or SMS umid: what Okta got as transactionId
	clientMessageID string // SMS: the Okta eventId
	status          string // 8x8's own status word
	final           bool
	delivered       bool
	errorCode       string
	errorMessage    string
	destination     string // redacted
	country         string
	duration        int
	hasDuration     bool
}

func (o outcome) attrs() []slog.Attr {
	a := []slog.Attr{
		slog.String("transactionId", o.transactionID),
		slog.String("channel", o.channel),
		slog.Bool("delivered", o.delivered),
		slog.String("status", o.status),
	}
	if o.hasDuration {
		a = append(a, slog.Int("callDurationSeconds", o.duration))
	}
	for _, kv := range [][2]string{{"errorCode", o.errorCode}, {"errorMessage", o.errorMessage}, {"country", o.country},
		{"destination", o.destination}, {"clientMessageId", o.clientMessageID}} {
		if kv[1] != "" {
			a = append(a, slog.String(kv[0], kv[1]))
		}
	}
	return a
}

func (h *handler) record(r *http.Request, o outcome) {
	ctx := r.Context()
	switch {
	case !o.final:
		h.log.LogAttrs(ctx, slog.LevelDebug, msgProgress, o.attrs()...)
	case o.transactionID != "" && !h.seen.firstTime(o.channel+"\x00"+o.transactionID+"\x00"+o.status):
		h.log.LogAttrs(ctx, slog.LevelDebug, msgDuplicate, o.attrs()...)
	case o.delivered:
		h.log.LogAttrs(ctx, slog.LevelInfo, msgOutcome, o.attrs()...)
	default:
		h.log.LogAttrs(ctx, slog.LevelWarn, msgOutcome, o.attrs()...)
	}
}

// scalar is a lenient field: 8x8 documents errorCode and callDuration as
// integers on one page and strings on another.
type scalar = httpjson.Text
type smsPayload struct {
	UMID            string `json:"umid"`
	ClientMessageID string `json:"clientMessageId"`
	Destination     string `json:"destination"`
	Country         string `json:"country"`
	Status          struct {
		State        string `json:"state"`
		ErrorCode    scalar `json:"errorCode"`
		ErrorMessage string `json:"errorMessage"`
	} `json:"status"`
}

func smsOutcome(raw json.RawMessage) (outcome, error) {
	var p smsPayload
	if err := unmarshalPayload(raw, &p); err != nil {
		return outcome{}, err
	}
	state := strings.ToLower(strings.TrimSpace(p.Status.State))
	o := outcome{
		channel:         "sms",
		transactionID:   clip(p.UMID, 128),
		clientMessageID: clip(p.ClientMessageID, 128),
		status:          redact.Code(clip(state, 64)),
		errorCode:       redact.Code(clip(string(p.Status.ErrorCode), 32)),
		errorMessage:    redact.Text(clip(p.Status.ErrorMessage, maxText)),
	}
	switch state {
	case "delivered", "read":
		o.final, o.delivered = true, true
	case "undelivered", "rejected", "failed", "error", "expired":
		o.final = true
	default:
		// queued, sent, unknown: more receipts follow.
	}
	o.destination, o.country = phone.Mask(p.Destination)
	o.country = cmp.Or(phone.Country(p.Country), o.country)
	return o, nil
}

type vssPayload struct {
	SessionID     string `json:"sessionId"`
	SessionStatus string `json:"sessionStatus"`
	ErrorDetails  struct {
		ErrorMsg  string `json:"errorMsg"`
		ErrorCode scalar `json:"errorCode"`
	} `json:"errorDetails"`
	// Not in 8x8's current VSS docs; read when present, for older or
	// product-specific variants.
	ErrorCode       scalar             `json:"errorCode"`
	ErrorMessage    string             `json:"errorMessage"`
	Destination     string             `json:"destination"`
	CallDuration    scalar             `json:"callDuration"`
	SessionDuration scalar             `json:"sessionDuration"`
	Details         map[string]callLeg `json:"details"`
}

type callLeg struct {
	CallDirection          string `json:"callDirection"`
	Destination            string `json:"destination"`
	DestinationCountryCode string `json:"destinationCountryCode"`
	CallDuration           scalar `json:"callDuration"`
}

func voiceOutcome(raw json.RawMessage) (outcome, error) {
	var p vssPayload
	if err := unmarshalPayload(raw, &p); err != nil {
		return outcome{}, err
	}
	status := strings.ToUpper(strings.TrimSpace(p.SessionStatus))
	o := outcome{
		channel:       "voice",
		transactionID: clip(p.SessionID, 128),
		status:        redact.Code(clip(status, 64)),
		// A session summary is sent once, after the session ended.
		final: true,
		// COMPLETED means the call was answered and the callflow ran;
		// NO_ANSWER, BUSY, CANCELED, FAILED, ERROR mean the code was not
		// heard.
		delivered:    status == "COMPLETED",
		errorCode:    redact.Code(clip(cmp.Or(string(p.ErrorDetails.ErrorCode), string(p.ErrorCode)), 32)),
		errorMessage: redact.Text(clip(cmp.Or(p.ErrorDetails.ErrorMsg, p.ErrorMessage), maxText)),
	}
	dest, dur, country := p.Destination, cmp.Or(string(p.CallDuration), string(p.SessionDuration)), ""
	if leg, ok := userLeg(p.Details); ok {
		dest = cmp.Or(leg.Destination, dest)
		dur = cmp.Or(string(leg.CallDuration), dur)
		country = phone.Country(leg.DestinationCountryCode)
	}
	if n, err := strconv.ParseFloat(dur, 64); err == nil && n >= 0 {
		o.duration, o.hasDuration = int(n), true
	}
	o.destination, o.country = phone.Mask(dest)
	o.country = cmp.Or(country, o.country)
	return o, nil
}

// userLeg picks the call leg that rang the user: the first outbound leg
// in leg order (callA, callB, …), else the first leg. Our callflow has a
// single outbound leg; IVR summaries can start with an inbound one.
func userLeg(details map[string]callLeg) (callLeg, bool) {
	if len(details) == 0 {
		return callLeg{}, false
	}
	// Leg names differ in case between 8x8 examples ("CallA", "callA").
	names := slices.SortedFunc(maps.Keys(details), func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	for _, k := range names {
		if strings.EqualFold(details[k].CallDirection, "OUTBOUND") {
			return details[k], true
		}
	}
	return details[names[0]], true
}

func unmarshalPayload(raw json.RawMessage, v any) error {
	if len(raw) == 0 || string(raw) == "null" {
		return errors.New("payload missing")
	}
	return json.Unmarshal(raw, v)
}

// clip bounds 8x8-supplied text copied into a log line.
func clip(s string, n int) string { return logging.Clip(strings.TrimSpace(s), n) }

// seenSet remembers recent keys in two generations of up to max each:
// when the current one is full it becomes the previous one, and the one
// before is forgotten whole.
type seenSet struct {
	mu        sync.Mutex
	cur, prev map[string]struct{}
	max       int
}

func newSeenSet(max int) *seenSet { return &seenSet{cur: map[string]struct{}{}, max: max} }

// firstTime records k and reports whether it was not already there.
func (s *seenSet) firstTime(k string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, now := s.cur[k]
	_, before := s.prev[k]
	if now || before {
		return false
	}
	if len(s.cur) >= s.max {
		s.prev, s.cur = s.cur, make(map[string]struct{}, s.max)
	}
	s.cur[k] = struct{}{}
	return true
}
