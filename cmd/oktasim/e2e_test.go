package main

// End-to-end: oktasim against the real registered function (the root
// package's OktaTelephonyHook) in dry-run mode, with both of Okta's
// authentication methods: the static header and an OAuth 2.0 access token
// from a local stand-in for an Okta custom authorization server.

import (
	"bytes"
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

// runTest runs oktasim as main does, and returns what it printed.
func runTest(t *testing.T, e env, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = runWith(context.Background(), args, e, &out, &errOut)
	return out.String(), errOut.String(), err
}

// realEnv is oktasim's environment with the real clock (the dry-run hook
// checks otpExpires against its own) and no $OKTA_SECRET: every case says
// which credentials it sends.
func realEnv() env {
	return env{getenv: func(string) string { return "" }, now: time.Now}
}

// TestEndToEndSingleRequest: one request (and what Okta logs after it)
// against the dry-run function, with both of Okta's authentication
// methods: the static header and an OAuth 2.0 access token.
func TestEndToEndSingleRequest(t *testing.T) {
	now := time.Now()
	valid := accessToken(t, now.Add(-time.Minute), now.Add(time.Hour))
	// Expired an hour ago: far beyond the verifier's clock-skew leeway.
	expired := accessToken(t, now.Add(-2*time.Hour), now.Add(-time.Hour))
	// A valid token of the same authorization server issued for a user.
	userToken := accessToken(t, now.Add(-time.Minute), now.Add(time.Hour), func(c jwt.MapClaims) {
		c["sub"], c["uid"] = "oktasim.user@example.com", "00uoktasim0000000000"
	})

	tests := []struct {
		name    string
		args    []string
		wantErr error // nil: exit 0; errInvalid and errEvents: exit 1
		wantOut []string
	}{
		{
			name: "header auth, SMS",
			args: []string{"-secret", e2eSecret, "-channel", "sms"},
			wantOut: []string{"HTTP 200 OK", `"status": "SUCCESSFUL"`, `"provider": "8x8"`, `"transactionId": "dry-run-`,
				`"transactionMetadata": "sms"`, "Okta: delivered by the hook (SUCCESSFUL)", "latency: "},
		},
		{
			name:    "OAuth 2.0 bearer token, voice",
			args:    []string{"-token", valid, "-channel", "voice", "-locale", "fr-FR"},
			wantOut: []string{"HTTP 200 OK", `"status": "SUCCESSFUL"`, `"transactionMetadata": "voice"`},
		},
		{
			name:    "OAuth 2.0 expired token",
			args:    []string{"-token", expired, "-channel", "voice"},
			wantErr: errInvalid,
			wantOut: []string{"HTTP 401 Unauthorized", "Okta skips the hook and falls back (HTTP 401)"},
		},
		{
			name:    "OAuth 2.0: a user's token of the hook's app is refused",
			args:    []string{"-token", userToken},
			wantErr: errInvalid,
			wantOut: []string{"HTTP 401 Unauthorized"},
		},
		{
			name:    "the secret in a custom header is refused: the function checks Authorization",
			args:    []string{"-header", "X-Okta-Secret", "-secret", e2eSecret},
			wantErr: errInvalid,
			wantOut: []string{"HTTP 401 Unauthorized", `"errorSummary": "unauthorized"`},
		},
		{
			name:    "preview with a real number",
			args:    []string{"-secret", e2eSecret, "-preview", "-phone", "+14155550123", "-channel", "voice"},
			wantOut: []string{"voice mfa-verification preview", `"status": "SUCCESSFUL"`},
		},
		{
			name: "event hook: Okta's send event and the user's verification are taken",
			args: []string{"-secret", e2eSecret, "-verify-rate", "*=1", "-event-secret", e2eEventSecret},
			wantOut: []string{"send event: system.sms.send_phone_verification_message SUCCESS, sent by the hook",
				"verification: the user types the code in (US rate 1): user.authentication.auth_via_mfa SUCCESS, SMS_FACTOR",
				"/okta/events: HTTP 200 OK"},
		},
		{
			name:    "event hook: Okta blocks the send itself",
			args:    []string{"-secret", e2eSecret, "-verify-rate", "*=1", "-deny-rate", "1", "-send-events", "classic", "-event-secret", e2eEventSecret},
			wantOut: []string{"Okta blocks the send itself (-deny-rate): the hook is not called; send event system.sms.send_phone_verification_message DENY", "/okta/events: HTTP 200 OK"},
		},
		{
			name:    "event hook: a wrong event secret is refused",
			args:    []string{"-secret", e2eSecret, "-verify-rate", "*=1", "-event-secret", "not-the-event-secret"},
			wantErr: errEvents,
			wantOut: []string{"/okta/events: HTTP 401 Unauthorized"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, err := runTest(t, realEnv(), append([]string{"-url", e2e.hookURL}, tc.args...)...)
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("run = %v, want %v\n%s", err, tc.wantErr, out)
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, secret := range []string{e2eSecret, e2eEventSecret, valid, expired, userToken, "4155550123"} {
				if strings.Contains(out+stderr, secret) {
					t.Errorf("oktasim printed a credential or a full phone number (%.12s…)", secret)
				}
			}
		})
	}
}

// TestEndToEndLoad: load mode against the dry-run function.
func TestEndToEndLoad(t *testing.T) {
	out, stderr, err := runTest(t, realEnv(), "-url", e2e.hookURL, "-secret", e2eSecret, "-n", "40", "-c", "4",
		"-phone", "+14155550123,+442079460000")
	if err != nil {
		t.Fatalf("run = %v\n%s", err, out)
	}
	for _, w := range []string{"requests:    40 (concurrency 4, 40 phone numbers)", "throughput:  ", "latency:     p50 ",
		"SUCCESSFUL       40", "error object     0", "HTTP non-200     0", "timeout          0",
		"  US           -       20         20       0      0       0     0 ", "  GB           -       20         20       0      0       0     0 "} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if !strings.HasSuffix(stderr, "\r40/40 sent, 0 not valid for Okta\n") {
		t.Errorf("no final progress line on stderr: %q", stderr)
	}
}
