package setup

import (
	"context"
	"fmt"
	neturl "net/url"

	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/monitoring"
	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/oktaorg"
	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/plan"
	"github.com/telephony-hooks/okta-8x8/cmd/setup/internal/setup/webhooks8x8"
)

// step is what the 8x8, Okta and monitoring packages each provide.
type step interface {
	Plan(ctx context.Context) ([]plan.Change, error)
	Apply(ctx context.Context) ([]plan.Change, error)
}

// named is a step with what it reads its access from, which an error
// names (a wrong token shows as the vendor's 401).
type named struct {
	step
	uses string
}

// notYet stands for a secret this run creates before the step that uses
// it, in the plan of an empty project.
const notYet = "(created by this run)"

// steps are the 8x8, Okta and monitoring steps for the service at url.
// They get the secrets' values from Secret Manager and never print them.
func (d *Deps) steps(ctx context.Context, g *gcp, r *run, url string) ([]named, *oktaorg.Org, error) {
	secret := func(id string) (string, error) {
		v, err := g.secret(ctx, id)
		if err != nil && !r.apply && r.missing(err) {
			return notYet, nil
		}
		return v, err
	}
	if url == "" { // plan mode, before the first deploy
		url = "https://service-url.after-deploy.example"
	}
	oktaSecret, err := secret(secretOkta)
	if err != nil {
		return nil, nil, err
	}
	eventSecret, err := secret(secretEventHook)
	if err != nil {
		return nil, nil, err
	}
	cfg := oktaorg.Config{
		OrgURL:   g.getenv("OKTA_ORG_URL"),
		APIToken: g.getenv("OKTA_API_TOKEN"), ClientID: g.getenv("OKTA_CLIENT_ID"),
		PrivateKey: g.getenv("OKTA_PRIVATE_KEY"), PrivateKeyID: g.getenv("OKTA_PRIVATE_KEY_ID"),
		ServiceURL: url, Secret: oktaSecret, EventSecret: eventSecret,
		Replace: g.cfg.ReplaceOktaHook, HTTPClient: d.Okta,
	}
	if g.cfg.OAuth {
		cfg.OAuth = &oktaorg.OAuth{AuthType: oktaorg.AuthClientSecret, ClientID: g.getenv("OKTA_OAUTH_CLIENT_ID"),
			TokenURL: g.getenv("OKTA_OAUTH_ISSUER") + "/v1/token", Scope: "okta.telephony.hook", ClientSecret: g.getenv("OKTA_OAUTH_CLIENT_SECRET")}
	}
	org, err := oktaorg.New(cfg)
	if err != nil {
		return nil, nil, err
	}
	webhookSecret, err := secret(secretWebhook)
	if err != nil {
		return nil, nil, err
	}
	hooks, err := webhooks8x8.New(webhooks8x8.Config{
		VoiceURL: g.getenv("EIGHTYEIGHTX_VOICE_URL"), SMSURL: g.getenv("EIGHTYEIGHTX_SMS_URL"),
		SubaccountID: g.cfg.Subaccount, AccountID: g.cfg.Account, APIKey: g.getenv("EIGHTYEIGHTX_API_KEY"),
		ServiceURL: url, Secret: webhookSecret,
	})
	if err != nil {
		return nil, nil, err
	}
	u, err := neturl.Parse(url)
	if err != nil {
		return nil, nil, fmt.Errorf("service URL: %w", err)
	}
	mon := &monitoring.Step{Vars: monitoring.Vars{ProjectID: g.cfg.Project, ServiceHost: u.Host}, AlertEmail: g.cfg.AlertEmail, Options: d.Google}
	return []named{
		{hooks, "EIGHTYEIGHTX_API_KEY, -account, -subaccount"},
		{org, "OKTA_ORG_URL, OKTA_API_TOKEN"},
		{mon, "the Google credentials, -alert-email"},
	}, org, nil
}

// check has Okta call the deployed hook (a preview request, Okta's
// placeholder phone: nothing is sent) and prints what the hook answered.
func check(ctx context.Context, org *oktaorg.Org) (string, error) {
	answer, err := org.Execute(ctx)
	if err != nil {
		return "", fmt.Errorf("end-to-end check: %w", err)
	}
	return string(answer), nil
}
