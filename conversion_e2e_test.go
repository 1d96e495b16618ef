package telephonyhook

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
)

// Conversion feedback end to end, through the function: Okta's event hook
// tells which codes were entered; 8x8 gets each SMS's outcome (validated
// against 8x8's spec by the fake); the conversion guard learns, and in
// enforce mode stops sending to a pumped destination.

// eventEnv turns on the event hook, 8x8 feedback and the conversion guard
// in record mode, on one instance without Redis.
func eventEnv(kv ...string) map[string]string {
	// One instance without Redis: tracking is set explicitly, as the
	// admin of a single-instance deploy would (the default is off).
	env := map[string]string{"OKTA_EVENT_HOOK_SECRET": oktatest.EventSecret, "RATE_LIMIT_PER_PHONE": "0",
		"CONVERSION_GUARD": "record", "EIGHTYEIGHTX_SMS_FEEDBACK": "on"}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

func eventHeaders() http.Header {
	return http.Header{"Authorization": {oktatest.EventSecret}, "Content-Type": {"application/json"}}
}

// mfaEvent is a user.authentication.auth_via_mfa System Log event, shaped
// like the shared fixture reconstructed-auth-via-mfa-sms-success.json.
func mfaEvent(userID, factor, result string, published time.Time) map[string]any {
	method := map[string]string{"SMS_FACTOR": "SMS", "CALL_FACTOR": "VOICE"}[factor]
	return map[string]any{
		"uuid": oktatest.EventID(), "published": published.UTC().Format("2006-01-02T15:04:05.000Z"),
		"eventType": "user.authentication.auth_via_mfa", "version": "0", "severity": "INFO",
		"legacyEventType": "core.user.factor.attempt_success",
		"actor":           map[string]any{"id": userID, "type": "User", "alternateId": "alice@example.com"},
		"outcome":         map[string]any{"result": result, "reason": nil},
		"target": []any{
			map[string]any{"id": userID, "type": "User"},
			map[string]any{"id": "smsEXAMPLE0000000001", "type": "AuthenticatorEnrollment", "displayName": "Phone",
				"detailEntry": map[string]any{"methodTypeUsed": method}},
		},
		"debugContext": map[string]any{"debugData": map[string]any{"factor": factor, "factorIntent": "LOGIN"}},
	}
}

// delivery is an event hook POST body holding events.
func delivery(events ...map[string]any) []byte {
	if events == nil {
		events = []map[string]any{} // Okta sends an array, never null
	}
	b, _ := json.Marshal(map[string]any{
		"eventType": "com.okta.event_hook", "eventTypeVersion": "1.0", "cloudEventsVersion": "0.1",
		"source": "https://acme.okta.com/api/v1/eventHooks/whoEXAMPLE", "eventId": oktatest.EventID(),
		"eventTime": time.Now().UTC().Format(time.RFC3339), "contentType": "application/json",
		"data": map[string]any{"events": events},
	})
	return b
}

// post delivers events and wants 200.
func (h *harness) postEvents(events ...map[string]any) {
	h.t.Helper()
	if resp := h.do(http.MethodPost, "/okta/events", delivery(events...), eventHeaders()); resp.Code != http.StatusOK {
		h.t.Fatalf("event POST: HTTP %d %s", resp.Code, resp.Body)
	}
}

// sendTo delivers one code to phone for user and returns 8x8's umid or
// sessionId ("" when the answer was not SUCCESSFUL).
func (h *harness) sendTo(r oktatest.Request) (kind, txID string) {
	h.t.Helper()
	r.Expires = h.clk.Now().Add(5 * time.Minute)
	a := oktatest.Decode(h.t, h.hook(r.Body()))
	return a.Kind(), a.TransactionID()
}

func TestEventHookRoute(t *testing.T) {
	for _, tt := range []struct {
		name   string
		env    map[string]string
		method string
		header http.Header
		body   []byte
		want   int
		answer string
	}{
		{"verification GET", eventEnv(), "GET", http.Header{"X-Okta-Verification-Challenge": {"ExAmPlE-0123"}}, nil, 200, `{"verification":"ExAmPlE-0123"}`},
		{"verification GET without the header", eventEnv(), "GET", nil, nil, 400, ""},
		{"POST without the secret", eventEnv(), "POST", http.Header{"Content-Type": {"application/json"}}, delivery(), 401, ""},
		{"POST with the wrong secret", eventEnv(), "POST", http.Header{"Authorization": {"nope"}}, delivery(), 401, ""},
		{"POST with Okta's telephony hook secret", eventEnv(), "POST", oktatest.Headers(), delivery(), 401, ""},
		{"no event hook secret configured: every POST refused", nil, "POST", eventHeaders(), delivery(), 401, ""},
		{"POST, not JSON", eventEnv(), "POST", eventHeaders(), []byte(`{"data":`), 400, ""},
		{"POST, an empty batch", eventEnv(), "POST", eventHeaders(), delivery(), 200, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.env)
			resp := h.do(tt.method, "/okta/events", tt.body, tt.header)
			if resp.Code != tt.want {
				t.Fatalf("HTTP %d, want %d: %s", resp.Code, tt.want, resp.Body)
			}
			if tt.answer != "" && strings.TrimSpace(resp.Body.String()) != tt.answer {
				t.Errorf("body %s, want %s", resp.Body, tt.answer)
			}
		})
	}
}

