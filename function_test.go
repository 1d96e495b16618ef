package telephonyhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/telephony-hooks/okta-8x8/internal/app"
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/hook"
	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"

	"github.com/telephony-hooks/okta-8x8/internal/logtest"
)

// Test credentials: the log scan in TestMain proves none of them is logged.
const (
	testSecret  = "okta-shared-secret-Zq7rX2"
	testAPIKey  = "test-api-key-8x8-Vb93kLm"
	testSub     = "acme_otp"
	testCaller  = "+14155550100"
	testWebhook = "webhook-secret-Pk4nQ"
)

// suiteLogs collects every log line written by every test of this package;
// harnesses counts the instances that wrote to it.
var (
	suiteLogs syncBuffer
	harnesses atomic.Int64
)

type syncBuffer = logtest.Buffer

// logTee writes to the suite log and to a per-test buffer.
type logTee struct{ own *syncBuffer }

func (l logTee) Write(p []byte) (int, error) {
	_, _ = suiteLogs.Write(p)
	return l.own.Write(p)
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// harness is one instance of the function under test with its fake 8x8.
type harness struct {
	t     *testing.T
	opt   Options // how the function is built, on first use
	fn    *Function
	fake  *eightbyeighttest.Server
	env   map[string]string
	envMu sync.Mutex
	clk   *clock
	logs  *syncBuffer
}

// deployedEnv is a deployed configuration (K_SERVICE set, header auth)
// delivering to the 8x8 at voiceURL and smsURL.
func deployedEnv(voiceURL, smsURL string) map[string]string {
	return map[string]string{
		"K_SERVICE":                   "okta-telephony-hook",
		"OKTA_SECRET":                 testSecret,
		"EIGHTYEIGHTX_SUBACCOUNT_ID":  testSub,
		"EIGHTYEIGHTX_API_KEY":        testAPIKey,
		"EIGHTYEIGHTX_SOURCE_NUMBER":  testCaller,
		"EIGHTYEIGHTX_SMS_SOURCE":     "Acme",
		"EIGHTYEIGHTX_VOICE_URL":      voiceURL,
		"EIGHTYEIGHTX_SMS_URL":        smsURL,
		"EIGHTYEIGHTX_WEBHOOK_SECRET": testWebhook,
		"GOOGLE_CLOUD_PROJECT":        "acme-hooks",
	}
}

// newHarness builds the function as the registered one is built, with env
// on top of a deployed configuration that delivers to the fake 8x8.
func newHarness(t *testing.T, env map[string]string) *harness {
	t.Helper()
	harnesses.Add(1)
	h := &harness{t: t, fake: eightbyeighttest.New(t), clk: &clock{t: time.Now()}, logs: &syncBuffer{}}
	h.env = deployedEnv(h.fake.VoiceURL(), h.fake.SMSURL())
	h.env["HOOK_DEADLINE"] = "800ms"
	h.env["RATE_LIMIT_PER_USER"] = "0"
	for k, v := range env {
		if v == "-" {
			delete(h.env, k)
		} else {
			h.env[k] = v
		}
	}
	h.opt = Options{Getenv: h.getenv, Stdout: logTee{h.logs}, App: app.Options{Now: h.clk.Now}}
	return h
}

// f is the function under test, built from h.opt on first use.
func (h *harness) f() *Function {
	if h.fn == nil {
		h.fn = New(h.opt)
	}
	return h.fn
}

func (h *harness) getenv(k string) string {
	h.envMu.Lock()
	defer h.envMu.Unlock()
	return h.env[k]
}

func (h *harness) setenv(k, v string) {
	h.envMu.Lock()
	defer h.envMu.Unlock()
	h.env[k] = v
}

// do sends one request through the function and returns the answer.
func (h *harness) do(method, path string, body []byte, header http.Header) *httptest.ResponseRecorder {
	h.t.Helper()
	r := httptest.NewRequest(method, path, bytes.NewReader(body))
	for k, vs := range header {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	h.f().ServeHTTP(w, r)
	return w
}

func (h *harness) hook(body []byte) *httptest.ResponseRecorder {
	return h.do(http.MethodPost, "/", body, oktaHeaders())
}

func oktaHeaders() http.Header {
	return http.Header{"Authorization": {testSecret}, "Content-Type": {"application/json"}}
}

// answer is a decoded hook answer.
type answer struct {
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
		} `json:"errorCauses"`
	} `json:"error"`
}

// kind is "SUCCESSFUL", "PENDING", "FAILED", "error:<reason>" or "error".
func (a answer) kind() string {
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

// decode checks an answer the way Okta does and decodes it.
func decode(t *testing.T, w *httptest.ResponseRecorder) answer {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	checkOktaAnswer(t, w.Body.Bytes())
	var a answer
	if err := json.Unmarshal(w.Body.Bytes(), &a); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, w.Body)
	}
	return a
}

var (
	responseSchemaOnce sync.Once
	responseSchema     *openapi3.Schema
)

