// Package oauth verifies the OAuth 2.0 access token Okta sends to an inline
// hook set to OAuth 2.0 ("Authorization: Bearer <JWT>"): an RS256 JWT from
// the customer's Okta custom authorization server, checked against its JWKS.
package oauth

import (
	"cmp"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

const (
	// MaxTokenBytes is the longest token Verify parses; Okta access tokens
	// are around 1 KiB, and anything far longer is hostile.
	MaxTokenBytes = 8 << 10
	// leeway is the clock skew allowed on exp, nbf and iat.
	leeway = 30 * time.Second
	// refreshInterval: Okta rotates keys about four times a year and lets
	// caches keep them a day.
	refreshInterval = time.Hour
	// unknownKIDRate is the least time between two refreshes caused by an
	// unknown kid, so made-up kids cannot turn into requests to Okta.
	unknownKIDRate = time.Minute
	// fetchTimeout bounds one JWKS request; it sits under the hook deadline.
	fetchTimeout = 2 * time.Second
	// minRSABits: Okta signs with 2048-bit keys; anything weaker is refused.
	minRSABits = 2048
)

// Config describes the authorization server whose tokens are accepted.
type Config struct {
	// Issuer (an https URL, e.g. https://acme.okta.com/oauth2/default) must
	// equal iss exactly; its keys are read from Issuer + "/v1/keys".
	Issuer   string
	Audience string // must be in aud; "api://default" when empty
	Scope    string // when set, must be in scp
	// ClientID is required: the client id of the Okta API Services app Okta
	// calls the hook as. Only its client-credentials tokens pass (cid = sub
	// = ClientID, no uid): a user signed in to any app on the same
	// authorization server holds a token with the same aud.
	ClientID string
	Now      func() time.Time // the clock for exp, nbf and iat; time.Now when nil
}

// Verifier checks bearer tokens. It is safe for concurrent use.
type Verifier struct {
	cfg     Config
	parser  *jwt.Parser
	keys    *keySet        // what jwkset refreshes into
	storage jwkset.Storage // reads keys, refreshing on an unknown kid
	stop    context.CancelFunc
}

// New loads the issuer's key set, waiting at most fetchTimeout; jwkset
// refreshes it every refreshInterval and on an unknown kid (at most once per
// unknownKIDRate) until Close. A failed load does not fail New (a function
// cannot refuse to start): it is logged, and Verify answers no_keys until a
// token's refresh succeeds.
func New(cfg Config, logger *slog.Logger) (*Verifier, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, errors.New("okta oauth: the client id of the app Okta calls the hook as is required")
	}
	cfg.Audience = cmp.Or(cfg.Audience, "api://default")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}

	jwksURL := strings.TrimSuffix(cfg.Issuer, "/") + "/v1/keys"
	keys := &keySet{MemoryJWKSet: jwkset.NewMemoryStorage(), url: jwksURL, logger: logger}
	ctx, stop := context.WithCancel(context.Background())
	remote, err := jwkset.NewStorageFromHTTP(jwksURL, jwkset.HTTPClientStorageOptions{
		Ctx:                       ctx,
		HTTPTimeout:               fetchTimeout,
		NoErrorReturnFirstHTTPReq: true,
		RefreshErrorHandler:       keys.refreshFailed,
		RefreshInterval:           refreshInterval,
		Storage:                   keys,
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("okta oauth: %w", err)
	}
	storage, err := jwkset.NewHTTPClient(jwkset.HTTPClientOptions{
		HTTPURLs: map[string]jwkset.Storage{jwksURL: remote},
		// The wait bounds the unknown-kid refresh itself too: one fetch.
		RateLimitWaitMax:  fetchTimeout,
		RefreshUnknownKID: rate.NewLimiter(rate.Every(unknownKIDRate), 1),
	})
	if err != nil {
		stop()
		return nil, fmt.Errorf("okta oauth: %w", err)
	}
	return &Verifier{
		cfg: cfg,
		parser: jwt.NewParser(
			// RS256 only: rules out "none" and HS256 keyed with the public key.
			jwt.WithValidMethods([]string{"RS256"}),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(leeway),
			jwt.WithTimeFunc(cfg.Now),
			jwt.WithStrictDecoding(),
		),
		keys:    keys,
		storage: storage,
		stop:    stop,
	}, nil
}

