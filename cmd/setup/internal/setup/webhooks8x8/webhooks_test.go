package webhooks8x8

import (
	"context"
	"strings"
	"testing"

	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/plan"
	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/webhooks8x8/webhooksfake"
)

const (
	apiKey  = "8x8-api-key-c0ffee"
	secret  = "webhook-secret-5eed"
	account = "0f3b4c1e-8e07-11ea-864e-1961d882f548"
	sub     = "acme_otp"
	target  = "https://hook.example.run.app/8x8/events"
)

func TestRegisterThenIdempotent(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stale bool // both webhooks already point at an old URL
		want  plan.Action
	}{
		{"empty account", false, plan.Create},
		{"stale webhooks", true, plan.Update},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := webhooksfake.New(t, apiKey)
			if tc.stale {
				old := webhooksfake.Webhook{URL: "https://old.example/8x8/events", Auth: "old", Enabled: true}
				f.SetVoice(sub, "VSS", old)
				f.SetSMS(sub, old)
			}
			w, err := New(Config{VoiceURL: f.URL, SMSURL: f.URL, SubaccountID: sub, AccountID: account, APIKey: apiKey,
				ServiceURL: "https://hook.example.run.app/", Secret: secret})
			if err != nil {
				t.Fatal(err)
			}
			planned, err := w.Plan(ctx)
			if err != nil || f.Mutations() != 0 || len(planned) != 2 {
				t.Fatalf("plan: %v, %v, %d mutations", planned, err, f.Mutations())
			}
			first, err := w.Apply(ctx)
			if err != nil || len(first) != 2 || first[0].Action != tc.want || first[1].Action != tc.want {
				t.Fatalf("apply: %v, %v", first, err)
			}
			voice, _ := f.Voice(sub, "VSS")
			sms, _ := f.SMS(sub)
			want := webhooksfake.Webhook{URL: target, Auth: secret, Enabled: true}
			if voice != want || sms != want {
				t.Errorf("registered voice %+v, SMS %+v; want %+v", voice, sms, want)
			}
			n := f.Mutations()
			second, err := w.Apply(ctx)
			if err != nil || len(second) != 0 || f.Mutations() != n {
				t.Errorf("second apply: %v, %v, %d mutations", second, err, f.Mutations()-n)
			}
			for _, c := range append(planned, first...) {
				if strings.Contains(c.String(), secret) || strings.Contains(c.String(), apiKey) {
					t.Errorf("a secret reached the output: %s", c)
				}
			}
		})
	}
}

func TestWrongAPIKeyIsNamed(t *testing.T) {
	f := webhooksfake.New(t, apiKey)
	w, _ := New(Config{VoiceURL: f.URL, SMSURL: f.URL, SubaccountID: sub, AccountID: account, APIKey: "wrong", ServiceURL: target, Secret: secret})
	if _, err := w.Plan(context.Background()); err == nil || !strings.Contains(err.Error(), "check the 8x8 API key") || strings.Contains(err.Error(), "wrong") {
		t.Errorf("got %v; want a 401 naming the API key, without its value", err)
	}
}
