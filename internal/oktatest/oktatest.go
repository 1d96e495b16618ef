// Package oktatest plays Okta in tests: it builds telephony hook requests
// as Okta sends them, reads the answers the way Okta does (validating them
// against Okta's published schema when the shared contracts are present),
// and lists the numbers and codes the tests use, for the log leak scans.
package oktatest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
)

// Credentials the tests configure; the leak scans prove none is logged.
const (
	Secret  = "okta-shared-secret-Zq7rX2"
	APIKey  = "test-api-key-8x8-Vb93kLm"
	Sub     = "acme_otp"
	Caller  = "+14155550100"
	Webhook = "webhook-secret-Pk4nQ"
	// EventSecret authenticates Okta's event hook.
	EventSecret = "okta-event-hook-secret-Ld93Kq"
	UserID      = "00u8k2pQz4XyTb7Wd5d7"
)

// Numbers and codes the tests send (the leak scans look for them).
var (
	Phones = []string{"+14155550123", "+33612345678", "+819012345678", "+34612345678", "+33798765432", "+14155550199",
		"+491701234567", "+393123456789", "+5511987654321", "+31612345678", "+8613812345678", "+821012345678",
		"+971501234567", "+919876543210", "+12025550175", "+447911123456", "+37120000101"}
	OTPs = []string{"482913", "905127", "630284", "739104", "551203", "318406", "204817", "771955", "660431"}
)

// Headers are Okta's, with the static secret.
func Headers() http.Header {
	return http.Header{"Authorization": {Secret}, "Content-Type": {"application/json"}}
}

// EventID is a fresh id in Okta's shape (letters and digits), never a
// decimal run that could look like a code.
func EventID() string {
	var b [11]byte
	_, _ = rand.Read(b[:])
	return "ev" + hex.EncodeToString(b[:])
}

// Request is an Okta telephony hook request.
type Request struct {
	EventID, Phone, OTP, Channel, Locale, Template, URL, UserID, IP string
	RequestType                                                     string
	Expires                                                         time.Time
}

// SMS is an SMS verification with Okta's rendered template.
func SMS(phone, otp string) Request {
	return Request{Phone: phone, OTP: otp, Channel: "SMS", Locale: "en-US", Template: "Your verification code is " + otp}
}

// Voice is a voice-call verification.
func Voice(phone, otp, locale string) Request {
	return Request{Phone: phone, OTP: otp, Channel: "Voice call", Locale: locale}
}

// Body is the JSON Okta sends; empty fields get Okta's usual values.
func (r Request) Body() []byte {
	if r.EventID == "" {
		r.EventID = EventID()
	}
	if r.URL == "" {
		r.URL = "/idp/idx/challenge"
	}
	if r.UserID == "" {
		r.UserID = UserID
	}
	if r.IP == "" {
		r.IP = "198.51.100.23"
	}
	if r.RequestType == "" {
		r.RequestType = "com.okta.user.telephony.mfa-verification"
	}
	mp := map[string]string{"phoneNumber": r.Phone, "otpCode": r.OTP, "deliveryChannel": r.Channel, "locale": r.Locale}
	if !r.Expires.IsZero() {
		mp["otpExpires"] = r.Expires.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if r.Template != "" {
		mp["msgTemplate"] = r.Template
	}
	b, _ := json.Marshal(map[string]any{
		"eventId": r.EventID, "eventType": "com.okta.telephony.provider",
		"requestType": r.RequestType,
		"data": map[string]any{
			"context":        map[string]any{"request": map[string]any{"url": map[string]string{"value": r.URL}, "ipAddress": r.IP}},
			"userProfile":    map[string]string{"userId": r.UserID, "login": "alice@example.com"},
			"messageProfile": mp,
		},
	})
	return b
}

// Answer is a decoded hook answer.
type Answer struct {
	Commands []struct {
		Type  string `json:"type"`
		Value []struct {
			Status              string `json:"status"`
			Provider            string `json:"provider"`
			TransactionID       string `json:"transactionId"`
			TransactionMetadata string `json:"transactionMetadata"`
		} `json:"value"`
	} `json:"commands"`
	Error *struct {
		ErrorSummary string `json:"errorSummary"`
		ErrorCauses  []struct {
			ErrorSummary string `json:"errorSummary"`
			Reason       string `json:"reason"`
			Location     string `json:"location"`
			LocationType string `json:"locationType"`
		} `json:"errorCauses"`
	} `json:"error"`
}

// Kind is "SUCCESSFUL", "PENDING", "FAILED", "error:<reason>", "error" or
// "malformed".
func (a Answer) Kind() string {
	if a.Error != nil {
		if len(a.Error.ErrorCauses) > 0 {
			return "error:" + a.Error.ErrorCauses[0].Reason
		}
		return "error"
	}
	if len(a.Commands) == 1 && len(a.Commands[0].Value) == 1 {
		return a.Commands[0].Value[0].Status
	}
	return "malformed"
}

// TransactionID is the command's transactionId ("" for an error).
func (a Answer) TransactionID() string {
	if len(a.Commands) == 1 && len(a.Commands[0].Value) == 1 {
		return a.Commands[0].Value[0].TransactionID
	}
	return ""
}

// Decode checks an answer the way Okta reads it and decodes it.
func Decode(t testing.TB, w *httptest.ResponseRecorder) Answer {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	return DecodeBody(t, w.Body.Bytes())
}

// DecodeBody checks and decodes an answer's body.
func DecodeBody(t testing.TB, body []byte) Answer {
	t.Helper()
	Check(t, body)
	var a Answer
	if err := json.Unmarshal(body, &a); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, body)
	}
	return a
}