// checkOktaAnswer validates a body against Okta's TelephonyResponse schema
// (when the shared contracts are present) and the error object's shape.
func checkOktaAnswer(t *testing.T, body []byte) {
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
	responseSchemaOnce.Do(func() {
		dir, ok := sharedtest.Dir()
		if !ok {
			return
		}
		doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(dir, "contracts", "okta", "telephony-inline-hook.openapi.yaml"))
		if err != nil {
			t.Fatalf("load Okta spec: %v", err)
		}
		responseSchema = doc.Components.Schemas["TelephonyResponse"].Value
	})
	if responseSchema != nil {
		var doc any
		_ = json.Unmarshal(body, &doc)
		if err := responseSchema.VisitJSON(doc); err != nil {
			t.Fatalf("answer does not validate against Okta's TelephonyResponse: %v\n%s", err, body)
		}
	}
}

// request builds an Okta hook body from a fixture-like shape.
type request struct {
	eventID, phone, otp, channel, locale, template, url, userID string
	expires                                                     time.Time
}

func (r request) body() []byte {
	if r.eventID == "" {
		r.eventID = fmt.Sprintf("ev%x", time.Now().UnixNano())
	}
	if r.url == "" {
		r.url = "/idp/idx/challenge"
	}
	if r.userID == "" {
		r.userID = "00u8k2pQz4XyTb7Wd5d7"
	}
	mp := map[string]string{"phoneNumber": r.phone, "otpCode": r.otp, "deliveryChannel": r.channel, "locale": r.locale}
	if !r.expires.IsZero() {
		mp["otpExpires"] = r.expires.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if r.template != "" {
		mp["msgTemplate"] = r.template
	}
	b, _ := json.Marshal(map[string]any{
		"eventId": r.eventID, "eventType": "com.okta.telephony.provider",
		"requestType": "com.okta.user.telephony.mfa-verification",
		"data": map[string]any{
			"context":        map[string]any{"request": map[string]any{"url": map[string]string{"value": r.url}}},
			"userProfile":    map[string]string{"userId": r.userID, "login": "alice@example.com"},
			"messageProfile": mp,
		},
	})
	return b
}

// Numbers and codes used by the tests (the log scan looks for them).
var (
	testPhones = []string{"+14155550123", "+33612345678", "+819012345678", "+34612345678", "+33798765432", "+14155550199",
		"+491701234567", "+393123456789", "+5511987654321", "+31612345678", "+8613812345678", "+821012345678",
		"+971501234567", "+919876543210", "+12025550175", "+447911123456"}
	testOTPs = []string{"482913", "905127", "630284", "739104", "551203", "318406", "204817", "771955", "660431"}
)

func sms(phone, otp string) request {
	return request{phone: phone, otp: otp, channel: "SMS", locale: "en-US", template: "Your verification code is " + otp}
}

func voice(phone, otp, locale string) request {
	return request{phone: phone, otp: otp, channel: "Voice call", locale: locale}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaks := scanForLeaks(suiteLogs.String()); len(leaks) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: the logs of this suite contain secrets or personal data:\n  %s\n", strings.Join(leaks, "\n  "))
			code = 1
		} else if harnesses.Load() > 0 && suiteLogs.String() == "" {
			fmt.Fprintln(os.Stderr, "FAIL: the hook ran but wrote no logs: the leak scan scanned nothing")
			code = 1
		}
	}
	os.Exit(code)
}

// scanForLeaks looks for every credential the suite used anywhere, and
// every OTP and full phone number as a whole digit run, in any form.
func scanForLeaks(logs string) []string {
	numbers := append(append(append([]string{}, testOTPs...), fixtureOTPs()...), testPhones...)
	numbers = append(numbers, fixturePhones()...)
	return logtest.Leaks(logs, []string{testSecret, testAPIKey, testWebhook}, numbers)
}

