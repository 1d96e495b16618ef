package telephonyhook

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/secrets"
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
			logs := h.logs.String()
			if !strings.Contains(logs, "configuration not loaded") || !strings.Contains(logs, "acme-hooks") {
				t.Errorf("the log does not say which reference failed:\n%s", logs)
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

// BenchmarkColdStartSecretManager: a new instance's first answered request
// (GET /healthz, which loads the configuration) with three secrets read
// from a fake Secret Manager over loopback gRPC, through the real client.
//
//	go test -run '^$' -bench ColdStartSecretManager -benchtime 20x .
func BenchmarkColdStartSecretManager(b *testing.B) {
	sm := secretstest.NewServer(b)
	sm.Set("sm://acme-hooks/okta-secret", []byte("okta-secret-bench"))
	sm.Set("sm://acme-hooks/api-key", []byte("api-key-bench"))
	sm.Set("sm://acme-hooks/webhook", []byte("webhook-bench"))
	fake := eightbyeighttest.New(b)
	env := map[string]string{
		"K_SERVICE": "bench", "GOOGLE_CLOUD_PROJECT": "acme-hooks", "SECRETMANAGER_EMULATOR_HOST": sm.Addr(),
		"OKTA_SECRET": "sm://acme-hooks/okta-secret", "EIGHTYEIGHTX_API_KEY": "sm://acme-hooks/api-key",
		"EIGHTYEIGHTX_WEBHOOK_SECRET": "sm://acme-hooks/webhook", "EIGHTYEIGHTX_SUBACCOUNT_ID": testSub,
		"EIGHTYEIGHTX_SOURCE_NUMBER": testCaller, "EIGHTYEIGHTX_VOICE_URL": fake.URL, "EIGHTYEIGHTX_SMS_URL": fake.URL,
	}
	var took []time.Duration
	for b.Loop() {
		f := New(Options{Getenv: func(k string) string { return env[k] }, Stdout: io.Discard})
		start := time.Now()
		w := httptest.NewRecorder()
		f.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		took = append(took, time.Since(start))
		if w.Code != 200 {
			b.Fatalf("HTTP %d", w.Code)
		}
	}
	slices.Sort(took)
	b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "ms-median")
	if n := sm.Total(); n != 3*len(took) {
		b.Fatalf("%d secret reads for %d cold starts", n, len(took))
	}
}

// gatedAccessor answers only once gate is closed (or fails after a bound).
type gatedAccessor struct {
	gate <-chan struct{}
	vals map[string]string
}

func (g gatedAccessor) Access(ctx context.Context, name string) ([]byte, error) {
	select {
	case <-g.gate:
		return []byte(g.vals[name]), nil
	case <-time.After(5 * time.Second): // a bound for the failure case only
		return nil, status.Error(codes.PermissionDenied, "the issuer's keys were not requested while secrets loaded")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// The issuer's key set is fetched while Secret Manager is read, not after:
// here Secret Manager answers only once the key set has been requested.
func TestJWKSFetchedWhileSecretsLoad(t *testing.T) {
	is := newTestIssuer(t)
	requested := make(chan struct{})
	var once sync.Once
	gated := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(requested) })
		is.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(gated.Close)
	h := newHarness(t, map[string]string{
		"OKTA_SECRET": "-", "OKTA_OAUTH_SCOPE": "okta.telephony.hook",
		"OKTA_OAUTH_ISSUER":    gated.URL + "/oauth2/default",
		"OKTA_OAUTH_CLIENT_ID": "0oaj43vkrq7wKxZSI5e6",
		"EIGHTYEIGHTX_API_KEY": "sm://acme-hooks/api-key",
	})
	h.opt.NewAccessor = func(context.Context, string) (secrets.Accessor, error) {
		return gatedAccessor{gate: requested, vals: map[string]string{"projects/acme-hooks/secrets/api-key/versions/latest": testAPIKey}}, nil
	}
	tok := newTestIssuerToken(t, is, gated.URL+"/oauth2/default")
	hdr := oktatest.Headers()
	hdr.Set("Authorization", "Bearer "+tok)
	if resp := h.do(http.MethodPost, "/", sms("+14155550123", "482913").Body(), hdr); resp.Code != 200 {
		t.Fatalf("HTTP %d %s\n%s", resp.Code, resp.Body, h.logs)
	}
}

// newTestIssuerToken signs a valid token for the issuer URL iss.
func newTestIssuerToken(t *testing.T, is *testIssuer, iss string) string {
	return is.token(t, func(c jwt.MapClaims) { c["iss"] = iss }, nil, nil)
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
		// The start-up does not wait for the list (the built-in table
		// serves until it comes): wait for it here.
		h.do(http.MethodGet, "/healthz", nil, nil)
		if err := h.logs.WaitFor("voice profiles chosen", 5*time.Second); err != nil {
			t.Fatal(err)
		}
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
		if !strings.Contains(h.logs.String(), "VOICE_PROFILE") || h.fake.Count() != 0 {
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
