// Package config reads the hook's configuration from the environment once,
// resolving Secret Manager references, into a typed Config. Nothing else
// reads the environment. The table below is the one list of variables: the
// loader, Names and docs/configuration.md's tables come from it.
package config

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/telephony-hooks/okta-8x8/internal/conversion"
	"github.com/telephony-hooks/okta-8x8/internal/guard"
	"github.com/telephony-hooks/okta-8x8/internal/logging"
	"github.com/telephony-hooks/okta-8x8/internal/phone"
	"github.com/telephony-hooks/okta-8x8/internal/secrets"
)

// Names other packages refer to.
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
	RedisCACert       = "REDIS_CA_CERT"
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
	KService          = "K_SERVICE"
	LocalOnly         = "LOCAL_ONLY"
)

// smsSender is what EIGHTYEIGHTX_SMS_SOURCE accepts. 8x8's `source` holds at
// most 16 characters; an alphanumeric sender is at most 11 (GSM 03.40), and
// the characters every network passes are ASCII letters, digits and spaces,
// with a letter so that it is not read as a number.
const smsSender = "a phone number in E.164 form (+14155550100), a short code of 3 to 8 digits, " +
	"or an alphanumeric sender id of at most 11 ASCII letters, digits and spaces with at least one letter"

// variable is one row of the table: the name, the default the loader uses
// when it is unset or empty, what the docs show as the default when that is
// not a literal, the docs' section and one line of documentation, and how the
// value lands in Config (nil: read by Load itself).
type variable struct {
	name, def, shown, group, doc string
	plain                        bool // configures Secret Manager or the process: never a reference
	set                          func(v string) error
}

// The docs' sections.
const okta, eightByEight, fraud, conv, process = "okta", "8x8", "guard", "conversion", "process"

