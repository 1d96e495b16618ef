package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestFlags: what each flag sets, its defaults, and every usage error,
// which is said on stderr before anything is sent.
func TestFlags(t *testing.T) {
	const hook = "https://hook.example.run.app/?x=1"
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(t *testing.T, o *options)
		wantErr string // "" means the flags are accepted
	}{
		{
			name: "defaults: one SMS, $OKTA_SECRET, no event hook",
			env:  map[string]string{"OKTA_SECRET": "from-env"},
			check: func(t *testing.T, o *options) {
				if o.channel != "sms" || o.n != 1 || o.phones != 1 || o.secret != "from-env" || o.timeout != 3*time.Second ||
					o.requestType != requestTypePrefix+"mfa-verification" || o.otpLifetime != 5*time.Minute {
					t.Errorf("options = %+v", *o)
				}
				if o.verify || o.eventURL != "" || o.sendEvents {
					t.Errorf("verify %v, event URL %q, send events %v: want no event hook", o.verify, o.eventURL, o.sendEvents)
				}
			},
		},
		{
			name: "load: -phones counts all destinations' numbers, -c at most -n",
			args: []string{"-n", "100", "-c", "500", "-phones", "9", "-phone", "+14155550123,+37120000101", "-channel", " Voice "},
			check: func(t *testing.T, o *options) {
				if o.perDest != 5 || o.c != 100 || o.channel != "voice" {
					t.Errorf("%d numbers per destination, -c %d, channel %q; want 5, 100, voice", o.perDest, o.c, o.channel)
				}
			},
		},
		{
			name: "event hook: rates per country and for the rest; defaults from -url and the environment",
			env:  map[string]string{"OKTA_EVENT_HOOK_SECRET": "from-env"},
			args: []string{"-n", "10", "-phone", "+14155550123, +37120000101,+442079460000", "-verify-rate", " us=0.9 ,LV=0,*=0.8"},
			check: func(t *testing.T, o *options) {
				for c, w := range map[string]float64{"US": 0.9, "LV": 0, "GB": 0.8, "FR": 0.8} {
					if got, ok := o.rates.of(c); !ok || got != w {
						t.Errorf("rate of %s = %v (%v), want %v", c, got, ok, w)
					}
				}
				if o.eventURL != "https://hook.example.run.app/okta/events" || o.eventHeader != "Authorization" || o.eventSecret != "from-env" {
					t.Errorf("event URL %q, header %q = %q", o.eventURL, o.eventHeader, o.eventSecret)
				}
				if !o.sendEvents || o.sendShape != shapeOIE || o.failoverRate != 0 || o.denyRate != 0 || o.seedSet {
					t.Errorf("send events %v (shape %d, failovers %v, DENY %v), seed set %v: want Identity Engine send events, none failed over or denied, a random seed",
						o.sendEvents, o.sendShape, o.failoverRate, o.denyRate, o.seedSet)
				}
			},
		},
		{
			name: "every event flag given",
			args: []string{"-verify-rate", "*=1", "-event-url", "http://127.0.0.1:9/hooks/okta", "-event-header", " X-Event-Key ",
				"-event-secret", "from-flag", "-verify-delay", "20s", "-seed", "7", "-otp-lifetime", "30s", "-mistype", "0.25",
				"-send-events", "Classic", "-failover-rate", "0.1", "-deny-rate", "0.05"},
			check: func(t *testing.T, o *options) {
				if o.eventURL != "http://127.0.0.1:9/hooks/okta" || o.eventHeader != "X-Event-Key" || o.eventSecret != "from-flag" ||
					o.verifyDelay != 20*time.Second || o.seed != 7 || !o.seedSet || o.otpLifetime != 30*time.Second || o.mistype != 0.25 ||
					!o.sendEvents || o.sendShape != shapeClassic || o.failoverRate != 0.1 || o.denyRate != 0.05 {
					t.Errorf("options = %+v", *o)
				}
			},
		},
		{
			name: "an org that emits no send events",
			args: []string{"-verify-rate", "*=0", "-send-events", "off"},
			check: func(t *testing.T, o *options) {
				if !o.verify || o.sendEvents {
					t.Errorf("verify %v, send events %v: want verifications only", o.verify, o.sendEvents)
				}
			},
		},
		{name: "-serve-8x8 alone", args: []string{"-serve-8x8", "127.0.0.1:0", "-n", "2"}, wantErr: "plays 8x8 alone"},
		{name: "-channel sms or voice", args: []string{"-channel", "fax"}, wantErr: "-channel must be sms or voice"},
		{name: "-url is http(s)", args: []string{"-url", "ftp://example.com/"}, wantErr: "not an http(s) URL"},
		{name: "-url has a host", args: []string{"-url", "localhost:8080"}, wantErr: "not an http(s) URL"},
		{name: "-n at least 1", args: []string{"-n", "0"}, wantErr: "-n and -c must be at least 1"},
		{name: "-timeout positive", args: []string{"-timeout", "0s"}, wantErr: "-timeout must be positive"},
		{name: "-json is a single answer", args: []string{"-json", "-n", "2"}, wantErr: "cannot be combined with -n"},
		{name: "-request-type named", args: []string{"-request-type", ""}, wantErr: "not an Okta telephony request type"},
		{name: "an unknown flag", args: []string{"-nosuchflag"}, wantErr: "flag provided but not defined"},
		{name: "no arguments", args: []string{"extra"}, wantErr: "unexpected arguments: extra"},
		{name: "-secret and -token both in Authorization", args: []string{"-secret", "s", "-token", "t"}, wantErr: "use one"},
		{name: "-otp-lifetime positive", args: []string{"-otp-lifetime", "0s"}, wantErr: "-otp-lifetime must be positive"},
		{name: "-rps not negative", args: []string{"-rps", "-1"}, wantErr: "-rps must be 0"},
		{name: "-phone list without holes", args: []string{"-n", "2", "-phone", "+14155550123,,+37120000101"}, wantErr: "number 2 of the list is empty"},
		{name: "a list needs load mode", args: []string{"-phone", "+14155550123,+37120000101"}, wantErr: "a single request goes to one"},
		{name: "every seed derives enough numbers", args: []string{"-n", "200", "-phone", "+14155550123,+3712"}, wantErr: "too few trailing digits"},
		{name: "a rate is a number", args: []string{"-verify-rate", "US=most"}, wantErr: "from 0 to 1"},
		{name: "a rate is at most 1", args: []string{"-verify-rate", "US=1.5"}, wantErr: "from 0 to 1"},
		{name: "NaN is no rate", args: []string{"-verify-rate", "US=NaN"}, wantErr: "from 0 to 1"},
		{name: "COUNTRY=RATE", args: []string{"-verify-rate", "US"}, wantErr: "not COUNTRY=RATE"},
		{name: "no empty item", args: []string{"-verify-rate", "US=1,"}, wantErr: "not COUNTRY=RATE"},
		{name: "-verify-rate not empty", args: []string{"-verify-rate", ""}, wantErr: "-verify-rate is empty"},
		{name: "a country name is not a code", args: []string{"-verify-rate", "USA=0.5"}, wantErr: "not an ISO 3166 region"},
		{name: "a country twice", args: []string{"-verify-rate", "US=0.5,us=0.6"}, wantErr: "US is given twice"},
		{name: "* twice", args: []string{"-verify-rate", "*=0.5,*=0.6"}, wantErr: "* is given twice"},
		{
			name:    "a destination without a rate",
			args:    []string{"-n", "4", "-phone", "+14155550123,+37120000101", "-verify-rate", "US=0.9"},
			wantErr: "no rate for LV (-phone number 2)",
		},
		{name: "a destination of unknown country needs *", args: []string{"-phone", "9876543210", "-verify-rate", "US=0.9"}, wantErr: "country of -phone number 1 is unknown"},
		{name: "event flags need -verify-rate", args: []string{"-event-secret", "x"}, wantErr: "-event-secret needs -verify-rate"},
		{name: "send events need -verify-rate", args: []string{"-failover-rate", "0.1"}, wantErr: "-failover-rate needs -verify-rate"},
		{name: "-event-url is http(s)", args: []string{"-verify-rate", "*=1", "-event-url", "ftp://x/okta/events"}, wantErr: "not an http(s) URL"},
		{name: "-event-header not empty", args: []string{"-verify-rate", "*=1", "-event-header", " "}, wantErr: "-event-header is empty"},
		{name: "-verify-delay not negative", args: []string{"-verify-rate", "*=1", "-verify-delay", "-1s"}, wantErr: "must not be negative"},
		{name: "-verify-delay within the code's life", args: []string{"-verify-rate", "*=1", "-verify-delay", "2s", "-otp-lifetime", "2s"}, wantErr: "shorter than -otp-lifetime"},
		{name: "-mistype is a fraction", args: []string{"-verify-rate", "*=1", "-mistype", "2"}, wantErr: "-mistype must be a fraction"},
		{name: "-send-events names a shape", args: []string{"-verify-rate", "*=1", "-send-events", "false"}, wantErr: "must be oie, classic or off"},
		{name: "-failover-rate is a fraction", args: []string{"-verify-rate", "*=1", "-failover-rate", "1.1"}, wantErr: "must be fractions from 0 to 1"},
		{name: "-deny-rate is a fraction", args: []string{"-verify-rate", "*=1", "-deny-rate", "-0.1"}, wantErr: "must be fractions from 0 to 1"},
		{name: "no DENY without send events", args: []string{"-verify-rate", "*=1", "-send-events", "off", "-deny-rate", "0.1"}, wantErr: "not with -send-events off"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			env := env{getenv: func(k string) string { return tc.env[k] }, now: time.Now}
			o, err := parseFlags(append([]string{"-url", hook}, tc.args...), env, &stderr)
			if tc.wantErr != "" {
				if !errors.Is(err, errUsage) || !strings.Contains(stderr.String(), tc.wantErr) {
					t.Fatalf("parseFlags = %v, stderr %q; want a usage error saying %q", err, stderr.String(), tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags = %v: %s", err, stderr.String())
			}
			tc.check(t, o)
		})
	}
}