// fixtures reads the Okta request fixtures.
func fixtures(t testing.TB) map[string][]byte {
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

func fixtureMessageProfiles() []map[string]any {
	dir, ok := sharedtest.Dir()
	if !ok {
		return nil
	}
	var out []map[string]any
	matches, _ := filepath.Glob(filepath.Join(dir, "contracts", "okta", "fixtures", "*.json"))
	for _, m := range matches {
		b, _ := os.ReadFile(m)
		var v struct {
			Data struct {
				MessageProfile map[string]any `json:"messageProfile"`
			} `json:"data"`
		}
		if json.Unmarshal(b, &v) == nil && v.Data.MessageProfile != nil {
			out = append(out, v.Data.MessageProfile)
		}
	}
	return out
}

func fixtureOTPs() (out []string) {
	for _, mp := range fixtureMessageProfiles() {
		out = append(out, fmt.Sprint(mp["otpCode"]))
	}
	return out
}

func fixturePhones() (out []string) {
	for _, mp := range fixtureMessageProfiles() {
		if p := fmt.Sprint(mp["phoneNumber"]); p != "9876543210" { // Okta's public placeholder
			out = append(out, p)
		}
	}
	return out
}

func TestMainFixturesNeverLeak(t *testing.T) {
	// The scanner itself must find what it looks for.
	if leaks := scanForLeaks(`{"to":"+14155550123"}`); len(leaks) == 0 {
		t.Fatal("scanForLeaks misses a full number")
	}
	if leaks := scanForLeaks(`{"text":"code 482913"}`); len(leaks) == 0 {
		t.Fatal("scanForLeaks misses an OTP")
	}
	if leaks := scanForLeaks(`{"to":"+1********23"}`); len(leaks) != 0 {
		t.Fatalf("scanForLeaks flags a redacted number: %v", leaks)
	}
}

// Every fixture from Okta's contract, with the outcome it must get. The
// clock is set to each request's eventTime so otpExpires lies ahead.
func TestOktaFixtures(t *testing.T) {
	want := map[string]struct {
		kind    string // answer kind
		channel eightbyeighttest.Kind
		profile string // voice profile prefix expected
	}{
		"official-docs-request-preview-pre-enrollment-sms.json": {kind: "error:preview_placeholder"},
		"official-openapi-TelephonyPayloadExample.json":         {kind: "error:preview_placeholder"}, // numbers coerced to strings
		"thirdparty-8x8-preview-mfa-verification-voice.json":    {kind: "error:preview_placeholder"},
		"synth-preview-mfa-verification-sms.json":               {kind: "error:preview_placeholder"},
		"synth-preview-pre-enrollment-voice-edited-phone.json":  {kind: "error:invalid_number"}, // 555-5551212 is fictional
		"synth-account-unlock-voice-en_GB.json":                 {kind: "error:invalid_number"}, // 07700 900xxx: Ofcom's drama range
		"synth-mfa-verification-sms-en-US.json":                 {kind: "SUCCESSFUL", channel: eightbyeighttest.SMS},
		"synth-mfa-verification-sms-no-plus.json":               {kind: "SUCCESSFUL", channel: eightbyeighttest.SMS},
		"synth-pre-enrollment-sms-es.json":                      {kind: "SUCCESSFUL", channel: eightbyeighttest.SMS},
		"synth-password-reset-sms-fr-FR.json":                   {kind: "SUCCESSFUL", channel: eightbyeighttest.SMS},
		"synth-mfa-verification-voice-fr.json":                  {kind: "SUCCESSFUL", channel: eightbyeighttest.Voice, profile: "fr-FR-"},
		"synth-mfa-verification-voice-legacy-CALL-ja.json":      {kind: "SUCCESSFUL", channel: eightbyeighttest.Voice, profile: "ja-JP-"},
	}
	seen := 0
	for name, body := range fixtures(t) {
		var probe struct {
			EventTime string `json:"eventTime"`
			Data      *struct {
				MessageProfile map[string]any `json:"messageProfile"`
			} `json:"data"`
		}
		if json.Unmarshal(body, &probe) != nil || probe.Data == nil || probe.Data.MessageProfile == nil {
			continue // a response or header fixture
		}
		seen++
		w, ok := want[name]
		if !ok {
			t.Errorf("fixture %s has no expected outcome: add it to the table", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, nil)
			et, err := time.Parse(time.RFC3339, probe.EventTime)
			if err != nil {
				t.Fatal(err)
			}
			h.clk.Set(et.Add(time.Second))
			resp := h.hook(body)
			if resp.Code != http.StatusOK {
				t.Fatalf("HTTP %d: %s", resp.Code, resp.Body)
			}
			a := decode(t, resp)
			if got := a.kind(); got != w.kind {
				t.Fatalf("answer %s, want %s: %s", got, w.kind, resp.Body)
			}
			reqs := h.fake.Requests()
			if w.channel == "" {
				if len(reqs) != 0 {
					t.Fatalf("8x8 was called %d times for a refused request", len(reqs))
				}
				return
			}
			if len(reqs) != 1 || reqs[0].Kind != w.channel {
				t.Fatalf("8x8 requests = %d (%v), want one %s", len(reqs), reqs, w.channel)
			}
			v := a.Commands[0].Value[0]
			if v.Provider != "8x8" || v.TransactionID == "" || v.TransactionMetadata != string(w.channel) {
				t.Errorf("answer value = %+v", v)
			}
			mp := probe.Data.MessageProfile
			otp := fmt.Sprint(mp["otpCode"])
			switch w.channel {
			case eightbyeighttest.SMS:
				m := reqs[0].SMS()
				if tpl, _ := mp["msgTemplate"].(string); m.Text != tpl {
					t.Errorf("SMS text is not Okta's msgTemplate")
				}
				var ev struct{ EventID string }
				_ = json.Unmarshal(body, &ev)
				if m.ClientMessageID != ev.EventID || m.Source != "Acme" {
					t.Errorf("clientMessageId/source = %q/%q", m.ClientMessageID, m.Source)
				}
			case eightbyeighttest.Voice:
				cf := reqs[0].Callflow()
				say := cf.Callflow[1].Params
				if !strings.HasPrefix(say.VoiceProfile, w.profile) || say.Repetition != 2 {
					t.Errorf("voice profile %q repetition %d, want %s* and 2", say.VoiceProfile, say.Repetition, w.profile)
				}
				if strings.Contains(say.Text, otp) {
					t.Errorf("the code is spoken as one number, not digit by digit")
				}
				if !digitsInOrder(say.Text, otp) {
					t.Errorf("spoken text does not carry the code's digits in order")
				}
				if cf.Callflow[0].Params.Source != testCaller {
					t.Errorf("caller id = %q", cf.Callflow[0].Params.Source)
				}
				exp, _ := time.Parse(time.RFC3339, fmt.Sprint(mp["otpExpires"]))
				if cf.ValidUntil != exp.UTC().Format("2006-01-02T15:04:05.000Z") {
					t.Errorf("validUntil = %q, want otpExpires %s", cf.ValidUntil, exp)
				}
			}
		})
	}
	if seen != len(want) {
		t.Errorf("%d request fixtures found, %d expected", seen, len(want))
	}
}

