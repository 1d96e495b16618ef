package oauth

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestVerify(t *testing.T) {
	// One issuer whose set also holds keys that must never be used: for
	// encryption, for another algorithm, too weak, and a symmetric key.
	oddKeys := []jwkJSON{
		jwkA(),
		func() jwkJSON { k := rsaJWK("enc", "B"); k.USE = "enc"; return k }(),
		func() jwkJSON { k := rsaJWK("rs512", "B"); k.ALG = "RS512"; return k }(),
		rsaJWK("weak", "weak"),
		{KTY: "oct", KID: "oct", ALG: "HS256", K: b64(publicPEM("A"))},
	}
	iss := newTestIssuer(t, serve{keys: oddKeys})
	clock := &testClock{t: testNow}
	v := newVerifier(t, iss, clock)
	issuer := iss.issuer()
	c := func() jwt.MapClaims { return claims(issuer) }
	bearer := func(tok string) string { return "Bearer " + tok }

	valid := rs256(t, "A", "kA", c())
	parts := strings.Split(valid, ".")
	otherCID := rs256(t, "A", "kA", with(c(), "cid", "0oaEVIL"))
	huge := rs256(t, "A", "kA", with(c(), "pad", strings.Repeat("x", MaxTokenBytes)))

	wantClaims := &Claims{
		Subject:   testClientID,
		ClientID:  testClientID,
		Scopes:    []string{testScope},
		ExpiresAt: testNow.Add(59 * time.Minute),
		JTI:       testJTI,
	}

	tests := []struct {
		name   string
		header string
		want   Reason // "" means the token is accepted
	}{
		// Accepted.
		{"valid client-credentials token", bearer(valid), ""},
		{"scheme is case-insensitive", "bearer " + valid, ""},
		{"scp as a space-separated string", bearer(rs256(t, "A", "kA", with(c(), "scp", "openid "+testScope))), ""},
		{"aud as a list holding the audience", bearer(rs256(t, "A", "kA", with(c(), "aud", []string{"api://other", "api://default"}))), ""},
		{"exp just past, within the leeway", bearer(rs256(t, "A", "kA", with(c(), "exp", testNow.Add(-20*time.Second).Unix()))), ""},
		{"nbf just ahead, within the leeway", bearer(rs256(t, "A", "kA", with(c(), "nbf", testNow.Add(20*time.Second).Unix()))), ""},
		{"iat just ahead, within the leeway", bearer(rs256(t, "A", "kA", with(c(), "iat", testNow.Add(20*time.Second).Unix()))), ""},

		// Time.
		{"expired beyond the leeway", bearer(rs256(t, "A", "kA", with(c(), "exp", testNow.Add(-31*time.Second).Unix()))), ReasonExpired},
		{"expired long ago", bearer(rs256(t, "A", "kA", with(c(), "exp", testNow.Add(-24*time.Hour).Unix()))), ReasonExpired},
		{"not yet valid (nbf)", bearer(rs256(t, "A", "kA", with(c(), "nbf", testNow.Add(5*time.Minute).Unix()))), ReasonNotYetValid},
		{"issued in the future (iat)", bearer(rs256(t, "A", "kA", with(c(), "iat", testNow.Add(5*time.Minute).Unix()))), ReasonNotYetValid},
		{"no exp", bearer(rs256(t, "A", "kA", without(c(), "exp"))), ReasonMalformed},
		{"exp not a number", bearer(rs256(t, "A", "kA", with(c(), "exp", "tomorrow"))), ReasonMalformed},

		// Who issued it, for whom.
		{"wrong iss", bearer(rs256(t, "A", "kA", with(c(), "iss", "https://evil.okta.com/oauth2/default"))), ReasonWrongIssuer},
		{"iss with a trailing slash", bearer(rs256(t, "A", "kA", with(c(), "iss", issuer+"/"))), ReasonWrongIssuer},
		{"no iss", bearer(rs256(t, "A", "kA", without(c(), "iss"))), ReasonWrongIssuer},
		{"wrong aud", bearer(rs256(t, "A", "kA", with(c(), "aud", "api://other"))), ReasonWrongAudience},
		{"no aud", bearer(rs256(t, "A", "kA", without(c(), "aud"))), ReasonWrongAudience},
		{"scope missing from scp", bearer(rs256(t, "A", "kA", with(c(), "scp", []string{"openid", "okta.users.read"}))), ReasonMissingScope},
		{"scope as a prefix only", bearer(rs256(t, "A", "kA", with(c(), "scp", "okta.telephony.hook.admin"))), ReasonMissingScope},
		{"no scp", bearer(rs256(t, "A", "kA", without(c(), "scp"))), ReasonMissingScope},
		{"wrong cid", bearer(otherCID), ReasonWrongClient},
		{"no cid", bearer(rs256(t, "A", "kA", without(c(), "cid"))), ReasonWrongClient},
		// The reported attack: an employee's token from a SPA on the same
		// authorization server (same aud, scope granted to users).
		{"a user's token from another app", bearer(rs256(t, "A", "kA", with(with(with(c(), "cid", "0oaSPA0000000000001"), "sub", "alice@example.com"), "uid", "00u8k2pQz4XyTb7Wd5d7"))), ReasonWrongClient},
		{"a user's token minted for the hook's own app", bearer(rs256(t, "A", "kA", with(with(c(), "sub", "alice@example.com"), "uid", "00u8k2pQz4XyTb7Wd5d7"))), ReasonNotClientCredentials},
		{"sub is not the client", bearer(rs256(t, "A", "kA", with(c(), "sub", "0oaOTHER000000000001"))), ReasonNotClientCredentials},
		{"no sub", bearer(rs256(t, "A", "kA", without(c(), "sub"))), ReasonNotClientCredentials},
		{"uid present even with sub = cid", bearer(rs256(t, "A", "kA", with(c(), "uid", "00u8k2pQz4XyTb7Wd5d7"))), ReasonNotClientCredentials},
		{"uid null", bearer(rs256(t, "A", "kA", with(c(), "uid", nil))), ReasonNotClientCredentials},

		// Signature and algorithm.
		{"alg none", bearer(unsigned(t, "none", "kA", c())), ReasonBadSignature},
		{"alg NONE", bearer(unsigned(t, "NONE", "kA", c())), ReasonBadSignature},
		{"HS256 keyed with the public key PEM", bearer(sign(t, jwt.SigningMethodHS256, publicPEM("A"), "kA", c())), ReasonBadSignature},
		{"HS256 keyed with the public key DER", bearer(sign(t, jwt.SigningMethodHS256, mustDER(t), "kA", c())), ReasonBadSignature},
		{"HS256 against the symmetric JWK in the set", bearer(sign(t, jwt.SigningMethodHS256, publicPEM("A"), "oct", c())), ReasonBadSignature},
		{"PS256 by the right key", bearer(sign(t, jwt.SigningMethodPS256, key("A"), "kA", c())), ReasonBadSignature},
		{"RS512 by the right key", bearer(sign(t, jwt.SigningMethodRS512, key("A"), "kA", c())), ReasonBadSignature},
		{"RS256 by an unknown key with the same kid", bearer(rs256(t, "stranger", "kA", c())), ReasonBadSignature},
		{"claims changed after signing", bearer(parts[0] + "." + strings.Split(otherCID, ".")[1] + "." + parts[2]), ReasonBadSignature},
		{"signature stripped", bearer(parts[0] + "." + parts[1] + "."), ReasonBadSignature},

		// Keys.
		{"unknown kid", bearer(rs256(t, "B", "kB", c())), ReasonUnknownKey},
		{"no kid", bearer(sign(t, jwt.SigningMethodRS256, key("A"), nil, c())), ReasonUnknownKey},
		{"kid not a string", bearer(sign(t, jwt.SigningMethodRS256, key("A"), 42, c())), ReasonUnknownKey},
		{"key published for encryption", bearer(rs256(t, "B", "enc", c())), ReasonUnknownKey},
		{"key published for RS512", bearer(rs256(t, "B", "rs512", c())), ReasonUnknownKey},
		{"1024-bit key", bearer(rs256(t, "weak", "weak", c())), ReasonUnknownKey},
		{"RS256 against the symmetric JWK", bearer(rs256(t, "A", "oct", c())), ReasonUnknownKey},
		{"Okta docs placeholder token", "Bearer eyJraWQiOiJQTEFDRUhPTERFUiIsImFsZyI6IlJTMjU2In0.eyJQTEFDRUhPTERFUiI6dHJ1ZX0.c2lnbmF0dXJl", ReasonUnknownKey},

		// Header shape.
		{"no header", "", ReasonMissingToken},
		{"scheme only", "Bearer", ReasonMissingToken},
		{"scheme and blanks", "Bearer    ", ReasonMissingToken},
		{"Basic credentials", "Basic dXNlcjpwYXNzd29yZA==", ReasonMissingToken},
		{"static secret instead of a token", "s3cr3t-shared-header-value", ReasonMissingToken},
		{"token without a scheme", valid, ReasonMissingToken},
		{"not a JWT", "Bearer not-a-jwt", ReasonMalformed},
		{"three garbage segments", "Bearer a.b.c", ReasonMalformed},
		{"line break inside the token", bearer(parts[0] + ".\n" + parts[1] + "." + parts[2]), ReasonMalformed},
		{"padded base64", bearer(parts[0] + "=." + parts[1] + "." + parts[2]), ReasonMalformed},
		{"oversized but validly signed", bearer(huge), ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), tt.header)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify: %v, want the token accepted", err)
				}
				if tt.name == "valid client-credentials token" && !reflect.DeepEqual(got, wantClaims) {
					t.Errorf("claims = %+v, want %+v", got, wantClaims)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Reason != tt.want {
				t.Fatalf("Verify = %v, %v; want reason %s", got, err, tt.want)
			}
			if !errors.Is(err, &Error{Reason: tt.want}) {
				t.Errorf("errors.Is does not match reason %s", tt.want)
			}
			// The error is logged: it must not echo the token or claims.
			for _, leak := range []string{testClientID, testJTI, issuer, "eyJ", tt.header} {
				if leak != "" && len(leak) > 3 && strings.Contains(err.Error(), leak) {
					t.Errorf("error text %q contains %q", err.Error(), leak)
				}
			}
		})
	}
	if !v.Ready() {
		t.Error("Ready() = false with a loaded key set")
	}
}

