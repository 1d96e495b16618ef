// Package receipts serves 8x8's delivery webhooks (voice session summaries
// and SMS delivery receipts) and turns each final outcome into one log line
// keyed by the transaction id the hook gave Okta, so a sign-in can be
// joined to whether its code reached the phone.
//
// Payload shapes, from 8x8's public developer docs (copies in testdata/):
//   - SMS delivery receipt: developer.8x8.com/connect/reference/delivery-receipts-for-outbound-sms
//     {namespace:"SMS", eventType:"outbound_message_status_changed",
//     payload:{umid, clientMessageId, destination, status:{state, detail,
//     errorCode, errorMessage}, …}}; states per
//     developer.8x8.com/connect/reference/message-status-reference.
//   - Voice session summary (VSS): developer.8x8.com/connect/docs/voice/voice-messaging/session-status
//     {namespace:"VOICE", eventType:"SESSION_SUMMARY", payload:{sessionId,
//     sessionStatus, errorDetails:{errorMsg, errorCode}, details:{callA:{
//     destination, destinationCountryCode, callStatus, callDuration}, …}}}.
package receipts

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/telephony-hooks/okta-8x8/internal/httpjson"
	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/okta"
	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

const (
	// maxBody bounds a webhook body; 8x8's largest (a two-leg VSS) is ~3 KiB.
	maxBody = 64 << 10
	// seenSize bounds the duplicate memory: 8x8 retries within ~2 minutes
	// (1, 10, 30, 90 s), so a few thousand recent outcomes are plenty.
	seenSize = 10000
	// maxText bounds 8x8-supplied text copied into a log line.
	maxText = 256
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
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
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
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, `{"error":"method not allowed"}`)
		return
	}
	if !h.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, `{"error":"unauthorized"}`)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeJSON(w, http.StatusRequestEntityTooLarge, `{"error":"body too large"}`)
			return
		}
		writeJSON(w, http.StatusBadRequest, `{"error":"unreadable body"}`)
		return
	}
	if !json.Valid(body) {
		writeJSON(w, http.StatusBadRequest, `{"error":"body is not JSON"}`)
		return
	}
	// Everything past this point answers 200: 8x8 retries 4xx/5xx, and a
	// retry of a JSON body we cannot use will not become usable.
	h.handle(r, body)
	writeJSON(w, http.StatusOK, `{"status":"ok"}`)
}

// authorized checks the header in constant time (okta.HeaderAuth: the same
// check as Okta's static secret).
func (h *handler) authorized(r *http.Request) bool {
	if h.auth == nil {
		h.refusals.Log(r.Context(), h.log, slog.LevelWarn, "8x8 webhook: no secret configured", msgRefused,
			slog.String("reason", "no webhook secret configured"))
		return false
	}
	if !h.auth.Check(r.Header) {
		h.refusals.Log(r.Context(), h.log, slog.LevelWarn, "8x8 webhook: wrong Authorization", msgRefused,
			slog.String("reason", "Authorization header does not match"),
			slog.Bool("headerPresent", r.Header.Get("Authorization") != ""))
		return false
	}
	return true
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
	ctx := r.Context()
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "8x8 event not understood", slog.String("error", err.Error()))
		return
	}
	var (
		o   outcome
		err error
	)
	switch {
	case strings.EqualFold(env.Namespace, "VOICE") && strings.EqualFold(env.EventType, "SESSION_SUMMARY"):
		o, err = voiceOutcome(env.Payload)
	case strings.EqualFold(env.Namespace, "SMS") && strings.EqualFold(env.EventType, "outbound_message_status_changed"):
		o, err = smsOutcome(env.Payload)
	default:
		// CALL_STATUS, call actions, inbound SMS…: acknowledged so 8x8
		// does not retry, but not ours to report.
		h.log.LogAttrs(ctx, slog.LevelDebug, msgIgnored,
			slog.String("namespace", clip(env.Namespace, 64)),
			slog.String("eventType", clip(env.EventType, 64)))
		return
	}
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "8x8 event not understood",
			slog.String("namespace", clip(env.Namespace, 64)),
			slog.String("eventType", clip(env.EventType, 64)),
			slog.String("error", err.Error()))
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
	if o.errorCode != "" {
		a = append(a, slog.String("errorCode", o.errorCode))
	}
	if o.errorMessage != "" {
		a = append(a, slog.String("errorMessage", o.errorMessage))
	}
	if o.hasDuration {
		a = append(a, slog.Int("callDurationSeconds", o.duration))
	}
	if o.country != "" {
		a = append(a, slog.String("country", o.country))
	}
	if o.destination != "" {
		a = append(a, slog.String("destination", o.destination))
	}
	if o.clientMessageID != "" {
		a = append(a, slog.String("clientMessageId", o.clientMessageID))
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
		Detail       string `json:"detail"`
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
	o.destination, o.country = maskNumber(p.Destination)
	if c := countryCode(p.Country); c != "" {
		o.country = c
	}
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
	CallStatus             string `json:"callStatus"`
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
		errorCode:    redact.Code(clip(firstNonEmpty(string(p.ErrorDetails.ErrorCode), string(p.ErrorCode)), 32)),
		errorMessage: redact.Text(clip(firstNonEmpty(p.ErrorDetails.ErrorMsg, p.ErrorMessage), maxText)),
	}
	dest, dur, country := p.Destination, firstNonEmpty(string(p.CallDuration), string(p.SessionDuration)), ""
	if leg, ok := userLeg(p.Details); ok {
		dest = firstNonEmpty(leg.Destination, dest)
		dur = firstNonEmpty(string(leg.CallDuration), dur)
		country = countryCode(leg.DestinationCountryCode)
	}
	if n, err := strconv.ParseFloat(dur, 64); err == nil && n >= 0 {
		o.duration, o.hasDuration = int(n), true
	}
	o.destination, o.country = maskNumber(dest)
	if country != "" {
		o.country = country
	}
	return o, nil
}

