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
	"github.com/telephony-hooks/okta-8x8/internal/logtest"
)

const (
	e2eSecret      = "e2e-okta-header-secret-Wq83Lr"
	e2eEventSecret = "e2e-okta-event-hook-secret-Zp41Tk"
	e2eScope       = "okta.telephony.hook"
	e2eAudience    = "api://default"
	e2eKID         = "e2e-key-1"
	e2eClientID    = "0oae2eoktasim00000000"
)

// e2e is the world TestMain builds: the hook behind an httptest server and
// the issuer whose key signs the tokens.
var e2e struct {
	hookURL string
	issuer  string
	key     *rsa.PrivateKey
}

// TestMain builds one instance of the root package's function for the
// whole run, configured from a map (no process environment: nothing from
// the developer's shell, 8x8 credentials, REDIS_URL, K_SERVICE…, can leak
// into it), and serves it as Cloud Run would.
func TestMain(m *testing.M) {
	os.Exit(e2eMain(m))
}

func e2eMain(m *testing.M) (code int) {
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

	vars := map[string]string{
		config.DryRun:            "true",
		config.OktaSecret:        e2eSecret,
		config.OktaOAuthIssuer:   e2e.issuer,
		config.OktaOAuthAudience: e2eAudience,
		config.OktaOAuthScope:    e2eScope,
		// Required with an issuer: only this app's client-credentials
		// tokens pass.
		config.OktaOAuthClientID: e2eClientID,
		config.EventHookSecret:   e2eEventSecret,
		config.RatePerPhone:      "0",
		config.RatePerUser:       "0",
		// No metadata-server lookup for the project.
		config.Project:  "oktasim-e2e",
		config.LogLevel: "warn",
	}
	// The function's logs are shown only when something failed.
	var logs logtest.Buffer
	defer func() {
		if code != 0 {
			fmt.Fprintf(os.Stderr, "e2e: the function's logs:\n%s", logs.String())
		}
	}()
	fn := telephonyhook.New(telephonyhook.Options{
		Getenv: func(name string) string { return vars[name] },
		Stdout: &logs,
	})

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	cfg, err := fn.Ready(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the function's configuration did not load:", err)
		return 1
	}
	if !cfg.DryRun || cfg.OAuth.Issuer != e2e.issuer || cfg.Secret == "" {
		fmt.Fprintln(os.Stderr, "e2e: the function did not take the test configuration")
		return 1
	}
	hook := httptest.NewServer(fn)
	e2e.hookURL = hook.URL + "/"
	code = m.Run()
	hook.Close()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := fn.Shutdown(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the function did not shut down:", err)
		return 1
	}
	return code
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
// expiring at exp: a client-credentials token of the hook's app (cid = sub
// = the client id, no uid), unless edit changes the claims.
func accessToken(t *testing.T, iat, exp time.Time, edit ...func(jwt.MapClaims)) string {
	t.Helper()
	claims := jwt.MapClaims{
		"ver": 1,
		"jti": "AT.oktasim-e2e",
		"iss": e2e.issuer,
		"aud": e2eAudience,
		"iat": iat.Unix(),
		"exp": exp.Unix(),
		"cid": e2eClientID,
		"scp": []string{e2eScope},
		"sub": e2eClientID,
	}
	for _, f := range edit {
		f(claims)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
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
	// Valid tokens from the same authorization server that are not the
	// hook app's client-credentials tokens.
	otherApp := accessToken(t, now.Add(-time.Minute), now.Add(time.Hour), func(c jwt.MapClaims) {
		c["cid"], c["sub"] = "0oaotherapp0000000000", "0oaotherapp0000000000"
	})
	userToken := accessToken(t, now.Add(-time.Minute), now.Add(time.Hour), func(c jwt.MapClaims) {
		c["sub"], c["uid"] = "oktasim.user@example.com", "00uoktasim0000000000"
	})
	// cid = sub = the client id, but a uid: issued for a user, not by the
	// client-credentials flow.
	withUID := accessToken(t, now.Add(-time.Minute), now.Add(time.Hour), func(c jwt.MapClaims) {
		c["uid"] = "00uoktasim0000000000"
	})

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
			name:    "OAuth 2.0: another app's client-credentials token is refused",
			args:    []string{"-token", otherApp},
			wantOut: []string{"HTTP 401 Unauthorized", "Okta skips the hook and falls back (HTTP 401)"},
			notOut:  []string{"SUCCESSFUL"},
		},
		{
			name:    "OAuth 2.0: a user's token of the hook's app is refused",
			args:    []string{"-token", userToken},
			wantOut: []string{"HTTP 401 Unauthorized", "Okta skips the hook and falls back (HTTP 401)"},
			notOut:  []string{"SUCCESSFUL"},
		},
		{
			name:    "OAuth 2.0: a token with a uid is refused",
			args:    []string{"-token", withUID},
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
			// the phone number. This function runs dry, and a dry run
			// answers it as any other (DESIGN: dry-run answers like
			// DRY_RUN); delivering, it is refused (internal/hook tests).
			name:      "preview with Okta's placeholder number, dry run",
			args:      []string{"-secret", e2eSecret, "-preview", "-phone", "9876543210", "-otp", "11111"},
			wantValid: true,
			wantOut:   []string{"HTTP 200 OK", "sms mfa-verification preview", `"status": "SUCCESSFUL"`, `"transactionId": "dry-run-`},
			notOut:    []string{`"reason": "preview_placeholder"`},
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
			for _, secret := range []string{e2eSecret, e2eEventSecret, valid, expired, otherApp, userToken, withUID, "4155550123", "11111"} {
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

// TestEndToEndEventHook plays Okta's event hook against the function's
// POST /okta/events: the verifications oktasim posts must be taken (2xx)
// with the event hook secret, and refused without it.
func TestEndToEndEventHook(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr error
		wantOut []string
	}{
		{
			name:    "single request: the verification is taken",
			args:    []string{"-verify-rate", "*=1", "-event-secret", e2eEventSecret},
			wantOut: []string{"verification: the user types the code in", "/okta/events: HTTP 200 OK"},
		},
		{
			name:    "load: verified and mistyped codes across two countries",
			args:    []string{"-n", "60", "-c", "4", "-phone", usSeed + "," + lvSeed, "-verify-rate", "US=0.9,LV=0", "-mistype", "0.5", "-seed", "1", "-event-secret", e2eEventSecret},
			wantOut: []string{", 0 not answered 2xx"},
		},
		{
			name:    "a wrong event secret is refused",
			args:    []string{"-n", "10", "-verify-rate", "*=1", "-event-secret", "not-the-event-secret"},
			wantErr: errEvents,
			wantOut: []string{"1 not answered 2xx: 1× HTTP 401"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-url", e2e.hookURL, "-secret", e2eSecret}, tc.args...)
			out, stderr, err := runTest(t, realEnv(), args...)
			if (tc.wantErr == nil && err != nil) || (tc.wantErr != nil && !errors.Is(err, tc.wantErr)) {
				t.Fatalf("run = %v, want %v\n%s", err, tc.wantErr, out)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out+stderr, e2eEventSecret) || strings.Contains(out+stderr, e2eSecret) {
				t.Error("oktasim printed a secret")
			}
		})
	}
}
