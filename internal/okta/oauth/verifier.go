// Package oauth verifies the OAuth 2.0 access token Okta sends to an inline
// hook as "Authorization: Bearer <JWT>" when the hook's authentication is
// set to OAuth 2.0: an RS256 JWT from the customer's Okta custom
// authorization server, checked against that server's JWKS.
package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"
)

// MaxTokenBytes is the longest token Verify parses; Okta access tokens are
// around 1 KiB, and anything far longer is hostile.
const MaxTokenBytes = 8 << 10

// Config describes the authorization server whose tokens are accepted.
type Config struct {
	// Issuer is the authorization server, e.g.
	// https://acme.okta.com/oauth2/default; iss must equal it exactly and
	// its keys are read from Issuer + "/v1/keys".
	Issuer string
	// Audience must be in aud; "api://default" when empty.
	Audience string
	// Scope, when set, must be in scp.
	Scope string
	// ClientID is required: the client id of the Okta API Services app
	// Okta uses to call the hook. Only that app's client-credentials tokens
	// pass: cid and sub both equal it and there is no uid. Any other token
	// from the same authorization server (a user signed in to any app on
	// it holds one with the same aud) is refused.
	ClientID string
	// Leeway is the clock skew allowed on exp, nbf and iat; 30s when zero.
	Leeway time.Duration
	// HTTPClient fetches the JWKS; a client with a 2s timeout when nil.
	HTTPClient *http.Client
	// RefreshInterval is the background JWKS refresh; 1h when zero. Okta
	// rotates keys about four times a year and lets caches keep them a day.
	RefreshInterval time.Duration
	// RefreshUnknownKIDRate is the least time between two refreshes caused
	// by an unknown kid (and between retries after a failed fetch); 1m
	// when zero.
	RefreshUnknownKIDRate time.Duration
	// Now is the clock for exp, nbf, iat and the refresh limiter; time.Now
	// when nil.
	Now func() time.Time
}

// Claims is what a verified token says about the caller.
type Claims struct {
	Subject   string
	ClientID  string
	Scopes    []string
	ExpiresAt time.Time
	JTI       string
}

// Verifier checks bearer tokens. It is safe for concurrent use.
type Verifier struct {
	cfg    Config
	parser *jwt.Parser
	keys   *keyCache
	kf     keyfunc.Keyfunc
	once   sync.Once
}

// New validates cfg and loads the issuer's key set, bounded by ctx. A
// failed load does not fail New (a function cannot refuse to start): it is
// logged, Verify answers no_keys, and the set is fetched again in the
// background and on the next token. Call Close to stop the background
// refresh.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Verifier, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if err := checkIssuer(cfg.Issuer); err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.ClientID) == "" {
		return nil, errors.New("okta oauth: the client id of the app Okta calls the hook as is required")
	}
	if cfg.Leeway < 0 || cfg.RefreshInterval < 0 || cfg.RefreshUnknownKIDRate < 0 {
		return nil, errors.New("okta oauth: durations must not be negative")
	}
	if cfg.Audience == "" {
		cfg.Audience = "api://default"
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = 30 * time.Second
	}
	if cfg.RefreshInterval == 0 {
		cfg.RefreshInterval = time.Hour
	}
	if cfg.RefreshUnknownKIDRate == 0 {
		cfg.RefreshUnknownKIDRate = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: fetchTimeout}
	}

	bg, cancel := context.WithCancel(context.Background())
	keys := &keyCache{
		MemoryJWKSet: jwkset.NewMemoryStorage(),
		url:          strings.TrimSuffix(cfg.Issuer, "/") + "/v1/keys",
		client:       cfg.HTTPClient,
		logger:       logger,
		now:          cfg.Now,
		limiter:      rate.NewLimiter(rate.Every(cfg.RefreshUnknownKIDRate), 1),
		ctx:          bg,
		cancel:       cancel,
	}
	kf, err := keyfunc.New(keyfunc.Options{
		Ctx:          bg,
		Storage:      keys,
		UseWhitelist: []jwkset.USE{jwkset.UseSig, ""},
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("okta oauth: %w", err)
	}

	fctx, fcancel := context.WithTimeout(ctx, fetchTimeout)
	_ = keys.fetch(fctx) // logged by fetch; a failure is retried later
	fcancel()
	keys.wg.Go(func() { keys.backgroundRefresh(cfg.RefreshInterval, cfg.RefreshUnknownKIDRate) })

	return &Verifier{
		cfg: cfg,
		parser: jwt.NewParser(
			// RS256 only: rules out "none" and HS256 keyed with the public key.
			jwt.WithValidMethods([]string{"RS256"}),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(cfg.Leeway),
			jwt.WithTimeFunc(cfg.Now),
			jwt.WithStrictDecoding(),
		),
		keys: keys,
		kf:   kf,
	}, nil
}