// userLeg picks the call leg that rang the user: the first outbound leg
// in leg order (callA, callB, …), else the first leg. Our callflow has a
// single outbound leg; IVR summaries can start with an inbound one.
func userLeg(details map[string]callLeg) (callLeg, bool) {
	if len(details) == 0 {
		return callLeg{}, false
	}
	names := make([]string, 0, len(details))
	for k := range details {
		names = append(names, k)
	}
	// Leg names differ in case between 8x8 examples ("CallA", "callA").
	sort.Slice(names, func(i, j int) bool { return strings.ToLower(names[i]) < strings.ToLower(names[j]) })
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

// maskNumber returns the number masked down to its calling code and last two
// digits, and its region when the numbering plan knows it. 8x8 sends
// E.164; anything it cannot parse is masked whole but for two digits.
func maskNumber(raw string) (masked, region string) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", ""
	}
	if !strings.HasPrefix(s, "+") {
		s = "+" + s
	}
	if num, err := phonenumbers.Parse(s, "ZZ"); err == nil && num.GetCountryCode() != 0 {
		e164 := phonenumbers.Format(num, phonenumbers.E164)
		region = phonenumbers.GetRegionCodeForNumber(num)
		if region == "ZZ" {
			region = ""
		}
		return redact.Phone(e164, int(num.GetCountryCode())), region
	}
	return redact.Text(raw), ""
}

// countryCode accepts an ISO 3166-1 alpha-2 code; 8x8 examples also show
// placeholders such as "null" and "ID | Null".
func countryCode(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' {
		return ""
	}
	return s
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func writeJSON(w http.ResponseWriter, code int, body string) {
	httpjson.Write(w, code, []byte(body+"\n"))
}

// seenSet remembers the last n keys; the oldest is forgotten first.
type seenSet struct {
	mu    sync.Mutex
	keys  map[string]struct{}
	order []string
	next  int
	max   int
}

func newSeenSet(n int) *seenSet {
	return &seenSet{keys: make(map[string]struct{}, n), max: n}
}

// firstTime records k and reports whether it was not already there.
func (s *seenSet) firstTime(k string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[k]; ok {
		return false
	}
	if len(s.order) < s.max {
		s.order = append(s.order, k)
	} else {
		delete(s.keys, s.order[s.next])
		s.order[s.next] = k
		s.next = (s.next + 1) % s.max
	}
	s.keys[k] = struct{}{}
	return true
}
