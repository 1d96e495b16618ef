package main

// End-to-end: oktasim against the real registered function (the root
// package's OktaTelephonyHook) in dry-run mode, with both of Okta's
// authentication methods: the static header and an OAuth 2.0 access token
// from a local stand-in for an Okta custom authorization server.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	telephonyhook "github.com/telephony-hooks/okta-8x8"
	"github.com/telephony-hooks/okta-8x8/internal/config"
)

const (
	e2eSecret   = "e2e-okta-header-secret-Wq83Lr"
	e2eScope    = "okta.telephony.hook"
	e2eAudience = "api://default"
	e2eKID      = "e2e-key-1"
	e2eClientID = "0oae2eoktasim00000000"
)

// e2e is the world TestMain builds: the hook behind an httptest server and
// the issuer whose key signs the tokens.
var e2e struct {
	hookURL string
	issuer  string
	key     *rsa.PrivateKey
}

// TestMain configures the function through the process environment, as
// Cloud Run does: the root package reads its configuration once per
// process, at the first request, so it must be set before any test runs.
// The oktasim tests that do not use the hook read their env from a map
// (testEnv) or pass -secret, so these variables do not change them.
func TestMain(m *testing.M) {
	os.Exit(e2eMain(m))
}

func e2eMain(m *testing.M) int {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: rsa key:", err)
		return 1
	}
	e2e.key = key
	issuer := httptest.NewServer(jwksHandler(&key.PublicKey))
	defer issuer.Close()
	// Okta's issuer for a custom authorization server ends in
	// /oauth2/<id>; the keys are at {issuer}/v1/keys.
	e2e.issuer = issuer.URL + "/oauth2/default"

	env := map[string]string{
		config.DryRun:            "true",
		config.OktaSecret:        e2eSecret,
		config.OktaOAuthIssuer:   e2e.issuer,
		config.OktaOAuthAudience: e2eAudience,
		config.OktaOAuthScope:    e2eScope,
		config.RatePerPhone:      "0",
		config.RatePerUser:       "0",
		// No metadata-server lookup for the project.
		config.Project: "oktasim-e2e",
		// The function logs to the test binary's stdout; keep -v readable.
		config.LogLevel: "error",
	}
	// Nothing from the developer's shell (8x8 credentials, REDIS_URL,
	// K_SERVICE…) may leak into the function's configuration.
	for _, name := range config.Names() {
		if v, ok := env[name]; ok {
			os.Setenv(name, v)
		} else {
			os.Unsetenv(name)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	cfg, err := telephonyhook.Ready(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the function's configuration did not load:", err)
		return 1
	}
	if !cfg.DryRun || cfg.OAuth.Issuer != e2e.issuer || cfg.Secret == "" {
		fmt.Fprintln(os.Stderr, "e2e: the function did not take the test configuration")
		return 1
	}
	hook := httptest.NewServer(http.HandlerFunc(telephonyhook.OktaTelephonyHook))
	defer hook.Close()
	e2e.hookURL = hook.URL + "/"
	return m.Run()
}

// jwksHandler serves the issuer's key set the way Okta does.
func jwksHandler(pub *rsa.PublicKey) http.Handler {
	b64 := base64.RawURLEncoding.EncodeToString
	set, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "alg": "RS256", "use": "sig", "kid": e2eKID,
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth2/default/v1/keys", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(set)
	})
	return mux
}