// Verify checks the whole Authorization header value ("Bearer <token>",
// scheme case-insensitive). A token whose kid is cached never waits on the
// network; an unknown kid may wait for a refresh, at most until ctx ends.
// Every refusal is an *Error.
func (v *Verifier) Verify(ctx context.Context, authorization string) error {
	scheme, token, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	token = strings.TrimLeft(token, " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return refuse(ReasonMissingToken)
	}
	// Go's base64 decoder skips CR and LF: without this a token with line
	// breaks added would still verify.
	if len(token) > MaxTokenBytes || strings.ContainsAny(token, "\r\n") {
		return refuse(ReasonMalformed)
	}
	var c accessClaims
	if _, err := v.parser.ParseWithClaims(token, &c, v.keyfunc(ctx)); err != nil {
		return refuse(classify(err, &c))
	}
	scopes := strings.Fields(strings.Join(c.Scopes, " "))
	if v.cfg.Scope != "" && !slices.Contains(scopes, v.cfg.Scope) {
		return refuse(ReasonMissingScope)
	}
	// A client-credentials token of the hook's app: cid names the app, sub
	// is the app itself (a user's token has the user's login and a uid), so
	// a person's token, or another app's, cannot trigger a call.
	if c.ClientID != v.cfg.ClientID {
		return refuse(ReasonWrongClient)
	}
	if c.Subject != v.cfg.ClientID || c.UserID {
		return refuse(ReasonNotClientCredentials)
	}
	return nil
}

// keyfunc requires a kid (Okta always sends one) so a token cannot make us
// try every cached key. keySet holds only RS256 keys and the parser allows
// only RS256, so the key needs no further check.
func (v *Verifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != "" {
			if k, err := v.storage.KeyRead(ctx, kid); err == nil {
				return k.Key(), nil
			}
		}
		if !v.keys.loaded.Load() {
			return nil, errNoKeys
		}
		return nil, errUnknownKey
	}
}

// Close stops the background refresh.
func (v *Verifier) Close() { v.stop() }

// accessClaims is an Okta access token's payload.
type accessClaims struct {
	jwt.RegisteredClaims
	// Scopes (scp) is an array of strings from Okta; RFC 9068's form, one
	// space-separated string, is read too.
	Scopes   jwt.ClaimStrings `json:"scp"`
	ClientID string           `json:"cid"`
	// UserID (uid) is in tokens issued to a user; its presence, whatever
	// its value (null included), means the token is not client credentials.
	UserID present `json:"uid"`
}

// present records that a claim was in the token, whatever its value:
// encoding/json calls UnmarshalJSON for a member that is there, null
// included, and never for one that is absent.
type present bool

func (p *present) UnmarshalJSON([]byte) error { *p = true; return nil }

// keySet is the storage jwkset refreshes into. Each refresh replaces the
// whole set (so revoked keys go), keeping only keys that may verify an Okta
// access token; a refresh that brings none keeps the previous set, since an
// empty one would lock every caller out.
type keySet struct {
	*jwkset.MemoryJWKSet
	url    string
	logger *slog.Logger
	loaded atomic.Bool // a set has been stored at least once
	mu     sync.Mutex
	kids   []string // of the set stored last, to log rotations
}

func (s *keySet) KeyReplaceAll(ctx context.Context, given []jwkset.JWK) error {
	keys := slices.DeleteFunc(slices.Clone(given), func(k jwkset.JWK) bool { return !usable(k) })
	if len(keys) == 0 {
		return fmt.Errorf("key set holds no usable RS256 signing key (%d skipped)", len(given))
	}
	if err := s.MemoryJWKSet.KeyReplaceAll(ctx, keys); err != nil {
		return err
	}
	kids := make([]string, len(keys))
	for i, k := range keys {
		kids[i] = k.Marshal().KID
	}
	slices.Sort(kids)
	s.mu.Lock()
	defer s.mu.Unlock()
	if !slices.Equal(kids, s.kids) { // the first load, or Okta rotated its keys
		s.logger.Info("okta oauth: JWKS key set changed", "jwks_url", s.url, "kids", kids, "skipped", len(given)-len(keys))
	}
	s.kids = kids
	s.loaded.Store(true)
	return nil
}

// refreshFailed logs a fetch that failed; the cached keys stay in use.
func (s *keySet) refreshFailed(ctx context.Context, err error) {
	if !s.loaded.Load() {
		s.logger.ErrorContext(ctx, "okta oauth: JWKS fetch failed and no key set was ever loaded; every OAuth request is refused (401) until one is",
			"jwks_url", s.url, "error", err)
		return
	}
	s.logger.WarnContext(ctx, "okta oauth: JWKS fetch failed; cached keys stay in use", "jwks_url", s.url, "error", err)
}

// usable keeps only what may verify an Okta access token: an RSA public
// key of at least 2048 bits, for signatures, with a kid, and RS256 if the
// JWK names an algorithm. Anything else in the set is ignored.
func usable(k jwkset.JWK) bool {
	m := k.Marshal()
	if m.KID == "" || m.USE != "" && m.USE != jwkset.UseSig || m.ALG != "" && m.ALG != jwkset.AlgRS256 {
		return false
	}
	pub, ok := k.Key().(*rsa.PublicKey)
	return ok && pub.N.BitLen() >= minRSABits
}

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
