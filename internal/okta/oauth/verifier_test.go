package oauth

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/telephony-hooks/okta-8x8/internal/logtest"
)

func TestVerify(t *testing.T) {
	// One issuer whose set also holds keys that must never be used: for
	// encryption, for another algorithm, too weak, and a symmetric key.
	oddKeys := []jwkJSON{
		jwkA(),
		func() jwkJSON { k := rsaJWK("enc", "B"); k["use"] = "enc"; return k }(),
		func() jwkJSON { k := rsaJWK("rs512", "B"); k["alg"] = "RS512"; return k }(),
		rsaJWK("weak", "weak"),
		{"kty": "oct", "kid": "oct", "alg": "HS256", "k": b64(publicPEM("A"))},
	}
	iss := newTestIssuer(t, serve{keys: oddKeys})
	v := newVerifier(t, iss)
	issuer := iss.issuer()
	c := func() jwt.MapClaims { return claims(issuer) }
	bearer := func(tok string) string { return "Bearer " + tok }

	valid := rs256(t, "A", "kA", c())
	parts := strings.Split(valid, ".")
	otherCID := rs256(t, "A", "kA", with(c(), "cid", "0oaEVIL"))
	huge := rs256(t, "A", "kA", with(c(), "pad", strings.Repeat("x", MaxTokenBytes)))

	tests := []struct {
		name   string
		header string
		want   Reason // "" means the token is accepted
	}{
		// Accepted.
		{"valid client-credentials token", bearer(valid), ""},
		{"scp as a space-separated string", bearer(rs256(t, "A", "kA", with(c(), "scp", "openid "+testScope))), ""},
		{"aud as a list holding the audience", bearer(rs256(t, "A", "kA", with(c(), "aud", []string{"api://other", "api://default"}))), ""},
		{"exp just past, within the leeway", bearer(rs256(t, "A", "kA", with(c(), "exp", testNow.Add(-20*time.Second).Unix()))), ""},
		// Time.
		{"expired beyond the leeway", bearer(rs256(t, "A", "kA", with(c(), "exp", testNow.Add(-31*time.Second).Unix()))), ReasonExpired},
		{"not yet valid (nbf)", bearer(rs256(t, "A", "kA", with(c(), "nbf", testNow.Add(5*time.Minute).Unix()))), ReasonNotYetValid},
		{"issued in the future (iat)", bearer(rs256(t, "A", "kA", with(c(), "iat", testNow.Add(5*time.Minute).Unix()))), ReasonNotYetValid},
		{"no exp", bearer(rs256(t, "A", "kA", without(c(), "exp"))), ReasonMalformed},
		// Who issued it, for whom.
		{"wrong iss", bearer(rs256(t, "A", "kA", with(c(), "iss", "https://evil.okta.com/oauth2/default"))), ReasonWrongIssuer},
		{"wrong aud", bearer(rs256(t, "A", "kA", with(c(), "aud", "api://other"))), ReasonWrongAudience},
		{"no aud", bearer(rs256(t, "A", "kA", without(c(), "aud"))), ReasonWrongAudience},
		{"scope missing from scp", bearer(rs256(t, "A", "kA", with(c(), "scp", []string{"openid", "okta.users.read"}))), ReasonMissingScope},
		{"wrong cid", bearer(otherCID), ReasonWrongClient},
		// An employee's token from a SPA on the same authorization server
		// (same aud, scope granted to users).
		{"a user's token from another app", bearer(rs256(t, "A", "kA", with(with(with(c(), "cid", "0oaSPA0000000000001"), "sub", "alice@example.com"), "uid", "00u8k2pQz4XyTb7Wd5d7"))), ReasonWrongClient},
		{"a user's token minted for the hook's own app", bearer(rs256(t, "A", "kA", with(with(c(), "sub", "alice@example.com"), "uid", "00u8k2pQz4XyTb7Wd5d7"))), ReasonNotClientCredentials},
		{"uid present even with sub = cid", bearer(rs256(t, "A", "kA", with(c(), "uid", "00u8k2pQz4XyTb7Wd5d7"))), ReasonNotClientCredentials},
		// Signature and algorithm.
		{"alg none", bearer(unsigned(t, "none", "kA", c())), ReasonBadSignature},
		{"HS256 keyed with the public key PEM", bearer(sign(t, jwt.SigningMethodHS256, publicPEM("A"), "kA", c())), ReasonBadSignature},
		{"RS256 by an unknown key with the same kid", bearer(rs256(t, "stranger", "kA", c())), ReasonBadSignature},
		{"claims changed after signing", bearer(parts[0] + "." + strings.Split(otherCID, ".")[1] + "." + parts[2]), ReasonBadSignature},

		// Keys: only RSA keys of 2048 bits or more, for signatures, RS256.
		{"unknown kid", bearer(rs256(t, "B", "kB", c())), ReasonUnknownKey},
		{"no kid", bearer(sign(t, jwt.SigningMethodRS256, key("A"), nil, c())), ReasonUnknownKey},
		{"key published for encryption", bearer(rs256(t, "B", "enc", c())), ReasonUnknownKey},
		{"key published for RS512", bearer(rs256(t, "B", "rs512", c())), ReasonUnknownKey},
		{"1024-bit key", bearer(rs256(t, "weak", "weak", c())), ReasonUnknownKey},
		{"RS256 against the symmetric JWK", bearer(rs256(t, "A", "oct", c())), ReasonUnknownKey},

		// Header shape.
		{"no header", "", ReasonMissingToken},
		{"not a JWT", "Bearer not-a-jwt", ReasonMalformed},
		{"line break inside the token", bearer(parts[0] + ".\n" + parts[1] + "." + parts[2]), ReasonMalformed},
		{"padded base64", bearer(parts[0] + "=." + parts[1] + "." + parts[2]), ReasonMalformed},
		{"oversized but validly signed", bearer(huge), ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Verify(context.Background(), tt.header)
			if got := reasonOf(err); got != tt.want {
				t.Fatalf("Verify: %v; want reason %q", err, tt.want)
			}
			// The error is logged: it must not echo the token or claims.
			for _, leak := range []string{testClientID, testJTI, issuer, "eyJ", tt.header} {
				if err != nil && len(leak) > 3 && strings.Contains(err.Error(), leak) {
					t.Errorf("error text %q contains %q", err.Error(), leak)
				}
			}
		})
	}
}

