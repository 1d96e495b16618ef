package hook_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/hook"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
)

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
	for name, body := range oktatest.Fixtures(t) {
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
			h := newHarness(t)
			et, err := time.Parse(time.RFC3339, probe.EventTime)
			if err != nil {
				t.Fatal(err)
			}
			h.clk.Set(et.Add(time.Second))
			resp := h.hook(body)
			if resp.Code != http.StatusOK {
				t.Fatalf("HTTP %d: %s", resp.Code, resp.Body)
			}
			a := oktatest.Decode(t, resp)
			if got := a.Kind(); got != w.kind {
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
				if cf.Callflow[0].Params.Source != oktatest.Caller {
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

// The voice follows the user's locale (English when it is not spoken);
// VOICE_PROFILE overrides it for every call.
func TestVoiceProfile(t *testing.T) {
	for _, tt := range []struct {
		edit                  func(*setup)
		locale, phone, prefix string
	}{
		{nil, "en_GB", "+447911123456", "en-GB-"},
		{nil, "ja", "+819012345678", "ja-JP-"},
		{nil, "sv-SE", "+14155550123", "en-US-"},
		{func(s *setup) { s.opt.VoiceProfile = "en-GB-Emma" }, "fr", "+33612345678", "en-GB-Emma"},
	} {
		h := newHarness(t, tt.edit)
		if a := oktatest.Decode(t, h.hook(voice(tt.phone, "905127", tt.locale).Body())); a.Kind() != "SUCCESSFUL" || h.fake.Count() != 1 {
			t.Fatalf("%s: answer %s, %d requests", tt.locale, a.Kind(), h.fake.Count())
		}
		if p := h.fake.Requests()[0].Callflow().Callflow[1].Params.VoiceProfile; !strings.HasPrefix(p, tt.prefix) {
			t.Errorf("%s: voice profile %q, want %s*", tt.locale, p, tt.prefix)
		}
	}
}

// Each 8x8 fault: the answer Okta gets, how many requests reached 8x8, and
// that the answer left within the default HOOK_DEADLINE (2.5 s), a hung
// 8x8 included.
func TestDeliveryFaults(t *testing.T) {
	F := eightbyeighttest.OK
	for _, tt := range []struct {
		name   string
		faults []eightbyeighttest.Fault
		edit   func(*setup)
		want   string
		reqs   int
	}{
		{"accepted", []eightbyeighttest.Fault{F}, nil, "SUCCESSFUL", 1},
		{"400 -1017: Okta falls back", []eightbyeighttest.Fault{eightbyeighttest.BadRequest}, nil, "FAILED", 1},
		{"400 with ON_DELIVERY_FAILURE=error", []eightbyeighttest.Fault{eightbyeighttest.BadRequest}, func(s *setup) { s.opt.OnFailure = hook.ErrorObject }, "error:delivery_refused", 1},
		{"401 bad API key", []eightbyeighttest.Fault{eightbyeighttest.Unauthorized}, nil, "FAILED", 1},
		{"500 then accepted: one retry", []eightbyeighttest.Fault{eightbyeighttest.ServerError, F}, nil, "SUCCESSFUL", 2},
		{"500 twice", []eightbyeighttest.Fault{eightbyeighttest.ServerError, eightbyeighttest.ServerError}, nil, "FAILED", 2},
		{"429 Retry-After 0 then accepted", []eightbyeighttest.Fault{eightbyeighttest.TooMany, F}, nil, "SUCCESSFUL", 2},
		{"rejected", []eightbyeighttest.Fault{eightbyeighttest.Rejected}, nil, "FAILED", 1},
		{"hang: PENDING, never FAILED", []eightbyeighttest.Fault{eightbyeighttest.Hang}, nil, "PENDING", 1},
		{"connection reset after sending: PENDING", []eightbyeighttest.Fault{eightbyeighttest.Reset, F}, nil, "PENDING", 1},
		{"garbled 200: PENDING", []eightbyeighttest.Fault{eightbyeighttest.Garbled}, nil, "PENDING", 1},
		{"504 from a gateway: PENDING, not retried", []eightbyeighttest.Fault{eightbyeighttest.Gateway, F}, nil, "PENDING", 1},
		{"8x8's own JSON 503 then accepted: one retry", []eightbyeighttest.Fault{eightbyeighttest.Unavailable, F}, nil, "SUCCESSFUL", 2},
		// A front proxy's 503 can follow a request 8x8 already took: a
		// retry would be a second code.
		{"a proxy's plain 503: PENDING, not retried", []eightbyeighttest.Fault{eightbyeighttest.ProxyUnavailable, F}, nil, "PENDING", 1},
		{"a 503 with JSON that is not 8x8's: PENDING, not retried", []eightbyeighttest.Fault{eightbyeighttest.ForeignJSON, F}, nil, "PENDING", 1},
	} {
		for _, ch := range []string{"sms", "voice"} {
			t.Run(ch+"/"+tt.name, func(t *testing.T) {
				h := newHarness(t, tt.edit)
				h.fake.Queue(tt.faults...)
				r := sms("+14155550123", "482913")
				if ch == "voice" {
					r = voice("+14155550123", "482913", "en-US")
				}
				start := time.Now()
				resp := h.hook(r.Body())
				took := time.Since(start)
				if resp.Code != http.StatusOK {
					t.Fatalf("HTTP %d", resp.Code)
				}
				if got := oktatest.Decode(t, resp).Kind(); got != tt.want {
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

// The budget runs from the request's arrival: a request that waited for a
// cold start's configuration load does not get a second HOOK_DEADLINE.
// Out of time before anything was sent, the hook answers as if 8x8 could
// not be reached, with or without Redis: Okta falls back at once. PENDING
// would leave the user waiting for a code nobody sends. A repeat gets the
// same answer.
func TestBudgetCountsFromArrival(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*setup)
		shape string
	}{
		{"memory", nil, "FAILED"},
		{"Redis", func(s *setup) { s.redis = true }, "FAILED"},
		{"Redis, ON_DELIVERY_FAILURE=error", func(s *setup) { s.redis, s.opt.OnFailure = true, hook.ErrorObject }, "error:delivery_unreachable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.edit)
			h.do(http.MethodGet, "/healthz", nil, nil) // loaded
			req := sms("+14155550123", "482913")
			req.EventID = "evBudgetSpent" + strings.ReplaceAll(c.name, " ", "")
			r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(req.Body()))
			r.Header = oktatest.Headers()
			// Arrived a whole HOOK_DEADLINE ago: nothing may be sent any more.
			r = r.WithContext(hook.WithArrival(r.Context(), time.Now().Add(-defaults().opt.Deadline)))
			w := httptest.NewRecorder()
			h.srv.ServeHTTP(w, r)
			if got := oktatest.Decode(t, w).Kind(); got != c.shape {
				t.Errorf("answer %s, want %s (nothing sent; Okta falls back)", got, c.shape)
			}
			if h.fake.Count() != 0 {
				t.Errorf("8x8 called after the budget was spent")
			}
			// Okta has fallen back and sent its own code: a repeat of the
			// eventId with time left gets the same answer, not a second code.
			if got := h.kind(req); got != c.shape || h.fake.Count() != 0 {
				t.Errorf("the same eventId with time left = %s, %d sends; want %s, none", got, h.fake.Count(), c.shape)
			}
			// Another eventId with time left is delivered.
			if got := h.kind(sms("+14155550123", "482913")); got != "SUCCESSFUL" || h.fake.Count() != 1 {
				t.Errorf("a fresh eventId = %s, %d sends; want SUCCESSFUL, 1", got, h.fake.Count())
			}
		})
	}
}
