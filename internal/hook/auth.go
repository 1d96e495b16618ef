package hook

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/telephony-hooks/okta-8x8/internal/okta"
	"github.com/telephony-hooks/okta-8x8/internal/okta/oauth"
)

// Auth accepts a request that passes the static header check or carries a
// valid OAuth 2.0 access token. Both may be configured during a migration
// from one to the other: either passing is enough.
type Auth struct {
	Header *okta.HeaderAuth // nil: header mode off
	OAuth  *oauth.Verifier  // nil: OAuth mode off
	// Open accepts everyone: only for a local dry run with nothing
	// configured, where nothing is ever sent.
	Open bool
}

// Authenticate implements Authenticator.
func (a Auth) Authenticate(ctx context.Context, r *http.Request) (how, reason string, ok bool) {
	if a.Open {
		return "open", "", true
	}
	if a.Header.Check(r.Header) {
		return "header", "", true
	}
	reason = "no credentials"
	if a.Header != nil && r.Header.Get(a.Header.Name()) != "" {
		reason = "wrong " + a.Header.Name() + " header"
	}
	bearer := false
	if v := r.Header.Get("Authorization"); len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
		bearer = true
	}
	if bearer && a.OAuth == nil {
		reason = "bearer token, but OAuth is not configured (OKTA_OAUTH_ISSUER)"
	}
	if a.OAuth != nil && bearer {
		if v := r.Header.Get("Authorization"); v != "" {
			if _, err := a.OAuth.Verify(ctx, v); err == nil {
				return "oauth", "", true
			} else {
				var oe *oauth.Error
				if errors.As(err, &oe) {
					reason = "oauth: " + string(oe.Reason)
				} else {
					reason = "oauth: token refused"
				}
			}
		}
	}
	return "", reason, false
}