// table is the configuration, each variable parsed into c.
func table(c *Config) []variable {
	return []variable{
		{name: OktaAuthHeader, def: "Authorization", group: okta, set: header(&c.AuthHeader),
			doc: `the header name set as "Authentication field" in Okta`},
		{name: OktaSecret, group: okta, set: text(&c.Secret),
			doc: "exact expected value of that header, compared in constant time (required unless OAuth is set)"},
		{name: OktaOAuthIssuer, group: okta, set: func(v string) error { return valid(&c.OAuth.Issuer, secureURL, urlRule)(strings.TrimRight(v, "/")) },
			doc: "OAuth 2.0 mode: your Okta *custom* authorization server, e.g. `https://acme.okta.com/oauth2/default`; keys from `{issuer}/v1/keys` (https only; http only to a loopback host)"},
		{name: OktaOAuthClientID, group: okta, set: text(&c.OAuth.ClientID),
			doc: "**required with an issuer**: the client id of the API Services app Okta calls the hook as. Only that app's client-credentials tokens pass (`cid` = `sub` = this id, no `uid`)"},
		{name: OktaOAuthAudience, def: "api://default", group: okta, set: text(&c.OAuth.Audience), doc: "required `aud`"},
		{name: OktaOAuthScope, group: okta, set: text(&c.OAuth.Scope), doc: "required scope in `scp` (e.g. `okta.telephony.hook`)"},

		{name: Subaccount, group: eightByEight, set: text(&c.SubaccountID), doc: "8x8 subaccount id (required unless dry run)"},
		{name: APIKey, group: eightByEight, set: text(&c.APIKey), doc: "8x8 API key (required unless dry run)"},
		{name: SourceNumber, group: eightByEight, set: valid(&c.CallerID, isPhoneNumber, "must be a phone number in E.164 form, e.g. +14155550100"),
			doc: "voice caller id, whitelisted at 8x8, E.164 (`+14155550100`); required unless dry run"},
		{name: SMSSource, shown: "the source number", group: eightByEight, set: valid(&c.SMSSource, isSMSSender, "must be "+smsSender),
			doc: "SMS sender: " + smsSender},
		{name: VoiceURL, def: "https://voice.8x8.com", group: eightByEight, set: valid(&c.VoiceURL, secureURL, urlRule),
			doc: "voice API base URL (https only; http only to 127.0.0.1, ::1 or localhost, for tests)"},
		{name: SMSURL, def: "https://sms.8x8.com", group: eightByEight, set: valid(&c.SMSURL, secureURL, urlRule),
			doc: "SMS API base URL (`https://sms.us.8x8.com`, `https://sms.8x8.uk`, `https://sms.8x8.id` are the other regions)"},
		{name: WebhookSecret, group: eightByEight, set: text(&c.WebhookSecret),
			doc: "expected `Authorization` value on `POST /8x8/events` (delivery receipts); unset: that route answers 401 to everything"},
		{name: VoiceProfile, shown: "per locale", group: eightByEight, set: text(&c.VoiceProfile),
			doc: "one 8x8 voice profile for every call; unset: per locale, from your account's own list (`GET {voice}/api/v1/subaccounts/{id}/speech-profiles`, read at cold start; the built-in table when that read fails). A profile the account's list lacks is a configuration error"},
		{name: OTPRepetitions, def: "2", group: eightByEight, set: number(&c.Repetitions, 1, 3, "must be 1, 2 or 3 (8x8's limit)"),
			doc: "times the spoken message repeats (8x8 allows 1–3)"},
		{name: HookDeadline, def: "2.5s", group: eightByEight, set: duration(&c.Deadline, 500*time.Millisecond, 2900*time.Millisecond, "must be a duration from 500ms to 2.9s (Okta waits 3s)"),
			doc: "the whole answer leaves within this (500ms – 2.9s; Okta waits 3 s, network included)"},
		{name: OnDeliveryFailure, def: "fallback", group: eightByEight, set: choice(&c.ErrorOnFailure, "error", "fallback"),
			doc: "`fallback`: answer `FAILED` (Okta uses its own provider); `error`: answer an error object the user sees"},
		{name: PreviewMode, def: "deliver", group: eightByEight, set: choice(&c.PreviewDryRun, "dry-run", "deliver"),
			doc: "`deliver` or `dry-run` for Okta Admin Console previews"},
		{name: DryRun, def: "false", group: eightByEight, set: func(v string) (err error) {
			c.DryRun, err = strconv.ParseBool(v)
			return check(err == nil, "must be true or false")
		},
			doc: "place no calls, log what would be sent (redacted), answer `SUCCESSFUL` with a `dry-run-…` transaction id"},

		{name: DefaultRegion, def: "US", group: fraud, set: func(v string) error {
			c.DefaultRegion = strings.ToUpper(v)
			_, err := phone.NewParser(c.DefaultRegion)
			return check(err == nil, "must be an ISO 3166-1 alpha-2 region code such as US")
		}, doc: "region for numbers without `+`: read as a national number of this region, then as international digits"},
		{name: AllowedCountries, shown: "all", group: fraud, set: countries(&c.Policy.Allowed),
			doc: "ISO 3166 alpha-2 codes, comma separated; decided from the parsed number (`+1 876…` is Jamaica)"},
		{name: BlockedCountries, shown: "none", group: fraud, set: countries(&c.Policy.Blocked), doc: "ISO 3166 alpha-2 codes, comma separated"},
		{name: RefusedTypes, def: guard.DefaultRefusedTypes, group: fraud,
			set: func(v string) (err error) { c.Policy.RefusedTypes, err = guard.ParseRefusedTypes(v); return err },
			doc: "number types refused without a call (also: `toll_free`, `voip`, `personal_number`, `fixed_line`, …)"},
		{name: RatePerPhone, def: "5/15m", group: fraud, set: limit(&c.PerPhone),
			doc: "sends per phone number per sliding window (`N/duration`, `0` off); a send counts once it passes the guard, whatever 8x8 answers"},
		{name: RatePerUser, def: "10/1h", group: fraud, set: limit(&c.PerUser), doc: "sends per Okta user per sliding window"},
		{name: RatePerCountry, def: "0", group: fraud, set: limit(&c.PerCountry),
			doc: "sends to one country per window, e.g. `500/1h`: a budget against pumping spread over many numbers and accounts"},
		{name: RatePerIP, def: "0", group: fraud, set: limit(&c.PerIP),
			doc: "sends per end-user IP (Okta's `data.context.request.ipAddress`) per window; off by default because a company's users often share one egress IP"},
		{name: RedisURL, group: fraud, set: valid(&c.RedisURL, isRedisURL, "must be a redis:// or rediss:// URL"),
			doc: "`redis://` or `rediss://` (Memorystore): share limits, `eventId`s and conversion counts across instances; in memory when unset"},
		{name: RedisKeySecret, shown: "— (required with `REDIS_URL`)", group: fraud, set: text(&c.RedisKeySecret),
			doc: "HMAC key for the names of the Redis keys that hold a phone number, user id, IP or eventId, so a dump of Redis cannot be reversed into numbers. Every instance must have the same one (see [rotation](#rotating-secrets))"},

		{name: RedisCACert, shown: "the system's roots", group: fraud, set: valid(&c.RedisCACert, isPEMCertificate, "must be PEM certificates (Memorystore's server CA)"),
			doc: "PEM of the CA that signs the Redis server's certificate, for a `rediss://` URL: Memorystore's own CA (`serverCaCerts`; the setup command stores it as the secret `redis-ca-cert`)"},

		{name: EventHookSecret, group: conv, set: text(&c.EventHookSecret),
			doc: "exact expected value of the event hook's authentication header; unset: every delivery is refused (401) and conversion tracking is off"},
		{name: EventHookHeader, def: "Authorization", group: conv, set: header(&c.EventHookHeader), doc: "that header's name"},
		{name: ConversionGuard, shown: "`record` with the event hook secret and `REDIS_URL` (or in the local run), else `off`", group: conv, set: func(v string) (err error) {
			if c.modeSet = v != ""; c.modeSet {
				c.Conversion.Mode, err = conversion.ParseMode(v)
			}
			return check(err == nil, "must be off, record or enforce")
		}, doc: "`off`; `record`: measure codes verified ÷ codes sent per destination and log suspects, never refuse; `enforce`: also refuse new sends to a suspect destination (a policy error object; Okta falls back to its own provider)"},
		{name: ConversionWindow, def: "1h", group: conv, set: duration(&c.Conversion.Window, 5*time.Minute, 7*24*time.Hour, "must be a duration from 5m to 168h"),
			doc: "the sliding window sends and verifications are counted in (5m – 168h)"},
		{name: ConversionGrace, def: "1m", group: conv, set: duration(&c.Conversion.Grace, 0, 10*time.Minute, "must be a duration from 0s to 10m (8x8 takes feedback up to 15 minutes after the send)"),
			doc: "how long after `otpExpires` a verification may still arrive (Okta's deliveries lag); a send is settled unverified only after `otpExpires` + this (0 – 10m)"},
		{name: ConversionMinSend, def: "20", group: conv, set: number(&c.Conversion.MinSends, 1, math.MaxInt, "must be a whole number of at least 1"),
			doc: "settled sends a destination needs before it is judged"},
		{name: ConversionMinRate, def: "0.2", group: conv, set: func(v string) (err error) {
			c.Conversion.MinRate, err = strconv.ParseFloat(v, 64)
			return check(err == nil && c.Conversion.MinRate >= 0 && c.Conversion.MinRate <= 1, "must be a number from 0 to 1")
		}, doc: "a destination whose verified ÷ settled falls below this is suspect"},
		{name: SMSFeedback, shown: "`on` with the event hook secret and `REDIS_URL` (or in the local run), else `off`", group: conv, set: func(v string) error {
			v = strings.ToLower(v)
			c.feedbackSet, c.Conversion.Feedback = v != "", v == "on" || v == "true" || v == "1"
			return check(!c.feedbackSet || c.Conversion.Feedback || v == "off" || v == "false" || v == "0", "must be on or off")
		}, doc: "send each SMS with `track: \"Outcome\"` and report its outcome to 8x8's SMS Feedback API: `success` when verified, `failure` once `otpExpires` + grace passed unverified, while Okta's event hook is heard (an authenticated delivery within `CONVERSION_WINDOW`)"},

		{name: LogLevel, def: "info", group: process, set: func(v string) (err error) {
			c.LogLevel, err = logging.ParseLevel(v)
			return check(err == nil, "must be debug, info, warn or error")
		},
			doc: "`debug`, `info`, `warn`, `error`"},
		{name: LogFormat, shown: "JSON; text on a terminal for the local run", group: process, set: func(v string) error {
			c.LogFormat = strings.ToLower(v)
			_, err := logging.ParseFormat(c.LogFormat)
			return check(v == "" || err == nil, "must be json or text")
		}, doc: "`json` or `text`"},
		{name: LogSink, def: "stdout", group: process, set: func(v string) error {
			c.LogSink = strings.ToLower(v)
			return check(c.LogSink == "stdout" || c.LogSink == "cloudlogging", "must be stdout or cloudlogging")
		}, doc: "`stdout`, or `cloudlogging` to send through the Cloud Logging API (hosts without a log agent)"},
		{name: Project, shown: "metadata server", group: process, plain: true, set: text(&c.ProjectID), doc: "project id for trace correlation"},
		{name: EmulatorHost, group: process, plain: true, doc: "`host:port` of a plaintext, unauthenticated Secret Manager gRPC endpoint (tests, emulators)"},
		{name: Port, def: "8080", group: process, plain: true, set: valid(&c.Port, isPort, "must be a TCP port number from 1 to 65535"), doc: "listen port (set by Cloud Run)"},
		{name: LocalOnly, shown: "set by `go run ./cmd`", group: process, plain: true,
			doc: "the Functions Framework's convention for a local test run: without 8x8 credentials the hook runs dry, and without Okta credentials it accepts everyone (nothing is ever sent)"},
		{name: KService, shown: "set by Cloud Run", group: process, plain: true, doc: "the instance is deployed: it overrides `LOCAL_ONLY`, so missing credentials are errors, never a dry run"},
	}
}

