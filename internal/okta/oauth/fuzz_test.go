package oauth

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify feeds arbitrary Authorization header values to a verifier
// holding one key. Nothing may panic, every refusal must be an *Error with
// a known reason, and anything accepted must carry exactly the claims of
// a token that key signed: no input the fuzzer builds may verify
// with other claims.
func FuzzVerify(f *testing.F) {
	iss := newTestIssuer(f, serve{keys: []jwkJSON{jwkA()}})
	v := newVerifier(f, iss, &testClock{t: testNow})
	c := claims(iss.issuer())
	valid := rs256(f, "A", "kA", c)
	validSpaced := rs256(f, "A", "kA", with(claims(iss.issuer()), "scp", "openid "+testScope))
	// The claims of the only tokens the key ever signed.
	var signed []*Claims
	for _, tok := range []string{valid, validSpaced} {
		cl, err := v.Verify(context.Background(), "Bearer "+tok)
		if err != nil {
			f.Fatalf("seed token does not verify: %v", err)
		}
		signed = append(signed, cl)
	}
	parts := strings.Split(valid, ".")

	seeds := []string{
		"Bearer " + valid,
		"bearer  " + valid,
		valid,
		"Bearer " + valid[:len(valid)-1],
		"Bearer " + valid[:len(valid)/2],
		"Bearer " + parts[0] + "." + parts[1],
		"Bearer " + parts[0] + "." + parts[1] + ".",
		"Bearer " + parts[0] + ".." + parts[2],
		"Bearer " + unsigned(f, "none", "kA", c),
		"Bearer " + sign(f, jwt.SigningMethodHS256, publicPEM("A"), "kA", c),
		"Bearer " + rs256(f, "stranger", "kA", c),
		"Bearer " + rs256(f, "A", "bogus", c),
		"Bearer " + validSpaced,
		"Bearer eyJraWQiOiJQTEFDRUhPTERFUiIsImFsZyI6IlJTMjU2In0.eyJQTEFDRUhPTERFUiI6dHJ1ZX0.c2lnbmF0dXJl",
		"Bearer eyJhbGciOiJSUzI1NiJ9.e30.",
		"Bearer a.b.c",
		"Bearer ....",
		"Bearer \x00\xff",
		"Basic dXNlcjpwYXNz",
		"",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	known := map[Reason]bool{
		ReasonMissingToken: true, ReasonMalformed: true, ReasonBadSignature: true,
		ReasonUnknownKey: true, ReasonExpired: true, ReasonNotYetValid: true,
		ReasonWrongIssuer: true, ReasonWrongAudience: true, ReasonMissingScope: true,
		ReasonWrongClient: true, ReasonNoKeys: true, ReasonNotClientCredentials: true,
	}
	f.Fuzz(func(t *testing.T, header string) {
		got, err := v.Verify(context.Background(), header)
		if err == nil {
			for _, s := range signed {
				if reflect.DeepEqual(got, s) {
					return
				}
			}
			t.Fatalf("accepted a token with claims the key never signed: %+v", got)
		}
		var e *Error
		if !errors.As(err, &e) || !known[e.Reason] {
			t.Fatalf("refusal is not a known *Error: %v", err)
		}
		if len(header) > 8 && strings.Contains(err.Error(), header) {
			t.Fatalf("error text echoes the input")
		}
	})
}