// Okta's fixtures, as delivered: redelivered, irrelevant and malformed
// events in batches never make the route fail.
func TestEventHookFixtures(t *testing.T) {
	dir := filepath.Join(sharedtest.Require(t), "contracts", "okta", "event-hook")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(files) == 0 {
		t.Fatal("no event hook fixtures")
	}
	h := newHarness(t, eventEnv())
	for _, f := range append(files, files...) { // every batch delivered twice
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if resp := h.do(http.MethodPost, "/okta/events", body, eventHeaders()); resp.Code != http.StatusOK {
			t.Errorf("%s: HTTP %d %s", filepath.Base(f), resp.Code, resp.Body)
		}
	}
	// A malformed event beside a good one.
	odd := delivery(map[string]any{"uuid": 42, "eventType": []string{"x"}, "outcome": "SUCCESS"}, mfaEvent(oktatest.UserID, "SMS_FACTOR", "SUCCESS", time.Now()))
	if resp := h.do(http.MethodPost, "/okta/events", odd, eventHeaders()); resp.Code != http.StatusOK {
		t.Errorf("odd event: HTTP %d", resp.Code)
	}
}

// 8x8 SMS feedback: a verified SMS gets exactly one success report, an
// expired one exactly one failure report once otpExpires + grace passed,
// a voice call none; every report validated against 8x8's spec.
func TestSMSFeedback(t *testing.T) {
	h := newHarness(t, eventEnv())
	start := h.clk.Now()
	verified := sms("+14155550123", "482913")
	verified.UserID = "00uFeedbackVerified01"
	expired := sms("+14155550199", "905127")
	expired.UserID = "00uFeedbackExpired001"
	call := voice("+33612345678", "630284", "fr")
	call.UserID = "00uFeedbackVoice00001"
	_, umidVerified := h.sendTo(verified)
	_, umidExpired := h.sendTo(expired)
	// Per-instance state is right only for one instance: the start says so.
	if !h.logged("per instance without REDIS_URL") {
		t.Errorf("no warning that feedback without Redis needs a single instance:\n%s", h.logs)
	}
	if k, _ := h.sendTo(call); k != "SUCCESSFUL" || umidVerified == "" || umidExpired == "" {
		t.Fatalf("sends: %s %q %q", k, umidVerified, umidExpired)
	}
	for _, r := range h.fake.Requests() {
		if r.Kind == eightbyeighttest.SMS && r.SMS().Track != "Outcome" {
			t.Errorf("SMS sent without track Outcome: %s", r.Body)
		}
	}

	at := start.Add(40 * time.Second)
	h.clk.Set(at)
	h.postEvents(mfaEvent(verified.UserID, "SMS_FACTOR", "SUCCESS", at), mfaEvent(call.UserID, "CALL_FACTOR", "SUCCESS", at))
	h.postEvents(mfaEvent(verified.UserID, "SMS_FACTOR", "SUCCESS", at)) // a redelivery, with another uuid

	// Before otpExpires + grace: no failure yet. After: one.
	h.clk.Set(start.Add(5*time.Minute + 30*time.Second))
	h.postEvents()
	if fb := h.fake.Feedbacks(); len(fb) != 1 || fb[0].UMID != umidVerified || fb[0].Outcome != "success" ||
		fb[0].Timestamp != at.UTC().Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("feedback before expiry = %+v, want one success for %s at %s", fb, umidVerified, at)
	}
	h.clk.Set(start.Add(6*time.Minute + 10*time.Second))
	h.postEvents()
	h.postEvents()
	fb := h.fake.Feedbacks()
	if len(fb) != 2 || fb[1].UMID != umidExpired || fb[1].Outcome != "failure" {
		t.Fatalf("feedback = %+v, want success for %s then failure for %s, and nothing for the call", fb, umidVerified, umidExpired)
	}
}

