package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEventFlags(t *testing.T) {
	const hook = "https://hook.example.run.app/?x=1"
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		check   func(t *testing.T, o *options)
		wantErr string // "" means the flags are accepted
	}{
		{
			name: "no -verify-rate: no events, as before",
			args: []string{"-n", "10"},
			check: func(t *testing.T, o *options) {
				if o.verify || o.eventURL != "" {
					t.Errorf("verify %v, event URL %q: want no event hook", o.verify, o.eventURL)
				}
			},
		},
		{
			name: "rates per country and for the rest; defaults derived from -url and the environment",
			env:  map[string]string{"OKTA_EVENT_HOOK_SECRET": "from-env"},
			args: []string{"-n", "10", "-phone", "+14155550123, +37120000101,+442079460000", "-verify-rate", " us=0.9 ,LV=0,*=0.8"},
			check: func(t *testing.T, o *options) {
				want := map[string]float64{"US": 0.9, "LV": 0, "GB": 0.8, "FR": 0.8}
				for c, w := range want {
					if got, ok := o.rates.of(c); !ok || got != w {
						t.Errorf("rate of %s = %v (%v), want %v", c, got, ok, w)
					}
				}
				if o.eventURL != "https://hook.example.run.app/okta/events" {
					t.Errorf("event URL = %q", o.eventURL)
				}
				if o.eventHeader != "Authorization" || o.eventSecret != "from-env" {
					t.Errorf("event header %q = %q, want Authorization = $OKTA_EVENT_HOOK_SECRET", o.eventHeader, o.eventSecret)
				}
				if o.verifyDelay != 0 || o.otpLifetime != 5*time.Minute || o.seedSet {
					t.Errorf("delay %v, OTP lifetime %v, seed set %v: want 0, 5m, a random seed", o.verifyDelay, o.otpLifetime, o.seedSet)
				}
				var countries []string
				for _, d := range o.dests {
					countries = append(countries, d.country)
				}
				if strings.Join(countries, ",") != "US,LV,GB" || o.perDest != 4 {
					t.Errorf("destinations %v with %d numbers each, want US,LV,GB with 4", countries, o.perDest)
				}
			},
		},
		{
			name: "every event flag given",
			env:  map[string]string{"OKTA_EVENT_HOOK_SECRET": "from-env"},
			args: []string{"-verify-rate", "*=1", "-event-url", "http://127.0.0.1:9/hooks/okta", "-event-header", " X-Event-Key ",
				"-event-secret", "from-flag", "-verify-delay", "20s", "-seed", "7", "-otp-lifetime", "30s", "-mistype", "0.25", "-rps", "50"},
			check: func(t *testing.T, o *options) {
				if o.eventURL != "http://127.0.0.1:9/hooks/okta" || o.eventHeader != "X-Event-Key" || o.eventSecret != "from-flag" ||
					o.verifyDelay != 20*time.Second || o.seed != 7 || !o.seedSet || o.otpLifetime != 30*time.Second ||
					o.mistype != 0.25 || o.rps != 50 {
					t.Errorf("options = %+v", *o)
				}
			},
		},
		{
			name: "-phones counts all destinations' numbers",
			args: []string{"-n", "100", "-phones", "9", "-phone", "+14155550123,+37120000101"},
			check: func(t *testing.T, o *options) {
				if o.perDest != 5 {
					t.Errorf("%d numbers per destination, want 5", o.perDest)
				}
			},
		},
		{name: "a rate is a number", args: []string{"-verify-rate", "US=most"}, wantErr: "from 0 to 1"},
		{name: "a rate is at most 1", args: []string{"-verify-rate", "US=1.5"}, wantErr: "from 0 to 1"},
		{name: "a rate is at least 0", args: []string{"-verify-rate", "US=-0.1"}, wantErr: "from 0 to 1"},
		{name: "NaN is no rate", args: []string{"-verify-rate", "US=NaN"}, wantErr: "from 0 to 1"},
		{name: "COUNTRY=RATE", args: []string{"-verify-rate", "US"}, wantErr: "not COUNTRY=RATE"},
		{name: "no empty item", args: []string{"-verify-rate", "US=1,"}, wantErr: "not COUNTRY=RATE"},
		{name: "empty", args: []string{"-verify-rate", ""}, wantErr: "-verify-rate is empty"},
		{name: "an unknown region", args: []string{"-verify-rate", "XX=0.5,*=1"}, wantErr: "not an ISO 3166 region"},
		{name: "a country name is not a code", args: []string{"-verify-rate", "USA=0.5"}, wantErr: "not an ISO 3166 region"},
		{name: "a country twice", args: []string{"-verify-rate", "US=0.5,us=0.6"}, wantErr: "US is given twice"},
		{name: "* twice", args: []string{"-verify-rate", "*=0.5,*=0.6"}, wantErr: "* is given twice"},
		{
			name:    "a destination without a rate",
			args:    []string{"-n", "4", "-phone", "+14155550123,+37120000101", "-verify-rate", "US=0.9"},
			wantErr: "no rate for LV (-phone number 2)",
		},
		{
			name:    "a destination of unknown country needs *",
			args:    []string{"-phone", "9876543210", "-verify-rate", "US=0.9"},
			wantErr: "country of -phone number 1 is unknown",
		},
		{name: "event flags need -verify-rate", args: []string{"-event-secret", "x"}, wantErr: "-event-secret needs -verify-rate"},
		{name: "-seed needs -verify-rate", args: []string{"-seed", "1"}, wantErr: "-seed needs -verify-rate"},
		{name: "-event-url is http(s)", args: []string{"-verify-rate", "*=1", "-event-url", "ftp://x/okta/events"}, wantErr: "not an http(s) URL"},
		{name: "-event-header not empty", args: []string{"-verify-rate", "*=1", "-event-header", " "}, wantErr: "-event-header is empty"},
		{name: "-verify-delay not negative", args: []string{"-verify-rate", "*=1", "-verify-delay", "-1s"}, wantErr: "must not be negative"},
		{
			name:    "-verify-delay within the code's life",
			args:    []string{"-verify-rate", "*=1", "-verify-delay", "2s", "-otp-lifetime", "2s"},
			wantErr: "shorter than -otp-lifetime",
		},
		{name: "-otp-lifetime positive", args: []string{"-otp-lifetime", "0s"}, wantErr: "-otp-lifetime must be positive"},
		{name: "-mistype is a fraction", args: []string{"-verify-rate", "*=1", "-mistype", "2"}, wantErr: "-mistype must be a fraction"},
		{name: "-rps not negative", args: []string{"-rps", "-1"}, wantErr: "-rps must be 0"},
		{name: "-phone list without holes", args: []string{"-n", "2", "-phone", "+14155550123,,+37120000101"}, wantErr: "number 2 of the list is empty"},
		{name: "a list needs load mode", args: []string{"-phone", "+14155550123,+37120000101"}, wantErr: "a single request goes to one"},
		{
			name:    "every seed must derive enough numbers",
			args:    []string{"-n", "200", "-phone", "+14155550123,+3712"},
			wantErr: "too few trailing digits",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			o, err := parseFlags(append([]string{"-url", hook}, tc.args...), testEnv(tc.env), &stderr)
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

func TestRequestsCycleThroughDestinations(t *testing.T) {
	hook := startHook(t, answerJSON(200, statusAnswer("SUCCESSFUL")))
	_, _, err := runTest(t, testEnv(nil), "-url", hook.url, "-secret", "s", "-n", "12", "-c", "3",
		"-phone", "+14155550123,+37120000101,+442079460000", "-otp-lifetime", "2s")
	if err != nil {
		t.Fatalf("run = %v", err)
	}
	perCountry := map[string]map[string]bool{}
	users := map[string]bool{}
	for _, r := range hook.requests() {
		p := lookup(r.body, ".data.messageProfile.phoneNumber")
		c := countryOf(p)
		if perCountry[c] == nil {
			perCountry[c] = map[string]bool{}
		}
		perCountry[c][p] = true
		users[lookup(r.body, ".data.userProfile.userId")] = true
		if got, want := lookup(r.body, ".data.messageProfile.otpExpires"), fixedNow.Add(2*time.Second).Format(okTimeLayout); got != want {
			t.Errorf("otpExpires = %s, want %s (-otp-lifetime 2s)", got, want)
		}
	}
	for _, c := range []string{"US", "LV", "GB"} {
		if len(perCountry[c]) != 4 {
			t.Errorf("%s got %d distinct numbers, want 4", c, len(perCountry[c]))
		}
	}
	if len(users) != 12 {
		t.Errorf("%d distinct users, want 12: a user must not span destinations", len(users))
	}
}

func TestPacing(t *testing.T) {
	hook := startHook(t, answerJSON(200, statusAnswer("SUCCESSFUL")))
	// Six requests at 50 per second leave five gaps of 20 ms at least,
	// however fast the hook: a lower bound, never flaky.
	start := time.Now()
	if _, _, err := runTest(t, testEnv(nil), "-url", hook.url, "-secret", "s", "-n", "6", "-c", "3", "-rps", "50"); err != nil {
		t.Fatalf("run = %v", err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Errorf("6 requests at -rps 50 took %v, want at least 100ms", d)
	}
}
