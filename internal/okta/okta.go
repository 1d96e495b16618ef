// Package okta speaks Okta's telephony inline hook contract: it parses the
// request Okta sends, builds the answers Okta understands, and checks that a
// request comes from Okta.
package okta

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"reflect"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/telephony-hooks/okta-8x8/internal/redact"
)

// Channel is how the code is delivered.
type Channel int

const (
	SMS Channel = iota
	Voice
)

func (c Channel) String() string {
	if c == SMS {
		return "sms"
	}
	return "voice"
}

// ParseChannel reads deliveryChannel. Okta has sent "SMS", "CALL", "Voice"
// and "voice call" over the years: "sms" in any case is SMS, anything else
// is a voice call.
func ParseChannel(s string) Channel {
	if strings.EqualFold(strings.TrimSpace(s), "sms") {
		return SMS
	}
	return Voice
}

// PreviewMarker is in data.context.request.url.value when an admin clicks
// Preview in the Okta Admin Console.
const PreviewMarker = "generatePreview"

// Request is a parsed telephony hook request. Only what the hook needs is
// kept; unknown fields are ignored.
type Request struct {
	EventID     string
	ClientIP    string // the end user's IP (data.context.request.ipAddress), as Okta saw it
	RequestType string // without Okta's "com.okta.user.telephony." ("mfa-verification"); may be empty
	Preview     bool
	UserID      string
	Channel     Channel
	Locale      string        // as Okta sent it; message.Resolve normalises it
	Phone       redact.Secret // raw, as Okta sent it; parse it with phone.Parser
	OTP         redact.Secret
	Template    redact.Secret // msgTemplate, Okta's rendered SMS text (contains the OTP)
	OTPExpires  time.Time
}

// FieldError says which field of the body is wrong and how. It never
// carries the field's value: the body holds an OTP and a phone number.
type FieldError struct {
	Field   string // JSON path, e.g. "data.messageProfile.phoneNumber"
	Problem string // "is required", "must be a string", …
}

func (e *FieldError) Error() string { return e.Field + " " + e.Problem }

// flexString accepts a JSON string, or a JSON integer (Okta's own OpenAPI
// example sends phoneNumber and otpCode unquoted), or null.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 1 && b[0] == '"' && bytes.IndexByte(b, '\\') < 0 && utf8.Valid(b):
		// Nothing to unescape: exactly what encoding/json would decode,
		// without decoding the value a second time.
		*f = flexString(b[1 : len(b)-1])
	case len(b) > 1 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case string(b) == "null":
		*f = ""
	case strings.Trim(string(b), "0123456789") == "":
		*f = flexString(b)
	default:
		// A *json.UnmarshalTypeError, so that encoding/json fills in the
		// path of the offending field.
		return &json.UnmarshalTypeError{Value: "non-string", Type: reflect.TypeFor[string]()}
	}
	return nil
}

type wireRequest struct {
	EventID     flexString `json:"eventId"`
	RequestType flexString `json:"requestType"`
	Data        struct {
		Context struct {
			Request struct {
				URL struct {
					Value flexString `json:"value"`
				} `json:"url"`
				IPAddress flexString `json:"ipAddress"`
			} `json:"request"`
		} `json:"context"`
		UserProfile struct {
			UserID flexString `json:"userId"`
		} `json:"userProfile"`
		MessageProfile *struct {
			MsgTemplate     flexString `json:"msgTemplate"`
			PhoneNumber     flexString `json:"phoneNumber"`
			OTPExpires      flexString `json:"otpExpires"`
			DeliveryChannel flexString `json:"deliveryChannel"`
			OTPCode         flexString `json:"otpCode"`
			Locale          flexString `json:"locale"`
		} `json:"messageProfile"`
	} `json:"data"`
}

const mp = "data.messageProfile."

// Parse decodes and checks a hook request body. Errors are *FieldError.
func Parse(body []byte) (*Request, error) {
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, decodeError(err)
	}
	if w.Data.MessageProfile == nil {
		return nil, &FieldError{"data.messageProfile", "is required"}
	}
	m := w.Data.MessageProfile
	r := &Request{
		// The eventId keys exactly-once delivery: used as sent, never
		// trimmed or repaired, so two different ids never share a key.
		EventID:     string(w.EventID),
		RequestType: strings.TrimPrefix(string(w.RequestType), "com.okta.user.telephony."),
		Preview:     strings.Contains(string(w.Data.Context.Request.URL.Value), PreviewMarker),
		UserID:      string(w.Data.UserProfile.UserID),
		ClientIP:    clientIP(string(w.Data.Context.Request.IPAddress)),
		Locale:      string(m.Locale),
		Phone:       redact.New(strings.TrimSpace(string(m.PhoneNumber))),
		OTP:         redact.New(strings.TrimSpace(string(m.OTPCode))),
		Template:    redact.New(string(m.MsgTemplate)),
	}
	switch {
	case strings.TrimSpace(r.EventID) == "":
		return nil, &FieldError{"eventId", "is required"}
	case strings.ContainsRune(r.EventID, utf8.RuneError):
		// encoding/json turns invalid UTF-8 and lone surrogate escapes
		// into U+FFFD: two different ids would become one key, and the
		// second code would never be sent.
		return nil, &FieldError{"eventId", "must be valid UTF-8 text"}
	case len(r.EventID) > 128:
		return nil, &FieldError{"eventId", "is too long"}
	case r.Phone.IsZero():
		return nil, &FieldError{mp + "phoneNumber", "is required"}
	case r.OTP.IsZero():
		return nil, &FieldError{mp + "otpCode", "is required"}
	case r.OTP.Len() > 16:
		return nil, &FieldError{mp + "otpCode", "is too long"}
	case strings.TrimSpace(string(m.DeliveryChannel)) == "":
		return nil, &FieldError{mp + "deliveryChannel", "is required"}
	}
	r.Channel = ParseChannel(string(m.DeliveryChannel))
	if s := strings.TrimSpace(string(m.OTPExpires)); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, &FieldError{mp + "otpExpires", "is not an RFC 3339 time"}
		}
		r.OTPExpires = t
	}
	return r, nil
}