// Two instances on one Redis: one report per umid, whichever instance
// sent the code and whichever receives the event.
func TestSMSFeedbackTwoInstances(t *testing.T) {
	for name, url := range redisURLs(t) {
		t.Run(name, func(t *testing.T) {
			env := eventEnv("REDIS_URL", url, "REDIS_KEY_SECRET", "shared-key-secret-"+name)
			a, b := newHarness(t, env), newHarness(t, env)
			// Shut down as the subtest ends: each settle loop runs on its
			// own clock, 7 minutes ahead by then, and left running it takes
			// the next test's sends from the shared Redis and reports them
			// to an 8x8 that is gone.
			t.Cleanup(func() {
				for _, h := range []*harness{a, b} {
					if err := h.f().Shutdown(context.Background()); err != nil {
						t.Errorf("shutdown: %v", err)
					}
				}
			})
			b.fake = a.fake // one 8x8 account: count its feedback once
			b.env["EIGHTYEIGHTX_VOICE_URL"], b.env["EIGHTYEIGHTX_SMS_URL"] = a.fake.VoiceURL(), a.fake.SMSURL()
			start := a.clk.Now()
			b.clk.Set(start)
			var umids []string
			for i := range 6 {
				r := sms(oktatest.Phones[i%2*5], "482913")
				r.UserID = fmt.Sprintf("00uTwoInst%s%08d", name[:3], i)
				sender := a
				if i%2 == 1 {
					sender = b
				}
				_, umid := sender.sendTo(r)
				umids = append(umids, umid)
				if i < 3 { // half are verified, through the other instance
					other := map[*harness]*harness{a: b, b: a}[sender]
					other.postEvents(mfaEvent(r.UserID, "SMS_FACTOR", "SUCCESS", start.Add(time.Second)))
				}
			}
			for _, h := range []*harness{a, b} {
				h.clk.Set(start.Add(7 * time.Minute))
				h.postEvents()
				h.postEvents()
			}
			got := map[string]string{}
			for _, f := range a.fake.Feedbacks() {
				if prev, dup := got[f.UMID]; dup {
					t.Errorf("umid %s reported twice (%s, %s)", f.UMID, prev, f.Outcome)
				}
				got[f.UMID] = f.Outcome
			}
			for i, u := range umids {
				want := map[bool]string{true: "success", false: "failure"}[i < 3]
				if got[u] != want {
					t.Errorf("umid %d: %q, want %q", i, got[u], want)
				}
			}
		})
	}
}

// The conversion guard on a pump: a range whose codes nobody enters is
// paused in enforce mode while a healthy destination keeps delivering;
// record mode never refuses; and with no verification arriving at all
// (the event hook broken, not an attack) nothing is refused either.
func TestConversionCatchesAPump(t *testing.T) {
	for _, tt := range []struct {
		name       string
		mode       string
		verifyUS   bool
		wantPumped string
	}{
		{"enforce", "enforce", true, "error:conversion_suspect"},
		{"record never refuses", "record", true, "SUCCESSFUL"},
		{"feedback silent: never enforced", "enforce", false, "SUCCESSFUL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, eventEnv("CONVERSION_GUARD", tt.mode))
			start := h.clk.Now()
			pumpedSends := 0
			for i := range 25 {
				us := sms(fmt.Sprintf("+1415555%04d", 100+i), "482913")
				us.UserID = fmt.Sprintf("00uHealthy%010d", i)
				if k, _ := h.sendTo(us); k != "SUCCESSFUL" {
					t.Fatalf("healthy send %d: %s", i, k)
				}
				if tt.verifyUS && i%10 != 0 { // 90 % entered
					h.postEvents(mfaEvent(us.UserID, "SMS_FACTOR", "SUCCESS", h.clk.Now().Add(20*time.Second)))
				}
				lv := sms(fmt.Sprintf("+3712000%04d", 100+i), "905127")
				lv.UserID = fmt.Sprintf("00uPumped0%010d", i)
				if k, _ := h.sendTo(lv); k == "SUCCESSFUL" {
					pumpedSends++
				}
			}
			// The codes settle once otpExpires + grace has passed.
			h.clk.Set(start.Add(6*time.Minute + 5*time.Second))
			h.postEvents()

			lv := sms("+37120000199", "905127")
			lv.UserID = "00uPumpedAfter000001"
			if k, _ := h.sendTo(lv); k != tt.wantPumped {
				t.Errorf("pumped destination after %d codes sent: %s, want %s", pumpedSends, k, tt.wantPumped)
			}
			us := sms("+14155550177", "482913")
			us.UserID = "00uHealthyAfter00001"
			if k, _ := h.sendTo(us); k != "SUCCESSFUL" {
				t.Errorf("healthy destination: %s, want SUCCESSFUL", k)
			}
			if tt.mode == "record" && !h.logged("conversion destination suspect") {
				t.Errorf("record mode did not log the suspect destination")
			}
			if !tt.verifyUS && !h.logged("conversion enforcement paused") {
				t.Errorf("no warning that the feedback channel looks broken")
			}
			t.Logf("%s: %d pumped codes sent before the check, 8x8 feedback reports %d", tt.name, pumpedSends, len(h.fake.Feedbacks()))
		})
	}
}

// SIGTERM after a drain that used its whole budget: closing still gets
// its own, so the conversion tracker's last Settle sends the failure
// report that was due (8x8 takes it for 15 minutes; the instance is
// about to go).
func TestShutdownAfterAFullDrainStillCloses(t *testing.T) {
	h := newHarness(t, eventEnv())
	start := h.clk.Now()
	h.postEvents() // the event hook is heard
	r := sms("+14155550123", "482913")
	r.UserID = "00uShutdownExpired01"
	if k, _ := h.sendTo(r); k != "SUCCESSFUL" {
		t.Fatalf("send: %s", k)
	}
	h.clk.Set(start.Add(6*time.Minute + 5*time.Second)) // expired, unverified
	spent, cancel := context.WithCancel(t.Context())
	cancel()
	_ = h.f().Shutdown(spent)
	if got := h.fake.Feedbacks(); len(got) != 1 {
		t.Fatalf("%d feedback reports after shutdown, want the 1 failure that was due", len(got))
	}
}