// TestKeySetLifecycle walks the key set through rotation, revocation and
// outages, counting the fetches the issuer sees. jwkset refreshes on the
// first unknown kid, then at most once a minute: longer than a test runs.
func TestKeySetLifecycle(t *testing.T) {
	keysA, keysAB, keysB := serve{keys: []jwkJSON{jwkA()}}, serve{keys: []jwkJSON{jwkA(), jwkB()}}, serve{keys: []jwkJSON{jwkB()}}
	down500, empty := serve{answer: answer500}, serve{keys: []jwkJSON{}}
	type step struct {
		serve   *serve // what the issuer answers from this step on
		signer  string // key A or B, signing with kid kA or kB; "bogus" uses key A with an unknown kid
		want    Reason
		fetches int32 // issuer requests so far, cold start included
	}
	tests := []struct {
		name    string
		initial serve
		steps   []step
	}{
		{"rotated key picked up on its unknown kid", keysA,
			[]step{{nil, "A", "", 1}, {&keysAB, "B", "", 2}, {nil, "A", "", 2}, {nil, "B", "", 2}}},
		{"key removed from the set stops verifying after a refresh", keysAB,
			[]step{{&keysB, "bogus", ReasonUnknownKey, 2}, {nil, "A", ReasonUnknownKey, 2}, {nil, "B", "", 2}}},
		{"endpoint answering 500: the cached key stays", keysA,
			[]step{{&down500, "bogus", ReasonUnknownKey, 2}, {nil, "A", "", 2}}},
		{"empty key set served: the cached key stays", keysA,
			[]step{{&empty, "bogus", ReasonUnknownKey, 2}, {nil, "A", "", 2}}},
		{"endpoint down at cold start: one retry on the first token, then rate limited", down500,
			[]step{{nil, "A", ReasonNoKeys, 2}, {&keysA, "A", ReasonNoKeys, 2}}},
		{"endpoint back for the first token after a failed cold start", down500,
			[]step{{&keysA, "A", "", 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := newTestIssuer(t, tt.initial)
			v := newVerifier(t, iss)
			for i, s := range tt.steps {
				if s.serve != nil {
					iss.set(*s.serve)
				}
				signers := map[string][2]string{"A": {"A", "kA"}, "B": {"B", "kB"}, "bogus": {"A", "bogus"}}[s.signer]
				err := v.Verify(context.Background(), "Bearer "+rs256(t, signers[0], signers[1], claims(iss.issuer())))
				if got := reasonOf(err); got != s.want {
					t.Errorf("step %d: reason %q, want %q (err %v)", i, got, s.want, err)
				}
				if got := iss.fetches.Load(); got != s.fetches {
					t.Errorf("step %d: issuer fetched %d times, want %d", i, got, s.fetches)
				}
			}
		})
	}
}

func reasonOf(err error) Reason {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Reason
	}
	return "not an *Error: " + Reason(err.Error())
}