// clientIP keeps ipAddress only when it is an IP address: it goes to 8x8
// (clientIp, for its per-IP limits) and keys a rate window.
func clientIP(s string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil {
		return ""
	}
	return a.Unmap().String()
}

func decodeError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return &FieldError{"body", "must be a JSON object"}
		}
		if te.Type.Kind() == reflect.String {
			return &FieldError{te.Field, "must be a string"}
		}
		return &FieldError{te.Field, "must be a JSON object"}
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &FieldError{"body", fmt.Sprintf("is not valid JSON (offset %d)", se.Offset)}
	}
	return &FieldError{"body", "is not valid JSON"}
}

// Status is the delivery status Okta accepts in a command.
type Status string

const (
	// Successful: the provider accepted the code for delivery.
	Successful Status = "SUCCESSFUL"
	// Pending: the request may have reached the provider but its answer did
	// not come in time. Okta does not send a second code.
	Pending Status = "PENDING"
	// Failed: the provider did not take it; Okta falls back to its own.
	Failed Status = "FAILED"
)

// ActionType is the only command type of the telephony hook.
const ActionType = "com.okta.telephony.action"

// Provider is what the hook reports as provider.
const Provider = "8x8"

// Result is one telephony action result.
type Result struct {
	Status              Status `json:"status"`
	Provider            string `json:"provider,omitempty"`
	TransactionID       string `json:"transactionId,omitempty"`
	TransactionMetadata string `json:"transactionMetadata,omitempty"`
}

type command struct {
	Type  string   `json:"type"`
	Value []Result `json:"value"`
}

// CommandResponse is the answer when the hook handled delivery.
type CommandResponse struct {
	Commands []command `json:"commands"`
}

// ErrorCause names one reason for an error answer (for the admin; Okta's
// System Log shows it).
type ErrorCause struct {
	ErrorSummary string `json:"errorSummary"`
	Reason       string `json:"reason,omitempty"`
	LocationType string `json:"locationType,omitempty"`
	Location     string `json:"location,omitempty"`
	Domain       string `json:"domain,omitempty"`
}

// ErrorBody is Okta's error object. Okta shows errorSummary to the end user.
type ErrorBody struct {
	ErrorSummary string       `json:"errorSummary"`
	ErrorCauses  []ErrorCause `json:"errorCauses,omitempty"`
}

// ErrorResponse is an error answer.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// Command builds the answer for a delivery outcome.
func Command(r Result) CommandResponse {
	return CommandResponse{Commands: []command{{Type: ActionType, Value: []Result{r}}}}
}

// Error builds an error answer.
func Error(summary string, causes ...ErrorCause) ErrorResponse {
	return ErrorResponse{Error: ErrorBody{ErrorSummary: summary, ErrorCauses: causes}}
}

// Marshal encodes an answer. The types here cannot fail to encode.
func Marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("okta: answer does not encode: " + err.Error())
	}
	return b
}

// HeaderAuth checks the static "Authentication field" and secret configured
// on the inline hook in Okta.
type HeaderAuth struct {
	name string
	sum  [sha256.Size]byte
}

// NewHeaderAuth returns a checker for header name carrying secret. It
// returns nil when secret is empty: an empty secret authenticates nobody.
func NewHeaderAuth(name, secret string) *HeaderAuth {
	if secret == "" {
		return nil
	}
	if name == "" {
		name = "Authorization"
	}
	return &HeaderAuth{name: http.CanonicalHeaderKey(name), sum: sha256.Sum256([]byte(secret))}
}

// Name is the header checked.
func (a *HeaderAuth) Name() string { return a.name }

// Check reports whether h carries the secret. Comparing digests in constant
// time reveals neither the secret's bytes nor its length through timing.
func (a *HeaderAuth) Check(h http.Header) bool {
	if a == nil {
		return false
	}
	vs := h.Values(a.name)
	if len(vs) != 1 {
		return false
	}
	got := sha256.Sum256([]byte(vs[0]))
	return subtle.ConstantTimeCompare(got[:], a.sum[:]) == 1
}
