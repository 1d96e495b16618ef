package config

import (
	"context"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/conversion"
	"github.com/telephony-hooks/okta-8x8/internal/secrets"
)

func load(env map[string]string) (*Config, error) {
	return Load(context.Background(), func(k string) string { return env[k] }, Options{
		NewAccessor: func(context.Context, string) (secrets.Accessor, error) {
			return mapAccessor{"projects/p/secrets/key/versions/latest": "k-from-sm"}, nil
		}})
}

type mapAccessor map[string]string

func (m mapAccessor) Access(_ context.Context, name string) ([]byte, error) {
	return []byte(m[name]), nil
}

var deployed = map[string]string{
	KService: "hook", OktaSecret: "okta-secret-value", Subaccount: "acme", APIKey: "api-key-value", SourceNumber: "+12025550175",
}

func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

func TestLoadErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		want []string // substrings of the error; nil: no error
	}{
		{"deployed, complete", deployed, nil},
		{"deployed without 8x8 credentials", with(deployed, APIKey, ""), []string{APIKey}},
		{"deployed without caller id", with(deployed, SourceNumber, ""), []string{SourceNumber}},
		{"deployed without any Okta auth", with(deployed, OktaSecret, ""), []string{OktaSecret}},
		{"deployed with OAuth only", with(deployed, OktaSecret, "", OktaOAuthIssuer, "https://acme.okta.com/oauth2/default", OktaOAuthClientID, "0oahook"), nil},
		// Without the client id any token of the authorization server
		// passes, a user's included.
		{"OAuth issuer without client id", with(deployed, OktaSecret, "", OktaOAuthIssuer, "https://acme.okta.com/oauth2/default"), []string{OktaOAuthClientID}},
		{"OAuth issuer on a look-alike host", with(deployed, OktaOAuthIssuer, "http://localhost.evil.example/oauth2/default", OktaOAuthClientID, "0oahook"), []string{OktaOAuthIssuer}},
		{"caller id not a number", with(deployed, SourceNumber, "not-a-number"), []string{SourceNumber}},
		{"caller id without +", with(deployed, SourceNumber, "12025550175"), []string{SourceNumber}},
		{"caller id an invalid number", with(deployed, SourceNumber, "+1555"), []string{SourceNumber}},
		{"SMS sender alphanumeric, 11 characters", with(deployed, SMSSource, "Acme Verify"), nil},
		{"SMS sender short code", with(deployed, SMSSource, "72345"), nil},
		{"SMS sender alphanumeric, 12 characters", with(deployed, SMSSource, "AcmeVerify12"), []string{SMSSource}},
		{"SMS sender with punctuation", with(deployed, SMSSource, "Acme<script>"), []string{SMSSource}},
		// Some networks drop or refuse anything but letters, digits and spaces.
		{"SMS sender with punctuation networks mangle", with(deployed, SMSSource, "Acme-Co.&_"), []string{SMSSource + " must be " + smsSender}},
		// Digits alone read as a number, and this is none.
		{"SMS sender of digits and a space", with(deployed, SMSSource, "12345 6789"), []string{"with at least one letter"}},
		{"SMS sender a phone number", with(deployed, SMSSource, "+442071838750"), nil},
		{"voice URL over http", with(deployed, VoiceURL, "http://voice.8x8.com"), []string{VoiceURL}},
		{"SMS URL over http", with(deployed, SMSURL, "http://sms.8x8.com"), []string{SMSURL}},
		{"SMS URL over http to a look-alike host", with(deployed, SMSURL, "http://127.0.0.1.evil.example"), []string{SMSURL}},
		{"8x8 URLs over http to loopback (tests)", with(deployed, VoiceURL, "http://127.0.0.1:8181", SMSURL, "http://[::1]:8181"), nil},
		{"8x8 URL not a URL", with(deployed, VoiceURL, "voice.8x8.com"), []string{VoiceURL}},
		{"port not a number", with(deployed, Port, "eighty"), []string{Port}},
		{"port out of range", with(deployed, Port, "70000"), []string{Port}},
		{"event hook header not a header name", with(deployed, EventHookHeader, "x bad"), []string{EventHookHeader}},
		{"conversion guard without the event hook", with(deployed, ConversionGuard, "enforce"), []string{ConversionGuard, EventHookSecret}},
		{"SMS feedback without the event hook", with(deployed, SMSFeedback, "on"), []string{SMSFeedback}},
		{"conversion guard, bad values", with(deployed, EventHookSecret, "ev-secret", ConversionGuard, "block", ConversionWindow, "1s", ConversionGrace, "-1m", ConversionMinSend, "0", ConversionMinRate, "1.5"),
			[]string{ConversionGuard, ConversionWindow, ConversionGrace, ConversionMinSend, ConversionMinRate}},
		{"bad IP limit", with(deployed, RatePerIP, "lots"), []string{RatePerIP}},
		// Rotating the 8x8 API key must not re-key Redis: the key secret
		// never comes from it.
		{"Redis without a key secret", with(deployed, RedisURL, "redis://10.0.0.3:6379"), []string{RedisKeySecret + " is required with " + RedisURL, "current value of " + APIKey}},
		{"Redis in a dry run without a key secret", with(deployed, DryRun, "true", APIKey, "", RedisURL, "redis://10.0.0.3:6379"), []string{RedisKeySecret}},
		{"Redis with a key secret", with(deployed, RedisURL, "redis://10.0.0.3:6379", RedisKeySecret, "k"), nil},
		{"OAuth issuer over http", with(deployed, OktaOAuthIssuer, "http://acme.okta.com/oauth2/default"), []string{OktaOAuthIssuer}},
		{"repetitions out of range", with(deployed, OTPRepetitions, "4"), []string{OTPRepetitions}},
		{"deadline beyond Okta's 3 s", with(deployed, HookDeadline, "3s"), []string{HookDeadline}},
		{"deadline not a duration", with(deployed, HookDeadline, "fast"), []string{HookDeadline}},
		{"bad region", with(deployed, DefaultRegion, "XX"), []string{DefaultRegion}},
		{"bad countries", with(deployed, AllowedCountries, "US,Narnia"), []string{AllowedCountries}},
		{"bad limit", with(deployed, RatePerPhone, "5 per minute"), []string{RatePerPhone}},
		{"bad failure mode", with(deployed, OnDeliveryFailure, "retry"), []string{OnDeliveryFailure}},
		{"bad preview mode", with(deployed, PreviewMode, "skip"), []string{PreviewMode}},
		{"bad redis url", with(deployed, RedisURL, "memcache://x"), []string{RedisURL}},
		// A mistyped reference must not become the secret itself.
		{"malformed Secret Manager path", with(deployed, OktaSecret, "projects/p/secrets/okta-secret/versions/lat"), []string{OktaSecret, "invalid secret reference"}},
		{"long SMS sender", with(deployed, SMSSource, "AcmeCorporationOTP"), []string{SMSSource}},
		{"local run flag, but on Cloud Run", with(deployed, APIKey, "", LocalOnly, "true"), []string{APIKey}},
		{"several problems at once", with(deployed, APIKey, "", OTPRepetitions, "0", LogLevel, "loud"), []string{APIKey, OTPRepetitions, LogLevel}},
		{"not the local run, nothing set, no K_SERVICE (GKE, a VM): errors, not a dry run", map[string]string{}, []string{APIKey, OktaSecret}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(tt.env)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not name %s: %v", w, err)
				}
			}
			// The error is logged: it names variables, never their values
			// (a value may be a secret pasted into the wrong variable).
			for k, v := range tt.env {
				if len(v) >= 6 && strings.Contains(err.Error(), v) {
					t.Errorf("error carries the value of %s: %v", k, err)
				}
			}
		})
	}
}