// checkIssuer wants an https URL, except plain http on the loopback for tests.
func checkIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("okta oauth: issuer must be an absolute URL without query or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		switch u.Hostname() {
		case "127.0.0.1", "localhost", "::1":
			return nil
		}
	}
	return errors.New("okta oauth: issuer must use https")
}

// Verify checks the whole Authorization header value ("Bearer <token>",
// scheme case-insensitive). A token whose kid is cached never waits on the
// network; an unknown kid may wait for a refresh, at most until ctx ends.
// Every refusal is an *Error.
func (v *Verifier) Verify(ctx context.Context, authorization string) (*Claims, error) {
	scheme, token, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	token = strings.TrimLeft(token, " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, refuse(ReasonMissingToken)
	}
	if len(token) > MaxTokenBytes || !jwsCompactChars(token) {
		return nil, refuse(ReasonMalformed)
	}
	var c accessClaims
	if _, err := v.parser.ParseWithClaims(token, &c, v.keyfunc(ctx)); err != nil {
		return nil, refuse(classify(err, &c))
	}
	if v.cfg.Scope != "" && !slices.Contains(c.Scopes, v.cfg.Scope) {
		return nil, refuse(ReasonMissingScope)
	}
	// A client-credentials token of the hook's app: cid names the app,
	// sub is the app itself (a user's token has sub = the user's login and
	// a uid), so a token minted for a person, or for another app on the
	// same authorization server, cannot trigger a call.
	if c.ClientID != v.cfg.ClientID {
		return nil, refuse(ReasonWrongClient)
	}
	if c.Subject != v.cfg.ClientID || c.UserID {
		return nil, refuse(ReasonNotClientCredentials)
	}
	return &Claims{
		Subject:   c.Subject,
		ClientID:  c.ClientID,
		Scopes:    c.Scopes,
		ExpiresAt: c.ExpiresAt.Time, // exp is required, so never nil here
		JTI:       c.ID,
	}, nil
}

// jwsCompactChars: base64url and dots only. Go's base64 decoder skips CR
// and LF, so without this a token with line breaks added would still
// verify.
func jwsCompactChars(s string) bool {
	for i := 0; i < len(s); i++ {
		switch b := s[i]; {
		case 'A' <= b && b <= 'Z', 'a' <= b && b <= 'z', '0' <= b && b <= '9', b == '-', b == '_', b == '.':
		default:
			return false
		}
	}
	return true
}

// keyfunc requires a kid (Okta always sends one) so a token cannot make us
// try every cached key, then defers to keyfunc/jwkset for the lookup and
// the JWK alg/use checks.
func (v *Verifier) keyfunc(ctx context.Context) jwt.Keyfunc {
	lookup := v.kf.KeyfuncCtx(ctx)
	return func(t *jwt.Token) (any, error) {
		if kid, ok := t.Header["kid"].(string); !ok || kid == "" {
			if !v.keys.loaded.Load() {
				return nil, errNoKeys
			}
			return nil, errUnknownKey
		}
		return lookup(t)
	}
}

// Ready reports whether a key set has been loaded at least once.
func (v *Verifier) Ready() bool { return v.keys.loaded.Load() }

// Close stops the background refresh and waits for any fetch in flight.
func (v *Verifier) Close() { v.once.Do(v.keys.close) }

// accessClaims is an Okta access token's payload.
type accessClaims struct {
	jwt.RegisteredClaims
	Scopes   scopes `json:"scp"`
	ClientID string `json:"cid"`
	// UserID (uid) is in tokens issued to a user; its presence, whatever
	// its value (null included), means the token is not client credentials.
	UserID present `json:"uid"`
}

// present records that a claim was in the token, whatever its value:
// encoding/json calls UnmarshalJSON for a member that is there, null
// included, and never for one that is absent.
type present bool

func (p *present) UnmarshalJSON([]byte) error { *p = true; return nil }

// scopes reads scp as Okta sends it (an array of strings) and also as the
// space-separated string of RFC 9068 / RFC 8693.
type scopes []string

func (s *scopes) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = strings.Fields(one)
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("scp must be a string or an array of strings")
	}
	*s = many
	return nil
}