// Names lists every variable the loader reads.
func Names() []string {
	var names []string
	for _, v := range table(new(Config)) {
		names = append(names, v.name)
	}
	return names
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

	VoiceProfile   string
	Repetitions    int
	DefaultRegion  string
	Policy         guard.Policy
	PerPhone       guard.Limit
	PerUser        guard.Limit
	PerCountry     guard.Limit
	PerIP          guard.Limit
	RedisURL       string
	RedisKeySecret string // keys the hashes that name phone numbers, users and IPs in Redis
	RedisCACert    string // PEM: the roots a rediss:// server's certificate is checked against

	// EventHookHeader and EventHookSecret authenticate Okta's event hook
	// (POST /okta/events); an empty secret refuses every delivery.
	EventHookHeader, EventHookSecret string
	Conversion                       Conversion
	modeSet, feedbackSet             bool // CONVERSION_GUARD, EIGHTYEIGHTX_SMS_FEEDBACK were set

	Deadline       time.Duration
	ErrorOnFailure bool // ON_DELIVERY_FAILURE=error
	PreviewDryRun  bool // PREVIEW_MODE=dry-run
	DryRun         bool
	DryRunReason   string // why: "DRY_RUN is set", "no 8x8 credentials: local dry run"
	// OpenAuth: a local dry run with no Okta credentials accepts everyone.
	OpenAuth bool

	LogLevel  slog.Level
	LogFormat string // "json", "text" or "" (cmd picks by terminal)
	LogSink   string // "stdout" or "cloudlogging"
	ProjectID string

	SecretRefs int // how many values were Secret Manager references
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

// Options are the caller's choices that do not come from the environment.
type Options struct {
	// NewAccessor opens Secret Manager (nil: the real client).
	NewAccessor NewAccessor
}

// Load reads the configuration. ctx bounds Secret Manager. The error lists
// every problem found, naming variables, never their values.
func Load(ctx context.Context, getenv func(string) string, opts Options) (*Config, error) {
	env := make(map[string]string)
	refs := make(map[string]string)
	for _, v := range table(new(Config)) {
		s := strings.TrimSpace(getenv(v.name))
		env[v.name] = s
		// A malformed reference is a reference too, so that the resolver
		// says what is wrong with it: never a mistyped path taken as the
		// secret itself.
		if _, ok, err := secrets.ParseReference(s); !v.plain && (ok || err != nil) {
			refs[v.name] = s
		}
	}
	if len(refs) > 0 {
		newAccessor := opts.NewAccessor
		if newAccessor == nil {
			newAccessor = func(ctx context.Context, host string) (secrets.Accessor, error) {
				return secrets.NewSecretManager(ctx, host)
			}
		}
		acc, err := newAccessor(ctx, env[EmulatorHost])
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
			env[k] = v
		}
	}

	c := &Config{SecretRefs: len(refs)}
	c.Deployed = !strings.EqualFold(env[LocalOnly], "true") || env[KService] != ""
	var errs []error
	for _, v := range table(c) {
		if v.set == nil {
			continue
		}
		if err := v.set(cmp.Or(env[v.name], v.def)); err != nil {
			errs = append(errs, fmt.Errorf("%s %w", v.name, err))
		}
	}
	return c, errors.Join(append(errs, c.finish()...)...)
}

// finish applies the rules that join several variables.
func (c *Config) finish() (errs []error) {
	bad := func(name, why string) { errs = append(errs, errors.New(name+" "+why)) }
	if c.SMSSource == "" {
		c.SMSSource = c.CallerID
	}
	// Without it any token from the authorization server passes: a user
	// signed in to any app on it holds one with the same aud.
	if c.OAuth.Issuer != "" && c.OAuth.ClientID == "" {
		bad(OktaOAuthClientID, "is required with "+OktaOAuthIssuer+": the client id of the API Services app Okta calls the hook as")
	}
	// Only the local run falls into dry run by itself.
	haveCreds := c.SubaccountID != "" && c.APIKey != ""
	switch {
	case c.DryRun:
		c.DryRunReason = "DRY_RUN is set"
	case !haveCreds && !c.Deployed:
		c.DryRun, c.DryRunReason = true, "no 8x8 credentials: local dry run"
	case !haveCreds:
		bad(Subaccount+" and "+APIKey, "are required (or set DRY_RUN=true)")
	case c.CallerID == "":
		bad(SourceNumber, "is required: 8x8 needs a whitelisted caller id for voice calls")
	}
	// Instances sharing Redis name keys alike, whatever the 8x8 API key does.
	if c.RedisURL != "" && c.RedisKeySecret == "" {
		bad(RedisKeySecret, "is required with "+RedisURL+": every instance sharing Redis names its keys with it. "+
			"To keep the records Redis already holds, set it to the current value of "+APIKey+
			" (what the secret was derived from when unset); for a new Redis, any random secret (the setup command creates one)")
	}
	if c.Secret == "" && c.OAuth.Issuer == "" {
		if c.DryRun && !c.Deployed {
			c.OpenAuth = true
		} else {
			bad(OktaSecret, "or "+OktaOAuthIssuer+" is required: with neither, nobody could be told apart from Okta")
		}
	}
	// Conversion tracking needs the event hook: without its secret every
	// delivery is refused and no verification could arrive. It is on by
	// default only where one instance hears every event (Redis, or the
	// local run): Okta's event POST lands on any instance, and one that did
	// not send the SMS cannot match it, so per-instance state would report
	// verified codes to 8x8 as failures. Set explicitly without Redis, it is
	// the operator's word that one instance runs (the start-up log warns).
	eventHook := c.EventHookSecret != ""
	byDefault := eventHook && (c.RedisURL != "" || !c.Deployed)
	if byDefault && !c.modeSet {
		c.Conversion.Mode = conversion.Record
	}
	if !c.feedbackSet {
		c.Conversion.Feedback = byDefault
	}
	if c.Conversion.Mode != conversion.Off && !eventHook {
		bad(ConversionGuard, "needs "+EventHookSecret+": conversions are learnt from Okta's event hook")
	}
	if c.feedbackSet && c.Conversion.Feedback && !eventHook {
		bad(SMSFeedback, "needs "+EventHookSecret+": outcomes are learnt from Okta's event hook")
	}
	return errs
}

// The setters of the common kinds.
func text(p *string) func(string) error { return func(v string) error { *p = v; return nil } }

// valid stores v and refuses it, with why, unless it is empty or ok.
func valid(p *string, ok func(string) bool, why string) func(string) error {
	return func(v string) error { *p = v; return check(v == "" || ok(v), why) }
}

func limit(p *guard.Limit) func(string) error {
	return func(v string) (err error) { *p, err = guard.ParseLimit(v); return err }
}

func countries(p *map[string]bool) func(string) error {
	return func(v string) (err error) { *p, err = guard.ParseCountries(v); return err }
}

func number(p *int, lo, hi int, why string) func(string) error {
	return func(v string) (err error) {
		*p, err = strconv.Atoi(v)
		return check(err == nil && *p >= lo && *p <= hi, why)
	}
}

func duration(p *time.Duration, lo, hi time.Duration, why string) func(string) error {
	return func(v string) (err error) {
		*p, err = time.ParseDuration(v)
		return check(err == nil && *p >= lo && *p <= hi, why)
	}
}

// choice is a variable of two values: *p says whether it is yes. Case and
// '_' for '-' do not matter.
func choice(p *bool, yes, no string) func(string) error {
	return func(v string) error {
		v = strings.ToLower(strings.ReplaceAll(v, "_", "-"))
		*p = v == yes
		return check(*p || v == no, "must be "+no+" or "+yes)
	}
}

// header takes an HTTP header name (RFC 9110 token).
func header(p *string) func(string) error {
	return valid(p, func(v string) bool {
		return !strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`()<>@,;:\"/[]?={}`, r) })
	}, "must be a header name")
}

// check is nil when ok, else the reason the value is refused.
func check(ok bool, why string) error {
	if ok {
		return nil
	}
	return errors.New(why)
}

const urlRule = "must be an https:// URL (http:// only for 127.0.0.1, ::1 or localhost)"

// secureURL: an absolute https URL, or http to a loopback host (tests).
// API keys and tokens travel to these hosts.
func secureURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Host != "" && u.User == nil &&
		(u.Scheme == "https" || u.Scheme == "http" && (u.Hostname() == "localhost" || net.ParseIP(u.Hostname()).IsLoopback()))
}

func isRedisURL(s string) bool {
	return strings.HasPrefix(s, "redis://") || strings.HasPrefix(s, "rediss://")
}

func isPEMCertificate(s string) bool {
	return x509.NewCertPool().AppendCertsFromPEM([]byte(s))
}

func isPort(s string) bool { n, err := strconv.Atoi(s); return err == nil && n >= 1 && n <= 65535 }

// isPhoneNumber: "+" and a number the numbering plan knows.
func isPhoneNumber(s string) bool {
	p, err := phone.NewParser("US")
	if err != nil || !strings.HasPrefix(s, "+") {
		return false
	}
	_, err = p.Parse(s)
	return err == nil
}

// The two forms of smsSender that are not phone numbers.
var (
	shortCode    = regexp.MustCompile(`^[0-9]{3,8}$`)
	alphanumeric = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
)

// isSMSSender follows smsSender.
func isSMSSender(s string) bool {
	return isPhoneNumber(s) || shortCode.MatchString(s) || alphanumeric.MatchString(s) && strings.ContainsFunc(s, unicode.IsLetter)
}