func TestLoadValues(t *testing.T) {
	c, err := load(map[string]string{LocalOnly: "true"})
	if err != nil {
		t.Fatal(err)
	}
	if !c.DryRun || !c.OpenAuth || c.Deadline != 2500*time.Millisecond || c.Repetitions != 2 ||
		c.PerPhone.String() != "5/15m0s" || c.PerUser.String() != "10/1h0m0s" || c.VoiceURL != "https://voice.8x8.com" ||
		c.SMSURL != "https://sms.8x8.com" || c.AuthHeader != "Authorization" || c.OAuth.Audience != "api://default" {
		t.Errorf("defaults: %+v", c)
	}
	c, err = load(with(deployed, APIKey, "sm://p/key", SMSSource, "", DryRun, "true", PreviewMode, "dry-run", OnDeliveryFailure, "error"))
	if err != nil {
		t.Fatal(err)
	}
	if c.APIKey != "k-from-sm" || c.SecretRefs != 1 || c.SMSSource != "+12025550175" || !c.DryRun || c.OpenAuth ||
		!c.PreviewDryRun || !c.ErrorOnFailure || c.DryRunReason != "DRY_RUN is set" {
		t.Errorf("values: %+v", c)
	}
	if c, err := load(map[string]string{LocalOnly: "true", KService: "hook"}); err == nil || c.DryRun && c.OpenAuth {
		t.Errorf("the local run with K_SERVICE set must not fall into dry run: %v", err)
	}
	if c.Policy.RefusedTypes == nil || len(c.Policy.RefusedTypes) != 5 {
		t.Errorf("refused types: %v", c.Policy.RefusedTypes)
	}
}