func digitsInOrder(text, otp string) bool {
	i := 0
	for _, r := range text {
		if i < len(otp) && byte(r) == otp[i] {
			i++
		}
	}
	return i == len(otp)
}

func TestChannelSpellings(t *testing.T) {
	for _, tt := range []struct {
		channel string
		want    eightbyeighttest.Kind
	}{
		{"SMS", eightbyeighttest.SMS}, {"sms", eightbyeighttest.SMS}, {" Sms ", eightbyeighttest.SMS},
		{"Voice", eightbyeighttest.Voice}, {"voice", eightbyeighttest.Voice}, {"Voice call", eightbyeighttest.Voice},
		{"voice call", eightbyeighttest.Voice}, {"CALL", eightbyeighttest.Voice}, {"call", eightbyeighttest.Voice},
	} {
		t.Run(tt.channel, func(t *testing.T) {
			h := newHarness(t, nil)
			r := sms("+14155550123", "482913")
			r.channel = tt.channel
			a := decode(t, h.hook(r.body()))
			reqs := h.fake.Requests()
			if a.kind() != "SUCCESSFUL" || len(reqs) != 1 || reqs[0].Kind != tt.want {
				t.Fatalf("answer %s, 8x8 requests %v, want one %s", a.kind(), reqs, tt.want)
			}
		})
	}
}

func TestLocales(t *testing.T) {
	for _, tt := range []struct {
		locale, phone, profile string
	}{
		{"en-US", "+14155550123", "en-US-"},
		{"EN-US", "+14155550123", "en-US-"},
		{"en", "+14155550123", "en-US-"},
		{"en_GB", "+447911123456", "en-GB-"},
		{"fr-FR", "+33612345678", "fr-FR-"},
		{"fr", "+33612345678", "fr-FR-"},
		{"es", "+34612345678", "es-"},
		{"de-DE", "+491701234567", "de-DE-"},
		{"it", "+393123456789", "it-IT-"},
		{"pt-BR", "+5511987654321", "pt-BR-"},
		{"nl", "+31612345678", "nl-NL-"},
		{"ja", "+819012345678", "ja-JP-"},
		{"zh-CN", "+8613812345678", "zh-CN-"},
		{"ko", "+821012345678", "ko-KR-"},
		{"ar", "+971501234567", "ar-"},
		{"hi", "+919876543210", "hi-IN-"},
		{"sv-SE", "+14155550123", "en-US-"}, // not spoken: English
		{"", "+14155550123", "en-US-"},
		{"!!", "+14155550123", "en-US-"},
	} {
		t.Run(tt.locale, func(t *testing.T) {
			h := newHarness(t, nil)
			a := decode(t, h.hook(voice(tt.phone, "905127", tt.locale).body()))
			reqs := h.fake.Requests()
			if a.kind() != "SUCCESSFUL" || len(reqs) != 1 {
				t.Fatalf("answer %s, %d requests", a.kind(), len(reqs))
			}
			if p := reqs[0].Callflow().Callflow[1].Params.VoiceProfile; !strings.HasPrefix(p, tt.profile) {
				t.Errorf("voice profile %q, want %s*", p, tt.profile)
			}
		})
	}
	t.Run("VOICE_PROFILE overrides", func(t *testing.T) {
		h := newHarness(t, map[string]string{"VOICE_PROFILE": "en-GB-Emma", "OTP_REPETITIONS": "3"})
		decode(t, h.hook(voice("+33612345678", "905127", "fr").body()))
		say := h.fake.Requests()[0].Callflow().Callflow[1].Params
		if say.VoiceProfile != "en-GB-Emma" || say.Repetition != 3 {
			t.Errorf("say = %+v", say)
		}
	})
}

