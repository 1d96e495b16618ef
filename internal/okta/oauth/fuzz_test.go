package oauth

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzVerify feeds arbitrary Authorization header values to a verifier
// holding one key. Nothing may panic, every refusal must be an *Error with
// a known reason, and anything accepted must carry exactly the payload of
// a token that key signed: no input the fuzzer builds may verify with
// other claims.
func FuzzVerify(f *testing.F) {
	iss := newTestIssuer(f, serve{keys: []jwkJSON{jwkA()}})
	v := newVerifier(f, iss)
	c := claims(iss.issuer())
	valid := rs256(f, "A", "kA", c)
	validSpaced := rs256(f, "A", "kA", with(claims(iss.issuer()), "scp", "openid "+testScope))
	// The payloads of the only tokens the key ever signed.
	signed := map[string]bool{}
	for _, tok := range []string{valid, validSpaced} {
		if err := v.Verify(context.Background(), "Bearer "+tok); err != nil {
			f.Fatalf("seed token does not verify: %v", err)
		}
		signed[strings.Split(tok, ".")[1]] = true
	}
	parts := strings.Split(valid, ".")

	for _, seed := range []string{
		"Bearer " + valid, "bearer  " + valid, valid, "Bearer " + validSpaced,
		"Bearer " + valid[:len(valid)-1], "Bearer " + parts[0] + "." + parts[1] + ".", "Bearer " + parts[0] + ".." + parts[2],
		"Bearer " + unsigned(f, "none", "kA", c), "Bearer " + sign(f, jwt.SigningMethodHS256, publicPEM("A"), "kA", c),
		"Bearer " + rs256(f, "stranger", "kA", c), "Bearer " + rs256(f, "A", "bogus", c),
		"Bearer eyJhbGciOiJSUzI1NiJ9.e30.", "Bearer a.b.c", "Bearer \x00\xff", "Basic dXNlcjpwYXNz", "",
	} {
		f.Add(seed)
	}
	known := map[Reason]bool{ReasonMissingToken: true, ReasonMalformed: true, ReasonBadSignature: true, ReasonUnknownKey: true,
		ReasonExpired: true, ReasonNotYetValid: true, ReasonWrongIssuer: true, ReasonWrongAudience: true, ReasonMissingScope: true,
		ReasonWrongClient: true, ReasonNoKeys: true, ReasonNotClientCredentials: true}
	f.Fuzz(func(t *testing.T, header string) {
		err := v.Verify(context.Background(), header)
		if err == nil {
			_, token, _ := strings.Cut(strings.TrimSpace(header), " ")
			if parts := strings.Split(strings.TrimSpace(token), "."); len(parts) != 3 || !signed[parts[1]] {
				t.Fatalf("accepted a token with a payload the key never signed: %q", header)
			}
			return
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
