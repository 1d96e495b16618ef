package telephonyhook

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/telephony-hooks/okta-8x8/internal/eightbyeight/eightbyeighttest"
	"github.com/telephony-hooks/okta-8x8/internal/secrets"
	"github.com/telephony-hooks/okta-8x8/internal/secrets/secretstest"
)

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
		hdr := oktaHeaders()
		hdr.Set("Authorization", secret)
		return h.do(http.MethodPost, "/", sms("+14155550123", "482913").body(), hdr)
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
				// Still corrupt: still 503, never served with a bad key.
				if resp := call(h, smOktaSec); resp.Code != 503 {
					t.Fatalf("HTTP %d with a corrupt secret", resp.Code)
				}
				return
			}
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

// testIssuer is an Okta custom authorization server for tests: it serves a
// JWKS and signs access tokens.
type testIssuer struct {
	*httptest.Server
	key *rsa.PrivateKey
	kid string
	mu  sync.Mutex
	up  bool
}

func newTestIssuer(t *testing.T) *testIssuer {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	is := &testIssuer{key: key, kid: "test-kid-1", up: true}
	is.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		is.mu.Lock()
		up := is.up
		is.mu.Unlock()
		if !up || r.URL.Path != "/oauth2/default/v1/keys" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		b64 := base64.RawURLEncoding.EncodeToString
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": is.kid, "use": "sig", "alg": "RS256",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
		}}})
	}))
	t.Cleanup(is.Close)
	return is
}

func (is *testIssuer) issuer() string { return is.URL + "/oauth2/default" }

func (is *testIssuer) token(t *testing.T, edit func(jwt.MapClaims), method jwt.SigningMethod, key any) string {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": is.issuer(), "aud": "api://default", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"cid": "0oaj43vkrq7wKxZSI5e6", "sub": "0oaj43vkrq7wKxZSI5e6", "scp": []string{"okta.telephony.hook"},
	}
	if edit != nil {
		edit(c)
	}
	if method == nil {
		method, key = jwt.SigningMethodRS256, is.key
	}
	tok := jwt.NewWithClaims(method, c)
	tok.Header["kid"] = is.kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// OAuth 2.0 mode end to end through the function.
func TestOAuth(t *testing.T) {
	is := newTestIssuer(t)
	env := map[string]string{
		"OKTA_SECRET": "-", "OKTA_OAUTH_ISSUER": is.issuer(), "OKTA_OAUTH_SCOPE": "okta.telephony.hook",
		"OKTA_OAUTH_CLIENT_ID": "0oaj43vkrq7wKxZSI5e6",
	}
	pub := x509PublicDER(t, is.key)
	for _, tt := range []struct {
		name   string
		header func() string
		want   int
	}{
		{"valid token", func() string { return "Bearer " + is.token(t, nil, nil, nil) }, 200},
		{"expired", func() string {
			return "Bearer " + is.token(t, func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, nil, nil)
		}, 401},
		{"not yet valid", func() string {
			return "Bearer " + is.token(t, func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }, nil, nil)
		}, 401},
		{"wrong issuer", func() string {
			return "Bearer " + is.token(t, func(c jwt.MapClaims) { c["iss"] = "https://evil.okta.com/oauth2/default" }, nil, nil)
		}, 401},
		{"wrong audience", func() string {
			return "Bearer " + is.token(t, func(c jwt.MapClaims) { c["aud"] = "api://other" }, nil, nil)
		}, 401},
		{"missing scope", func() string {
			return "Bearer " + is.token(t, func(c jwt.MapClaims) { c["scp"] = []string{"openid"} }, nil, nil)
		}, 401},
		{"wrong client", func() string {
			return "Bearer " + is.token(t, func(c jwt.MapClaims) { c["cid"] = "0oaOTHER" }, nil, nil)
		}, 401},
		// The reported attack: an employee signed in to a SPA on the same
		// authorization server holds a token with the same aud and scope.
		{"a user's token from another app on the same server", func() string {
			return "Bearer " + is.token(t, func(c jwt.MapClaims) {
				c["cid"], c["sub"], c["uid"] = "0oaSPA00000000000001", "alice@example.com", "00u8k2pQz4XyTb7Wd5d7"
			}, nil, nil)
		}, 401},
		{"a user's token minted for the hook's own app", func() string {
			return "Bearer " + is.token(t, func(c jwt.MapClaims) { c["sub"], c["uid"] = "alice@example.com", "00u8k2pQz4XyTb7Wd5d7" }, nil, nil)
		}, 401},
		{"alg none", func() string {
			return "Bearer " + is.token(t, nil, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType)
		}, 401},
		{"HS256 signed with the public key", func() string { return "Bearer " + is.token(t, nil, jwt.SigningMethodHS256, pub) }, 401},
		{"no token", func() string { return "" }, 401},
		{"static secret instead of a token", func() string { return testSecret }, 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, env)
			hdr := oktaHeaders()
			hdr.Set("Authorization", tt.header())
			resp := h.do(http.MethodPost, "/", sms("+14155550123", "482913").body(), hdr)
			if resp.Code != tt.want {
				t.Fatalf("HTTP %d, want %d: %s", resp.Code, tt.want, resp.Body)
			}
			if want := map[int]int{200: 1, 401: 0}[tt.want]; h.fake.Count() != want {
				t.Errorf("8x8 received %d requests, want %d", h.fake.Count(), want)
			}
		})
	}
	t.Run("header and OAuth both configured: either passes", func(t *testing.T) {
		h := newHarness(t, map[string]string{"OKTA_OAUTH_ISSUER": is.issuer(), "OKTA_OAUTH_SCOPE": "okta.telephony.hook", "OKTA_OAUTH_CLIENT_ID": "0oaj43vkrq7wKxZSI5e6"})
		for _, auth := range []string{testSecret, "Bearer " + is.token(t, nil, nil, nil)} {
			hdr := oktaHeaders()
			hdr.Set("Authorization", auth)
			if resp := h.do(http.MethodPost, "/", sms("+14155550123", "482913").body(), hdr); resp.Code != 200 {
				t.Errorf("HTTP %d", resp.Code)
			}
		}
	})
	t.Run("JWKS down at cold start: 401, no call, clear log", func(t *testing.T) {
		down := newTestIssuer(t)
		down.mu.Lock()
		down.up = false
		down.mu.Unlock()
		h := newHarness(t, map[string]string{"OKTA_SECRET": "-", "OKTA_OAUTH_ISSUER": down.issuer(), "OKTA_OAUTH_CLIENT_ID": "0oaj43vkrq7wKxZSI5e6"})
		hdr := oktaHeaders()
		hdr.Set("Authorization", "Bearer "+down.token(t, nil, nil, nil))
		if resp := h.do(http.MethodPost, "/", sms("+14155550123", "482913").body(), hdr); resp.Code != 401 {
			t.Fatalf("HTTP %d, want 401", resp.Code)
		}
		if h.fake.Count() != 0 {
			t.Error("8x8 called")
		}
		if !strings.Contains(h.logs.String(), "no_keys") {
			t.Errorf("the log does not say why:\n%s", h.logs)
		}
	})
}

