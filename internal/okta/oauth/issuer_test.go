package oauth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/telephony-hooks/okta-8x8/internal/logtest"
)

const (
	testPath     = "/oauth2/default"
	testScope    = "okta.telephony.hook"
	testClientID = "0oaj43vkrq7wKxZSI5e6"
	testJTI      = "AT.k3Jv9Q2xLm8nT4pRs7Wd1YbZcE6fGhA0"
)

// testNow is the fixture token's iat plus a minute.
var testNow = time.Unix(1773480413+60, 0)

// Keys are generated once per test binary: RSA generation is slow.
var testKeys = sync.OnceValue(func() map[string]*rsa.PrivateKey {
	keys := map[string]*rsa.PrivateKey{}
	for name, bits := range map[string]int{"A": 2048, "B": 2048, "stranger": 2048, "weak": 1024} {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			panic(err)
		}
		keys[name] = k
	}
	return keys
})

func key(name string) *rsa.PrivateKey { return testKeys()[name] }

// jwkJSON is a JWK as Okta publishes it (kty, alg, kid, use, n, e; k for
// a symmetric key).
type jwkJSON map[string]string

func rsaJWK(kid, keyName string) jwkJSON {
	pub := key(keyName).PublicKey
	return jwkJSON{"kty": "RSA", "alg": "RS256", "kid": kid, "use": "sig", "n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}
}

// jwkA and jwkB publish keys A and B as kA and kB.
func jwkA() jwkJSON { return rsaJWK("kA", "A") }
func jwkB() jwkJSON { return rsaJWK("kB", "B") }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Issuer answers: the key set, or one of these failures.
const (
	answerKeys = iota
	answer500  // HTTP 500
	answerHang // no answer until the client gives up
)

type serve struct {
	answer int
	keys   []jwkJSON
}

// testIssuer stands in for an Okta custom authorization server: it serves
// /oauth2/default/v1/keys and counts how often it is asked.
type testIssuer struct {
	srv     *httptest.Server
	fetches atomic.Int32
	hit     chan struct{} // one value per hung request

	mu    sync.Mutex
	serve serve
}

func newTestIssuer(t testing.TB, s serve) *testIssuer {
	t.Helper()
	iss := &testIssuer{serve: s, hit: make(chan struct{}, 16)}
	iss.srv = httptest.NewServer(http.HandlerFunc(iss.handle))
	t.Cleanup(iss.srv.Close)
	return iss
}

func (iss *testIssuer) handle(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != testPath+"/v1/keys" || r.Method != http.MethodGet {
		http.NotFound(w, r)
		return
	}
	iss.fetches.Add(1)
	iss.mu.Lock()
	s := iss.serve
	iss.mu.Unlock()
	switch s.answer {
	case answer500:
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	case answerHang: // until the client gives up
		iss.hit <- struct{}{}
		<-r.Context().Done()
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "max-age=86400")
	_ = json.NewEncoder(w).Encode(map[string]any{"keys": s.keys})
}

func (iss *testIssuer) set(s serve) {
	iss.mu.Lock()
	iss.serve = s
	iss.mu.Unlock()
}

func (iss *testIssuer) issuer() string { return iss.srv.URL + testPath }

// newVerifier verifies iss's tokens on a clock stopped at testNow.
func newVerifier(t testing.TB, iss *testIssuer) *Verifier {
	t.Helper()
	v, err := New(Config{Issuer: iss.issuer(), Scope: testScope, ClientID: testClientID, Now: func() time.Time { return testNow }}, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

// claims are the fixture's client-credentials access token claims
// (contracts/okta/fixtures/synth-oauth2-access-token-claims.json) for iss.
func claims(iss string) jwt.MapClaims {
	return jwt.MapClaims{
		"ver": 1, "jti": testJTI, "iss": iss, "aud": "api://default",
		"iat": testNow.Add(-time.Minute).Unix(), "exp": testNow.Add(59 * time.Minute).Unix(),
		"cid": testClientID, "scp": []string{testScope}, "sub": testClientID,
	}
}

func with(c jwt.MapClaims, k string, v any) jwt.MapClaims { c[k] = v; return c }

func without(c jwt.MapClaims, k string) jwt.MapClaims { delete(c, k); return c }

// sign makes a compact JWS; kid nil leaves the header without one.
func sign(t testing.TB, m jwt.SigningMethod, k any, kid any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	if kid != nil {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(k)
	if err != nil {
		t.Fatalf("signing: %v", err)
	}
	return s
}

func rs256(t testing.TB, keyName, kid string, c jwt.MapClaims) string {
	t.Helper()
	return sign(t, jwt.SigningMethodRS256, key(keyName), kid, c)
}

// unsigned builds "header.payload." with alg none.
func unsigned(t testing.TB, alg, kid string, c jwt.MapClaims) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": alg, "kid": kid})
	p, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return b64(h) + "." + b64(p) + "."
}

// publicPEM is key A's public key as a PEM file: what a key-confusion
// attacker would use as an HMAC secret.
func publicPEM(keyName string) []byte {
	der, err := x509.MarshalPKIXPublicKey(&key(keyName).PublicKey)
	if err != nil {
		panic(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// logTo collects log output; fetches log from their own goroutines.
func logTo(b *logtest.Buffer) *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }
