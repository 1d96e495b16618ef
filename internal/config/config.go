// Package config reads the hook's configuration from the environment once,
// resolving Secret Manager references, into a typed Config. Nothing else
// reads the environment.
package config

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/conversion"
	"github.com/telephony-hooks/okta-8x8/internal/guard"
	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/secrets"
)

// The environment variables (DESIGN.md §1), plus LOG_FORMAT, LOG_SINK,
// REFUSED_NUMBER_TYPES, RATE_LIMIT_PER_COUNTRY and LOCAL_ONLY.
const (
	Port              = "PORT"
	OktaAuthHeader    = "OKTA_AUTH_HEADER"
	OktaSecret        = "OKTA_SECRET"
	OktaOAuthIssuer   = "OKTA_OAUTH_ISSUER"
	OktaOAuthAudience = "OKTA_OAUTH_AUDIENCE"
	OktaOAuthScope    = "OKTA_OAUTH_SCOPE"
	OktaOAuthClientID = "OKTA_OAUTH_CLIENT_ID"
	Subaccount        = "EIGHTYEIGHTX_SUBACCOUNT_ID"
	APIKey            = "EIGHTYEIGHTX_API_KEY"
	SourceNumber      = "EIGHTYEIGHTX_SOURCE_NUMBER"
	SMSSource         = "EIGHTYEIGHTX_SMS_SOURCE"
	VoiceURL          = "EIGHTYEIGHTX_VOICE_URL"
	SMSURL            = "EIGHTYEIGHTX_SMS_URL"
	WebhookSecret     = "EIGHTYEIGHTX_WEBHOOK_SECRET"
	VoiceProfile      = "VOICE_PROFILE"
	OTPRepetitions    = "OTP_REPETITIONS"
	DefaultRegion     = "DEFAULT_REGION"
	AllowedCountries  = "ALLOWED_COUNTRIES"
	BlockedCountries  = "BLOCKED_COUNTRIES"
	RefusedTypes      = "REFUSED_NUMBER_TYPES"
	RatePerPhone      = "RATE_LIMIT_PER_PHONE"
	RatePerUser       = "RATE_LIMIT_PER_USER"
	RatePerCountry    = "RATE_LIMIT_PER_COUNTRY"
	RatePerIP         = "RATE_LIMIT_PER_IP"
	RedisURL          = "REDIS_URL"
	RedisKeySecret    = "REDIS_KEY_SECRET"
	EventHookSecret   = "OKTA_EVENT_HOOK_SECRET"
	EventHookHeader   = "OKTA_EVENT_HOOK_AUTH_HEADER"
	ConversionGuard   = "CONVERSION_GUARD"
	ConversionWindow  = "CONVERSION_WINDOW"
	ConversionGrace   = "CONVERSION_GRACE"
	ConversionMinSend = "CONVERSION_MIN_SENDS"
	ConversionMinRate = "CONVERSION_MIN_RATE"
	SMSFeedback       = "EIGHTYEIGHTX_SMS_FEEDBACK"
	HookDeadline      = "HOOK_DEADLINE"
	OnDeliveryFailure = "ON_DELIVERY_FAILURE"
	PreviewMode       = "PREVIEW_MODE"
	DryRun            = "DRY_RUN"
	LogLevel          = "LOG_LEVEL"
	LogFormat         = "LOG_FORMAT"
	LogSink           = "LOG_SINK"
	Project           = "GOOGLE_CLOUD_PROJECT"
	EmulatorHost      = "SECRETMANAGER_EMULATOR_HOST"
	// KService is set by Cloud Run: the instance is deployed.
	KService = "K_SERVICE"
	// LocalOnly is the Functions Framework's convention for a local test
	// run (its README: FUNCTION_TARGET=… LOCAL_ONLY=true go run ./cmd);
	// `go run ./cmd` sets it. See Options.Local.
	LocalOnly = "LOCAL_ONLY"
)

// Names lists every variable the loader reads.
func Names() []string {
	return []string{Port, OktaAuthHeader, OktaSecret, OktaOAuthIssuer, OktaOAuthAudience, OktaOAuthScope,
		OktaOAuthClientID, Subaccount, APIKey, SourceNumber, SMSSource, VoiceURL, SMSURL, WebhookSecret,
		VoiceProfile, OTPRepetitions, DefaultRegion, AllowedCountries, BlockedCountries, RefusedTypes,
		RatePerPhone, RatePerUser, RatePerCountry, RatePerIP, RedisURL, RedisKeySecret, EventHookSecret, EventHookHeader,
		ConversionGuard, ConversionWindow, ConversionGrace, ConversionMinSend, ConversionMinRate, SMSFeedback,
		HookDeadline, OnDeliveryFailure, PreviewMode, DryRun,
		LogLevel, LogFormat, LogSink, Project, EmulatorHost, KService, LocalOnly}
}

// resolvable are the variables that may be Secret Manager references. The
// rest configure Secret Manager itself or the process.
func resolvable(name string) bool {
	switch name {
	case EmulatorHost, KService, Port, Project, LocalOnly:
		return false
	}
	return true
}

// defaultAudience is the audience of Okta's default custom authorization
// server.
const defaultAudience = "api://default"

// isReference: v names a Secret Manager secret, or tries to (a malformed
// sm:// reference is one too, so that the resolver says what is wrong).
func isReference(v string) bool {
	_, ok, _ := secrets.ParseReference(v)
	return ok || strings.HasPrefix(v, "sm://")
}

// OAuth is the OAuth 2.0 mode's settings (Issuer empty: off).
type OAuth struct {
	Issuer, Audience, Scope, ClientID string
}

// Config is the typed configuration.
type Config struct {
	Deployed bool // not the local run (or the local run with K_SERVICE set)
	Port     string

	AuthHeader string
	Secret     string // OKTA_SECRET; empty: header auth off
	OAuth      OAuth

	SubaccountID, APIKey string
	CallerID, SMSSource  string
	VoiceURL, SMSURL     string
	WebhookSecret        string

	VoiceProfile  string
	Repetitions   int
	DefaultRegion string
	Policy        guard.Policy
	PerPhone      guard.Limit
	PerUser       guard.Limit
	PerCountry    guard.Limit
	PerIP         guard.Limit
	RedisURL      string
	// RedisKeySecret keys the hashes that name phone numbers, users and
	// IPs in Redis (REDIS_KEY_SECRET); empty: derived from the 8x8 API key.
	RedisKeySecret string

	// EventHookHeader and EventHookSecret authenticate Okta's event hook
	// (POST /okta/events); an empty secret refuses every delivery.
	EventHookHeader, EventHookSecret string
	Conversion                       Conversion

	Deadline       time.Duration
	ErrorOnFailure bool // ON_DELIVERY_FAILURE=error
	PreviewDryRun  bool // PREVIEW_MODE=dry-run
	DryRun         bool
	// DryRunReason says why the instance is in dry run ("DRY_RUN is set",
	// "no 8x8 credentials: local dry run").
	DryRunReason string
	// OpenAuth: a local dry run with no Okta secret or OAuth configured
	// accepts every request (nothing is ever sent).
	OpenAuth bool

	LogLevel  slog.Level
	LogFormat string // "json", "text" or "" (cmd picks by terminal)
	LogSink   string // "stdout" or "cloudlogging"
	ProjectID string

	// SecretRefs is how many values were Secret Manager references.
	SecretRefs int
}

// Conversion is the conversion guard's and 8x8 SMS feedback's part.
type Conversion struct {
	Mode     conversion.Mode
	Window   time.Duration
	Grace    time.Duration
	MinSends int
	MinRate  float64
	Feedback bool // EIGHTYEIGHTX_SMS_FEEDBACK
}

// NewAccessor opens the Secret Manager accessor; Load calls it only when
// some value is a reference.
type NewAccessor func(ctx context.Context, emulatorHost string) (secrets.Accessor, error)

// SecretManager is the production NewAccessor.
func SecretManager(ctx context.Context, emulatorHost string) (secrets.Accessor, error) {
	return secrets.NewSecretManager(ctx, emulatorHost)
}

// OAuthFromEnv reads the OAuth settings straight from the environment, so
// the issuer's keys can be fetched while Secret Manager is read. ok is false
// when OAuth is off or any of its values is a Secret Manager reference (then
// only Load knows them).
func OAuthFromEnv(getenv func(string) string) (o OAuth, ok bool) {
	for _, n := range []string{OktaOAuthIssuer, OktaOAuthAudience, OktaOAuthScope, OktaOAuthClientID} {
		if isReference(strings.TrimSpace(getenv(n))) {
			return OAuth{}, false
		}
	}
	o = OAuth{
		Issuer:   strings.TrimRight(strings.TrimSpace(getenv(OktaOAuthIssuer)), "/"),
		Audience: strings.TrimSpace(getenv(OktaOAuthAudience)),
		Scope:    strings.TrimSpace(getenv(OktaOAuthScope)),
		ClientID: strings.TrimSpace(getenv(OktaOAuthClientID)),
	}
	if o.Audience == "" {
		o.Audience = defaultAudience
	}
	return o, o.Issuer != ""
}

// Options are the caller's choices that do not come from the environment.
type Options struct {
	// NewAccessor opens Secret Manager (nil: SecretManager).
	NewAccessor NewAccessor
	// Local is the local run (`go run ./cmd`, which sets LOCAL_ONLY=true
	// for its own process): only then do missing 8x8 credentials mean a
	// dry run, and a dry run with no Okta credentials accept every
	// request. Anywhere else (Cloud Run, GKE, a VM) they are configuration
	// errors, so an instance never stops sending codes because a variable
	// went missing. K_SERVICE (Cloud Run) always wins over it.
	Local bool
}

// Load reads the configuration. ctx bounds Secret Manager. The error lists
// every problem found, naming variables, never their values.
func Load(ctx context.Context, getenv func(string) string, opts Options) (*Config, error) {
	newAccessor := opts.NewAccessor
	raw := make(map[string]string)
	refs := make(map[string]string)
	for _, n := range Names() {
		v := strings.TrimSpace(getenv(n))
		if v == "" {
			continue
		}
		raw[n] = v
		if resolvable(n) && isReference(v) {
			refs[n] = v
		}
	}
	if len(refs) > 0 {
		if newAccessor == nil {
			newAccessor = SecretManager
		}
		acc, err := newAccessor(ctx, raw[EmulatorHost])
		if err != nil {
			return nil, fmt.Errorf("secret manager: %w", err)
		}
		if c, ok := acc.(interface{ Close() error }); ok {
			defer c.Close()
		}
		resolved, err := secrets.Resolve(ctx, acc, refs)
		if err != nil {
			return nil, err
		}
		for k, v := range resolved {
			raw[k] = v
		}
	}
	c, err := parse(raw, opts.Local || strings.EqualFold(raw[LocalOnly], "true"))
	if c != nil {
		c.SecretRefs = len(refs)
	}
	return c, err
}

func parse(env map[string]string, local bool) (*Config, error) {
	var errs []error
	bad := func(name, why string) { errs = append(errs, fmt.Errorf("%s %s", name, why)) }
	get := func(name, def string) string {
		if v, ok := env[name]; ok {
			return v
		}
		return def
	}
	c := &Config{
		Deployed:        !local || env[KService] != "",
		Port:            get(Port, "8080"),
		AuthHeader:      get(OktaAuthHeader, "Authorization"),
		Secret:          env[OktaSecret],
		SubaccountID:    env[Subaccount],
		APIKey:          env[APIKey],
		CallerID:        env[SourceNumber],
		SMSSource:       get(SMSSource, env[SourceNumber]),
		VoiceURL:        get(VoiceURL, "https://voice.8x8.com"),
		SMSURL:          get(SMSURL, "https://sms.8x8.com"),
		WebhookSecret:   env[WebhookSecret],
		VoiceProfile:    env[VoiceProfile],
		DefaultRegion:   strings.ToUpper(get(DefaultRegion, "US")),
		RedisURL:        env[RedisURL],
		RedisKeySecret:  env[RedisKeySecret],
		EventHookHeader: get(EventHookHeader, "Authorization"),
		EventHookSecret: env[EventHookSecret],
		LogFormat:       strings.ToLower(env[LogFormat]),
		LogSink:         strings.ToLower(get(LogSink, "stdout")),
		ProjectID:       env[Project],
	}
	c.OAuth = OAuth{Issuer: strings.TrimRight(env[OktaOAuthIssuer], "/"), Audience: get(OktaOAuthAudience, defaultAudience),
		Scope: env[OktaOAuthScope], ClientID: env[OktaOAuthClientID]}
	if c.OAuth.Issuer != "" {
		if !secureURL(c.OAuth.Issuer) {
			bad(OktaOAuthIssuer, "must be an https:// URL (e.g. https://acme.okta.com/oauth2/default)")
		}
		// Without it any token from the authorization server passes: a
		// user signed in to any app on it holds one with the same aud.
		if c.OAuth.ClientID == "" {
			bad(OktaOAuthClientID, "is required with "+OktaOAuthIssuer+": the client id of the API Services app Okta calls the hook as")
		}
	}
	for _, v := range [][2]string{{OktaAuthHeader, c.AuthHeader}, {EventHookHeader, c.EventHookHeader}} {
		if !validHeaderName(v[1]) {
			bad(v[0], "must be a header name")
		}
	}
	if n, err := strconv.Atoi(c.Port); err != nil || n < 1 || n > 65535 {
		bad(Port, "must be a TCP port number from 1 to 65535")
	}
	// The API key travels in every request: plain http only to a test
	// server on this machine.
	for _, v := range [][2]string{{VoiceURL, c.VoiceURL}, {SMSURL, c.SMSURL}} {
		if !secureURL(v[1]) {
			bad(v[0], "must be an https:// URL (http:// only for 127.0.0.1, ::1 or localhost)")
		}
	}
	if c.CallerID != "" && !isPhoneNumber(c.CallerID) {
		bad(SourceNumber, "must be a phone number in E.164 form, e.g. +14155550100")
	}
	if c.SMSSource != "" && !isPhoneNumber(c.SMSSource) && !isAlphanumericSender(c.SMSSource) {
		bad(SMSSource, "must be a phone number (E.164), a short code, or an alphanumeric sender id of at most 11 letters, digits or spaces")
	}

	var err error
	if c.Repetitions, err = strconv.Atoi(get(OTPRepetitions, "2")); err != nil || c.Repetitions < 1 || c.Repetitions > 3 {
		bad(OTPRepetitions, "must be 1, 2 or 3 (8x8's limit)")
	}
	if _, err := phone.NewParser(c.DefaultRegion, 0); err != nil {
		bad(DefaultRegion, "must be an ISO 3166-1 alpha-2 region code such as US")
	}
	if c.Policy.Allowed, err = guard.ParseCountries(env[AllowedCountries]); err != nil {
		bad(AllowedCountries, err.Error())
	}
	if c.Policy.Blocked, err = guard.ParseCountries(env[BlockedCountries]); err != nil {
		bad(BlockedCountries, err.Error())
	}
	c.Policy.RefusedTypes = guard.DefaultRefusedTypes()
	if v, ok := env[RefusedTypes]; ok {
		if c.Policy.RefusedTypes, err = guard.ParseRefusedTypes(v); err != nil {
			bad(RefusedTypes, err.Error())
		}
	}
	if c.PerPhone, err = guard.ParseLimit(get(RatePerPhone, "5/15m")); err != nil {
		bad(RatePerPhone, err.Error())
	}
	if c.PerUser, err = guard.ParseLimit(get(RatePerUser, "10/1h")); err != nil {
		bad(RatePerUser, err.Error())
	}
	if c.PerCountry, err = guard.ParseLimit(get(RatePerCountry, "0")); err != nil {
		bad(RatePerCountry, err.Error())
	}
	if c.PerIP, err = guard.ParseLimit(get(RatePerIP, "0")); err != nil {
		bad(RatePerIP, err.Error())
	}
	c.Conversion, errs = parseConversion(env, c.EventHookSecret != "", c.RedisURL != "" || !c.Deployed, errs)
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		bad(RedisURL, "must be a redis:// or rediss:// URL")
	}
	// Okta waits 3 s in all, network included.
	if c.Deadline, err = time.ParseDuration(get(HookDeadline, "2.5s")); err != nil || c.Deadline < 500*time.Millisecond || c.Deadline > 2900*time.Millisecond {
		bad(HookDeadline, "must be a duration from 500ms to 2.9s (Okta waits 3s)")
	}
	switch strings.ToLower(get(OnDeliveryFailure, "fallback")) {
	case "fallback":
	case "error":
		c.ErrorOnFailure = true
	default:
		bad(OnDeliveryFailure, "must be fallback or error")
	}
	switch strings.ToLower(get(PreviewMode, "deliver")) {
	case "deliver":
	case "dry-run", "dryrun", "dry_run":
		c.PreviewDryRun = true
	default:
		bad(PreviewMode, "must be deliver or dry-run")
	}
	if v, ok := env[DryRun]; ok {
		if c.DryRun, err = strconv.ParseBool(v); err != nil {
			bad(DryRun, "must be true or false")
		} else if c.DryRun {
			c.DryRunReason = "DRY_RUN is set"
		}
	}
	if c.LogLevel, err = logging.ParseLevel(get(LogLevel, "info")); err != nil {
		bad(LogLevel, "must be debug, info, warn or error")
	}
	if c.LogFormat != "" {
		if _, err := logging.ParseFormat(c.LogFormat); err != nil {
			bad(LogFormat, "must be json or text")
		}
	}
	if c.LogSink != "stdout" && c.LogSink != "cloudlogging" {
		bad(LogSink, "must be stdout or cloudlogging")
	}

	// Credentials. Only the local run falls into dry run by itself.
	haveCreds := c.SubaccountID != "" && c.APIKey != ""
	switch {
	case c.DryRun:
	case !haveCreds && !c.Deployed:
		c.DryRun, c.DryRunReason = true, "no 8x8 credentials: local dry run"
	case !haveCreds:
		bad(Subaccount+" and "+APIKey, "are required (or set DRY_RUN=true)")
	case c.CallerID == "":
		bad(SourceNumber, "is required: 8x8 needs a whitelisted caller id for voice calls")
	}
	// Every instance sharing Redis must name keys alike: with neither a
	// key secret nor an 8x8 API key to derive it from, they could not.
	if c.RedisURL != "" && c.RedisKeySecret == "" && c.APIKey == "" {
		bad(RedisKeySecret, "is required with "+RedisURL+" when there is no "+APIKey+" to derive it from")
	}
	if c.Secret == "" && c.OAuth.Issuer == "" {
		if c.DryRun && !c.Deployed {
			c.OpenAuth = true
		} else {
			bad(OktaSecret, "or "+OktaOAuthIssuer+" is required: with neither, nobody could be told apart from Okta")
		}
	}
	return c, errors.Join(errs...)
}

// parseConversion reads the conversion guard's variables. Tracking needs
// the event hook: without its secret every delivery is refused, so no
// verification could ever arrive. It is on by default only where one
// instance hears every event (shared: Redis, or the local run): Okta's
// event POST lands on any instance, and one that did not send the SMS
// cannot match it, so per-instance state would report verified codes to
// 8x8 as failures and see conversion fall with the number of instances.
// Set explicitly without Redis, it is the operator's word that one
// instance runs (--max-instances=1); the start-up log warns.
func parseConversion(env map[string]string, eventHook, shared bool, errs []error) (Conversion, []error) {
	bad := func(name, why string) { errs = append(errs, fmt.Errorf("%s %s", name, why)) }
	get := func(name, def string) string {
		if v, ok := env[name]; ok {
			return v
		}
		return def
	}
	var c Conversion
	if eventHook && shared {
		c.Mode = conversion.Record
	}
	var err error
	if v, ok := env[ConversionGuard]; ok {
		if c.Mode, err = conversion.ParseMode(v); err != nil {
			bad(ConversionGuard, "must be off, record or enforce")
		}
	}
	if c.Mode != conversion.Off && !eventHook {
		bad(ConversionGuard, "needs "+EventHookSecret+": conversions are learnt from Okta's event hook")
	}
	d := conversion.DefaultConfig()
	if c.Window, err = time.ParseDuration(get(ConversionWindow, d.Window.String())); err != nil || c.Window < 5*time.Minute || c.Window > 7*24*time.Hour {
		bad(ConversionWindow, "must be a duration from 5m to 168h")
	}
	if c.Grace, err = time.ParseDuration(get(ConversionGrace, d.Grace.String())); err != nil || c.Grace < 0 || c.Grace > 10*time.Minute {
		bad(ConversionGrace, "must be a duration from 0s to 10m (8x8 takes feedback up to 15 minutes after the send)")
	}
	if c.MinSends, err = strconv.Atoi(get(ConversionMinSend, strconv.Itoa(d.MinSends))); err != nil || c.MinSends < 1 {
		bad(ConversionMinSend, "must be a whole number of at least 1")
	}
	if c.MinRate, err = strconv.ParseFloat(get(ConversionMinRate, strconv.FormatFloat(d.MinRate, 'g', -1, 64)), 64); err != nil || c.MinRate < 0 || c.MinRate > 1 {
		bad(ConversionMinRate, "must be a number from 0 to 1")
	}
	if v, ok := env[SMSFeedback]; ok {
		switch strings.ToLower(v) {
		case "on", "true", "1":
			c.Feedback = true
			if !eventHook {
				bad(SMSFeedback, "needs "+EventHookSecret+": outcomes are learnt from Okta's event hook")
			}
		case "off", "false", "0":
		default:
			bad(SMSFeedback, "must be on or off")
		}
	} else {
		c.Feedback = eventHook && shared
	}
	return c, errs
}

// secureURL: an absolute https URL, or http to a loopback host (tests).
func secureURL(s string) bool {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		h := u.Hostname()
		return h == "localhost" || net.ParseIP(h).IsLoopback()
	}
	return false
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

// isPhoneNumber: "+" and a number the numbering plan knows, or a short
// code (3 to 8 digits, which only SMS senders use).
func isPhoneNumber(s string) bool {
	if len(s) >= 3 && len(s) <= 8 && strings.Trim(s, "0123456789") == "" {
		return true
	}
	if !strings.HasPrefix(s, "+") {
		return false
	}
	p, err := phone.NewParser("US", 0)
	if err != nil {
		return false
	}
	_, err = p.Parse(s)
	return err == nil
}

// isAlphanumericSender: GSM alphanumeric sender ids are at most 11
// characters, letters, digits and spaces, with at least one letter.
func isAlphanumericSender(s string) bool {
	if len(s) > 11 {
		return false
	}
	letter := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			letter = true
		case r >= '0' && r <= '9', r == ' ', r == '-', r == '.', r == '_', r == '&':
		default:
			return false
		}
	}
	return letter
}