// accessToken is an Okta access token for the hook, issued at iat and
// expiring at exp.
func accessToken(t *testing.T, iat, exp time.Time) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"ver": 1,
		"jti": "AT.oktasim-e2e",
		"iss": e2e.issuer,
		"aud": e2eAudience,
		"iat": iat.Unix(),
		"exp": exp.Unix(),
		"cid": e2eClientID,
		"scp": []string{e2eScope},
		"sub": e2eClientID,
	})
	tok.Header["kid"] = e2eKID
	s, err := tok.SignedString(e2e.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// realEnv is oktasim's environment with the real clock (the hook checks
// otpExpires against its own) and no $OKTA_SECRET: every case says which
// credentials it sends.
func realEnv() env {
	return env{getenv: func(string) string { return "" }, now: time.Now}
}

func TestEndToEndAgainstTheFunction(t *testing.T) {
	now := time.Now()
	valid := accessToken(t, now.Add(-time.Minute), now.Add(time.Hour))
	// Expired an hour ago: far beyond the verifier's clock-skew leeway.
	expired := accessToken(t, now.Add(-2*time.Hour), now.Add(-time.Hour))

	tests := []struct {
		name      string
		args      []string
		wantValid bool // oktasim exits 0 (main exits 1 on errInvalid)
		wantOut   []string
		notOut    []string
	}{
		{
			name:      "header auth, SMS",
			args:      []string{"-secret", e2eSecret, "-channel", "sms"},
			wantValid: true,
			wantOut: []string{"HTTP 200 OK", `"status": "SUCCESSFUL"`, `"provider": "8x8"`, `"transactionId": "dry-run-`,
				`"transactionMetadata": "sms"`, "Okta: delivered by the hook (SUCCESSFUL)", "latency: "},
		},
		{
			name:      "header auth, voice",
			args:      []string{"-secret", e2eSecret, "-channel", "voice", "-locale", "fr-FR"},
			wantValid: true,
			wantOut:   []string{"HTTP 200 OK", `"status": "SUCCESSFUL"`, `"transactionMetadata": "voice"`, "Okta: delivered by the hook (SUCCESSFUL)"},
		},
		{
			name:      "header auth in a custom header is refused: the function checks Authorization",
			args:      []string{"-header", "X-Okta-Secret", "-secret", e2eSecret},
			wantOut:   []string{"HTTP 401 Unauthorized", `"errorSummary": "unauthorized"`, "Okta skips the hook and falls back (HTTP 401)"},
			notOut:    []string{"SUCCESSFUL"},
			wantValid: false,
		},
		{
			name:      "OAuth 2.0 bearer token, voice",
			args:      []string{"-token", valid, "-channel", "voice"},
			wantValid: true,
			wantOut:   []string{"HTTP 200 OK", `"status": "SUCCESSFUL"`, `"transactionMetadata": "voice"`},
		},
		{
			name:    "OAuth 2.0 expired token",
			args:    []string{"-token", expired, "-channel", "voice"},
			wantOut: []string{"HTTP 401 Unauthorized", "Okta skips the hook and falls back (HTTP 401)"},
			notOut:  []string{"SUCCESSFUL"},
		},
		{
			name:    "wrong header secret",
			args:    []string{"-secret", "not-the-secret"},
			wantOut: []string{"HTTP 401 Unauthorized", "Okta skips the hook and falls back (HTTP 401)"},
			notOut:  []string{"SUCCESSFUL"},
		},
		{
			name:    "no credentials",
			args:    nil,
			wantOut: []string{"HTTP 401 Unauthorized"},
		},
		{
			// What the Admin Console's Preview sends before the admin edits
			// the phone number: an error object (Okta shows it; no call).
			name:      "preview with Okta's placeholder number",
			args:      []string{"-secret", e2eSecret, "-preview", "-phone", "9876543210", "-otp", "11111"},
			wantValid: true,
			wantOut: []string{"HTTP 200 OK", "sms mfa-verification preview", `"reason": "preview_placeholder"`,
				"Okta: Okta shows the user: "},
			notOut: []string{`"status": "SUCCESSFUL"`},
		},
		{
			name:      "preview with a real number",
			args:      []string{"-secret", e2eSecret, "-preview", "-phone", "+14155550123", "-channel", "voice"},
			wantValid: true,
			wantOut:   []string{"voice mfa-verification preview", `"status": "SUCCESSFUL"`, `"transactionId": "dry-run-`, "Okta: delivered by the hook (SUCCESSFUL)"},
		},
		{
			name:      "load mode",
			args:      []string{"-secret", e2eSecret, "-n", "40", "-c", "4"},
			wantValid: true,
			wantOut: []string{"requests:    40 (concurrency 4, 40 phone numbers)", "throughput:  ", "requests/s",
				"latency:     p50 ", " p90 ", " p99 ", " max ", "answers:",
				"SUCCESSFUL       40", "PENDING          0", "FAILED           0", "error object     0", "HTTP non-200     0",
				"malformed        0", "timeout          0", "transport error  0"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-url", e2e.hookURL}, tc.args...)
			out, stderr, err := runTest(t, realEnv(), args...)
			switch {
			case tc.wantValid && err != nil:
				t.Errorf("run = %v, want success (exit 0)\n%s", err, out)
			case !tc.wantValid && !errors.Is(err, errInvalid):
				t.Errorf("run = %v, want errInvalid (exit 1)\n%s", err, out)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.notOut {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
			// The placeholder 9876543210 is no one's number: the hook's
			// answer names it on purpose.
			for _, secret := range []string{e2eSecret, valid, expired, "4155550123", "11111"} {
				if strings.Contains(out, secret) || strings.Contains(stderr, secret) {
					t.Errorf("oktasim printed a credential, the OTP or a full phone number (%.12s…)", secret)
				}
			}
			if tc.name == "load mode" && !strings.Contains(stderr, "\r40/40 sent, 0 not valid for Okta\n") {
				t.Errorf("no final progress line on stderr: %q", stderr)
			}
		})
	}
}