// Each 8x8 fault: the answer Okta gets, how many requests reached 8x8, and
// that the answer left within the default HOOK_DEADLINE (2.5 s) even with
// the test's 800 ms deadline and a hung 8x8.
func TestDeliveryFaults(t *testing.T) {
	F := eightbyeighttest.OK
	for _, tt := range []struct {
		name   string
		faults []eightbyeighttest.Fault
		env    map[string]string
		want   string
		reqs   int
	}{
		{"accepted", []eightbyeighttest.Fault{F}, nil, "SUCCESSFUL", 1},
		{"400 -1017: Okta falls back", []eightbyeighttest.Fault{eightbyeighttest.BadRequest}, nil, "FAILED", 1},
		{"400 with ON_DELIVERY_FAILURE=error", []eightbyeighttest.Fault{eightbyeighttest.BadRequest}, map[string]string{"ON_DELIVERY_FAILURE": "error"}, "error:delivery_refused", 1},
		{"401 bad API key", []eightbyeighttest.Fault{eightbyeighttest.Unauthorized}, nil, "FAILED", 1},
		{"500 then accepted: one retry", []eightbyeighttest.Fault{eightbyeighttest.ServerError, F}, nil, "SUCCESSFUL", 2},
		{"500 twice", []eightbyeighttest.Fault{eightbyeighttest.ServerError, eightbyeighttest.ServerError}, nil, "FAILED", 2},
		{"429 Retry-After 0 then accepted", []eightbyeighttest.Fault{eightbyeighttest.TooMany, F}, nil, "SUCCESSFUL", 2},
		{"rejected", []eightbyeighttest.Fault{eightbyeighttest.Rejected}, nil, "FAILED", 1},
		{"hang: PENDING, never FAILED", []eightbyeighttest.Fault{eightbyeighttest.Hang}, nil, "PENDING", 1},
		{"connection reset after sending: PENDING", []eightbyeighttest.Fault{eightbyeighttest.Reset, F}, nil, "PENDING", 1},
		{"garbled 200: PENDING", []eightbyeighttest.Fault{eightbyeighttest.Garbled}, nil, "PENDING", 1},
		{"504 from a gateway: PENDING, not retried", []eightbyeighttest.Fault{eightbyeighttest.Gateway, F}, nil, "PENDING", 1},
		{"503 then accepted: one retry", []eightbyeighttest.Fault{eightbyeighttest.Unavailable, F}, nil, "SUCCESSFUL", 2},
	} {
		for _, ch := range []string{"sms", "voice"} {
			t.Run(ch+"/"+tt.name, func(t *testing.T) {
				h := newHarness(t, tt.env)
				h.fake.Queue(tt.faults...)
				r := sms("+14155550123", "482913")
				if ch == "voice" {
					r = voice("+14155550123", "482913", "en-US")
				}
				start := time.Now()
				resp := h.hook(r.body())
				took := time.Since(start)
				if resp.Code != http.StatusOK {
					t.Fatalf("HTTP %d", resp.Code)
				}
				if got := decode(t, resp).kind(); got != tt.want {
					t.Errorf("answer %s, want %s: %s", got, tt.want, resp.Body)
				}
				if got := h.fake.Count(); got != tt.reqs {
					t.Errorf("8x8 received %d requests, want %d", got, tt.reqs)
				}
				if took > 2500*time.Millisecond {
					t.Errorf("answer took %v: Okta gives up at 3 s", took)
				}
			})
		}
	}
}

// A TooMany whose Retry-After is beyond the budget is not retried.
func TestRetryAfterBeyondBudgetIsNotRetried(t *testing.T) {
	h := newHarness(t, nil)
	h.fake.RetryAfter = 5
	h.fake.Queue(eightbyeighttest.TooMany, eightbyeighttest.OK)
	if got := decode(t, h.hook(sms("+14155550123", "482913").body())).kind(); got != "FAILED" {
		t.Errorf("answer %s, want FAILED", got)
	}
	if h.fake.Count() != 1 {
		t.Errorf("8x8 received %d requests, want 1", h.fake.Count())
	}
}

