package telephonyhook

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/app"
	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/logtest"
	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
	"github.com/telephony-hooks/okta-8x8/internal/secrets"
)

// The root package's tests cover what needs the registered function: its
// registration, the cold start, the SIGTERM drain and the process it runs
// in, and the end-to-end paths. The hook's own scenarios are in internal/hook.

// Test credentials: the log scan in TestMain proves none of them is logged.
const (
	testSecret  = oktatest.Secret
	testAPIKey  = oktatest.APIKey
	testSub     = oktatest.Sub
	testCaller  = oktatest.Caller
	testWebhook = oktatest.Webhook
)

var sms, voice = oktatest.SMS, oktatest.Voice

// suite collects every log line written by every test of this package,
// for the leak scan when they end.
var suite logtest.Suite

func TestMain(m *testing.M) { os.Exit(suite.Main(m, oktatest.Secrets(), oktatest.Numbers())) }

// harness is one instance of the function under test with its fake 8x8.
type harness struct {
	t     *testing.T
	opt   Options // how the function is built, on first use
	fn    *Function
	once  sync.Once
	fake  *eightbyeighttest.Server
	env   map[string]string
	envMu sync.Mutex
	clk   *oktatest.Clock
	logs  *logtest.Buffer
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
		"REDIS_KEY_SECRET":            "redis-key-secret-Vd8Lp3Xs",
	}
}

// newHarness builds the function as the registered one is built, with env
// on top of a deployed configuration that delivers to the fake 8x8 ("-"
// unsets a variable).
func newHarness(t *testing.T, env map[string]string) *harness {
	t.Helper()
	h := &harness{t: t, fake: eightbyeighttest.New(t), clk: oktatest.NewClock(time.Now()), logs: &logtest.Buffer{}}
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
	h.opt = Options{Getenv: h.getenv, Stdout: suite.Tee(h.logs), App: app.Options{Now: h.clk.Now}}
	return h
}

// f is the function under test, built from h.opt on first use.
func (h *harness) f() *Function {
	h.once.Do(func() { h.fn = New(h.opt) })
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

// logged waits, up to 5 s, for s in the function's log lines (written in
// the background, as stdout may stall).
func (h *harness) logged(s string) bool { return h.logs.WaitFor(s, 5*time.Second) == nil }

// do sends one request through the function and returns the answer.
func (h *harness) do(method, path string, body []byte, header http.Header) *httptest.ResponseRecorder {
	return oktatest.Do(h.f(), method, path, body, header)
}

func (h *harness) hook(body []byte) *httptest.ResponseRecorder {
	return h.do(http.MethodPost, "/", body, oktatest.Headers())
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
		resp := h.hook(sms("+14155550123", "482913").Body())
		if resp.Code != http.StatusServiceUnavailable {
			t.Fatalf("HTTP %d, want 503", resp.Code)
		}
		if hz := h.do(http.MethodGet, "/healthz", nil, nil); hz.Code != 503 || strings.Contains(hz.Body.String(), testSecret) {
			t.Errorf("healthz = %d %s", hz.Code, hz.Body)
		}
		if !h.logged("EIGHTYEIGHTX_API_KEY") {
			t.Errorf("the log does not say what is missing:\n%s", h.logs)
		}
		// Not a poisoned instance: a request after reloadAfter loads again.
		h.setenv("EIGHTYEIGHTX_API_KEY", testAPIKey)
		h.clk.Set(h.clk.Now().Add(reloadAfter))
		if resp := h.hook(sms("+14155550123", "482913").Body()); resp.Code != 200 {
			t.Fatalf("after the fix: HTTP %d %s", resp.Code, resp.Body)
		}
	})
	t.Run("missing credentials off Cloud Run (no K_SERVICE): 503, never a silent dry run", func(t *testing.T) {
		h := newHarness(t, map[string]string{"K_SERVICE": "-", "EIGHTYEIGHTX_API_KEY": "-"})
		if resp := h.hook(sms("+14155550123", "482913").Body()); resp.Code != http.StatusServiceUnavailable {
			t.Fatalf("HTTP %d %s, want 503", resp.Code, resp.Body)
		}
	})
	t.Run("no Okta secret on Cloud Run refuses everything", func(t *testing.T) {
		h := newHarness(t, map[string]string{"OKTA_SECRET": "-"})
		if resp := h.do(http.MethodPost, "/", sms("+14155550123", "482913").Body(), http.Header{}); resp.Code != 503 {
			t.Fatalf("HTTP %d, want 503", resp.Code)
		}
		if h.fake.Count() != 0 {
			t.Error("8x8 called")
		}
	})
}