func x509PublicDER(t *testing.T, k *rsa.PrivateKey) []byte {
	// HS256 key confusion uses the public key bytes as the HMAC secret.
	return append([]byte(nil), k.PublicKey.N.Bytes()...)
}

// redisURLs are the Redis servers to test against: miniredis always, and
// the real redis-server when REDIS_TEST_URL is set (CI sets it).
func redisURLs(t *testing.T) map[string]string {
	mr := miniredis.RunT(t)
	urls := map[string]string{"miniredis": "redis://" + mr.Addr() + "/0"}
	if u := os.Getenv("REDIS_TEST_URL"); u != "" {
		opt, err := redis.ParseURL(u)
		if err != nil {
			t.Fatal(err)
		}
		opt.DB = 3 // this package's own database: FLUSHDB cannot touch other tests'
		c := redis.NewClient(opt)
		defer c.Close()
		if err := c.FlushDB(t.Context()).Err(); err != nil {
			t.Fatalf("REDIS_TEST_URL set but redis does not answer: %v", err)
		}
		urls["redis-server"] = fmt.Sprintf("redis://%s/3", opt.Addr)
	} else {
		t.Log("REDIS_TEST_URL not set: testing against miniredis only (CI runs redis-server too)")
	}
	return urls
}

// Two instances sharing one Redis behave as one: never two calls for one
// eventId, and one per-phone limit.
func TestTwoInstancesShareRedis(t *testing.T) {
	for name, url := range redisURLs(t) {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"REDIS_URL": url, "RATE_LIMIT_PER_PHONE": "0"}
			a, b := newHarness(t, env), newHarness(t, env)
			const rounds = 30
			for round := range rounds {
				r := voice("+14155550123", "482913", "en")
				r.eventID = fmt.Sprintf("%s-shared-%x-%d", name, time.Now().UnixNano(), round)
				body := r.body()
				var wg sync.WaitGroup
				answers := make([]string, 6)
				for i := range answers {
					inst := a
					if i%2 == 1 {
						inst = b
					}
					wg.Go(func() { answers[i] = inst.hook(body).Body.String() })
				}
				wg.Wait()
				for _, ans := range answers[1:] {
					if ans != answers[0] {
						t.Fatalf("round %d: the instances answered differently:\n%s\n%s", round, ans, answers[0])
					}
				}
			}
			if got := a.fake.Count() + b.fake.Count(); got != rounds {
				t.Errorf("8x8 received %d calls for %d distinct eventIds across two instances", got, rounds)
			}
		})
		t.Run(name+"/per-phone limit holds across instances", func(t *testing.T) {
			env := map[string]string{"REDIS_URL": url, "RATE_LIMIT_PER_PHONE": "3/15m"}
			a, b := newHarness(t, env), newHarness(t, env)
			phone := "+12025550175"
			var refused int
			for i := range 6 {
				inst := a
				if i%2 == 1 {
					inst = b
				}
				if k := decode(t, inst.hook(sms(phone, "771955").body())).kind(); k == "error:rate_limited_phone" {
					refused++
				}
			}
			if refused != 3 || a.fake.Count()+b.fake.Count() != 3 {
				t.Errorf("refused %d, delivered %d: want 3 and 3", refused, a.fake.Count()+b.fake.Count())
			}
		})
	}
	t.Run("redis down: the hook still delivers", func(t *testing.T) {
		mr := miniredis.RunT(t)
		h := newHarness(t, map[string]string{"REDIS_URL": "redis://" + mr.Addr() + "/0"})
		mr.Close()
		if k := decode(t, h.hook(sms("+14155550123", "482913").body())).kind(); k != "SUCCESSFUL" {
			t.Fatalf("answer %s with Redis down", k)
		}
		if !strings.Contains(h.logs.String(), "WARNING") {
			t.Errorf("no warning logged:\n%s", h.logs)
		}
	})
}

