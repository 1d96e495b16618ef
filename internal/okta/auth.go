package okta

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
)

// HeaderAuth checks the static "Authentication field" and secret configured
// on the inline hook in Okta.
type HeaderAuth struct {
	name string
	sum  [sha256.Size]byte
}

// NewHeaderAuth returns a checker for header name carrying secret. It
// returns nil when secret is empty: an empty secret authenticates nobody.
func NewHeaderAuth(name, secret string) *HeaderAuth {
	if secret == "" {
		return nil
	}
	if name == "" {
		name = "Authorization"
	}
	return &HeaderAuth{name: http.CanonicalHeaderKey(name), sum: sha256.Sum256([]byte(secret))}
}

// Name is the header checked.
func (a *HeaderAuth) Name() string { return a.name }

// Check reports whether h carries the secret. Comparing digests in constant
// time reveals neither the secret's bytes nor its length through timing.
func (a *HeaderAuth) Check(h http.Header) bool {
	if a == nil {
		return false
	}
	vs := h.Values(a.name)
	if len(vs) != 1 {
		return false
	}
	got := sha256.Sum256([]byte(vs[0]))
	return subtle.ConstantTimeCompare(got[:], a.sum[:]) == 1
}
