package oauth

import (
	"errors"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// Reason is a short machine-readable cause of a refusal, meant for logs.
type Reason string

// The reasons Verify refuses a request for.
const (
	ReasonMissingToken  Reason = "missing_token"  // no Authorization header, or not "Bearer <token>"
	ReasonMalformed     Reason = "malformed"      // not a JWT, oversized, or a required claim is missing
	ReasonBadSignature  Reason = "bad_signature"  // signature does not verify, or an algorithm other than RS256
	ReasonUnknownKey    Reason = "unknown_key"    // no key with the token's kid, even after a refresh
	ReasonExpired       Reason = "expired"        // exp is past (beyond the leeway)
	ReasonNotYetValid   Reason = "not_yet_valid"  // nbf or iat is in the future (beyond the leeway)
	ReasonWrongIssuer   Reason = "wrong_issuer"   // iss is not the configured issuer
	ReasonWrongAudience Reason = "wrong_audience" // aud does not contain the configured audience
	ReasonMissingScope  Reason = "missing_scope"  // scp does not contain the configured scope
	ReasonWrongClient   Reason = "wrong_client"   // cid is not the configured client id
	// ReasonNotClientCredentials: cid is right but the token was issued to
	// a user (sub is not the client id, or there is a uid).
	ReasonNotClientCredentials Reason = "not_client_credentials"
	ReasonNoKeys               Reason = "no_keys" // the issuer's key set has never been loaded
)

// Error is the refusal Verify returns. Its text is the reason alone: it
// never carries the token, its header or any claim value, so it is safe to
// log and cannot reflect attacker input.
type Error struct {
	Reason Reason
}

func (e *Error) Error() string { return "okta oauth: token refused: " + string(e.Reason) }

// Is lets errors.Is(err, &oauth.Error{Reason: oauth.ReasonExpired}) match on
// the reason.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason
}

func refuse(r Reason) error { return &Error{Reason: r} }

// Internal causes from the key lookup, classified in classify.
var (
	errUnknownKey = errors.New("unknown key")
	errNoKeys     = errors.New("no keys loaded")
)

// classify maps a jwt parse error to a reason. Signature and key problems
// come first: claims are only validated once the signature has verified.
func classify(err error, c *accessClaims) Reason {
	switch {
	case errors.Is(err, errNoKeys):
		return ReasonNoKeys
	case errors.Is(err, errUnknownKey):
		return ReasonUnknownKey
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ReasonMalformed
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return ReasonBadSignature
	case errors.Is(err, jwt.ErrTokenExpired):
		return ReasonExpired
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return ReasonNotYetValid
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return ReasonWrongIssuer
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return ReasonWrongAudience
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		// jwt names the missing claim only in its message; the decoded
		// claims tell which one without string matching.
		switch {
		case c.ExpiresAt == nil:
			return ReasonMalformed
		case c.Issuer == "":
			return ReasonWrongIssuer
		case len(c.Audience) == 0 || slices.Equal(c.Audience, jwt.ClaimStrings{""}):
			return ReasonWrongAudience
		}
	}
	return ReasonMalformed
}