// The request log line: one per hook call, Cloud Logging fields, trace
// correlation from traceparent, nothing secret.
func TestRequestLogLine(t *testing.T) {
	h := newHarness(t, nil)
	hdr := oktaHeaders()
	hdr.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	hdr.Set("X-Forwarded-For", "198.51.100.23, 169.254.1.1")
	r := voice("+33612345678", "905127", "fr-FR")
	r.eventID = "logLineEvent00000000001"
	if resp := h.do(http.MethodPost, "/", r.body(), hdr); resp.Code != 200 {
		t.Fatalf("HTTP %d", resp.Code)
	}
	var line map[string]any
	for _, l := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", l)
		}
		if m["message"] == "okta telephony hook" {
			if line != nil {
				t.Fatal("two request log lines for one call")
			}
			line = m
		}
	}
	if line == nil {
		t.Fatalf("no request log line:\n%s", h.logs)
	}
	want := map[string]any{
		"severity":                             "INFO",
		"logging.googleapis.com/trace":         "projects/acme-hooks/traces/4bf92f3577b34da6a3ce929d0e0e4736",
		"logging.googleapis.com/spanId":        "00f067aa0ba902b7",
		"logging.googleapis.com/trace_sampled": true,
		"eventId":                              "logLineEvent00000000001",
		"outcome":                              "SUCCESSFUL",
		"channel":                              "voice",
		"country":                              "FR",
		"locale":                               "fr-FR",
		"requestType":                          "mfa-verification",
		"preview":                              false,
		"phone":                                "+33*******78",
		"providerCode":                         "1",
		"auth":                                 "header",
	}
	for k, v := range want {
		if line[k] != v {
			t.Errorf("%s = %v, want %v", k, line[k], v)
		}
	}
	for _, k := range []string{"transactionId", "latencyMs", "budgetLeftMs", "httpRequest", "time"} {
		if _, ok := line[k]; !ok {
			t.Errorf("request log line lacks %s", k)
		}
	}
	if hr, _ := line["httpRequest"].(map[string]any); hr["requestMethod"] != "POST" || hr["status"] != float64(200) || hr["remoteIp"] != "198.51.100.23" {
		t.Errorf("httpRequest = %v", line["httpRequest"])
	}
}

// A run with no 8x8 fake configured for a test that must not reach it.
var _ = eightbyeighttest.OK

// 8x8's delivery receipts reach the function's events route, behind their
// own secret.
func TestEventsRoute(t *testing.T) {
	vss := `{"namespace":"VOICE","eventType":"SESSION_SUMMARY","payload":{"sessionId":"0b6e2f4d-1","sessionStatus":"COMPLETED","details":{"callA":{"destination":"+14155550123","callStatus":"COMPLETED","callDuration":21}}}}`
	for _, tt := range []struct {
		name, auth string
		want       int
	}{
		{"right secret", testWebhook, 200},
		{"wrong secret", "nope", 401},
		{"Okta's secret is not 8x8's", testSecret, 401},
		{"none", "", 401},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, nil)
			hdr := http.Header{"Content-Type": {"application/json"}}
			if tt.auth != "" {
				hdr.Set("Authorization", tt.auth)
			}
			if resp := h.do(http.MethodPost, "/8x8/events", []byte(vss), hdr); resp.Code != tt.want {
				t.Fatalf("HTTP %d, want %d", resp.Code, tt.want)
			}
			if tt.want == 200 && !strings.Contains(h.logs.String(), "8x8 delivery receipt") {
				t.Errorf("no receipt log line:\n%s", h.logs)
			}
		})
	}
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
	hdr := oktaHeaders()
	hdr.Set("Authorization", "Bearer "+tok)
	if resp := h.do(http.MethodPost, "/", sms("+14155550123", "482913").body(), hdr); resp.Code != 200 {
		t.Fatalf("HTTP %d %s\n%s", resp.Code, resp.Body, h.logs)
	}
}

// newTestIssuerToken signs a valid token for the issuer URL iss.
func newTestIssuerToken(t *testing.T, is *testIssuer, iss string) string {
	return is.token(t, func(c jwt.MapClaims) { c["iss"] = iss }, nil, nil)
}
