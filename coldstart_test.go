package telephonyhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight"
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/secrets/secretstest"
)

// The cold start: configuration and secrets load on the first request, one
// load at a time, never cached when they fail.

// Secrets from Secret Manager: references resolved once per instance, the
// 8x8 call made with the key from it.
func TestSecretManagerReferences(t *testing.T) {
	const (
		keyRef    = "sm://acme-hooks/eightbyeightx-api-key"
		oktaRef   = "projects/acme-hooks/secrets/okta-secret/versions/3"
		hookRef   = "sm://acme-hooks/webhook-secret#latest"
		smAPIKey  = "sm-api-key-Qw8Zr4Tn"
		smOktaSec = "sm-okta-secret-Hy6Ub2"
	)
	setup := func(t *testing.T) (*harness, *secretstest.Server) {
		sm := secretstest.NewServer(t)
		sm.Set(keyRef, []byte(smAPIKey+"\n"))
		sm.Set("projects/acme-hooks/secrets/okta-secret/versions/3", []byte(smOktaSec))
		sm.Set(hookRef, []byte(testWebhook))
		h := newHarness(t, map[string]string{
			"SECRETMANAGER_EMULATOR_HOST": sm.Addr(),
			"EIGHTYEIGHTX_API_KEY":        keyRef,
			"OKTA_SECRET":                 oktaRef,
			"EIGHTYEIGHTX_WEBHOOK_SECRET": hookRef,
		})
		return h, sm
	}
	call := func(h *harness, secret string) *httptest.ResponseRecorder {
		hdr := oktatest.Headers()
		hdr.Set("Authorization", secret)
		return h.do(http.MethodPost, "/", sms("+14155550123", "482913").Body(), hdr)
	}

	t.Run("resolved once per instance, used for 8x8 and Okta", func(t *testing.T) {
		h, sm := setup(t)
		h.env["RATE_LIMIT_PER_PHONE"] = "0"
		var wg sync.WaitGroup
		for range 10 { // concurrent first requests share one load
			wg.Go(func() {
				if resp := call(h, smOktaSec); resp.Code != 200 {
					t.Errorf("HTTP %d %s", resp.Code, resp.Body)
				}
			})
		}
		wg.Wait()
		for range 5 {
			call(h, smOktaSec)
		}
		for _, ref := range []string{keyRef, oktaRef, hookRef} {
			if n := sm.Count(ref); n != 1 {
				t.Errorf("%s read %d times, want once per instance", ref, n)
			}
		}
		reqs := h.fake.Requests()
		if len(reqs) != 15 || reqs[0].Authorization != "Bearer "+smAPIKey {
			t.Fatalf("%d 8x8 requests, auth %q: want the key from Secret Manager (newline trimmed)", len(reqs), reqs[0].Authorization)
		}
		if resp := call(h, oktaRef); resp.Code != 401 {
			t.Errorf("the reference itself authenticated: HTTP %d", resp.Code)
		}
		if strings.Contains(h.logs.String(), smAPIKey) || strings.Contains(h.logs.String(), smOktaSec) {
			t.Error("a secret value reached the logs")
		}
	})

	for _, tt := range []struct {
		name string
		fail func(*secretstest.Server)
	}{
		{"permission denied", func(sm *secretstest.Server) { sm.Fail(keyRef, codes.PermissionDenied, 1) }},
		{"not found", func(sm *secretstest.Server) { sm.Fail(oktaRef, codes.NotFound, 1) }},
		{"corrupted payload", func(sm *secretstest.Server) { sm.CorruptCRC(keyRef) }},
	} {
		t.Run(tt.name+": 503, logged by name, retried by the next request", func(t *testing.T) {
			h, sm := setup(t)
			tt.fail(sm)
			if resp := call(h, smOktaSec); resp.Code != http.StatusServiceUnavailable {
				t.Fatalf("HTTP %d, want 503", resp.Code)
			}
			if h.fake.Count() != 0 {
				t.Fatal("8x8 called without configuration")
			}
			if !h.logged("configuration not loaded") || !h.logged("acme-hooks") {
				t.Errorf("the log does not say which reference failed:\n%s", h.logs)
			}
			if strings.Contains(tt.name, "corrupted") {
				// Still corrupt when it loads again: still 503, never
				// served with a bad key.
				reads := sm.Total()
				h.clk.Set(h.clk.Now().Add(reloadAfter))
				if resp := call(h, smOktaSec); resp.Code != 503 || sm.Total() == reads {
					t.Fatalf("HTTP %d with a corrupt secret, %d more reads; want 503 after a new load", resp.Code, sm.Total()-reads)
				}
				return
			}
			// Within reloadAfter the failure answers at once, without a
			// new load; after it, the next request loads again.
			reads := sm.Total()
			if resp := call(h, smOktaSec); resp.Code != 503 || sm.Total() != reads {
				t.Fatalf("within %v of the failure: HTTP %d, %d more reads; want 503 and none", reloadAfter, resp.Code, sm.Total()-reads)
			}
			h.clk.Set(h.clk.Now().Add(reloadAfter))
			if resp := call(h, smOktaSec); resp.Code != 200 {
				t.Fatalf("next request: HTTP %d %s", resp.Code, resp.Body)
			}
		})
	}
	t.Run("transient Unavailable is retried within the start-up budget", func(t *testing.T) {
		h, sm := setup(t)
		sm.Fail(keyRef, codes.Unavailable, 2)
		if resp := call(h, smOktaSec); resp.Code != 200 {
			t.Fatalf("HTTP %d %s", resp.Code, resp.Body)
		}
		if n := sm.Count(keyRef); n != 3 {
			t.Errorf("read %d times, want 3 (2 failures, 1 success)", n)
		}
	})
}