// The conversion guard and SMS feedback are on by default only where one
// instance hears every Okta event: with Redis, or in the local run. A
// deployed instance without Redis may be one of several, and the event
// for an SMS it sent may land on another: feedback would report verified
// codes to 8x8 as failures.
func TestConversionDefaults(t *testing.T) {
	hook := with(deployed, EventHookSecret, "ev-secret")
	cases := []struct {
		name     string
		env      map[string]string
		mode     conversion.Mode
		feedback bool
	}{
		{"no event hook", deployed, conversion.Off, false},
		{"event hook, deployed, no Redis", hook, conversion.Off, false},
		{"event hook, deployed, Redis", with(hook, RedisURL, "redis://10.0.0.3:6379/0", RedisKeySecret, "k"), conversion.Record, true},
		{"event hook, the local run", with(hook, KService, "", LocalOnly, "true"), conversion.Record, true},
		{"set explicitly without Redis: one instance, the operator's word", with(hook, ConversionGuard, "Enforce", SMSFeedback, "on"), conversion.Enforce, true},
		{"enforce, feedback off", with(hook, RedisURL, "redis://10.0.0.3:6379/0", RedisKeySecret, "k", ConversionGuard, "enforce", SMSFeedback, "off"), conversion.Enforce, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(tc.env)
			if err != nil {
				t.Fatal(err)
			}
			want := Conversion{Mode: tc.mode, Window: time.Hour, Grace: time.Minute, MinSends: 20, MinRate: 0.2, Feedback: tc.feedback}
			if c.Conversion != want || c.EventHookHeader != "Authorization" {
				t.Errorf("conversion = %+v, want %+v", c.Conversion, want)
			}
		})
	}
	if c, err := load(with(deployed, RatePerIP, "20/1h")); err != nil || c.PerIP.String() != "20/1h0m0s" {
		t.Errorf("RATE_LIMIT_PER_IP: %+v %v", c, err)
	}
}

// Every name is unique, and the list covers DESIGN.md §1.
func TestNames(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range Names() {
		if seen[n] {
			t.Errorf("%s twice", n)
		}
		seen[n] = true
	}
	for _, n := range []string{"PORT", "OKTA_AUTH_HEADER", "OKTA_SECRET", "OKTA_OAUTH_ISSUER", "OKTA_OAUTH_AUDIENCE",
		"OKTA_OAUTH_SCOPE", "OKTA_OAUTH_CLIENT_ID", "EIGHTYEIGHTX_SUBACCOUNT_ID", "EIGHTYEIGHTX_API_KEY",
		"EIGHTYEIGHTX_SOURCE_NUMBER", "EIGHTYEIGHTX_SMS_SOURCE", "EIGHTYEIGHTX_VOICE_URL", "EIGHTYEIGHTX_SMS_URL",
		"VOICE_PROFILE", "OTP_REPETITIONS", "DEFAULT_REGION", "ALLOWED_COUNTRIES", "BLOCKED_COUNTRIES",
		"RATE_LIMIT_PER_PHONE", "RATE_LIMIT_PER_USER", "REDIS_URL", "HOOK_DEADLINE", "ON_DELIVERY_FAILURE",
		"PREVIEW_MODE", "DRY_RUN", "EIGHTYEIGHTX_WEBHOOK_SECRET", "LOG_LEVEL", "GOOGLE_CLOUD_PROJECT",
		"SECRETMANAGER_EMULATOR_HOST", "REDIS_KEY_SECRET", "RATE_LIMIT_PER_IP", "OKTA_EVENT_HOOK_SECRET",
		"OKTA_EVENT_HOOK_AUTH_HEADER", "CONVERSION_GUARD", "CONVERSION_WINDOW", "CONVERSION_GRACE",
		"CONVERSION_MIN_SENDS", "CONVERSION_MIN_RATE", "EIGHTYEIGHTX_SMS_FEEDBACK"} {
		if !seen[n] {
			t.Errorf("DESIGN.md names %s; the loader does not read it", n)
		}
	}
}

var update = flag.Bool("update", false, "rewrite docs/configuration.md's tables from the table in config.go")

// docs/configuration.md's tables are the table's rows, section by section:
// `go test ./internal/config -run TestConfigurationDoc -update` rewrites
// them, and this test fails whenever they drift.
func TestConfigurationDoc(t *testing.T) {
	const path = "../../docs/configuration.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block := regexp.MustCompile("(?s)(<!-- variables: ([a-z0-9]+) [^>]*-->\n).*?(<!-- end of variables -->)")
	seen := map[string]bool{}
	got := block.ReplaceAllStringFunc(string(b), func(m string) string {
		sub := block.FindStringSubmatch(m)
		seen[sub[2]] = true
		var md strings.Builder
		md.WriteString("| variable | default | meaning |\n| --- | --- | --- |\n")
		for _, v := range table(new(Config)) {
			if v.group != sub[2] {
				continue
			}
			def := "—"
			switch {
			case v.shown != "":
				def = v.shown
			case v.def != "":
				def = "`" + v.def + "`"
			}
			fmt.Fprintf(&md, "| `%s` | %s | %s |\n", v.name, def, v.doc)
		}
		return sub[1] + md.String() + sub[3]
	})
	for _, v := range table(new(Config)) {
		if !seen[v.group] {
			t.Errorf("%s: docs/configuration.md has no table for section %q", v.name, v.group)
		}
	}
	switch {
	case *update:
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	case got != string(b):
		t.Errorf("docs/configuration.md's tables differ from config.go's table: run go test ./internal/config -run TestConfigurationDoc -update")
	}
}
