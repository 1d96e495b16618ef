package oktaorg

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/oktafake"
	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/plan"
)

const (
	secret      = "telephony-secret-4f1c"
	eventSecret = "event-secret-9b2e"
	clientSec   = "oauth-client-secret-77aa"
	answer      = `{"error":{"errorSummary":"preview placeholder","errorCauses":[{"reason":"preview_placeholder"}]}}`
)

// service plays the deployed function: it echoes the event hook's
// challenge and answers a header-authenticated preview of Okta's
// placeholder phone.
func service(t *testing.T) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/okta/events" && r.Header.Get("Authorization") == eventSecret:
			fmt.Fprintf(w, `{"verification":%q}`, r.Header.Get("X-Okta-Verification-Challenge"))
		case r.Method == http.MethodPost && r.URL.Path == "/" && r.Header.Get("Authorization") == secret:
			var req struct {
				Data struct {
					MessageProfile struct{ PhoneNumber string } `json:"messageProfile"`
				} `json:"data"`
			}
			if json.NewDecoder(r.Body).Decode(&req) != nil || req.Data.MessageProfile.PhoneNumber != placeholderPhone {
				http.Error(w, "not a preview", http.StatusBadRequest)
				return
			}
			fmt.Fprint(w, answer)
		default:
			http.Error(w, `{"error":{"errorSummary":"unauthorized"}}`, http.StatusUnauthorized)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func newOrg(t *testing.T, f *oktafake.Server, serviceURL string, edit func(*Config)) *Org {
	t.Helper()
	cfg := Config{OrgURL: f.URL, APIToken: oktafake.Token, ServiceURL: serviceURL, Secret: secret,
		EventSecret: eventSecret, HTTPClient: f.Client()}
	if edit != nil {
		edit(&cfg)
	}
	o, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// output is everything the step shows an operator, to scan for secrets.
type output []string

func (o *output) add(cs []plan.Change, err error) {
	for _, c := range cs {
		*o = append(*o, c.String())
	}
	if err != nil {
		*o = append(*o, err.Error())
	}
}

func (o output) noSecrets(t *testing.T) {
	t.Helper()
	for _, line := range o {
		for _, s := range []string{secret, eventSecret, clientSec, oktafake.Token} {
			if strings.Contains(line, s) {
				t.Errorf("a secret reached the output: %q", line)
			}
		}
	}
}

func TestEmptyOrgThenSecondRun(t *testing.T) {
	ctx := context.Background()
	f, svc := oktafake.New(t), service(t)
	o := newOrg(t, f, svc.URL, nil)
	var out output

	planned, err := o.Plan(ctx)
	out.add(planned, err)
	if err != nil || f.Mutations() != 0 {
		t.Fatalf("plan: err %v, %d mutations (want none)", err, f.Mutations())
	}
	first, err := o.Apply(ctx)
	out.add(first, err)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(planned, first) {
		t.Errorf("plan said\n%v\napply did\n%v", planned, first)
	}
	if got, want := f.Mutations(), plan.Mutations(first); got != 2 || want != 2 {
		t.Errorf("first apply: the org saw %d mutations, the step reported %d; want 2 (two creates)", got, want)
	}
	ih, eh := f.InlineHooks(), f.EventHooks()
	if len(ih) != 1 || ih[0].Status != "ACTIVE" || ih[0].Channel.URI != svc.URL+"/" || ih[0].Channel.AuthValue != secret {
		t.Errorf("inline hooks: %+v", ih)
	}
	if len(eh) != 1 || eh[0].VerificationStatus != "VERIFIED" || eh[0].Channel.URI != svc.URL+"/okta/events" || !slices.Equal(eh[0].Events, EventTypes) {
		t.Errorf("event hooks: %+v", eh)
	}

	second, err := o.Apply(ctx)
	out.add(second, err)
	if err != nil || len(second) != 0 || f.Mutations() != 2 {
		t.Errorf("second apply: err %v, changes %v, org mutations %d (want none)", err, second, f.Mutations()-2)
	}

	got, err := o.Execute(ctx)
	out = append(out, string(got))
	if err != nil || string(got) != answer {
		t.Errorf("execute: %s, %v; want the hook's answer %s", got, err, answer)
	}
	out.noSecrets(t)
}

func TestAnotherTelephonyHook(t *testing.T) {
	for _, replace := range []bool{false, true} {
		t.Run(fmt.Sprint("replace=", replace), func(t *testing.T) {
			f, svc := oktafake.New(t), service(t)
			other := f.AddInlineHook(oktafake.Hook{Name: "twilio", Type: oktafake.TelephonyType,
				Channel: oktafake.Channel{Type: "HTTP", URI: "https://twilio.example/hook", AuthKey: "Authorization", AuthValue: "x"}})
			o := newOrg(t, f, svc.URL, func(c *Config) { c.Replace = replace })
			changes, err := o.Apply(context.Background())
			var out output
			out.add(changes, err)
			out.noSecrets(t)
			status := map[string]string{}
			for _, h := range f.InlineHooks() {
				status[h.Name] = h.Status
			}
			if !replace {
				if err == nil || !strings.Contains(err.Error(), "-replace-okta-hook") || f.Mutations() != 0 {
					t.Fatalf("want a refusal naming -replace-okta-hook and nothing changed; got %v, %d mutations", err, f.Mutations())
				}
				return
			}
			if err != nil || status["twilio"] != "INACTIVE" || status[InlineHookName] != "ACTIVE" {
				t.Fatalf("replace: err %v, hooks %v (other %s)", err, status, other)
			}
		})
	}
}

func TestOAuthChannel(t *testing.T) {
	for _, a := range []*OAuth{
		{AuthType: AuthClientSecret, ClientID: "0oa1", TokenURL: "https://acme.okta.com/oauth2/default/v1/token", Scope: "okta.telephony.hook", ClientSecret: clientSec},
		{AuthType: AuthPrivateKey, ClientID: "0oa2", TokenURL: "https://acme.okta.com/oauth2/default/v1/token", Scope: "okta.telephony.hook", HookKeyID: "hks1"},
	} {
		t.Run(a.AuthType, func(t *testing.T) {
			ctx := context.Background()
			f, svc := oktafake.New(t), service(t)
			var out output
			o := newOrg(t, f, svc.URL, func(c *Config) { c.OAuth = a })
			out.add(o.Apply(ctx))
			if len(f.InlineHooks()) != 1 {
				t.Fatalf("inline hooks: %+v", f.InlineHooks())
			}
			ch := f.InlineHooks()[0].Channel
			if ch.Type != "OAUTH" || ch.AuthType != a.AuthType || ch.ClientSecret != a.ClientSecret || ch.HookKeyID != a.HookKeyID || ch.AuthValue != "" {
				t.Errorf("channel %+v", ch)
			}
			n := f.Mutations()
			again, err := o.Apply(ctx)
			out.add(again, err)
			if err != nil || len(again) != 0 || f.Mutations() != n {
				t.Errorf("second apply: %v, %v", again, err)
			}
			out.noSecrets(t)
		})
	}
}

func TestEventHookNotVerified(t *testing.T) {
	f := oktafake.New(t)
	mute := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"verification":"wrong"}`) }))
	defer mute.Close()
	_, err := newOrg(t, f, mute.URL, nil).Apply(context.Background())
	if err == nil || !strings.Contains(err.Error(), "verify event hook") {
		t.Fatalf("want the verify failure, got %v", err)
	}
	if eh := f.EventHooks(); eh[0].VerificationStatus != "UNVERIFIED" {
		t.Errorf("event hook %+v", eh[0])
	}
}