// The voice per locale comes from the 8x8 account's own list, read at cold
// start: a locale whose built-in profile the account lacks gets one the
// account has; a VOICE_PROFILE the account lacks is refused at start; a
// failed read keeps the built-in table.
func TestVoicesFromTheAccount(t *testing.T) {
	account := []eightbyeighttest.SpeechProfile{
		{Code: "en-US-Jenny", Locale: "en-US"},
		{Code: "fr-FR-HenriNeural", Locale: "fr-FR"},
	}
	t.Run("the account's French voice", func(t *testing.T) {
		h := newHarness(t, nil)
		h.fake.SetSpeechProfiles(account)
		if k := oktatest.Decode(t, h.hook(voice("+33612345678", "905127", "fr-FR").Body())).Kind(); k != "SUCCESSFUL" {
			t.Fatalf("answer %s", k)
		}
		if p := h.fake.Requests()[0].Callflow().Callflow[1].Params.VoiceProfile; p != "fr-FR-HenriNeural" {
			t.Errorf("voice profile %q, want the account's fr-FR-HenriNeural", p)
		}
	})
	t.Run("VOICE_PROFILE the account lacks: refused at start", func(t *testing.T) {
		h := newHarness(t, map[string]string{"VOICE_PROFILE": "de-DE-KatjaNeural"})
		h.fake.SetSpeechProfiles(account)
		if resp := h.hook(voice("+33612345678", "905127", "fr-FR").Body()); resp.Code != http.StatusServiceUnavailable {
			t.Fatalf("HTTP %d, want 503", resp.Code)
		}
		if !h.logged("VOICE_PROFILE") || h.fake.Count() != 0 {
			t.Errorf("want a log naming VOICE_PROFILE and no call:\n%s", h.logs)
		}
	})
	t.Run("the read fails: the built-in table", func(t *testing.T) {
		h := newHarness(t, nil)
		h.fake.SetFaultFor(eightbyeighttest.SpeechProfiles, eightbyeighttest.Unauthorized)
		if k := oktatest.Decode(t, h.hook(voice("+33612345678", "905127", "fr-FR").Body())).Kind(); k != "SUCCESSFUL" {
			t.Fatalf("answer %s", k)
		}
		if p := h.fake.Requests()[0].Callflow().Callflow[1].Params.VoiceProfile; p != "fr-FR-DeniseNeural" {
			t.Errorf("voice profile %q, want the built-in fr-FR-DeniseNeural", p)
		}
	})
}

// stallingClose is the 8x8 client's transport with a close that never
// returns until released, as the Cloud Logging client's Close waits on a
// stalled API.
type stallingClose struct {
	http.RoundTripper
	release chan struct{}
}

func (s stallingClose) CloseIdleConnections() { <-s.release }

// A failed start closes what it opened within its budget (2 s), however a
// close stalls: the next load runs, and once the configuration is fixed it
// serves.
func TestFailedStartWithAStalledClose(t *testing.T) {
	h := newHarness(t, map[string]string{"VOICE_PROFILE": "de-DE-KatjaNeural"})
	h.fake.SetSpeechProfiles([]eightbyeighttest.SpeechProfile{{Code: "fr-FR-HenriNeural", Locale: "fr-FR"}})
	stall := stallingClose{eightbyeight.NewHTTPClient().Transport, make(chan struct{})}
	t.Cleanup(func() { close(stall.release) })
	h.opt.App.HTTPClient = &http.Client{Transport: stall}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := h.f().Ready(ctx)
	if took := time.Since(start); err == nil || !strings.Contains(err.Error(), "VOICE_PROFILE") || took > 4*time.Second {
		t.Fatalf("failed start: %v after %v; want the VOICE_PROFILE error within 4 s", err, took.Round(time.Millisecond))
	}
	h.setenv("VOICE_PROFILE", "fr-FR-HenriNeural")
	h.clk.Set(h.clk.Now().Add(reloadAfter))
	if _, err := h.f().Ready(ctx); err != nil {
		t.Fatalf("the next load: %v", err)
	}
}