func TestAuthentication(t *testing.T) {
	body := sms("+14155550123", "482913").body()
	for _, tt := range []struct {
		name   string
		env    map[string]string
		header http.Header
		want   int
	}{
		{"right secret", nil, http.Header{"Authorization": {testSecret}}, 200},
		{"missing header", nil, http.Header{}, 401},
		{"wrong secret", nil, http.Header{"Authorization": {"nope"}}, 401},
		{"secret with a suffix", nil, http.Header{"Authorization": {testSecret + "x"}}, 401},
		{"secret prefix only", nil, http.Header{"Authorization": {testSecret[:10]}}, 401},
		{"header twice", nil, http.Header{"Authorization": {testSecret, testSecret}}, 401},
		{"custom header name", map[string]string{"OKTA_AUTH_HEADER": "x-telephony-key"}, http.Header{"X-Telephony-Key": {testSecret}}, 200},
		{"custom header name, secret in Authorization", map[string]string{"OKTA_AUTH_HEADER": "x-telephony-key"}, http.Header{"Authorization": {testSecret}}, 401},
		{"Basic scheme as the secret", map[string]string{"OKTA_SECRET": "Basic YWRtaW46c3VwZXJzZWNyZXQ="}, http.Header{"Authorization": {"Basic YWRtaW46c3VwZXJzZWNyZXQ="}}, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.env)
			tt.header.Set("Content-Type", "application/json")
			resp := h.do(http.MethodPost, "/", body, tt.header)
			if resp.Code != tt.want {
				t.Fatalf("HTTP %d, want %d: %s", resp.Code, tt.want, resp.Body)
			}
			if tt.want == 401 {
				if resp.Body.String() != `{"error":{"errorSummary":"unauthorized"}}` {
					t.Errorf("body = %s", resp.Body)
				}
				if h.fake.Count() != 0 {
					t.Errorf("8x8 called for an unauthenticated request")
				}
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	big := append([]byte(`{"eventId":"e","pad":"`), bytes.Repeat([]byte("a"), 70<<10)...)
	big = append(big, `"}`...)
	for _, tt := range []struct {
		name     string
		method   string
		path     string
		ct       string
		body     string
		want     int
		location string // errorCauses[0].location for 400s
	}{
		{"not JSON", "POST", "/", "application/json", `{"eventId":`, 400, "body"},
		{"JSON array", "POST", "/", "application/json", `[]`, 400, "body"},
		{"no messageProfile", "POST", "/", "application/json", `{"eventId":"e1","data":{}}`, 400, "data.messageProfile"},
		{"no phone", "POST", "/", "application/json", `{"eventId":"e1","data":{"messageProfile":{"otpCode":"482913","deliveryChannel":"SMS"}}}`, 400, "data.messageProfile.phoneNumber"},
		{"no OTP", "POST", "/", "application/json", `{"eventId":"e1","data":{"messageProfile":{"phoneNumber":"+14155550123","deliveryChannel":"SMS"}}}`, 400, "data.messageProfile.otpCode"},
		{"no channel", "POST", "/", "application/json", `{"eventId":"e1","data":{"messageProfile":{"phoneNumber":"+14155550123","otpCode":"482913"}}}`, 400, "data.messageProfile.deliveryChannel"},
		{"no eventId", "POST", "/", "application/json", `{"data":{"messageProfile":{"phoneNumber":"+14155550123","otpCode":"482913","deliveryChannel":"SMS"}}}`, 400, "eventId"},
		{"phone as a bool", "POST", "/", "application/json", `{"eventId":"e1","data":{"messageProfile":{"phoneNumber":true,"otpCode":"482913","deliveryChannel":"SMS"}}}`, 400, "data.messageProfile.phoneNumber"},
		{"OTP as a fraction", "POST", "/", "application/json", `{"eventId":"e1","data":{"messageProfile":{"phoneNumber":"+14155550123","otpCode":4829.13,"deliveryChannel":"SMS"}}}`, 400, "data.messageProfile.otpCode"},
		{"bad otpExpires", "POST", "/", "application/json", `{"eventId":"e1","data":{"messageProfile":{"phoneNumber":"+14155550123","otpCode":"482913","deliveryChannel":"SMS","otpExpires":"tomorrow"}}}`, 400, "data.messageProfile.otpExpires"},
		{"form content type", "POST", "/", "application/x-www-form-urlencoded", `a=b`, 400, "Content-Type"},
		{"over 64 KiB", "POST", "/", "application/json", string(big), 413, ""},
		{"PUT /", "PUT", "/", "", "", 405, ""},
		{"DELETE /healthz", "DELETE", "/healthz", "", "", 405, ""},
		{"unknown path", "POST", "/admin", "application/json", `{}`, 404, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			hdr := http.Header{"Authorization": {testSecret}}
			if tt.ct != "" {
				hdr.Set("Content-Type", tt.ct)
			}
			resp := h.do(tt.method, tt.path, []byte(tt.body), hdr)
			if resp.Code != tt.want {
				t.Fatalf("HTTP %d, want %d: %s", resp.Code, tt.want, resp.Body)
			}
			if h.fake.Count() != 0 {
				t.Errorf("8x8 called for bad input")
			}
			if tt.want == 400 {
				a := decode(t, resp)
				if a.Error == nil || len(a.Error.ErrorCauses) == 0 || a.Error.ErrorCauses[0].Location != tt.location {
					t.Errorf("error does not name %s: %s", tt.location, resp.Body)
				}
			}
			if tt.want == 413 {
				checkOktaAnswer(t, resp.Body.Bytes())
			}
		})
	}
}

// Okta's own OpenAPI example sends phoneNumber and otpCode as numbers.
func TestNumbersCoercedToStrings(t *testing.T) {
	h := newHarness(t, nil)
	body := `{"eventId":"num1","data":{"messageProfile":{"phoneNumber":14155550123,"otpCode":482913,"deliveryChannel":"sms","msgTemplate":"Your code is 482913"}}}`
	a := decode(t, h.hook([]byte(body)))
	if a.kind() != "SUCCESSFUL" || h.fake.Count() != 1 {
		t.Fatalf("answer %s, %d requests", a.kind(), h.fake.Count())
	}
	if m := h.fake.Requests()[0].SMS(); m.Destination != "+14155550123" || m.Text != "Your code is 482913" {
		t.Errorf("sms = %+v", m)
	}
}

func TestPolicyRefusals(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		r    request
		want string
	}{
		{"premium rate number", nil, sms("+19005550123", "482913"), "error:number_type_refused"},
		{"UK premium rate", nil, voice("+449098790000", "482913", "en-GB"), "error:number_type_refused"},
		{"blocked country", map[string]string{"BLOCKED_COUNTRIES": "FR"}, voice("+33612345678", "905127", "fr"), "error:country_not_allowed"},
		{"outside the allow-list", map[string]string{"ALLOWED_COUNTRIES": "US,CA"}, sms("+34612345678", "739104"), "error:country_not_allowed"},
		{"invalid number", nil, sms("+1415555", "482913"), "error:invalid_number"},
		{"expired code", nil, request{phone: "+14155550123", otp: "482913", channel: "SMS", expires: time.Now().Add(-time.Minute)}, "error:otp_expired"},
		{"preview placeholder where it is a valid number", map[string]string{"DEFAULT_REGION": "IN"},
			request{phone: "9876543210", otp: "11111", channel: "Voice", url: "/api/internal/v1/inlineHooks/com.okta.telephony.provider/generatePreview"}, "error:preview_placeholder"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.env)
			a := decode(t, h.hook(tt.r.body()))
			if a.kind() != tt.want {
				t.Fatalf("answer %s, want %s", a.kind(), tt.want)
			}
			if h.fake.Count() != 0 {
				t.Errorf("8x8 called for a refused request")
			}
			if strings.Contains(a.Error.ErrorSummary, "+") || strings.Contains(a.Error.ErrorSummary, "8x8") {
				t.Errorf("errorSummary echoes input or names the provider: %q", a.Error.ErrorSummary)
			}
		})
	}
	t.Run("refusal is in the user's language", func(t *testing.T) {
		h := newHarness(t, map[string]string{"BLOCKED_COUNTRIES": "FR"})
		fr := decode(t, h.hook(voice("+33612345678", "905127", "fr-FR").body()))
		en := decode(t, h.hook(voice("+33612345678", "905127", "en-US").body()))
		if fr.Error.ErrorSummary == en.Error.ErrorSummary {
			t.Errorf("French and English refusals are the same: %q", fr.Error.ErrorSummary)
		}
	})
}