// Cloud Run kills the instance 10 s after SIGTERM: the drain, closing the
// app and the last log flush must all fit, or the last lines are lost.
func TestShutdownFitsCloudRunsTenSeconds(t *testing.T) {
	if total := drainBudget + closeBudget + flushBudget; total >= 10*time.Second {
		t.Fatalf("drain %v + close %v + flush %v = %v: past Cloud Run's 10 s", drainBudget, closeBudget, flushBudget, total)
	}
}

// blockedAccessor is a Secret Manager that answers nothing until released.
type blockedAccessor struct{ release chan struct{} }

func (b blockedAccessor) Access(ctx context.Context, _ string) ([]byte, error) {
	select {
	case <-b.release:
		return []byte(testAPIKey), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// While the function cannot serve, every route answers at once in its
// documented shape, and nothing is sent: during a load that outlasts the
// request's wait (503: Okta falls back, the load goes on for the next
// request), and after the drain (503 with the connection closed, so Okta's
// next try reaches another instance).
func TestAnswersWhileNotServing(t *testing.T) {
	t.Run("the configuration still loading", func(t *testing.T) {
		h := newHarness(t, map[string]string{"EIGHTYEIGHTX_API_KEY": "sm://acme-hooks/eightbyeightx-api-key"})
		acc := blockedAccessor{release: make(chan struct{})}
		h.opt.NewAccessor = func(context.Context, string) (secrets.Accessor, error) { return acc, nil }
		for _, tc := range []struct {
			method, path, body string
			code               int
		}{
			{http.MethodPost, "/", `{"error":{"errorSummary":"service unavailable"}}`, 503},
			{http.MethodGet, "/healthz", `{"status":"unavailable"}`, 503},
			{http.MethodPost, "/okta/events", `{"error":{"errorSummary":"service unavailable"}}`, 503},
			{http.MethodPost, "/healthz", "Method Not Allowed\n", 405}, // as once loaded
		} {
			// The request's own deadline ends its wait for the load.
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			r := httptest.NewRequestWithContext(ctx, tc.method, tc.path, bytes.NewReader(sms("+14155550123", "482913").Body()))
			r.Header = oktatest.Headers()
			w := httptest.NewRecorder()
			h.f().ServeHTTP(w, r)
			cancel()
			if w.Code != tc.code || w.Body.String() != tc.body || (tc.code == 503 && w.Header().Get("Retry-After") == "") {
				t.Errorf("%s %s = %d %s (Retry-After %q), want %d %s", tc.method, tc.path, w.Code, w.Body, w.Header().Get("Retry-After"), tc.code, tc.body)
			}
		}
		close(acc.release)
		if resp := h.hook(sms("+14155550123", "482913").Body()); resp.Code != http.StatusOK {
			t.Fatalf("once loaded: HTTP %d %s", resp.Code, resp.Body)
		}
		if h.fake.Count() != 1 {
			t.Errorf("8x8 received %d requests, want 1 (the one after the load)", h.fake.Count())
		}
	})
	t.Run("after the drain", func(t *testing.T) {
		h := newHarness(t, nil)
		if resp := h.hook(sms("+14155550123", "482913").Body()); resp.Code != http.StatusOK {
			t.Fatalf("HTTP %d %s", resp.Code, resp.Body)
		}
		if err := h.f().Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		resp := h.hook(sms("+14155550199", "905127").Body())
		if resp.Code != http.StatusServiceUnavailable || resp.Body.String() != `{"error":{"errorSummary":"shutting down"}}` || resp.Header().Get("Connection") != "close" {
			t.Errorf("after the drain: %d %s (Connection %q), want 503 shutting down, close", resp.Code, resp.Body, resp.Header().Get("Connection"))
		}
		if h.fake.Count() != 1 {
			t.Errorf("8x8 received %d requests, want 1", h.fake.Count())
		}
	})
}

// While the configuration cannot load, Okta keeps calling: the refusals
// are sampled like every other (five a minute in full, then a summary),
// not one ERROR line each. 1,000 requests write at most 10 lines, 8 KiB.
func TestNotLoadedRefusalsAreSampled(t *testing.T) {
	h := newHarness(t, map[string]string{"EIGHTYEIGHTX_API_KEY": "-"})
	for i := range 1000 {
		if resp := h.hook(sms("+14155550123", "482913").Body()); resp.Code != http.StatusServiceUnavailable {
			t.Fatalf("request %d: HTTP %d, want 503", i, resp.Code)
		}
	}
	if err := h.f().Shutdown(context.Background()); err != nil { // writes the summary, flushes the lines
		t.Fatal(err)
	}
	logs := h.logs.String()
	n := strings.Count(logs, "\n")
	if n > 10 || len(logs) > 8<<10 || !strings.Contains(logs, "configuration not loaded") {
		t.Errorf("1,000 refused requests wrote %d lines, %d bytes; want at most 10 and 8 KiB, naming the cause:\n%.2000s", n, len(logs), logs)
	}
	t.Logf("1,000 requests refused while not loaded: %d log lines, %d bytes", n, len(logs))
}