var (
	schemaOnce sync.Once
	schema     *openapi3.Schema
	schemaErr  error
)

// Check validates a body against Okta's TelephonyResponse schema (when the
// shared contracts are present) and the error object's shape.
func Check(t testing.TB, body []byte) {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("answer is not a JSON object: %s", body)
	}
	if e, ok := v["error"]; ok {
		obj, ok := e.(map[string]any)
		if !ok {
			t.Fatalf("error is not an object: %s", body)
		}
		if s, _ := obj["errorSummary"].(string); s == "" {
			t.Fatalf("error object without errorSummary: %s", body)
		}
		if c, ok := obj["errorCauses"]; ok {
			if _, ok := c.([]any); !ok {
				t.Fatalf("errorCauses is not an array: %s", body)
			}
		}
		return
	}
	if _, ok := v["commands"]; !ok {
		t.Fatalf("answer has neither commands nor error: %s", body)
	}
	schemaOnce.Do(func() {
		dir, ok := sharedtest.Dir()
		if !ok {
			return
		}
		doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(dir, "contracts", "okta", "telephony-inline-hook.openapi.yaml"))
		if err != nil {
			schemaErr = err
			return
		}
		schema = doc.Components.Schemas["TelephonyResponse"].Value
	})
	if schemaErr != nil {
		t.Fatalf("load Okta spec: %v", schemaErr)
	}
	if schema != nil {
		var doc any
		_ = json.Unmarshal(body, &doc)
		if err := schema.VisitJSON(doc); err != nil {
			t.Fatalf("answer does not validate against Okta's TelephonyResponse: %v\n%s", err, body)
		}
	}
}

// Fixtures reads Okta's request and response fixtures by file name,
// skipping the test when the shared contracts are absent.
func Fixtures(t testing.TB) map[string][]byte {
	dir := filepath.Join(sharedtest.Require(t), "contracts", "okta", "fixtures")
	out := map[string][]byte{}
	matches, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(m)] = b
	}
	return out
}

// FixtureNumbers are the codes and phone numbers in Okta's fixtures (for
// the leak scans; none when the shared contracts are absent). Okta's
// public preview placeholder is not personal data and is left out.
func FixtureNumbers() (out []string) {
	dir, ok := sharedtest.Dir()
	if !ok {
		return nil
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "contracts", "okta", "fixtures", "*.json"))
	for _, m := range matches {
		b, _ := os.ReadFile(m)
		var v struct {
			Data struct {
				MessageProfile map[string]any `json:"messageProfile"`
			} `json:"data"`
		}
		if json.Unmarshal(b, &v) != nil || v.Data.MessageProfile == nil {
			continue
		}
		out = append(out, fmt.Sprint(v.Data.MessageProfile["otpCode"]))
		if p := fmt.Sprint(v.Data.MessageProfile["phoneNumber"]); p != "9876543210" {
			out = append(out, p)
		}
	}
	return out
}

// Numbers is every code and phone number the tests use.
func Numbers() []string {
	out := append(append([]string{}, OTPs...), Phones...)
	return append(out, FixtureNumbers()...)
}

// Secrets is every credential the tests configure.
func Secrets() []string { return []string{Secret, APIKey, Webhook, EventSecret} }

// Clock is a settable clock for the hook's notion of now (otpExpires,
// rate windows, conversion settling).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// Do sends one request to h and returns the recorded answer.
func Do(h http.Handler, method, path string, body []byte, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	for k, vs := range header {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}