func TestRateLimitPerPhone(t *testing.T) {
	h := newHarness(t, map[string]string{"RATE_LIMIT_PER_PHONE": "3/15m"})
	var kinds []string
	for range 5 {
		kinds = append(kinds, decode(t, h.hook(sms("+14155550123", "482913").body())).kind())
	}
	want := []string{"SUCCESSFUL", "SUCCESSFUL", "SUCCESSFUL", "error:rate_limited_phone", "error:rate_limited_phone"}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("answers %v, want %v", kinds, want)
	}
	if h.fake.Count() != 3 {
		t.Errorf("8x8 received %d requests, want 3", h.fake.Count())
	}
	// The window slides: 15 minutes later the phone may receive codes again.
	h.clk.Set(h.clk.Now().Add(16 * time.Minute))
	if k := decode(t, h.hook(sms("+14155550123", "482913").body())).kind(); k != "SUCCESSFUL" {
		t.Errorf("after the window: %s", k)
	}
}

// RATE_LIMIT_PER_COUNTRY caps sends to one country across numbers and users.
func TestRateLimitPerCountry(t *testing.T) {
	h := newHarness(t, map[string]string{"RATE_LIMIT_PER_COUNTRY": "2/1h"})
	var kinds []string
	for i, r := range []request{
		sms("+14155550123", "482913"), sms("+14155550199", "482913"), sms("+12025550175", "482913"),
		voice("+33612345678", "905127", "fr"),
	} {
		r.userID = fmt.Sprintf("00uCountry%010d", i)
		kinds = append(kinds, decode(t, h.hook(r.body())).kind())
	}
	want := []string{"SUCCESSFUL", "SUCCESSFUL", "error:rate_limited_country", "SUCCESSFUL"}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Errorf("answers %v, want %v", kinds, want)
	}
	if h.fake.Count() != 3 {
		t.Errorf("8x8 received %d requests, want 3", h.fake.Count())
	}
}