func mustDER(t *testing.T) []byte {
	der, err := x509.MarshalPKIXPublicKey(&key("A").PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestKeySetLifecycle walks the key set through rotation, revocation and
// outages, counting the fetches the issuer sees.
func TestKeySetLifecycle(t *testing.T) {
	keysA := serve{keys: []jwkJSON{jwkA()}}
	keysAB := serve{keys: []jwkJSON{jwkA(), jwkB()}}
	keysB := serve{keys: []jwkJSON{jwkB()}}
	down500 := serve{answer: answer500}
	dropped := serve{answer: answerAbort}
	empty := serve{keys: []jwkJSON{}}

	type step struct {
		serve   *serve        // what the issuer answers from this step on
		advance time.Duration // clock moves before the request
		signer  string        // key A or B, signing with kid kA or kB; "bogus" uses key A with an unknown kid
		want    Reason
		fetches int32 // issuer requests so far, cold start included
		ready   bool
	}
	tests := []struct {
		name    string
		initial serve
		// net/http retries a GET once when a reused connection drops;
		// fresh connections keep the fetch count exact.
		noKeepAlive bool
		steps       []step
	}{
		{
			name:    "rotated key picked up on its unknown kid",
			initial: keysA,
			steps: []step{
				{signer: "A", fetches: 1, ready: true},
				{serve: &keysAB, signer: "B", fetches: 2, ready: true},
				{signer: "A", fetches: 2, ready: true},
				{signer: "B", fetches: 2, ready: true},
			},
		},
		{
			name:    "key removed from the set stops verifying after a refresh",
			initial: keysAB,
			steps: []step{
				{serve: &keysB, signer: "bogus", want: ReasonUnknownKey, fetches: 2, ready: true},
				{signer: "A", want: ReasonUnknownKey, fetches: 2, ready: true},
				{signer: "B", fetches: 2, ready: true},
			},
		},
		{
			name:    "endpoint answering 500 with a cached key",
			initial: keysA,
			steps: []step{
				{serve: &down500, signer: "A", fetches: 1, ready: true},
				{signer: "bogus", want: ReasonUnknownKey, fetches: 2, ready: true},
				{signer: "A", fetches: 2, ready: true},
			},
		},
		{
			name:        "endpoint dropping connections with a cached key",
			initial:     keysA,
			noKeepAlive: true,
			steps: []step{
				{serve: &dropped, signer: "bogus", want: ReasonUnknownKey, fetches: 2, ready: true},
				{signer: "A", fetches: 2, ready: true},
			},
		},
		{
			name:    "empty key set served: cached keys kept",
			initial: keysA,
			steps: []step{
				{serve: &empty, signer: "bogus", want: ReasonUnknownKey, fetches: 2, ready: true},
				{signer: "A", fetches: 2, ready: true},
			},
		},
		{
			name:    "endpoint down at cold start, then back",
			initial: down500,
			steps: []step{
				{signer: "A", want: ReasonNoKeys, fetches: 2},                                           // one retry on the request
				{signer: "A", want: ReasonNoKeys, fetches: 2},                                           // rate limited: no second call
				{serve: &keysA, advance: 30 * time.Second, signer: "A", want: ReasonNoKeys, fetches: 2}, // still within the minute
				{advance: 31 * time.Second, signer: "A", fetches: 3, ready: true},
			},
		},
		{
			name:    "unknown kids refresh at most once a minute",
			initial: keysA,
			steps: []step{
				{signer: "bogus", want: ReasonUnknownKey, fetches: 2, ready: true},
				{advance: 59 * time.Second, signer: "bogus", want: ReasonUnknownKey, fetches: 2, ready: true},
				{advance: 2 * time.Second, signer: "bogus", want: ReasonUnknownKey, fetches: 3, ready: true},
				{signer: "bogus", want: ReasonUnknownKey, fetches: 3, ready: true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := newTestIssuer(t, tt.initial)
			if tt.noKeepAlive {
				iss.srv.Client().Transport.(*http.Transport).DisableKeepAlives = true
			}
			clock := &testClock{t: testNow}
			v := newVerifier(t, iss, clock)
			for i, s := range tt.steps {
				if s.serve != nil {
					iss.set(*s.serve)
				}
				clock.Advance(s.advance)
				var tok string
				switch s.signer {
				case "A":
					tok = rs256(t, "A", "kA", claims(iss.issuer()))
				case "B":
					tok = rs256(t, "B", "kB", claims(iss.issuer()))
				case "bogus":
					tok = rs256(t, "A", "bogus", claims(iss.issuer()))
				}
				_, err := v.Verify(context.Background(), "Bearer "+tok)
				if got := reasonOf(err); got != s.want {
					t.Errorf("step %d: reason %q, want %q (err %v)", i, got, s.want, err)
				}
				if got := iss.fetches.Load(); got != s.fetches {
					t.Errorf("step %d: issuer fetched %d times, want %d", i, got, s.fetches)
				}
				if got := v.Ready(); got != s.ready {
					t.Errorf("step %d: Ready() = %v, want %v", i, got, s.ready)
				}
			}
		})
	}
}

func reasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	if err != nil {
		return "not an *Error: " + Reason(err.Error())
	}
	return ""
}

func TestColdStartUnreachable(t *testing.T) {
	tests := []struct {
		name  string
		start func(t *testing.T) (issuer string, cfg Config)
	}{
		{
			name: "nothing listening",
			start: func(t *testing.T) (string, Config) {
				srv := httptest.NewServer(nil)
				srv.Close()
				return srv.URL + testPath, Config{HTTPClient: srv.Client(), ClientID: testClientID}
			},
		},
		{
			name: "issuer answers 500",
			start: func(t *testing.T) (string, Config) {
				iss := newTestIssuer(t, serve{answer: answer500})
				return iss.issuer(), Config{HTTPClient: iss.srv.Client(), ClientID: testClientID}
			},
		},
		{
			name: "issuer serves no usable key",
			start: func(t *testing.T) (string, Config) {
				iss := newTestIssuer(t, serve{keys: []jwkJSON{rsaJWK("weak", "weak")}})
				return iss.issuer(), Config{HTTPClient: iss.srv.Client(), ClientID: testClientID}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			issuer, cfg := tt.start(t)
			cfg.Issuer, cfg.Now, cfg.Scope = issuer, func() time.Time { return testNow }, testScope
			logs := &logBuffer{}
			v, err := New(context.Background(), cfg, logs.logger())
			if err != nil {
				t.Fatalf("New must not fail on an unreachable issuer: %v", err)
			}
			defer v.Close()
			if v.Ready() {
				t.Error("Ready() = true with no key set loaded")
			}
			_, err = v.Verify(context.Background(), "Bearer "+rs256(t, "A", "kA", claims(issuer)))
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
	v := newVerifier(t, iss, &testClock{t: testNow})
	c := claims(iss.issuer())
	toks := make([]string, 100)
	for i := range toks {
		toks[i] = "Bearer " + rs256(t, "A", "bogus-"+strings.Repeat("x", i%7)+string(rune('a'+i%26)), c)
	}
	var wg sync.WaitGroup
	reasons := make([]Reason, len(toks))
	for i, tok := range toks {
		wg.Go(func() {
			_, err := v.Verify(context.Background(), tok)
			reasons[i] = reasonOf(err)
		})
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
	if _, err := v.Verify(context.Background(), "Bearer "+rs256(t, "A", "kA", c)); err != nil {
		t.Errorf("valid token after the flood: %v", err)
	}
}

// TestHungIssuer: a JWKS endpoint that never answers holds neither New
// beyond its ctx nor a request beyond the request's ctx.
func TestHungIssuer(t *testing.T) {
	t.Run("at cold start", func(t *testing.T) {
		iss := newTestIssuer(t, serve{answer: answerHang})
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-iss.hit; cancel() }()
		v, err := New(ctx, Config{Issuer: iss.issuer(), ClientID: testClientID, HTTPClient: iss.srv.Client()}, nil)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		defer v.Close()
		if v.Ready() {
			t.Error("Ready() = true after a fetch that never answered")
		}
	})
	t.Run("on an unknown kid during a request", func(t *testing.T) {
		iss := newTestIssuer(t, serve{keys: []jwkJSON{jwkA()}})
		v := newVerifier(t, iss, &testClock{t: testNow})
		iss.set(serve{answer: answerHang, keys: []jwkJSON{jwkA(), jwkB()}})
		tokB := "Bearer " + rs256(t, "B", "kB", claims(iss.issuer()))

		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-iss.hit; cancel() }() // the request's deadline passes while Okta hangs
		_, err := v.Verify(ctx, tokB)
		if got := reasonOf(err); got != ReasonUnknownKey {
			t.Fatalf("reason %q, want %q", got, ReasonUnknownKey)
		}
		// A cached key is not held up by the hung refresh.
		if _, err := v.Verify(context.Background(), "Bearer "+rs256(t, "A", "kA", claims(iss.issuer()))); err != nil {
			t.Errorf("cached key during a hung refresh: %v", err)
		}
		// The refresh outlives the request that started it and fills
		// the cache for the next one, without another fetch.
		iss.unblock()
		if _, err := v.Verify(context.Background(), tokB); err != nil {
			t.Errorf("rotated key after the hung fetch answered: %v", err)
		}
		if n := iss.fetches.Load(); n != 2 {
			t.Errorf("issuer fetched %d times, want 2", n)
		}
	})
}

func TestCloseKeepsCachedKeys(t *testing.T) {
	iss := newTestIssuer(t, serve{keys: []jwkJSON{jwkA()}})
	v := newVerifier(t, iss, &testClock{t: testNow})
	v.Close()
	v.Close() // idempotent
	if _, err := v.Verify(context.Background(), "Bearer "+rs256(t, "A", "kA", claims(iss.issuer()))); err != nil {
		t.Errorf("cached key after Close: %v", err)
	}
	_, err := v.Verify(context.Background(), "Bearer "+rs256(t, "B", "kB", claims(iss.issuer())))
	if got := reasonOf(err); got != ReasonUnknownKey {
		t.Errorf("unknown kid after Close: reason %q, want %q", got, ReasonUnknownKey)
	}
	if n := iss.fetches.Load(); n != 1 {
		t.Errorf("issuer fetched %d times after Close, want 1", n)
	}
}

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr bool
	}{
		{"https issuer", Config{Issuer: "https://acme.okta.com/oauth2/default", ClientID: testClientID}, false},
		{"http on localhost", Config{Issuer: "http://localhost:9999/oauth2/default", ClientID: testClientID}, false},
		{"http on 127.0.0.1", Config{Issuer: "http://127.0.0.1:9999/oauth2/default", ClientID: testClientID}, false},
		{"no client id", Config{Issuer: "https://acme.okta.com/oauth2/default"}, true},
		{"blank client id", Config{Issuer: "https://acme.okta.com/oauth2/default", ClientID: "  "}, true},
		{"empty issuer", Config{ClientID: testClientID}, true},
		{"plain http", Config{Issuer: "http://acme.okta.com/oauth2/default", ClientID: testClientID}, true},
		{"no scheme", Config{Issuer: "acme.okta.com/oauth2/default", ClientID: testClientID}, true},
		{"query", Config{Issuer: "https://acme.okta.com/oauth2/default?x=1", ClientID: testClientID}, true},
		{"credentials in the URL", Config{Issuer: "https://u:p@acme.okta.com/oauth2/default", ClientID: testClientID}, true},
		{"negative leeway", Config{Issuer: "https://acme.okta.com/oauth2/default", ClientID: testClientID, Leeway: -time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A cancelled ctx: no test here may reach the network.
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			v, err := New(ctx, tt.cfg, nil)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New error = %v, wantErr %v", err, tt.wantErr)
			}
			if v != nil {
				v.Close()
			}
		})
	}
}

// BenchmarkVerify is the cost of one verification with a warm key set.
func BenchmarkVerify(b *testing.B) {
	iss := newTestIssuer(b, serve{keys: []jwkJSON{jwkA(), jwkB()}})
	v := newVerifier(b, iss, &testClock{t: testNow})
	h := "Bearer " + rs256(b, "A", "kA", claims(iss.issuer()))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, h); err != nil {
			b.Fatal(err)
		}
	}
}