func TestColdStartUnreachable(t *testing.T) {
	closed := httptest.NewServer(nil)
	closed.Close()
	for name, issuer := range map[string]string{
		"nothing listening":           closed.URL + testPath,
		"issuer answers 500":          newTestIssuer(t, serve{answer: answer500}).issuer(),
		"issuer serves no usable key": newTestIssuer(t, serve{keys: []jwkJSON{rsaJWK("weak", "weak")}}).issuer(),
	} {
		t.Run(name, func(t *testing.T) {
			logs := &logtest.Buffer{}
			v, err := New(Config{Issuer: issuer, ClientID: testClientID, Scope: testScope, Now: func() time.Time { return testNow }}, logTo(logs))
			if err != nil {
				t.Fatalf("New must not fail on an unreachable issuer: %v", err)
			}
			defer v.Close()
			err = v.Verify(context.Background(), "Bearer "+rs256(t, "A", "kA", claims(issuer)))
			if got := reasonOf(err); got != ReasonNoKeys {
				t.Errorf("reason %q, want %q", got, ReasonNoKeys)
			}
			if !strings.Contains(logs.String(), "no key set was ever loaded") {
				t.Errorf("no clear log line about the missing key set; logs:\n%s", logs)
			}
		})
	}
}

// TestFloodOfUnknownKids: a burst of tokens with made-up kids must not
// turn into a burst of requests to Okta.
func TestFloodOfUnknownKids(t *testing.T) {
	iss := newTestIssuer(t, serve{keys: []jwkJSON{jwkA()}})
	v := newVerifier(t, iss)
	c := claims(iss.issuer())
	var wg sync.WaitGroup
	reasons := make([]Reason, 100)
	for i := range reasons {
		tok := "Bearer " + rs256(t, "A", "bogus-"+strings.Repeat("x", i%7)+string(rune('a'+i%26)), c)
		wg.Go(func() { reasons[i] = reasonOf(v.Verify(context.Background(), tok)) })
	}
	wg.Wait()
	for i, r := range reasons {
		if r != ReasonUnknownKey {
			t.Fatalf("token %d: reason %q, want %q", i, r, ReasonUnknownKey)
		}
	}
	// One at cold start, at most one for the whole flood.
	if n := iss.fetches.Load(); n > 2 {
		t.Errorf("issuer fetched %d times for 100 unknown kids, want at most 2", n)
	}
	if err := v.Verify(context.Background(), "Bearer "+rs256(t, "A", "kA", c)); err != nil {
		t.Errorf("valid token after the flood: %v", err)
	}
}

// TestHungIssuer: a JWKS endpoint that never answers holds New no longer
// than fetchTimeout, and a request no longer than its own ctx.
func TestHungIssuer(t *testing.T) {
	t.Run("at cold start", func(t *testing.T) {
		iss := newTestIssuer(t, serve{answer: answerHang})
		start := time.Now()
		newVerifier(t, iss)
		if took := time.Since(start); took > fetchTimeout+time.Second {
			t.Errorf("New took %v with a hung issuer", took)
		}
	})
	t.Run("on an unknown kid during a request", func(t *testing.T) {
		iss := newTestIssuer(t, serve{keys: []jwkJSON{jwkA()}})
		v := newVerifier(t, iss)
		iss.set(serve{answer: answerHang})
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-iss.hit; cancel() }() // the request's deadline passes while Okta hangs
		if err := v.Verify(ctx, "Bearer "+rs256(t, "B", "kB", claims(iss.issuer()))); reasonOf(err) != ReasonUnknownKey {
			t.Fatalf("Verify: %v, want unknown_key", err)
		}
		if err := v.Verify(context.Background(), "Bearer "+rs256(t, "A", "kA", claims(iss.issuer()))); err != nil {
			t.Errorf("cached key after a hung refresh: %v", err)
		}
	})
}

func TestNewRefusesAConfigWithoutClientID(t *testing.T) {
	if _, err := New(Config{Issuer: "http://127.0.0.1:1/oauth2/default", ClientID: "  "}, nil); err == nil {
		t.Error("New with a blank client id: no error")
	}
}