func TestDuplicateEventID(t *testing.T) {
	t.Run("sequential", func(t *testing.T) {
		h := newHarness(t, nil)
		r := sms("+14155550123", "482913")
		r.eventID = "dupEvent0000000000001"
		first := h.hook(r.body()).Body.String()
		second := h.hook(r.body()).Body.String()
		if first != second {
			t.Errorf("second answer differs:\n%s\n%s", first, second)
		}
		if h.fake.Count() != 1 {
			t.Errorf("8x8 received %d requests, want 1", h.fake.Count())
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		h := newHarness(t, map[string]string{"RATE_LIMIT_PER_PHONE": "0"})
		for round := range 20 {
			r := voice("+14155550123", "482913", "en")
			r.eventID = fmt.Sprintf("concurrent%012d", round)
			var wg sync.WaitGroup
			answers := make([]string, 8)
			for i := range answers {
				wg.Go(func() { answers[i] = h.hook(r.body()).Body.String() })
			}
			wg.Wait()
			for _, a := range answers[1:] {
				if a != answers[0] {
					t.Fatalf("round %d: answers differ: %s vs %s", round, a, answers[0])
				}
			}
		}
		if h.fake.Count() != 20 {
			t.Errorf("8x8 received %d requests for 20 distinct events, want 20", h.fake.Count())
		}
	})
}

func TestDryRunAndPreview(t *testing.T) {
	preview := sms("+14155550123", "482913")
	preview.url = "/api/internal/v1/inlineHooks/com.okta.telephony.provider/generatePreview"
	for _, tt := range []struct {
		name   string
		env    map[string]string
		r      request
		dryRun bool
	}{
		{"DRY_RUN sends nothing", map[string]string{"DRY_RUN": "true"}, sms("+14155550123", "482913"), true},
		{"PREVIEW_MODE=dry-run: preview not sent", map[string]string{"PREVIEW_MODE": "dry-run"}, preview, true},
		{"PREVIEW_MODE=dry-run: sign-in still sent", map[string]string{"PREVIEW_MODE": "dry-run"}, sms("+14155550123", "482913"), false},
		{"PREVIEW_MODE=deliver: preview sent", nil, preview, false},
		{"local run without credentials", map[string]string{"K_SERVICE": "-", "EIGHTYEIGHTX_API_KEY": "-", "OKTA_SECRET": "-", "LOCAL_ONLY": "true"}, voice("+14155550123", "482913", "en"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.env)
			a := decode(t, h.hook(tt.r.body()))
			if a.kind() != "SUCCESSFUL" {
				t.Fatalf("answer %s", a.kind())
			}
			id := a.Commands[0].Value[0].TransactionID
			if got := strings.HasPrefix(id, "dry-run-"); got != tt.dryRun {
				t.Errorf("transactionId %q, dry run %v", id, tt.dryRun)
			}
			if md := a.Commands[0].Value[0].TransactionMetadata; md != "sms" && md != "voice" {
				t.Errorf("transactionMetadata %q: DESIGN says the channel", md)
			}
			if want := map[bool]int{true: 0, false: 1}[tt.dryRun]; h.fake.Count() != want {
				t.Errorf("8x8 received %d requests, want %d", h.fake.Count(), want)
			}
		})
	}
}

// The budget runs from the request's arrival: a request that waited for a
// cold start's configuration load does not get a second HOOK_DEADLINE.
func TestBudgetCountsFromArrival(t *testing.T) {
	h := newHarness(t, nil)
	h.do(http.MethodGet, "/healthz", nil, nil) // loaded
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(sms("+14155550123", "482913").body()))
	r.Header = oktaHeaders()
	// Arrived a whole HOOK_DEADLINE ago: nothing may be sent any more.
	r = r.WithContext(hook.WithArrival(r.Context(), time.Now().Add(-time.Second)))
	w := httptest.NewRecorder()
	h.f().ServeHTTP(w, r)
	if got := decode(t, w).kind(); got != "FAILED" {
		t.Errorf("answer %s, want FAILED (nothing sent; Okta falls back)", got)
	}
	if h.fake.Count() != 0 {
		t.Errorf("8x8 called after the budget was spent")
	}
}

func TestHealthAndNotReady(t *testing.T) {
	t.Run("healthy", func(t *testing.T) {
		h := newHarness(t, nil)
		for _, p := range []string{"/", "/healthz"} {
			resp := h.do(http.MethodGet, p, nil, nil)
			if resp.Code != 200 || resp.Body.String() != `{"status":"ok"}` {
				t.Errorf("GET %s = %d %s", p, resp.Code, resp.Body)
			}
		}
	})
	t.Run("missing credentials on Cloud Run: 503 until fixed, then served", func(t *testing.T) {
		h := newHarness(t, map[string]string{"EIGHTYEIGHTX_API_KEY": "-"})
		resp := h.hook(sms("+14155550123", "482913").body())
		if resp.Code != http.StatusServiceUnavailable {
			t.Fatalf("HTTP %d, want 503", resp.Code)
		}
		if hz := h.do(http.MethodGet, "/healthz", nil, nil); hz.Code != 503 || strings.Contains(hz.Body.String(), testSecret) {
			t.Errorf("healthz = %d %s", hz.Code, hz.Body)
		}
		if !strings.Contains(h.logs.String(), "EIGHTYEIGHTX_API_KEY") {
			t.Errorf("the log does not say what is missing:\n%s", h.logs)
		}
		// Not a poisoned instance: the next request loads again.
		h.setenv("EIGHTYEIGHTX_API_KEY", testAPIKey)
		if resp := h.hook(sms("+14155550123", "482913").body()); resp.Code != 200 {
			t.Fatalf("after the fix: HTTP %d %s", resp.Code, resp.Body)
		}
	})
	t.Run("missing credentials off Cloud Run (no K_SERVICE): 503, never a silent dry run", func(t *testing.T) {
		h := newHarness(t, map[string]string{"K_SERVICE": "-", "EIGHTYEIGHTX_API_KEY": "-"})
		if resp := h.hook(sms("+14155550123", "482913").body()); resp.Code != http.StatusServiceUnavailable {
			t.Fatalf("HTTP %d %s, want 503", resp.Code, resp.Body)
		}
	})
	t.Run("no Okta secret on Cloud Run refuses everything", func(t *testing.T) {
		h := newHarness(t, map[string]string{"OKTA_SECRET": "-"})
		if resp := h.do(http.MethodPost, "/", sms("+14155550123", "482913").body(), http.Header{}); resp.Code != 503 {
			t.Fatalf("HTTP %d, want 503", resp.Code)
		}
		if h.fake.Count() != 0 {
			t.Error("8x8 called")
		}
	})
}
