package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/telephony-hooks/okta-8x8/internal/sharedtest"
)

// shape maps every path of a JSON document to the JSON type found there
// ("string", "number", "bool", "null", "object", "array"), so two documents
// compare by structure whatever their values.
func shape(v any, path string, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		out[path] = "object"
		for k, c := range x {
			shape(c, path+"."+k, out)
		}
	case []any:
		out[path] = "array"
		for i, c := range x {
			shape(c, fmt.Sprintf("%s[%d]", path, i), out)
		}
	case string:
		out[path] = "string"
	case float64:
		out[path] = "number"
	case bool:
		out[path] = "bool"
	case nil:
		out[path] = "null"
	}
}

func shapeDiff(got, want map[string]string) []string {
	var diff []string
	for p, w := range want {
		if g, ok := got[p]; !ok {
			diff = append(diff, "missing "+p+" ("+w+")")
		} else if g != w {
			diff = append(diff, p+" is "+g+", the fixture has "+w)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			diff = append(diff, "extra "+p)
		}
	}
	sort.Strings(diff)
	return diff
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// TestEventBodyMatchesTheFixtures posts one event per scenario through a
// stand-in event route and compares the delivery with the event hook
// fixture of the same scenario: the same structure (every path, every JSON
// type, nulls included), and the values a parser reads where the fixture
// has them.
func TestEventBodyMatchesTheFixtures(t *testing.T) {
	dir := sharedtest.Path(t, "contracts", "okta", "event-hook")
	const delay = 48 * time.Second
	published := fixedNow.Add(delay).Format(okTimeLayout)
	tests := []struct {
		name    string
		fixture string
		args    []string
		want    map[string]string // path under data.events[0] → value
	}{
		{
			name:    "SMS code typed in at sign-in",
			fixture: "reconstructed-auth-via-mfa-sms-success.json",
			args:    []string{"-verify-rate", "*=1"},
			want: map[string]string{
				".eventType": eventAuthViaMFA, ".outcome.result": "SUCCESS", ".legacyEventType": "core.user.factor.attempt_success",
				".debugContext.debugData.factor": "SMS_FACTOR", ".debugContext.debugData.factorIntent": "LOGIN",
				".target[1].type": "AuthenticatorEnrollment", ".target[1].displayName": "Phone", ".target[1].detailEntry.methodTypeUsed": "SMS",
			},
		},
		{
			name:    "voice code typed in during a password reset",
			fixture: "reconstructed-auth-via-mfa-sms-success.json",
			args:    []string{"-verify-rate", "*=1", "-channel", "voice", "-request-type", "password-reset"},
			want: map[string]string{
				".eventType": eventAuthViaMFA, ".outcome.result": "SUCCESS",
				".debugContext.debugData.factor": "CALL_FACTOR", ".debugContext.debugData.factorIntent": "CREDENTIAL_RECOVERY",
				".target[1].detailEntry.methodTypeUsed": "VOICE",
			},
		},
		{
			name:    "voice code mistyped",
			fixture: "reconstructed-auth-via-mfa-call-failure.json",
			args:    []string{"-verify-rate", "*=0", "-mistype", "1", "-channel", "voice"},
			want: map[string]string{
				".eventType": eventAuthViaMFA, ".outcome.result": "FAILURE", ".outcome.reason": "INVALID_CREDENTIALS",
				".legacyEventType":               "core.user.factor.attempt_fail",
				".debugContext.debugData.factor": "CALL_FACTOR", ".debugContext.debugData.factorIntent": "LOGIN",
				".target[1].detailEntry.methodTypeUsed": "VOICE",
			},
		},
		{
			name:    "SMS code typed in to enroll the phone",
			fixture: "reconstructed-user-mfa-factor-activate-sms.json",
			args:    []string{"-verify-rate", "*=1", "-request-type", "pre-enrollment"},
			want: map[string]string{
				".eventType": eventFactorActivate, ".outcome.result": "SUCCESS", ".outcome.reason": "User set up SMS_FACTOR factor",
				".target[1].detailEntry.methodTypeUsed": "SMS",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, tc.fixture))
			if err != nil {
				t.Fatal(err)
			}
			var fixture any
			if err := json.Unmarshal(raw, &fixture); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			shape(fixture, "", want)

			s := startStandIn(t, standInConfig{secret: "k"})
			args := append([]string{"-url", s.url, "-secret", "h", "-event-secret", "k", "-verify-delay", delay.String()}, tc.args...)
			if _, _, err := runTest(t, testEnv(nil), args...); err != nil {
				t.Fatalf("run = %v", err)
			}
			posts := s.deliveries()
			if len(posts) != 1 || len(posts[0].events()) != 1 {
				t.Fatalf("%d event POSTs, want one of one event", len(posts))
			}
			got := map[string]string{}
			var body any
			if err := json.Unmarshal(posts[0].raw, &body); err != nil {
				t.Fatal(err)
			}
			shape(body, "", got)
			if d := shapeDiff(got, want); len(d) > 0 {
				t.Errorf("the delivery's structure differs from %s:\n  %s", tc.fixture, strings.Join(d, "\n  "))
			}

			// The envelope, as Okta's published sample has it.
			envelope := map[string]string{".eventType": "com.okta.event_hook", ".eventTypeVersion": "1.0",
				".cloudEventsVersion": "0.1", ".contentType": "application/json", ".eventTime": fixedNow.Format(okTimeLayout)}
			for p, w := range envelope {
				if g := lookup(posts[0].body, p); g != w {
					t.Errorf("%s = %q, want %q", p, g, w)
				}
			}
			if !strings.HasPrefix(lookup(posts[0].body, ".source"), "https://") || !uuidRE.MatchString(lookup(posts[0].body, ".eventId")) {
				t.Errorf("source %q, eventId %q: want a URL and a UUID", lookup(posts[0].body, ".source"), lookup(posts[0].body, ".eventId"))
			}

			// What the hook's parser reads: who, when, which factor.
			ev := posts[0].events()[0]
			hr := s.lastRequest()
			want2 := map[string]string{
				".actor.id":         hr.Data.UserProfile.UserID,
				".target[0].id":     hr.Data.UserProfile.UserID,
				".published":        published,
				".client.ipAddress": hr.Data.Context.Request.IPAddress,
			}
			for p, w := range tc.want {
				want2[p] = w
			}
			for p, w := range want2 {
				if g := lookupPath(ev, p); g != w {
					t.Errorf("event %s = %q, want %q", p, g, w)
				}
			}
			if !uuidRE.MatchString(lookupPath(ev, ".uuid")) {
				t.Errorf("uuid = %q, want a UUID", lookupPath(ev, ".uuid"))
			}
			if _, err := time.Parse(time.RFC3339Nano, lookupPath(ev, ".published")); err != nil {
				t.Errorf("published is not RFC 3339: %v", err)
			}
		})
	}
}

// lookupPath is lookup with array indices ("target[1].type").
func lookupPath(v any, path string) string {
	for _, k := range strings.Split(strings.TrimPrefix(path, "."), ".") {
		name, idx, hasIdx := strings.Cut(k, "[")
		m, _ := v.(map[string]any)
		v = m[name]
		if hasIdx {
			var i int
			_, _ = fmt.Sscanf(idx, "%d]", &i)
			a, _ := v.([]any)
			if i >= len(a) {
				return ""
			}
			v = a[i]
		}
	}
	s, _ := v.(string)
	return s
}
