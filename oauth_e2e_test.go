package telephonyhook

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/telephony-hooks/okta-8x8/internal/oktatest"
)

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
			hdr := oktatest.Headers()
			hdr.Set("Authorization", tt.header())
			resp := h.do(http.MethodPost, "/", sms("+14155550123", "482913").Body(), hdr)
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
			hdr := oktatest.Headers()
			hdr.Set("Authorization", auth)
			if resp := h.do(http.MethodPost, "/", sms("+14155550123", "482913").Body(), hdr); resp.Code != 200 {
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
		hdr := oktatest.Headers()
		hdr.Set("Authorization", "Bearer "+down.token(t, nil, nil, nil))
		if resp := h.do(http.MethodPost, "/", sms("+14155550123", "482913").Body(), hdr); resp.Code != 401 {
			t.Fatalf("HTTP %d, want 401", resp.Code)
		}
		if h.fake.Count() != 0 {
			t.Error("8x8 called")
		}
		if !h.logged("no_keys") {
			t.Errorf("the log does not say why:\n%s", h.logs)
		}
	})
}

func x509PublicDER(t *testing.T, k *rsa.PrivateKey) []byte {
	// HS256 key confusion uses the public key bytes as the HMAC secret.
	return append([]byte(nil), k.PublicKey.N.Bytes()...)
}
